"""Figures of the full-chip virtual Pico (MicroPython's own RPI_PICO image in
rp2040py's whole-chip emulation): boot to the REPL and to `EVT READY`, the
firmware's heap after boot and its peak over a command mix (from DIAG),
command round trips in emulated time (p50/p99 per command), and the
emulation speed. Figures, not asserts.

    .venv/bin/python bench/fullchip_bench.py [--flash DEPLOYED.img --key KEY] [--rounds 3]

Without --flash it first deploys the firmware (`picostim deploy` over the
pty) into a fresh flash file, as on a real Pico, and reports that too.
A round trip runs from the emulated instant the command's bytes reach the
USB link to the instant the answer's newline leaves it.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from picostim.auth import load_key, new_key
from picostim.fullchip import ANSWER_S
from picostim.fullchip.board import FullChipBoard
from picostim.fullchip.image import find_image
from picostim.programmer import Programmer

QUIET_NS = 1_300_000_000  # longer than the firmware's 1 s of quiet before it saves
MIX = (
    "STATUS",
    "AMP UP",
    "AMP DOWN",
    "ON",
    "OFF",
    "STOP",
    "PROGRAM 1",
    "PROGRAMS",
    "SET amp={amp}uA",
    "SET amp=99mA",  # refused
    "DIAG",
)
# --group: four programs interleaved, running, adjusted (issue 16's fit on a Pico)
GROUP_MIX = (
    "PROGRAM 2",
    "SET amp=1mA pw=60us rate=100Hz cathodes=2 anodes=3 ramp=0ms",
    "PROGRAM 3",
    "SET amp=1.5mA pw=100us rate=50Hz cathodes=4 anodes=5 ramp=0ms",
    "PROGRAM 4",
    "SET amp=800uA pw=80us rate=100Hz cathodes=6 anodes=7 ramp=0ms",
    "PROGRAM 1",
    "SET amp=1mA rate=100Hz ramp=0ms",
    "GROUP mix 1,2,3,4",
    "GROUP mix",
    "ON",
    "STATUS",
    "AMP UP ALL",
    "AMP DOWN ALL",
    "PROGRAM 2",
    "AMP UP",
    "DIAG",
    "STOP",
    "DIAG",
)


class Timing:
    """Emulated instants of the serial traffic, from the board's hooks."""

    def __init__(self, board: FullChipBoard) -> None:
        self.board = board
        self.sent_ns: int | None = None
        self.round_trips: list[int] = []
        self.lines: list[tuple[int, str]] = []
        self._partial = b""
        board.input_listeners.append(self._input)
        board.output_listeners.append(self._output)

    def _input(self, data: bytes) -> None:
        if self.sent_ns is None:
            self.sent_ns = self.board.emulated_ns

    def _output(self, data: bytes) -> None:
        self._partial += data
        while b"\n" in self._partial:
            raw, self._partial = self._partial.split(b"\n", 1)
            line = raw.decode(errors="replace").strip()
            now = self.board.emulated_ns
            self.lines.append((now, line))
            if (line.startswith("OK") or line.startswith("ERR")) and self.sent_ns is not None:
                self.round_trips.append(now - self.sent_ns)
                self.sent_ns = None

    def first(self, prefix: str) -> int | None:
        return next((ns for ns, line in self.lines if line.startswith(prefix)), None)


def _ms(ns: float) -> str:
    return f"{ns / 1e6:.1f} ms"


def _pairs(answer: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in answer.split() if "=" in part)


def _deploy(port: str, key: Path) -> None:
    # --wait 0: the boot into the firmware is timed on its own, from the deployed flash
    argv = [sys.executable, "-m", "picostim.cli", "deploy", "--port", port, "--key", str(key), "--wait", "0"]
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"deploy failed:\n{result.stdout}{result.stderr}")


