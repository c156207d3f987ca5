"""Start `picostim sim` as a child process and stop it again (tests, demo,
benchmarks):

    with SimProcess(trace="t.vcd") as sim:
        with Programmer(sim.port, timeout=10) as board:
            board.on()
            sim.run_for(0.25)  # 250 ms of the board's (emulated) time
    # the trace is closed once the block ends

Time on the board is the emulated chip's, which may run slower than real
time: wait with run_for(), never with time.sleep().
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

CLOCK_TIMEOUT_S = 600.0  # emulated time always moves on; this only catches a dead sim


class SimProcess:
    def __init__(
        self,
        board: str = "pico",
        trace: str | None = None,
        heap: str | None = None,
        start_timeout=30.0,
        flash: str | None = None,
    ):
        argv = [sys.executable, "-m", "picostim.cli", "sim", "--board", board]
        if flash:
            argv += ["--flash", str(flash)]
        if trace:
            argv += ["--trace", str(trace)]
        if heap:
            argv += ["--heap", heap]
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._out = b""
        first = self._line(start_timeout)
        if not first.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"picostim sim did not start (first line {first!r})")
        self.port = first.split(None, 1)[1].strip()

    def _line(self, timeout: float) -> str:
        """The sim's next stdout line ("" if none came in time or it ended)."""
        assert self.process.stdout
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._out:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return ""
            data = os.read(fd, 4096)
            if not data:
                return ""
            self._out += data
        line, self._out = self._out.split(b"\n", 1)
        return line.decode()

    def _clock(self, control: str) -> int:
        self._send(control)
        line = self._line(CLOCK_TIMEOUT_S)
        if not line.startswith("CLOCK "):
            raise RuntimeError(f"picostim sim did not report its clock (got {line!r})")
        return int(line.split()[1])

    def clock_ns(self) -> int:
        """The board's emulated time now, in ns since the sim started."""
        return self._clock("clock")

    def run_for(self, seconds: float) -> int:
        """Wait until the board's emulated time has moved on by `seconds`; returns the clock then."""
        return self._clock(f"wait {seconds * 1000:.6f}")

    def __enter__(self) -> SimProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def control(self, line: str) -> None:
        """Act on the board from outside, e.g. "button press" or "pin 26 1";
        returns once the sim has done it."""
        self._send(line)
        self.clock_ns()

    def _send(self, line: str) -> None:
        assert self.process.stdin
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> int:
        """SIGINT (outputs low, trace closed), as Ctrl-C in a terminal would."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream:
                stream.close()
        return self.process.returncode
