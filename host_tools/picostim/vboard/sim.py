"""`picostim sim`: the virtual board.

The firmware (firmware/main.py, unchanged) runs under the MicroPython unix
port with a Pico-sized heap; this process owns the emulated chip and serves
the firmware's `machine`/`rp2` calls over a pair of FIFOs (see
mpy/chip_link.py). The firmware's stdin/stdout is the board's USB serial
port, offered to the host as a pseudo-terminal that pyserial opens like
/dev/ttyACM0. Bytes go to the firmware as they come, 0x03 included: while
it serves, the firmware turns Ctrl-C off (micropython.kbd_intr(-1)), as it
does on the Pico. When the firmware ends (the REPL command), its REPL is on
the port; Ctrl-D there, or any firmware exit, soft-resets the board.

The flash filesystem is a directory (`--flash DIR` keeps it between runs).
The watchdog, once the firmware starts it, resets the board when it is not
fed in time: the firmware process is killed and booted again, with
machine.reset_cause() = WDT_RESET. machine.reset() resets it the same way,
through the watchdog, as on the RP2040 (see firmware/lib/picostim/watchdog.py). Faults can be injected from stdin (see
CONTROL_HELP): a failing chip call, a hung firmware, a power cycle.

One clock: the firmware's `time` and its waits are the emulated chip's
(mpy/emulated_time.py). The chip runs only while the firmware waits (a
select.poll or sleep with a timeout), for as long as it waits, so the
firmware's timers and the pulses in the trace agree to the cycle however
loaded the host is; each chip call costs CALL_CYCLES. The chip keeps pace
with real time when it can, never runs ahead of it, and says when it falls
behind (fast stimulation emulates slower than real time); every pin edge in
the trace has its exact cycle either way.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tty
from pathlib import Path

from picostim.auth import DEV_KEY
from picostim.boards import board_path, load_board
from picostim.chip import mpu6050
from picostim.chip.firmware_host import ROOT, STAND_INS
from picostim.chip.frontend import FrontEnd
from picostim.chip.model import PWRON_RESET, SYS_HZ, WDT_RESET, ChipModel
from picostim.chip.trace import VcdTrace
from picostim.deploy import compile_firmware
from picostim.vboard import HEAP, registry
from picostim.vboard.chip_server import ChipServer

FIRMWARE_DIR = ROOT / "firmware"
BOOT = STAND_INS / "vboard_main.py"
SLICE_CYCLES = SYS_HZ // 1000  # emulate at most 1 ms between looks at the host and the controls
CALL_CYCLES = 2500  # 20 us of emulated time per firmware chip call
BURST_WAIT_S = 0.0005  # a firmware call sequence: the next call comes within this
BURST_LIMIT_S = 0.02  # then look at the serial port and the clock again
LAG_LIMIT_S = 0.05  # emulated time may trail real time by this much before the pace is reset
BUSY_LIMIT_S = 1.0  # a firmware that neither calls the chip nor waits this long is stuck: time runs on
SLOW_REPORT_S = 10.0  # say at most this often that the emulation trails real time
OUT_LIMIT = 1 << 16  # bytes buffered towards a host that is not reading (then the firmware waits)
STALE_HOST_S = 1.0  # a host that read nothing for this long is gone: its output is dropped
QUICK_EXIT_S = 2.0
QUICK_EXITS = 3
STOP_GRACE_S = 3.0
CONTROL_HELP = (
    "controls: 'button press', 'button release', 'pin <gpio> 0|1', "
    "'clock' (prints CLOCK <emulated ns> on stdout), 'wait <ms>' (prints it once that much emulated time "
    "has passed), "
    "'contact <k> break|short|ok' (the dummy lead: open, shorted to the next contact, healthy), "
    "'fault raise' (the next chip call fails), 'fault hang' (the firmware hangs), 'power cycle', "
    "'posture upright|supine|prone|left|right [motion|noise <mg> <hz>]', "
    "'accel <x_mg> <y_mg> <z_mg> [motion|noise <mg> <hz>]' (the accelerometer, body axes: "
    "+X head, +Y patient's left, +Z out of the back)"
)


class SimError(Exception):
    pass


def micropython_binary() -> str:
    local = Path(sys.executable).with_name("micropython")
    found = str(local) if local.exists() else shutil.which("micropython")
    if not found:
        raise SimError("the MicroPython unix port is not installed (run `make setup`)")
    return found


class Firmware:
    """One run of the firmware in a MicroPython process (a boot of the board)."""

    def __init__(self, workdir: Path, serial: int, flash: Path, heap: str, lib: Path):
        self.request = workdir / f"request{serial}"
        self.reply = workdir / f"reply{serial}"
        os.mkfifo(self.request)
        os.mkfifo(self.reply)
        # Both ends open read-write: neither open blocks, neither sees EOF.
        self.request_fd = os.open(self.request, os.O_RDWR | os.O_NONBLOCK)
        self.reply_fd = os.open(self.reply, os.O_RDWR)
        argv = [micropython_binary(), "-X", f"heapsize={heap}", "-i", str(BOOT)]
        argv += [str(self.request), str(self.reply), str(FIRMWARE_DIR), str(flash), str(lib)]
        self.process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0, start_new_session=True
        )
        assert self.process.stdin and self.process.stdout
        self.stdin = self.process.stdin.fileno()
        self.stdout = self.process.stdout.fileno()
        os.set_blocking(self.stdin, False)
        os.set_blocking(self.stdout, False)
        self.started = time.monotonic()
        self.input_closed = False

    def kill(self):
        """Power gone or reset: no `finally` runs (the pins go low with the chip)."""
        if self.process.poll() is None:
            self.process.kill()

    def close_input(self):
        if not self.input_closed:
            self.input_closed = True
            assert self.process.stdin
            self.process.stdin.close()

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.close_input()
        assert self.process.stdout
        self.process.stdout.close()
        os.close(self.request_fd)
        os.close(self.reply_fd)
        self.request.unlink()
        self.reply.unlink()


class VirtualBoard:
    def __init__(
        self,
        board: str = "pico",
        trace: str | None = None,
        heap: str = HEAP,
        log=sys.stderr,
        control: bool = False,
        flash: str | None = None,
    ):
        self.board_json = board_path(board).resolve()
        self.board = load_board(board)
        self.heap = heap
        self.log = log
        self.chip = ChipModel()
        # the dummy lead behind the impedance ADC (faults: 'contact <k> break|short|ok')
        self.lead = FrontEnd.attach(self.chip, self.board) if "impedance" in self.board else None
        self.server = ChipServer(self.chip)
        self.accel = mpu6050.attach(self.chip, self.board)  # the profile's MPU-6050 on its I2C bus, or None
        self.trace = None
        if trace:
            dac = self.board["dac"]
            self.trace = VcdTrace(trace, pwm_pins=(dac["cathodic_pin"], dac["anodic_pin"]))
            self.chip.listeners.append(self.trace)
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # no echo or line editing before a client configures it
        os.set_blocking(self.master, False)
        self.port = os.ttyname(self.slave)
        self._workdir = Path(tempfile.mkdtemp(prefix="picostim-sim-"))
        self.flash = Path(flash) if flash else self._workdir / "flash"  # the board's filesystem root
        self.flash.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.board_json, self.flash / "board.json")  # as `picostim deploy --board` would
        if not (self.flash / "device.key").exists():
            (self.flash / "device.key").write_text(DEV_KEY.hex() + "\n")
        self._hung = False  # fault injection: the firmware's chip calls get no answer
        self.lib = self._workdir / "lib"  # the modules as deployed: mpy-cross output
        compile_firmware(self.lib)
        self._control = sys.stdin if control else None
        self._control_buf = b""
        self._boots = 0
        self._quick_exits = 0
        self._to_board: list[bytes] = []
        self._to_host = bytearray()
        self._host_read_at = time.monotonic()
        self._stop_at: float | None = None
        self.firmware: Firmware | None = None
        self._last_link = time.monotonic()  # the firmware's last chip call or wait
        self._pace_wall = time.monotonic()  # real time and emulated cycle the pace counts from
        self._pace_cycle = 0
        self._slow_since: tuple[float, int] | None = None  # (wall, cycle) where it began to trail
        self._slow_said = 0.0
        self._clock_waiters: list[int] = []  # cycles at which to print CLOCK (the `wait` control)

    # -- lifecycle -----------------------------------------------------------------
    def request_stop(self, *_):
        if self._stop_at is None:
            self._stop_at = time.monotonic() + STOP_GRACE_S
            if self.firmware:
                # the firmware's next chip call raises KeyboardInterrupt: its
                # `finally` drives outputs low; then its REPL reads EOF and exits
                self.server.interrupt_next = True
                self._hung = False
                self.firmware.close_input()

    def _boot(self):
        self.chip.reset_peripherals()
        self.server.reset()
        self._hung = False
        self._to_board.clear()
        self._last_link = time.monotonic()
        self._boots += 1
        self.firmware = Firmware(self._workdir, self._boots, self.flash, self.heap, self.lib)

    def _reset(self, reason: int, why: str):
        """A hardware reset (watchdog, power): the firmware stops where it is."""
        assert self.firmware
        print(f"picostim sim: {why}; the board resets", file=self.log, flush=True)
        self.firmware.kill()
        self.firmware.close()
        if reason == WDT_RESET:
            self.chip.watchdog_reset()  # REASON set, scratch registers kept
        else:
            self.chip.power_on_reset()
        self._boot()

    def _firmware_exited(self, code: int) -> bool:
        """Soft reset after the firmware ends; False when it keeps dying at boot."""
        assert self.firmware
        quick = time.monotonic() - self.firmware.started < QUICK_EXIT_S
        self.firmware.close()
        self.firmware = None
        self._quick_exits = self._quick_exits + 1 if quick else 0
        if self._quick_exits >= QUICK_EXITS:
            print(f"picostim sim: firmware exited {QUICK_EXITS} times at boot (code {code}); giving up", file=self.log)
            return False
        print(f"picostim sim: firmware exited (code {code}); soft reset", file=self.log)
        self._boot()
        return True

    def run(self) -> int:
        self._boot()
        self._pace_wall, self._pace_cycle = time.monotonic(), self.chip.cycle
        status = 0
        try:
            while True:
                assert self.firmware
                code = self.firmware.process.poll()
                if code is not None:
                    if self._stop_at is not None:
                        break
                    if not self._firmware_exited(code):
                        status = 1
                        break
                    continue
                if self._stop_at is not None and time.monotonic() > self._stop_at:
                    break
                if self.chip.watchdog_expired():
                    why = "machine.reset()" if self.chip.watchdog_triggered else "watchdog not fed in time"
                    self._reset(WDT_RESET, why)
                    continue
                self._exchange(self._idle_time())
                self._advance()
        finally:
            self.close()
        return status

    # -- the one clock -----------------------------------------------------------------
    def _runs_free(self) -> bool:
        """Time passes without the firmware waiting: it hangs (fault injection) or
        has neither called the chip nor waited for BUSY_LIMIT_S (the CPU spins)."""
        return self._hung or (self.server.waiting is None and time.monotonic() - self._last_link > BUSY_LIMIT_S)

    def _pace_target(self) -> int:
        """The cycle real time has reached; emulated time never runs ahead of it, and
        trails it by at most LAG_LIMIT_S (a slower stretch is not made up later)."""
        now = time.monotonic()
        target = self._pace_cycle + int((now - self._pace_wall) * SYS_HZ)
        lag = target - self.chip.cycle
        if lag > LAG_LIMIT_S * SYS_HZ:
            self._note_slow(now)
            self._pace_wall = now - LAG_LIMIT_S
            self._pace_cycle = self.chip.cycle
            return self.chip.cycle + int(LAG_LIMIT_S * SYS_HZ)
        if lag <= 0:
            self._slow_since = None
        return target

    def _note_slow(self, now: float):
        if self._slow_since is None:
            self._slow_since = (now, self.chip.cycle)
            return
        wall0, cycle0 = self._slow_since
        ratio = (self.chip.cycle - cycle0) / SYS_HZ / max(now - wall0, 1e-9)
        if now - wall0 >= 2.0 and ratio < 0.9 and now - self._slow_said >= SLOW_REPORT_S:
            self._slow_said = now
            print(
                f"picostim sim: emulated time runs at {ratio:.2f}x real time here; "
                "the trace and the firmware's timers stay exact",
                file=self.log,
                flush=True,
            )

    def _goal(self) -> int:
        """The cycle the chip runs to next: one slice on, or the end of the firmware's wait."""
        goal = self.chip.cycle + SLICE_CYCLES
        waiting = self.server.waiting
        if waiting is not None and waiting >= 0 and not self._hung:  # a hung firmware's wait never ends
            goal = min(goal, waiting)
        for cycle in self._clock_waiters[:1]:
            goal = min(goal, max(cycle, self.chip.cycle + 1))
        return goal

    def _idle_time(self) -> float:
        """How long _exchange may wait for bytes before the chip has work to do:
        until real time reaches the next goal (the chip never runs ahead of it)."""
        if self.server.waiting is None and not self._runs_free():
            return 0.05  # the firmware computes: its next call or line wakes us
        early = self._goal() - self._pace_target()
        return 0.0 if early <= 0 else min(0.01, early / SYS_HZ)

    def _advance(self):
        """Run the chip while the firmware waits (or runs free), to the end of the
        wait or one slice on, once real time has reached it."""
        fw, server = self.firmware, self.server
        assert fw
        if server.waiting is not None and server.interrupt_next and not self._hung:
            self._end_wait(fw)  # the sim is stopping: the wait raises KeyboardInterrupt
            return
        if server.waiting is None and not self._runs_free():
            return
        goal = self._goal()
        if goal > self._pace_target():
            return  # not yet: _idle_time() sleeps until then, or until the host sends
        self.chip.run_until(max(goal, self.chip.cycle))  # a wait shorter than its calls' cost is over already
        while self._clock_waiters and self._clock_waiters[0] <= self.chip.cycle:
            self._clock_waiters.pop(0)
            self._print_clock()
        if server.waiting is not None and 0 <= server.waiting <= self.chip.cycle and not self._hung:
            self._end_wait(fw)

    def _end_wait(self, fw: Firmware):
        os.write(fw.reply_fd, self.server.end_wait())
        self._last_link = time.monotonic()

    def _print_clock(self):
        print(f"CLOCK {self.chip.now_ns()}", flush=True)

    def close(self):
        if self.firmware:
            self.firmware.close()
            self.firmware = None
        if self.trace:
            self.trace.close(self.chip.now_ns())
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self._workdir, ignore_errors=True)

    # -- byte moving ----------------------------------------------------------------
    def _exchange(self, timeout: float):
        fw = self.firmware
        assert fw
        readers = [] if self._hung else [fw.request_fd]
        if len(self._to_host) < OUT_LIMIT:
            readers.append(fw.stdout)  # else the firmware's writes wait, as on a full USB FIFO
        elif time.monotonic() - self._host_read_at > STALE_HOST_S:
            self._to_host.clear()  # nobody is reading: like USB CDC with no host, output is lost
        if self._control is not None:
            readers.append(self._control.fileno())
        if sum(len(c) for c in self._to_board) < OUT_LIMIT:
            readers.append(self.master)  # else the host waits, as on a full USB FIFO
        writers = []
        if self._to_board and not fw.input_closed:
            writers.append(fw.stdin)
        if self._to_host:
            writers.append(self.master)
        ready_r, ready_w, _ = select.select(readers, writers, [], timeout)
        if not self._hung and fw.request_fd in ready_r:
            self._serve_link(fw)
        if fw.stdout in ready_r:
            self._from_firmware(fw)
        if self.master in ready_r:
            self._from_host()
        if self._control is not None and self._control.fileno() in ready_r:
            self._from_control()
        if fw.stdin in ready_w:
            self._to_firmware(fw)
            if self.server.waiting is not None and not self._hung:
                self._end_wait(fw)  # the firmware's poll() finds the bytes in its stdin
        if self.master in ready_w:
            self._flush_to_host()

    def _serve_link(self, fw: Firmware):
        """Serve the firmware's chip calls back to back while it makes them,
        until it waits (`idle`: answered by _advance or by bytes from the host).

        Each call costs CALL_CYCLES of emulated time, about what a MicroPython
        call into `machine`/`rp2` takes on the Pico, so a sequence of calls
        (e.g. checking that a queued update was taken, then queueing the next)
        spans the microseconds it would on the chip."""
        deadline = time.monotonic() + BURST_LIMIT_S
        while True:
            try:
                data = os.read(fw.request_fd, 65536)
            except BlockingIOError:
                data = b""
            if data:
                calls = self.server.calls
                os.write(fw.reply_fd, self.server.feed(data))
                self.chip.run(CALL_CYCLES * (self.server.calls - calls))
                self._last_link = time.monotonic()
            if self.server.waiting is not None:
                return
            if time.monotonic() > deadline or not select.select([fw.request_fd], [], [], BURST_WAIT_S)[0]:
                return

    def _from_control(self):
        """Lines on stdin act on the board from outside: see CONTROL_HELP."""
        assert self._control is not None
        data = os.read(self._control.fileno(), 4096)
        if not data:
            self._control = None  # stdin closed: nothing more to act on
            return
        self._control_buf += data
        while b"\n" in self._control_buf:
            line, self._control_buf = self._control_buf.split(b"\n", 1)
            message = self.control(line.decode("ascii", "replace"))
            print(f"picostim sim: {message}", file=self.log, flush=True)

    def control(self, line: str) -> str:
        words = line.split()
        try:
            if words[:1] == ["button"] and len(words) == 2 and words[1] in ("press", "release"):
                self.chip.bootsel_pressed = words[1] == "press"
                return "button " + {"press": "pressed", "release": "released"}[words[1]]
            if words[:1] == ["pin"] and len(words) == 3 and words[2] in ("0", "1"):
                self.chip.set_input(int(words[1]), int(words[2]))
                return f"pin {int(words[1])} driven {words[2]}"
            if words[:1] == ["contact"] and len(words) == 3 and self.lead:
                return self.lead.set_fault(int(words[1]), words[2])
            if words == ["clock"]:
                self._print_clock()
                return "clock printed"
            if words[:1] == ["wait"] and len(words) == 2:
                self._clock_waiters.append(self.chip.cycle + int(float(words[1]) * (SYS_HZ // 1000)))
                self._clock_waiters.sort()
                return f"CLOCK on stdout after {words[1]} ms of emulated time"
            if words == ["fault", "raise"]:
                self.server.fail_next = "injected fault"
                return "the next chip call fails"
            if words == ["fault", "hang"]:
                self._hung = True
                return "the firmware hangs (its next chip call never returns)"
            if words[:1] in (["posture"], ["accel"]) and self.accel:
                try:
                    self.accel.set_motion(mpu6050.motion_from_words(words))
                except ValueError as exc:
                    return f"accelerometer: {exc}"
                return "accelerometer: " + self.accel.motion.describe()
            if words == ["power", "cycle"] and self.firmware:
                if self.accel:
                    self.accel.reset()  # powered from the board's 3V3: back to sleep
                self._reset(PWRON_RESET, "power cycle")
                return "power cycled"
        except ValueError:
            pass
        return f"unknown control {line!r}; {CONTROL_HELP}"

    def _from_firmware(self, fw: Firmware):
        try:
            data = os.read(fw.stdout, 65536)
        except BlockingIOError:
            return
        self._to_host += data

    def _from_host(self):
        try:
            data = os.read(self.master, 4096)
        except (BlockingIOError, OSError):
            return
        if data:
            self._to_board.append(data)

    def _to_firmware(self, fw: Firmware):
        while self._to_board:
            chunk = self._to_board[0]
            try:
                sent = os.write(fw.stdin, chunk)
            except BlockingIOError:
                return
            except BrokenPipeError:
                self._to_board.clear()
                return
            if sent < len(chunk):
                self._to_board[0] = chunk[sent:]
                return
            self._to_board.pop(0)

    def _flush_to_host(self):
        try:
            sent = os.write(self.master, self._to_host)
        except (BlockingIOError, OSError):
            return
        del self._to_host[:sent]
        if sent:
            self._host_read_at = time.monotonic()


def run_sim(board: str = "pico", trace: str | None = None, heap: str = HEAP, flash: str | None = None) -> int:
    try:
        vboard = VirtualBoard(board, trace, heap, control=True, flash=flash)
    except (FileNotFoundError, SimError) as exc:
        print(f"picostim sim: {exc}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGINT, vboard.request_stop)
    signal.signal(signal.SIGTERM, vboard.request_stop)
    registry.register(vboard.port, os.getpid(), trace)  # `picostim ports` lists it while it runs
    print(f"PORT {vboard.port}", flush=True)
    where = f"; trace -> {trace}" if trace else ""
    print(
        f"picostim sim: board {vboard.board['name']} on {vboard.port} (MicroPython heap {heap}){where}; "
        f"Ctrl-C to stop; {CONTROL_HELP} on stdin",
        file=sys.stderr,
        flush=True,
    )
    try:
        status = vboard.run()
    finally:
        registry.unregister(os.getpid())
    ran = f"stopped after {vboard.chip.now_ns() / 1e9:.3f} s of emulated time, outputs low"
    if trace:
        ran += f"; trace in {trace}: check it with `picostim measure {trace}`"
    print(f"picostim sim: {ran}", file=sys.stderr, flush=True)
    return status
