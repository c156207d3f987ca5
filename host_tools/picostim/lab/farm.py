"""A labgrid farm on this host with virtual boards: a real coordinator, a
real exporter, and each board's port published as a place tagged board=pico.
What CI runs the serial suites through, and a way to try a rack with no
hardware:

    picostim lab farm --boards 2      # prints LG_COORDINATOR=... and the places; Ctrl-C stops

The exporter serves a board's pty with ser2net (RawSerialPort, RFC 2217), as
it serves a Pico's /dev/ttyACM0. Without ser2net on the host, each pty is
served over raw TCP by picostim.lab.bridge (NetworkSerialPort, raw), and the
farm says so.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from picostim.lab.client import LabError, LabgridClient, tool

TAGS = {"board": "pico"}
EXPORTER = "picostim-farm"


def ser2net_missing() -> str | None:
    """Why ser2net cannot serve the ports here, or None when it can."""
    if shutil.which("ser2net") or os.path.exists("/usr/sbin/ser2net"):
        return None
    return "ser2net is not installed (Debian: apt-get install ser2net)"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_listening(address: str, process: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:
    host, port = address.rsplit(":", 1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LabError(f"labgrid-coordinator exited ({process.returncode}): {log.read_text()[-500:]}")
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise LabError(f"labgrid-coordinator did not listen on {address} in {timeout:.0f} s")


class LocalFarm:
    def __init__(
        self,
        boards: int = 2,
        workdir: str | None = None,
        serve: str | None = None,
        board: str = "pico",
        firmware: str | None = None,
        ports: list[str] | None = None,
    ):
        """`serve`: "ser2net" or "tcp" (default: ser2net where installed).
        `firmware`: a MicroPython RPI_PICO image for full-chip boards (blank:
        deploy the firmware onto them), else fast boards running picostim.
        `ports`: export these boards' ports instead of starting boards."""
        self.ports = list(ports or [])
        boards = len(self.ports) or boards
        self.count = boards
        self.board = board
        self.firmware = firmware
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="picostim-farm-"))
        self.why_tcp = ser2net_missing() if serve is None else ("asked for raw TCP" if serve == "tcp" else None)
        self.places = [f"vpico-{n}" for n in range(1, boards + 1)]
        self.coordinator = f"127.0.0.1:{_free_port()}"
        self.client = LabgridClient(self.coordinator)
        self.sims: list = []
        self.bridges: list = []
        self.processes: list[subprocess.Popen] = []

    def __enter__(self) -> LocalFarm:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _spawn(self, name: str, argv: list[str]) -> tuple[subprocess.Popen, Path]:
        log = self.workdir / f"{name}.log"
        with open(log, "w") as out:
            process = subprocess.Popen(argv, cwd=self.workdir, stdout=out, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process, log

    def start(self) -> None:
        process, log = self._spawn("coordinator", [tool("labgrid-coordinator"), "-l", self.coordinator])
        _wait_listening(self.coordinator, process, log)
        if not self.ports:
            self.sims = [self._board(n) for n in range(1, self.count + 1)]
            self.ports = [sim.port for sim in self.sims]
        config = self.workdir / "exporter.yaml"
        exports = zip(self.places, self.ports, strict=True)
        config.write_text("".join(self._export(place, port) for place, port in exports))
        self._spawn(
            "exporter",
            [tool("labgrid-exporter"), "-c", self.coordinator, "-n", EXPORTER, "--hostname", "127.0.0.1", str(config)],
        )
        for place in self.places:
            self.client.run("create", place=place)
            self.client.run("add-match", f"{EXPORTER}/{place}/*", place=place)
            self.client.run("set-tags", *(f"{k}={v}" for k, v in TAGS.items()), place=place)
        self._wait_exported()

    def _board(self, n: int):
        if self.firmware:
            from picostim.fullchip.launch import FullChipProcess

            return FullChipProcess(self.firmware, flash=self.workdir / f"flash-{n}.img")
        from picostim.vboard.launcher import SimProcess

        return SimProcess(self.board, flash=str(self.workdir / f"flash-{n}"))

    def _export(self, group: str, pty: str) -> str:
        # The exporter's file is a Jinja template: no '#' comments in it.
        if self.why_tcp is None:
            return f"{group}:\n  RawSerialPort:\n    port: {pty}\n    speed: 115200\n"
        from picostim.lab.bridge import TcpBridge

        bridge = TcpBridge(pty)
        self.bridges.append(bridge)
        return (
            f"{group}:\n  NetworkSerialPort:\n    host: {bridge.host}\n    port: {bridge.port}\n"
            f"    speed: 115200\n    protocol: raw\n"
        )

    def _wait_exported(self, timeout: float = 60.0) -> None:
        """Until the coordinator lists every place's port as available (the
        exporter says "started ser2net" even when it dies later: look here)."""
        deadline = time.monotonic() + timeout
        while True:
            listing = self.client.run("resources")
            missing = [p for p in self.places if f"{EXPORTER}/{p}/NetworkSerialPort" not in listing]
            if not missing:
                return
            if time.monotonic() > deadline:
                log = (self.workdir / "exporter.log").read_text()[-800:]
                raise LabError(f"the exporter did not publish {', '.join(missing)} in {timeout:.0f} s: {log}")
            time.sleep(0.3)

    def describe(self) -> str:
        how = "ser2net (RFC 2217)" if self.why_tcp is None else f"raw TCP ({self.why_tcp})"
        lines = [f"LG_COORDINATOR={self.coordinator}", f"ports served by {how}; logs in {self.workdir}"]
        lines += [f"place {place} (board=pico): {port}" for place, port in zip(self.places, self.ports, strict=True)]
        return "\n".join(lines)

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.processes = []
        for bridge in self.bridges:
            bridge.close()
        self.bridges = []
        for sim in self.sims:
            sim.stop()
        self.sims = []
