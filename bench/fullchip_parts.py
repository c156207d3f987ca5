"""Where a command's time goes on a Pico: pieces of the firmware timed with
time.ticks_us on the full-chip board's own REPL (emulated Cortex-M0+ time).
Figures, not asserts.

    .venv/bin/python bench/fullchip_parts.py     # about 5 minutes; deploys first unless kept

The board boots from this checkout's deployed flash (fullchip/deployed.py:
made once per firmware and kept), logs in, leaves the service for the REPL
and builds the command layer there again, without a flash root.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path

import serial
from picostim.auth import DEV_KEY
from picostim.fullchip import ANSWER_S
from picostim.fullchip.board import FullChipBoard
from picostim.fullchip.deployed import deployed_flash
from picostim.fullchip.image import find_image
from picostim.fullchip.launch import wait_for_line
from picostim.programmer import Programmer

PARTS = """
import sys, time, gc
sys.path.append('/lib')
from picostim import board, service, protocol
gc.collect()  # the service's DMA channels go with it
from picostim.pulse_engine import PulseEngine
p = board.load('/board.json')
c = service.build(p, PulseEngine(p), None, None)
def t(label, f, n=5):
    gc.collect()
    a = time.ticks_us()
    for i in range(n):
        f()
    print('%-26s %8d us' % (label, time.ticks_diff(time.ticks_us(), a) // n))
v = c.therapy.active.program.as_dict()
t('STATUS (answer)', lambda: c.answer('STATUS', 0))
t('settings text', lambda: protocol.format_settings(v))
t('unknown command (ERR)', lambda: c.answer('X', 0))
t('PROGRAMS', lambda: c.answer('PROGRAMS', 0))
t('AMP UP', lambda: c.answer('AMP UP', 0), 1)
t('AMP DOWN', lambda: c.answer('AMP DOWN', 0), 1)
t('SET amp=99mA (refused)', lambda: c.answer('SET amp=99mA', 0))
t('therapy.check', lambda: c.therapy.check(c.therapy.program()))
t('gc.collect()', gc.collect, 2)
t('gc.mem_alloc()', gc.mem_alloc)
t('124-step comprehension', lambda: [i for i in range(124)])
print('PARTS' + ' DONE')
"""


def _run_parts(port: str) -> str:
    with Programmer(port, timeout=ANSWER_S) as board:
        board.login(DEV_KEY)
        board.send("REPL")
    with serial.Serial(port, 115200, timeout=1) as link:
        link.write(b"\r\n")
        time.sleep(5)
        link.read(100000)
        link.write(b"\x05")  # paste mode: the whole script, then Ctrl-D runs it
        time.sleep(1)
        link.write(PARTS.replace("\n", "\r").encode() + b"\x04")
        out = b""
        deadline = time.monotonic() + ANSWER_S
        while b"\nPARTS DONE" not in out and b"Error" not in out and time.monotonic() < deadline:
            out += link.read(4096)
    text = out.decode(errors="replace")
    return "\n".join(line for line in text.splitlines() if line.endswith(" us") or "Error" in line)


async def _bench() -> None:
    image = find_image()
    if image is None:
        raise SystemExit("no MicroPython RPI_PICO image: set PICOSTIM_FIRMWARE (see docs/VIRTUAL_BOARDS.md)")
    work = Path(tempfile.mkdtemp(prefix="fullchip-parts-"))
    shutil.copy(deployed_flash(image, DEV_KEY), work / "flash.img")
    board = FullChipBoard(image, flash_file=work / "flash.img")
    port = await board.start()
    await asyncio.to_thread(wait_for_line, port, b"EVT READY", ANSWER_S)
    print(await asyncio.to_thread(_run_parts, port))
    await board.stop()


if __name__ == "__main__":
    asyncio.run(_bench())
