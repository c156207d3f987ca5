"""Chip-model side of the virtual board's link (see mpy/chip_link.py).

Requests are text lines "<method> <arg>..."; only the chip-model methods the
stand-ins use may be called. Each reply is one line. Two requests are the
server's own, the firmware's clock (mpy/emulated_time.py): `clock_cycles`
reads the emulated cycle counter, and `idle <us>` (-1: until the host sends)
is a wait that the sim answers later, with the cycle it ends on, once it has
run the chip that long or the host has sent bytes (see `waiting`). One is
never answered: `watchdog_reboot` (machine.reset()); the sim resets the board.
"""

from __future__ import annotations

from picostim.chip.model import SYS_HZ, ChipError, ChipModel

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
        self.waiting: int | None = None  # the firmware waits (idle) until this cycle; -1: until the host sends

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
        self.waiting = None

    def end_wait(self) -> bytes:
        """The reply that ends the firmware's wait: the cycle it ends on (or
        KeyboardInterrupt if the sim is stopping)."""
        self.waiting = None
        if self.interrupt_next:
            self.interrupt_next = False
            return INTERRUPT
        return f"={self.chip.cycle}\n".encode()

    def serve(self, line: str) -> bytes:
        self.calls += 1
        name, *args = line.split()
        if self.interrupt_next:
            self.interrupt_next = False
            return INTERRUPT
        if name == "clock_cycles":
            return f"={self.chip.cycle}\n".encode()
        if name == "idle" and len(args) == 1:
            us = int(args[0])
            self.waiting = -1 if us < 0 else self.chip.cycle + us * (SYS_HZ // 1_000_000)
            return b""  # answered by end_wait()
        if name == "watchdog_reboot":  # machine.reset(): never answered, the sim resets the board
            self.chip.watchdog_reboot()
            return b""
        if name not in METHODS:
            return f"!chip method {name!r} not emulated\n".encode()
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
