"""Service loop: serial lines in, answers out, pulse engine kept moving.

    service.serve(profile, engine)    # runs until Ctrl-C or an error

Partial lines are dropped after the profile's serial.line_timeout_ms of
silence, so a host that vanishes mid-command leaves nothing half-typed.
"""

import gc
import time

import protocol
import transport
from commands import Commands
from line_reader import LINE, LineReader
from stimulator import Stimulator

FIRMWARE_VERSION = "0.3.0"
_POLL_MS = 1


class Diagnostics:
    def __init__(self):
        self._last = time.ticks_ms()
        self.uptime_ms = 0  # summed per loop pass: ticks_ms itself wraps after days
        self.commands = 0  # lines received, refused ones included

    def tick(self, now):
        self.uptime_ms += time.ticks_diff(now, self._last)
        self._last = now

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


def serve(profile, engine, link=None):
    link = link or transport.open_transport(profile)
    serial = profile.get("serial") or {}
    reader = LineReader(serial.get("line_max", 128))
    timeout_ms = serial.get("line_timeout_ms", 2000)
    stim = Stimulator(profile, engine)
    diag = Diagnostics()
    commands = Commands(stim, hello_text(profile), diag.text)
    link.write_line(protocol.evt("READY " + commands.hello))
    last_rx = time.ticks_ms()
    while True:
        data = link.read(_POLL_MS)
        now = time.ticks_ms()
        diag.tick(now)
        if data:
            last_rx = now
            for kind, text in reader.feed(data):
                diag.commands += 1
                link.write_line(commands.answer(text) if kind == LINE else protocol.err(kind, text))
        elif reader.partial() and time.ticks_diff(now, last_rx) >= timeout_ms:
            link.write_line(protocol.err(*reader.discard()))
        changed = stim.poll()
        if changed:
            link.write_line(protocol.evt("STATE " + changed))
