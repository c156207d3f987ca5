"""Start the full-chip board (`picostim sim --firmware`) as a child process:
the fast board's SimProcess interface (port, clock_ns, run_for, control,
stop), for tests and benchmarks.

    with FullChipProcess(image, flash="pico-flash.img") as sim:
        with Programmer(sim.port, timeout=60) as board:
            ...
"""

from __future__ import annotations

import subprocess
import sys
import time

import serial

from picostim.vboard.launcher import SimProcess


class FullChipProcess(SimProcess):
    def __init__(self, image, flash=None, trace=None, start_timeout: float = 120.0) -> None:
        argv = [sys.executable, "-m", "picostim.cli", "sim", "--firmware", str(image)]
        if flash:
            argv += ["--flash", str(flash)]
        if trace:
            argv += ["--trace", str(trace)]
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._out = b""
        first = self._line(start_timeout)
        if not first.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"picostim sim --firmware did not start (first line {first!r})")
        self.port = first.split(None, 1)[1].strip()


def wait_for_line(port: str, text: bytes, timeout: float) -> bytes:
    """Read the port until `text` comes (e.g. b"EVT READY" once a reset board
    is up: bytes sent while it is off the USB bus are lost, as on a Pico)."""
    seen = b""
    deadline = time.monotonic() + timeout
    with serial.Serial(port, 115200, timeout=0.5) as link:
        while text not in seen and time.monotonic() < deadline:
            seen += link.read(4096)
    return seen
