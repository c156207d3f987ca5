"""Service loop: serial lines in, answers out; therapy timers, the emergency
button and the pulse engine kept moving.

    service.serve(profile, engine, key_path="/device.key")   # until Ctrl-C or an error

Partial lines are dropped after the profile's serial.line_timeout_ms of
silence, so a host that vanishes mid-command leaves nothing half-typed.
"""

import binascii
import gc
import os
import time

import protocol
import safety
import transport
from auth import Auth
from button import Button
from commands import Commands
from line_reader import LINE, LineReader
from stimulator import Stimulator
from therapy import Therapy

FIRMWARE_VERSION = "0.4.0"
_POLL_MS = 1
_BUTTON_MS = 20


class Diagnostics:
    def __init__(self):
        self._last = time.ticks_ms()
        self.uptime_ms = 0  # summed per loop pass: ticks_ms itself wraps after days
        self.commands = 0  # lines received, refused ones included

    def tick(self):
        now = time.ticks_ms()
        self.uptime_ms += time.ticks_diff(now, self._last)
        self._last = now
        return self.uptime_ms

    def text(self):
        gc.collect()
        return "commands=%d uptime_ms=%d heap_live=%d heap_free=%d" % (
            self.commands,
            self.uptime_ms,
            gc.mem_alloc(),
            gc.mem_free(),
        )


def hello_text(profile):
    return "picostim fw=%s proto=%d board=%s contacts=%d" % (
        FIRMWARE_VERSION,
        protocol.PROTOCOL_VERSION,
        profile["name"],
        profile["contacts"]["count"],
    )


def read_key(path):
    """The device key (64 hex digits in a file), or None when none is provisioned."""
    try:
        with open(path) as f:
            return binascii.unhexlify(f.read().strip())
    except (OSError, ValueError):
        return None


def build(profile, engine, key):
    limits = profile["safety"]
    therapy = Therapy(profile, lambda program: safety.check(program, limits))
    stim = Stimulator(profile, engine, therapy)
    auth = Auth(key, os.urandom)
    return Commands(therapy, stim, auth, hello_text(profile), describe_safety=safety.describe)


def serve(profile, engine, key_path="/device.key", link=None):
    link = link or transport.open_transport(profile)
    serial = profile.get("serial") or {}
    reader = LineReader(serial.get("line_max", 128))
    timeout_ms = serial.get("line_timeout_ms", 2000)
    diag = Diagnostics()
    commands = build(profile, engine, read_key(key_path))
    commands.diag = diag.text
    commands.allocate_train()
    stim = commands.stim
    button = Button(profile.get("button", "bootsel"))
    link.write_line(protocol.evt("READY " + commands.hello))
    last_rx = 0
    last_button = 0
    while True:
        data = link.read(_POLL_MS)
        now = diag.tick()
        if data:
            last_rx = now
            for kind, text in reader.feed(data):
                diag.commands += 1
                link.write_line(commands.answer(text, now) if kind == LINE else protocol.err(kind, text))
        elif reader.partial() and now - last_rx >= timeout_ms:
            link.write_line(protocol.err(*reader.discard()))
        if now - last_button >= _BUTTON_MS:
            last_button = now
            if button.pushed() and (stim.on or stim.phase is not None):
                stim.emergency_stop("button")
                link.write_line(protocol.evt("STOP reason=button"))
        event = stim.poll(now)
        if event:
            link.write_line(protocol.evt(event))
