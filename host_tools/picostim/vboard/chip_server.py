"""Chip-model side of the virtual board's link (see mpy/chip_link.py).

Requests are text lines "<method> <arg>..."; only the chip-model methods the
stand-ins use may be called. Each reply is one line.
"""

from __future__ import annotations

from picostim.chip.model import ChipError, ChipModel

METHODS = frozenset(
    (
        "gpio_function gpio_pull sio_direction sio_write gpio_read bootsel pio_write_instr "
        "sm_configure pio_pin sm_active sm_set_active sm_restart sm_exec sm_sideset_count sm_put sm_get "
        "sm_tx_level sm_rx_level mem32_read mem32_write dma_claim dma_release sram_alloc sram_write "
        "wdt_start wdt_feed reset_cause "
        "i2c_init i2c_write i2c_read "
        "adc_read_u16"
    ).split()
)


# Reply that makes the chip link raise KeyboardInterrupt in the firmware: how
# the sim stops it gracefully (its `finally` drives outputs low after the
# pulse in progress) while the service has Ctrl-C and SIGINT turned off.
INTERRUPT = b"!KeyboardInterrupt\n"


# `fault raise` fails the next call to the chip itself, not the watchdog's feed
# or the accelerometer's bus (a failed I2C read is the ACCEL fault, not LOOP).
_NOT_FAILED = frozenset(("wdt_feed", "i2c_init", "i2c_read", "i2c_write"))


def _arg(text: str):
    if text == "None":
        return None
    try:
        return int(text)
    except ValueError:
        return text


class ChipServer:
    def __init__(self, chip: ChipModel):
        self.chip = chip
        self.calls = 0
        self._pending = b""
        self.fail_next: str | None = None  # a message: the next call fails with it (fault injection)
        self.interrupt_next = False  # the next call raises KeyboardInterrupt (the sim stopping)

    def feed(self, data: bytes) -> bytes:
        """Serve every complete request line in `data`; return the replies."""
        self._pending += data
        replies = []
        while b"\n" in self._pending:
            line, self._pending = self._pending.split(b"\n", 1)
            replies.append(self.serve(line.decode()))
        return b"".join(replies)

    def reset(self):
        self._pending = b""

    def serve(self, line: str) -> bytes:
        self.calls += 1
        name, *args = line.split()
        if name not in METHODS:
            return f"!chip method {name!r} not emulated\n".encode()
        if self.interrupt_next:
            self.interrupt_next = False
            return INTERRUPT
        if self.fail_next and name not in _NOT_FAILED:
            message, self.fail_next = self.fail_next, None
            return f"!{message}\n".encode()
        try:
            result = getattr(self.chip, name)(*[_arg(a) for a in args])
        except (ChipError, TypeError, ValueError, IndexError) as exc:
            return f"!{exc}\n".encode()
        if result is None:
            return b"=\n"
        return f"={int(result)}\n".encode()
