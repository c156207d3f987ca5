"""The lead front end (picostim.chip.frontend: contact switches, dummy lead,
sense amplifier, track-and-hold) behind the full chip's ADC, as on the fast
board: the same model, fed by the full chip's pins and PWM registers.

The track-and-hold takes its value when the cathodic phase pin falls (a GPIO
listener, inside the PIO step that drives it); an ADC conversion reads the
front end's voltage on its pin when it starts (rp2040py's `on_adc_read`), with
the PIO caught up to the CPU's time first.
"""

from __future__ import annotations

from picostim.chip.frontend import FrontEnd
from picostim.chip.model import adc_counts
from picostim.fullchip.trace import FUNCTION_PWM, PWM_KEY, driven_high, pwm_level

ADC_PINS = range(26, 30)  # ADC channels 0..3


class ChipPins:
    """What the front end reads of the full chip: GPIO output levels and the DAC pins' PWM levels."""

    def __init__(self, mcu) -> None:
        self.mcu = mcu

    def levels(self) -> int:
        mask = 0
        for n, pin in enumerate(self.mcu.gpio):
            if driven_high(pin):
                mask |= 1 << n
        return mask

    def dac_fraction(self, pin: int) -> float:
        if self.mcu.gpio[pin].function_select != FUNCTION_PWM:
            return 0.0
        level, counts = pwm_level(self.mcu.peripherals[PWM_KEY], pin)
        return level / counts


def attach_front_end(board, profile: dict) -> FrontEnd | None:
    """The profile's lead front end on `board` (a FullChipBoard); None without one."""
    if "impedance" not in profile:
        return None
    mcu, pio = board.mcu, board.pio
    pins = ChipPins(mcu)
    front = FrontEnd(pins, profile)
    cathodic = front.cathodic_pin

    def phase_pin_changed(value, last) -> None:
        if not driven_high(mcu.gpio[cathodic]):  # the end of a cathodic phase: the hold takes its value
            front.pins_changed(0, pins.levels(), 1 << cathodic)

    mcu.gpio[cathodic].add_listener(phase_pin_changed)
    adc = mcu.adc
    sample = adc.on_adc_read  # rp2040py's: takes channel_values[channel] after the sample time

    def on_adc_read(channel: int) -> None:
        if channel < len(ADC_PINS):
            pio.catch_up()  # the pulses up to the CPU's time have run
            adc.channel_values[channel] = adc_counts(front.volts(ADC_PINS[channel]))
        sample(channel)

    adc.on_adc_read = on_adc_read
    return front
