"""FullChipBoard: a MicroPython UF2 image booted in rp2040py's whole-chip
emulation, its USB CDC serial port on a pseudo-terminal, and the littlefs
region of its flash kept in a file between runs.

    board = FullChipBoard(image, flash_file="pico-flash.img")
    port = await board.start()  # enumerated; open `port` with pyserial/mpremote
    ...
    await board.stop()          # writes the flash file
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from rp2040py.boards import BOARDS, resolve_firmware
from rp2040py.cli.pty_repl import PtyInteractiveRepl
from rp2040py.device.load_flash import check_flash_image_size, dump_micropython_flash_image
from rp2040py.device.mp_device import MicroPythonDevice
from rp2040py.utils.logging import LogLevel

from picostim.boards import load_board
from picostim.chip.mpu6050 import MPU6050, from_profile
from picostim.fullchip.frontend_link import attach_front_end
from picostim.fullchip.i2c_bus import I2CBus
from picostim.fullchip.pio_clock import ClockedPio
from picostim.fullchip.trace import PinTrace


class _Pty(PtyInteractiveRepl):
    """The pty bridge, telling the board when host bytes reach the USB link."""

    def __init__(self, board: FullChipBoard) -> None:
        super().__init__(
            board.device.cdc,
            board.simulator,
            on_quit=board.simulator.shutdown_request.request,
            on_data=board._on_output,
        )
        self._board = board

    def _send_and_pace(self, data: bytes) -> None:
        for listener in self._board.input_listeners:
            listener(data)
        super()._send_and_pace(data)


class FlashFileError(ValueError):
    """The flash file exists but is not a flash image of this board."""


class FullChipBoard:
    def __init__(
        self, image: Path, flash_file: Path | None = None, trace: str | None = None, profile: dict | None = None
    ) -> None:
        self.spec = resolve_firmware(BOARDS["pico"], "micropython", str(image))
        assert self.spec.layout is not None  # the pico entry declares MicroPython's layout
        self.flash_file = Path(flash_file) if flash_file else None
        filesystem = self.flash_file if self.flash_file and self.flash_file.exists() else None
        if filesystem is not None:
            layout = self.spec.layout
            try:
                check_flash_image_size(filesystem, layout.fs_blocksize, layout.fs_blockcount)
            except ValueError as exc:
                raise FlashFileError(str(exc)) from exc
        self.device = MicroPythonDevice(board=self.spec, filesystem=filesystem, log_level=LogLevel.ERROR)
        self.simulator = self.device.simulator
        self.mcu = self.device.mcu
        self.pio = ClockedPio(self.mcu)  # PIO on the system clock, not per CPU instruction
        self.trace = PinTrace(trace, self.mcu, self.pio) if trace else None
        # the board profile's parts outside the chip: its MPU-6050 on its I2C controller,
        # the dummy lead and sense amplifier behind its ADC
        profile = profile or load_board("pico")
        self.accel = _attach_accelerometer(self, profile)
        self.lead = attach_front_end(self, profile)
        # every byte the board sends, and every host byte as it reaches the USB link (emulated_ns: when)
        self.output_listeners: list[Callable[[bytes], None]] = []
        self.input_listeners: list[Callable[[bytes], None]] = []
        self._pty: _Pty | None = None

    @property
    def emulated_ns(self) -> int:
        return int(self.simulator.clock.nanos)

    def _on_output(self, data: bytes | bytearray) -> None:
        for listener in self.output_listeners:
            listener(bytes(data))

    async def start(self) -> str:
        """Boot until the USB CDC port enumerates; the pty path to open."""
        self._pty = _Pty(self)
        await self._pty.start()
        await self.device.astart(timeout=None)
        assert self._pty.slave_path is not None
        return self._pty.slave_path

    def save_flash(self) -> None:
        if self.flash_file is not None:
            assert self.spec.layout is not None
            dump_micropython_flash_image(self.flash_file, self.mcu, self.spec.layout)

    async def stop(self) -> None:
        """Halt the chip and keep its flash (a power-off: RAM is lost, flash is not)."""
        self.device.stop()
        await asyncio.sleep(0)
        self.save_flash()
        if self.trace is not None:
            self.trace.close()
        if self._pty is not None:
            await self._pty.stop()
            self._pty = None


def _attach_accelerometer(board: FullChipBoard, profile: dict) -> MPU6050 | None:
    found = from_profile(profile, lambda: board.emulated_ns)
    if found is None:
        return None
    device, bus, address = found
    I2CBus(board.mcu.i2c[bus]).devices[address] = device
    return device