def _session(
    port: str, key: bytes, rounds: int, timing: Timing, group: bool = False
) -> tuple[dict[str, list[int]], list[dict[str, str]]]:
    """The command mix, one command at a time (then GROUP_MIX with `group`);
    (round trips per command, DIAG answers)."""
    by_command: dict[str, list[int]] = {}
    diags = []
    with Programmer(port, timeout=ANSWER_S) as board:
        board.login(key)
        diags.append(_pairs(board.send("DIAG")))
        for i in range(rounds):
            for template in MIX:
                line = template.format(amp=1000 + 100 * (i % 10))
                count = len(timing.round_trips)
                answer = board.send(line)
                assert len(timing.round_trips) == count + 1, "one answer, one round trip"
                name = "SET (refused)" if line == "SET amp=99mA" else line.split("=")[0]
                by_command.setdefault(name, []).append(timing.round_trips[-1])
                if line == "DIAG":
                    diags.append(_pairs(answer))
        # the host goes quiet: the firmware writes every change of the session to flash, once
        quiet_from = timing.board.emulated_ns
        while timing.board.emulated_ns - quiet_from < QUIET_NS:
            time.sleep(0.5)
        saved = _pairs(board.send("DIAG"))
        diags.append(saved)
        print(
            f"after {QUIET_NS / 1e9:.1f} s quiet: saves={saved.get('saves')} (writes of changes to flash since "
            f"boot), the last one {saved.get('save_ms')} ms emulated, unsaved={saved.get('unsaved')}; "
            f"heap_peak {saved.get('heap_peak')} B, heap_live {saved.get('heap_live')} B"
        )
        previous = ""
        for line in GROUP_MIX if group else ():
            count = len(timing.round_trips)
            answer = board.send(line)
            assert len(timing.round_trips) == count + 1, "one answer, one round trip"
            name = "group: " + " ".join(line.split()[:2]).split("=")[0]
            by_command.setdefault(name, []).append(timing.round_trips[-1])
            if line == "DIAG":
                diags.append(_pairs(answer))
                print(f"DIAG with the group {'stopped' if previous == 'STOP' else 'running'}: {answer}")
            previous = line
    return by_command, diags


async def _bench(args) -> None:
    image = find_image()
    if image is None:
        raise SystemExit("no MicroPython RPI_PICO image: set PICOSTIM_FIRMWARE (see docs/VIRTUAL_BOARDS.md)")
    work = Path(tempfile.mkdtemp(prefix="fullchip-bench-"))
    wall0, cpu0 = time.monotonic(), time.process_time()
    flash, key_file = (Path(args.flash), Path(args.key)) if args.flash else (work / "flash.img", work / "device.key")
    if not args.flash:
        key_file.write_text(new_key() + "\n")
        blank = FullChipBoard(image, flash_file=flash)
        wall = time.monotonic()
        port = await blank.start()
        print(
            f"boot to the REPL (USB enumerated), blank flash: {_ms(blank.emulated_ns)} emulated, "
            f"{time.monotonic() - wall:.1f} s wall"
        )
        start_ns, wall = blank.emulated_ns, time.monotonic()
        await asyncio.to_thread(_deploy, port, key_file)
        print(
            f"picostim deploy (mpremote over the pty): {_ms(blank.emulated_ns - start_ns)} emulated, "
            f"{time.monotonic() - wall:.1f} s wall"
        )
        await blank.stop()
    shutil.copy(flash, work / "run.img")  # the deployed flash stays as it is
    board = FullChipBoard(image, flash_file=work / "run.img")
    timing = Timing(board)
    wall = time.monotonic()
    port = await board.start()
    while timing.first("EVT READY") is None:
        await asyncio.sleep(0.2)
    ready = timing.first("EVT READY")
    assert ready is not None
    print(f"boot to EVT READY (from flash): {_ms(ready)} emulated, {time.monotonic() - wall:.1f} s wall")
    emu0, wall0s, cpu0s = board.emulated_ns, time.monotonic(), time.process_time()
    by_command, diags = await asyncio.to_thread(
        _session, port, load_key(str(key_file)), args.rounds, timing, args.group
    )
    emu, wall_s, cpu_s = board.emulated_ns - emu0, time.monotonic() - wall0s, time.process_time() - cpu0s
    await board.stop()
    count = sum(len(rtts) for rtts in by_command.values())
    print(
        f"heap_live after boot: {diags[0].get('heap_live')} B; heap_peak over {count} commands: "
        f"{max(int(d.get('heap_peak', 0)) for d in diags)} B (last DIAG: {diags[-1]})"
    )
    print(f"round trips in emulated time ({args.rounds} rounds; p99 of a handful is the max):")
    for command, rtts in by_command.items():
        p50 = statistics.median(rtts)
        p99 = sorted(rtts)[min(len(rtts) - 1, int(len(rtts) * 0.99))]
        print(f"  {command:13} n={len(rtts):3}  p50 {_ms(p50):>9}  p99 {_ms(p99):>9}")
    print(
        f"emulation speed over the session: {emu / 1e9 / wall_s:.4f} emulated s per wall s, "
        f"{emu / 1e9 / cpu_s:.4f} per CPU s ({emu / 1e9:.2f} emulated s in {wall_s:.0f} s wall)"
    )
    print(f"total: {time.monotonic() - wall0:.0f} s wall, {time.process_time() - cpu0:.0f} s CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flash", help="a flash file with the firmware deployed (else: deploy first)")
    parser.add_argument("--key", help="its device key file (with --flash)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the command mix (default: 3)")
    parser.add_argument("--group", action="store_true", help="then a group of four programs, run and adjusted")
    args = parser.parse_args()
    if bool(args.flash) != bool(args.key):
        parser.error("--flash and --key go together")
    asyncio.run(_bench(args))


if __name__ == "__main__":
    main()
