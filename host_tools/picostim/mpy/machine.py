"""Host stand-in for MicroPython's `machine` module (the parts picostim uses).

Every call goes to the chip model attached in `_chip`; anything the chip
model does not emulate raises instead of pretending to work.
"""

import _chip


def freq(hz=None):
    if hz is not None and hz != 125000000:
        raise ValueError("the emulated chip runs at 125 MHz only")
    return 125000000


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    ALT = 3
    PULL_UP = 1
    PULL_DOWN = 2

    def __init__(self, id, mode=-1, pull=-1, *, value=None):
        if not isinstance(id, int) or not 0 <= id < 30:
            raise ValueError("invalid pin %r" % (id,))
        self.id = id
        self.init(mode, pull, value=value)

    def init(self, mode=-1, pull=-1, *, value=None):
        backend = _chip.backend
        if mode in (Pin.IN, Pin.OUT):
            backend.gpio_function(self.id, "sio")
            backend.sio_direction(self.id, mode == Pin.OUT)
        if pull != -1:
            backend.gpio_pull(self.id, pull)
        if value is not None:
            backend.sio_write(self.id, 1 if value else 0)

    def value(self, v=None):
        if v is None:
            return _chip.backend.gpio_read(self.id)
        _chip.backend.sio_write(self.id, 1 if v else 0)
        return None

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def low(self):
        self.value(0)

    def high(self):
        self.value(1)

    def toggle(self):
        self.value(not self.value())

    def __repr__(self):
        return "Pin(GPIO%d)" % self.id


class PWM:
    def __init__(self, pin, *, freq=None, duty_u16=None, duty_ns=None, invert=False):
        self.pin = pin.id if isinstance(pin, Pin) else pin
        self._freq = 1000
        self._duty = 0
        _chip.backend.gpio_function(self.pin, "pwm")
        if freq is not None:
            self.freq(freq)
        if duty_u16 is not None:
            self.duty_u16(duty_u16)

    def freq(self, hz=None):
        if hz is None:
            return self._freq
        if not 8 <= hz <= 62500000:
            raise ValueError("freq out of range")
        self._freq = hz
        _chip.backend.pwm_set(self.pin, self._freq, self._duty)

    def duty_u16(self, duty=None):
        if duty is None:
            return self._duty
        if not 0 <= duty <= 65535:
            raise ValueError("duty_u16 out of range")
        self._duty = duty
        _chip.backend.pwm_set(self.pin, self._freq, self._duty)

    def deinit(self):
        self._duty = 0
        _chip.backend.pwm_set(self.pin, self._freq, 0)


class _Mem32:
    def __getitem__(self, address):
        return _chip.backend.mem32_read(address)

    def __setitem__(self, address, value):
        _chip.backend.mem32_write(address, value & 0xFFFFFFFF)


mem32 = _Mem32()


def disable_irq():
    return 0


def enable_irq(state=0):
    return None
