"""VCD trace of the full chip's pins, on emulated time: the same wires as
the fast board's trace (picostim.chip.trace): gp<N> for every GPIO driven by
SIO or PIO, and gp<N>_duty_u16 for the PWM pins (the DAC levels), so
`picostim measure` reads either board's capture."""

from __future__ import annotations

from picostim.chip.trace import VcdTrace
from picostim.fullchip.pio_clock import NS_PER_CYCLE, ClockedPio

GPIO_COUNT = 30
PWM_PINS = (18, 19)
FUNCTION_PWM = 4
PWM_KEY = 0x40050  # rp2040.peripherals key of the PWM block
_SLICE_STRIDE = 0x14
_CSR, _CC, _TOP = 0x00, 0x0C, 0x10
_CSR_A_INV, _CSR_B_INV = 1 << 2, 1 << 3


class _PwmTap:
    """Forwards the PWM block's registers; reports the duty of each traced pin after a write."""

    def __init__(self, block, on_write) -> None:
        self._block = block
        self._on_write = on_write

    def read_uint32(self, offset: int) -> int:
        return self._block.read_uint32(offset)

    def write_uint32_atomic(self, offset: int, value: int, atomic_type: int) -> None:
        self._block.write_uint32_atomic(offset, value, atomic_type)
        self._on_write()

    def __getattr__(self, name):
        return getattr(self._block, name)


def driven_high(pin) -> bool:
    """Whether the chip drives a GPIO high (its output enabled and set, by SIO or PIO)."""
    return bool(pin.output_enable and pin.output_value)


def pwm_level(pwm, pin: int) -> tuple[int, int]:
    """(counts high, counts per period) of a pin's PWM channel, from its slice's CC and TOP."""
    base = (pin >> 1 & 7) * _SLICE_STRIDE
    level = pwm.read_uint32(base + _CC) >> (16 * (pin & 1)) & 0xFFFF
    counts = (pwm.read_uint32(base + _TOP) & 0xFFFF) + 1
    return min(level, counts), counts


def duty_u16(pwm, pin: int) -> int:
    """A pin's PWM duty as MicroPython's PWM.duty_u16() reads it back."""
    level, counts = pwm_level(pwm, pin)
    duty = (level * 65535 + counts // 2) // counts
    if pwm.read_uint32((pin >> 1 & 7) * _SLICE_STRIDE + _CSR) & (_CSR_B_INV if pin & 1 else _CSR_A_INV):
        duty = 65535 - duty
    return duty


class PinTrace:
    def __init__(self, path: str, rp2040, pio: ClockedPio) -> None:
        self.rp2040 = rp2040
        self.pio = pio
        self._last_cycle = 0
        self.vcd = VcdTrace(path, pins=range(GPIO_COUNT), pwm_pins=PWM_PINS)
        self._levels = 0
        self._duty = {pin: 0 for pin in PWM_PINS}
        for n in range(GPIO_COUNT):
            rp2040.gpio[n].add_listener(lambda value, last, n=n: self._pin_changed(n))
        self._pwm = rp2040.peripherals[PWM_KEY]
        rp2040.peripherals[PWM_KEY] = _PwmTap(self._pwm, self._pwm_written)

    def _cycle(self) -> int:
        # Inside a PIO step the block's own cycle is exact; otherwise the CPU's clock,
        # once the PIO has caught up to it (VCD time never goes backwards).
        if self.pio.stepping:
            return max(block.cycle_fp for block in self.pio.blocks) >> 8
        self.pio.catch_up()
        return self.pio.now_cycle

    def _pin_changed(self, n: int) -> None:
        pin = self.rp2040.gpio[n]
        if pin.function_select == FUNCTION_PWM:
            return  # a DAC pin: its duty is traced, not its carrier
        level = 1 if driven_high(pin) else 0
        if (self._levels >> n & 1) != level:
            cycle = self._monotonic(self._cycle())
            self._levels ^= 1 << n
            self.vcd.pins_changed(cycle, self._levels, 1 << n)

    def _pwm_written(self) -> None:
        for pin in PWM_PINS:
            if self.rp2040.gpio[pin].function_select != FUNCTION_PWM:
                continue
            duty = duty_u16(self._pwm, pin)
            if duty != self._duty[pin]:
                self._duty[pin] = duty
                self.vcd.pwm_changed(self._monotonic(self._cycle()), pin, duty)

    def _monotonic(self, cycle: int) -> int:
        self._last_cycle = max(self._last_cycle, cycle)
        return self._last_cycle

    def close(self) -> None:
        self.vcd.close(at_ns=self.pio.now_cycle * NS_PER_CYCLE)
