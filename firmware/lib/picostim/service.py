"""Service loop: serial lines in, answers out; therapy timers, the emergency
button and the pulse engine kept moving; faults caught, logged and reported.

    service.serve(profile, engine, root="/")   # until the REPL command

Partial lines are dropped after the profile's serial.line_timeout_ms of
silence, so a host that vanishes mid-command leaves nothing half-typed. An
exception in a pass of the loop stops stimulation (outputs low), is logged
and shown in STATUS (fault=LOOP), and the loop goes on. The watchdog
(profile "watchdog_ms", 0 = off) resets a loop that hangs. With
serial.host_timeout_ms, stimulation stops when the host sends nothing for
that long (a bench rig's dead-man switch; off by default, as a patient's
stimulator keeps going without its programmer).
"""

import binascii
import gc
import os
import time

import micropython

from . import protocol, safety, settings_record, transport
from .auth import Auth
from .button import Button
from .commands import DEVICE, Commands
from .line_reader import LINE, LineReader
from .stim_program import StimError
from .stimulator import Stimulator
from .store import Store
from .therapy import Therapy
from .watchdog import Watchdog, reset_cause

FIRMWARE_VERSION = "0.5.0"
_POLL_MS = 1
_BUTTON_MS = 20
_FAULT_LOG_MS = 1000
# Changes reach flash once the host has been quiet this long (a patient's presses coalesce into one
# save, and no answer waits for a flash write), or at the latest this long after the first of them.
_PERSIST_QUIET_MS = 1000
_PERSIST_WITHIN_MS = 10000
_HEAP_MS = 1000  # reading the heap's use while idle (heap_peak, gcs)
# After answers the heap is read once the host has paused this long: on a Pico gc.mem_alloc() is
# one C call of some 8 ms, and the answer's USB transfer and the next line would wait for it.
_HEAP_QUIET_MS = 10
# Garbage is collected while the host is quiet, once this much has piled up, so a collection
# (about 19 ms on a Pico) seldom lands on an answer; gc.threshold is the backstop for a host that
# never pauses. Either keeps the heap's use near what is live instead of filling it first.
_GC_IDLE_MS = 50
_GC_IDLE_BYTES = 8192
_GC_EVERY = 32768
_LOG_HOLD = 16  # log records held in RAM between writes (2 KB, allocated at boot)
_DETAIL_MAX = 80
E_LOOP = "LOOP"  # an exception in the service loop
E_WATCHDOG = "WATCHDOG"  # the last reset came from the watchdog
E_HOST = "HOST_LOST"  # stimulation stopped: no line from the host for serial.host_timeout_ms
E_ACCEL = "ACCEL"  # the accelerometer is missing or does not answer: no posture, no AdaptiveStim moves


