"""`picostim sim --firmware PATH.uf2`: the full-chip virtual Pico behind a pty.

Prints `PORT <path>` first (as the fast board does), runs until SIGINT or
SIGTERM, then halts the chip and writes the flash file (`--flash FILE`).
Stdin lines act on the board from outside (see controls.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

from picostim.fullchip.image import ENV, find_image


def fullchip_wanted(firmware: str | None) -> bool:
    """`--firmware` given, or $PICOSTIM_FIRMWARE set: `picostim sim` boots the full chip."""
    return bool(firmware or os.environ.get(ENV))


async def _serve(board) -> int:
    from picostim.fullchip.controls import Controls

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    port = await board.start()
    print(f"PORT {port}", flush=True)
    controls = Controls(board)
    with contextlib.suppress(ValueError, OSError):
        loop.add_reader(sys.stdin.fileno(), controls.on_stdin_readable)
    while not stop.is_set() and board.simulator.executing:
        if board.simulator.shutdown_request.event.is_set():
            break
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.1)
    with contextlib.suppress(ValueError, OSError):
        loop.remove_reader(sys.stdin.fileno())
    await board.stop()
    if board.simulator.engine_room_error is not None:
        raise board.simulator.engine_room_error
    return 0


def run_fullchip(firmware: str | None, trace: str | None = None, flash: str | None = None) -> int:
    image = Path(firmware) if firmware else find_image()
    if image is None or not image.is_file():
        print(f"picostim sim: no MicroPython image at {firmware or '$' + ENV}", file=sys.stderr)
        return 2
    from picostim.fullchip.board import FlashFileError, FullChipBoard

    try:
        board = FullChipBoard(image, flash_file=Path(flash) if flash else None, trace=trace)
    except (FlashFileError, ValueError, OSError) as exc:
        print(f"picostim sim: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_serve(board))
