"""Devices on an I2C controller of the full-chip board: rp2040py's RPI2C moves
one byte at a time through its callbacks; a device here takes whole
transfers, as on the fast board's bus (write(data) -> bytes ACKed, read(n)).

    bus = I2CBus(mcu.i2c[0])
    bus.devices[0x68] = MPU6050(clock)

A write's bytes go to the device at its STOP or repeated START (so a register
pointer is set before the read that follows); a read takes one coherent
sample at its address phase, then serves it byte by byte. An address with no
device is not acknowledged: the controller aborts, and MicroPython raises
OSError(ETIMEDOUT/EIO) as a Pico with nothing on the bus does.
"""

from __future__ import annotations

from typing import Any

from rp2040py.peripherals.i2c import RPI2C, I2CMode


class I2CBus:
    def __init__(self, controller: RPI2C) -> None:
        self.controller = controller
        self.devices: dict[int, Any] = {}  # address -> write(data), read(n, sample), sample()
        self._device: Any = None  # the device addressed by the transfer in progress
        self._written = bytearray()
        self._sample: bytearray | None = None  # a read's registers, as at its address phase
        controller.on_start = self._start
        controller.on_connect = self._connect
        controller.on_write_byte = self._write_byte
        controller.on_read_byte = self._read_byte
        controller.on_stop = self._stop

    def _flush(self) -> None:
        if self._device is not None and self._written:
            self._device.write(bytes(self._written))
        self._written = bytearray()

    def _start(self, repeated: bool) -> None:
        self._flush()
        self.controller.complete_start()

    def _connect(self, address: int, mode: I2CMode) -> None:
        self._device = self.devices.get(address)
        if self._device is not None and mode == I2CMode.READ:
            self._sample = self._device.sample()
        self.controller.complete_connect(self._device is not None)

    def _write_byte(self, value: int) -> None:
        self._written.append(value)
        self.controller.complete_write(True)

    def _read_byte(self, ack: bool) -> None:
        assert self._device is not None  # no read without an acknowledged address
        self.controller.complete_read(self._device.read(1, self._sample)[0])

    def _stop(self) -> None:
        self._flush()
        self._device = None
        self._sample = None
        self.controller.complete_stop()
