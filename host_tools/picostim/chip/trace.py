"""VCD trace of the emulated pins: one wire per GPIO named gp<N>, nanosecond
timestamps, plus the duty of each PWM pin as an integer gp<N>_duty_u16.
PulseView, GTKWave and sigrok open it."""

from vcd import VCDWriter

from picostim.chip.model import GPIO_COUNT, NS_PER_CYCLE


class VcdTrace:
    def __init__(self, path, pins=range(GPIO_COUNT), pwm_pins=()):
        self._file = open(path, "w")
        self._writer = VCDWriter(self._file, timescale="1 ns", date="", comment="picostim virtual board")
        self._wires = {n: self._writer.register_var("picostim", f"gp{n}", "wire", size=1, init=0) for n in pins}
        self._duty = {
            n: self._writer.register_var("picostim", f"gp{n}_duty_u16", "integer", size=16, init=0) for n in pwm_pins
        }
        self.last_ns = 0

    def pins_changed(self, cycle, levels, changed):
        t = cycle * NS_PER_CYCLE
        bits = changed
        while bits:
            n = (bits & -bits).bit_length() - 1
            var = self._wires.get(n)
            if var is not None:
                self._writer.change(var, t, levels >> n & 1)
            bits &= bits - 1
        self.last_ns = t

    def pwm_changed(self, cycle, pin, duty):
        var = self._duty.get(pin)
        if var is not None:
            self._writer.change(var, cycle * NS_PER_CYCLE, duty)

    def close(self, at_ns=None):
        if self._file.closed:
            return
        if at_ns is not None:
            self._writer.flush(at_ns)
        self._writer.close()
        self._file.close()
