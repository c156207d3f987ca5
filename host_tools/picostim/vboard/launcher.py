"""Start `picostim sim` as a child process and stop it again (tests, demo,
benchmarks):

    with SimProcess(trace="t.vcd") as sim:
        with Programmer(sim.port, timeout=10) as board: ...
    # the trace is closed once the block ends
"""

from __future__ import annotations

import select
import signal
import subprocess
import sys


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
        assert self.process.stdout
        ready, _, _ = select.select([self.process.stdout], [], [], start_timeout)
        first = self.process.stdout.readline() if ready else ""
        if not first.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"picostim sim did not start (first line {first!r})")
        self.port = first.split(None, 1)[1].strip()

    def __enter__(self) -> SimProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def control(self, line: str) -> None:
        """Act on the board from outside, e.g. "button press" or "pin 26 1"."""
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