class Diagnostics:
    """Uptime, lines received, and the heap as the loop sees it: the highest
    use between collections (heap_peak) and how many collections happened
    (gcs: each read of gc.mem_alloc() is compared with the one before; a drop
    means the collector ran, automatically or from DIAG). The heap is read
    once the host pauses after answered lines, and once a second otherwise,
    not on every pass: on a Pico gc.mem_alloc() walks the whole heap (8 ms)."""

    def __init__(self):
        self._last = time.ticks_ms()
        self.uptime_ms = 0  # summed per loop pass: ticks_ms itself wraps after days
        self.commands = 0  # lines received, refused ones included
        self.heap_peak = 0
        self.gcs = 0
        self._alloc = gc.mem_alloc()
        self.live = self._alloc  # the heap's use after the last collection the loop made

    def garbage(self):
        """Bytes allocated since the loop's last collection, as the last read saw them."""
        return self._alloc - self.live

    def collect(self):
        gc.collect()
        self.live = self.heap()

    def tick(self):
        now = time.ticks_ms()
        self.uptime_ms += time.ticks_diff(now, self._last)
        self._last = now
        return self.uptime_ms

    def heap(self):
        alloc = gc.mem_alloc()
        if alloc < self._alloc:
            self.gcs += 1
        if alloc > self.heap_peak:
            self.heap_peak = alloc
        self._alloc = alloc
        return alloc

    def text(self):
        self.heap()
        self.collect()
        live = self.live
        return "commands=%d uptime_ms=%d heap_live=%d heap_free=%d heap_peak=%d gcs=%d" % (
            self.commands,
            self.uptime_ms,
            live,
            gc.mem_free(),
            self.heap_peak,
            self.gcs,
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


def build(profile, engine, key, root=None, clock=None):
    """The command layer; with `root` (the flash root), the event log there,
    or, when it cannot be opened, the LOG_OPEN fault. `clock`: now in ms (the
    therapy timers count from the first pulse)."""
    from .event_log import E_LOG_OPEN, EventLog, LogError

    limits = profile["safety"]
    therapy = Therapy(
        profile, lambda program: safety.check(program, limits), lambda programs: safety.check_group(programs, limits)
    )
    stim = Stimulator(profile, engine, therapy, clock)
    auth = Auth(key, os.urandom)
    commands = Commands(therapy, stim, auth, hello_text(profile), describe_safety=safety.describe)
    commands.allocate_train()  # first: the train buffers need the biggest free blocks
    if root is not None:
        try:
            commands.log = EventLog(None, root + "events.log", hold=_LOG_HOLD)
        except (OSError, LogError):
            commands.fault(E_LOG_OPEN)
        commands.log_event("BOOT", "device", "fw=" + FIRMWARE_VERSION, 0)
    return commands


def serve(profile, engine, root="/", link=None):
    """Run the service loop until the REPL command (or the chip resets). `root`:
    the flash filesystem's root (device.key, settings, events.log)."""
    Service(profile, engine, root, link).run()


class Service:
    """One pass of the loop at a time (step), so that a fault in one pass
    leaves outputs low, is logged and reported, and the next pass goes on."""

    def __init__(self, profile, engine, root="/", link=None):
        self.link = link or transport.open_transport(profile)
        serial = profile.get("serial") or {}
        self.reader = LineReader(serial.get("line_max", 128))
        self.line_timeout_ms = serial.get("line_timeout_ms", 2000)
        self.host_timeout_ms = serial.get("host_timeout_ms", 0)  # 0: stimulation outlives the host
        self.engine = engine
        self.diag = Diagnostics()
        commands = build(profile, engine, read_key(root + "device.key"), root, self.diag.tick)
        commands.diag = self._diag_text
        if profile.get("impedance"):  # the lead check (IMPEDANCE), loaded at boot like the rest
            from .impedance import LeadCheck

            commands.lead_check = LeadCheck(profile, engine)
        self.commands = commands
        self.stim = commands.stim
        self.button = Button(profile.get("button", "bootsel"))
        self.dog = Watchdog(profile.get("watchdog_ms", 0))
        self.last_rx = 0  # any byte (the partial-line timeout)
        self.last_line = 0  # a whole line (the host timeout: bytes of garbage are no host)
        self.last_button = 0
        self.last_heap = 0
        self.heap_due = False  # lines were answered since the last read of the heap
        self.last_fault = None  # (code, ms) of the last fault logged: a repeating one is logged once a second
        cause = reset_cause()
        if cause == "watchdog":
            self.fault(E_WATCHDOG, "reset by the watchdog", 0)
        self._restore_settings(Store(os, root + "settings"))
        self.sensor = self.posture = None
        self.last_sample = 0
        if profile.get("accelerometer"):
            self._start_posture(profile)
        self.diag.collect()
        if hasattr(gc, "threshold"):  # MicroPython
            gc.threshold(_GC_EVERY)

    def _start_posture(self, profile):
        from . import posture
        from .accel import Accelerometer

        self.sample_ms = posture.settings(profile)["sample_ms"]
        try:
            self.sensor = Accelerometer(profile)
        except Exception as e:  # a missing or silent part: no posture, the rest works
            self.fault(E_ACCEL, str(e), 0)
            return
        self.posture = posture.from_profile(profile)

    def _sense(self, now):
        """One accelerometer sample; a new stable posture goes to AdaptiveStim."""
        self.last_sample = now
        sensor, posture = self.sensor, self.posture
        assert sensor is not None and posture is not None  # set together
        try:
            x, y, z = sensor.read_mg()
        except OSError as e:  # a glitch on the bus: the posture stays; therapy goes on
            self.fault(E_ACCEL, "read: %s" % e, now)
            return
        changed = posture.update(x, y, z, now)
        if changed:
            self.link.write_line(protocol.evt(self.commands.posture_changed(changed, now)))

    def _restore_settings(self, store):
        """The last good settings (or the defaults, and a fault); every accepted
        change is then saved as a new generation."""
        therapy, commands = self.commands.therapy, self.commands
        gc.collect()
        fault = settings_record.restore(therapy, store)
        if fault:
            self.fault(fault, "settings: the last good ones, or the defaults", 0)
        commands.report = therapy.check(therapy.program())

        def save():
            for kept in (settings_record.E_VERSION, settings_record.E_MEMORY):
                if kept in commands.faults:  # a newer firmware's record, or one not checked for want of heap
                    raise StimError(kept, "the settings on flash are kept: not saved")
            code = settings_record.save(therapy, store)
            if code:
                commands.log_event("FAULT", DEVICE, "code=%s settings not saved" % code, self.diag.uptime_ms)
                raise StimError(code, "settings not saved")

        commands.save = save

    def _diag_text(self):
        commands = self.commands
        return self.diag.text() + " saves=%d save_ms=%d unsaved=%d" % (
            commands.saves,
            commands.save_ms,
            1 if commands.pending() else 0,
        )

    def run(self):
        self.link.write_line(protocol.evt("READY " + self.commands.hello))
        micropython.kbd_intr(-1)  # 0x03 is a byte of a (refused) line, not a way out
        try:
            while not self.commands.leave:
                self.step()
        finally:
            micropython.kbd_intr(3)
            self.commands.persist()  # leaving for the REPL (a deploy, a reset): nothing left in RAM

    def step(self):
        try:
            self._pass()
        except Exception as e:  # any fault: outputs low, then report it and go on
            self._loop_fault(e)

    def _pass(self):
        self.dog.feed()
        data = self.link.read(_POLL_MS)
        now = self.diag.tick()
        commands, reader, link, stim = self.commands, self.reader, self.link, self.stim
        if data:
            self.last_rx = now
            reader.echo = commands.echo  # ECHO ON: a person at a serial terminal sees what they type
            lines = reader.feed(data)
            echo = reader.take_echo()
            if echo:
                link.write(echo)
            for kind, text in lines:
                self.last_line = now
                self.diag.commands += 1
                answer = commands.answer(text, now) if kind == LINE else protocol.err(kind, text)
                if isinstance(answer, str):
                    link.write_line(answer)
                else:  # a long answer (LOG), in parts
                    link.write_parts(answer)
            if lines:
                self.heap_due = True  # what the commands allocated, read once the host pauses
        elif reader.partial() and now - self.last_rx >= self.line_timeout_ms:
            link.write_line(protocol.err(*reader.discard()))
            commands.log_event("DROP", DEVICE, "partial line after %dms of silence" % self.line_timeout_ms, now)
        if now - self.last_button >= _BUTTON_MS:
            self.last_button = now
            if self.button.pushed() and stim.active():
                stim.emergency_stop("button")
                commands.log_event("STOP", DEVICE, "reason=button", now)
                link.write_line(protocol.evt("STOP reason=button"))
        if self.host_timeout_ms and stim.on and now - self.last_line > self.host_timeout_ms:
            stim.emergency_stop("host")
            self.fault(E_HOST, "no line from the host for %dms" % self.host_timeout_ms, now)
        if self.sensor is not None and now - self.last_sample >= self.sample_ms:
            self._sense(now)
        if commands.log_fault is not None and stim.active():
            # no therapy without its record: a log that cannot be written stops stimulation
            stim.emergency_stop("fault")
            link.write_line(protocol.evt("FAULT code=" + commands.log_fault))
        event = stim.poll(now)
        if event:
            link.write_line(protocol.evt(event))
        quiet = not data and now - self.last_rx >= _HEAP_QUIET_MS
        if (self.heap_due and quiet) or now - self.last_heap >= _HEAP_MS:
            self.heap_due = False
            self.last_heap = now
            self.diag.heap()
        if not data and now - self.last_rx >= _GC_IDLE_MS and self.diag.garbage() >= _GC_IDLE_BYTES:
            self.diag.collect()
        if commands.pending() and (
            now - self.last_rx >= _PERSIST_QUIET_MS or now - commands.since >= _PERSIST_WITHIN_MS
        ):
            commands.persist(self.diag.tick)

    def _loop_fault(self, error):
        """Outputs low first (the pulse in progress still completes when the
        engine can do it), then the fault in STATUS, the log and an event."""
        try:
            if self.stim.active():
                self.stim.emergency_stop("fault")
            self.engine.halt()
        except Exception:  # the engine itself is failing: low at once
            try:
                self.engine.shutdown()
            except Exception:  # nothing more to do here; the watchdog remains
                pass
        self.fault(E_LOOP, "%s: %s" % (type(error).__name__, error), self.diag.uptime_ms)

    def fault(self, code, detail, now):
        """Note a fault; a repeating one is logged and announced once a second."""
        self.commands.fault(code)
        last = self.last_fault
        if last is not None and last[0] == code and now - last[1] < _FAULT_LOG_MS:
            return
        self.last_fault = (code, now)
        self.commands.log_event("FAULT", DEVICE, ("code=%s %s" % (code, detail))[:_DETAIL_MAX], now)
        try:
            self.link.write_line(protocol.evt("FAULT code=" + code))
        except Exception:  # a broken link cannot carry the event; STATUS will
            pass
