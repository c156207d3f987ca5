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
        if mode != -1 or pull != -1 or value is not None:  # as the port: Pin(id) alone changes nothing
            self.init(None if mode == -1 else mode, None if pull == -1 else pull, value=value)

    # As the port's machine_pin_obj_init_helper (ports/rp2/machine_pin.c): the
    # pulls are set every time, to none when `pull` is not given.
    def init(self, mode=None, pull=None, *, value=None):
        backend = _chip.backend
        if mode in (Pin.IN, Pin.OUT):
            backend.gpio_function(self.id, "sio")
            backend.sio_direction(self.id, mode == Pin.OUT)
        elif mode is not None:
            raise ValueError("pin mode %r is not emulated" % (mode,))
        backend.gpio_pull(self.id, 0 if pull is None else pull & (Pin.PULL_UP | Pin.PULL_DOWN))
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


class ADC:
    """MicroPython's rp2 machine.ADC (ports/rp2/machine_adc.c): ADC(Pin(26..29)),
    ADC(26..29) or ADC(0..3); read_u16() converts at the moment of the call
    (the chip model's adc_read_u16). The temperature sensor is not emulated."""

    CORE_TEMP = 4

    def __init__(self, source):
        n = source.id if isinstance(source, Pin) else source
        if not isinstance(n, int) or not (0 <= n <= 3 or 26 <= n <= 29):
            raise ValueError("Pin doesn't have ADC capabilities")
        self.channel = n - 26 if n >= 26 else n

    def read_u16(self):
        return _chip.backend.adc_read_u16(self.channel)

    def __repr__(self):
        return "<ADC channel=%d>" % self.channel


_SYS_HZ = 125000000
_PWM_BASE = 0x40050000
_PWM_STRIDE = 0x14
_PWM_CSR = 0x00
_PWM_DIV = 0x04
_PWM_CC = 0x0C
_PWM_TOP = 0x10
_TOP_MAX = 65534


def _pwm_reg(slice_, offset):
    return _PWM_BASE + _PWM_STRIDE * slice_ + offset


class PWM:
    """MicroPython's rp2 machine.PWM (ports/rp2/machine_pwm.c): the same
    register writes - DIV and TOP from freq(), one channel's half of CC from
    duty_u16(), the slice enabled once both are set - so code that reads or
    writes the PWM registers itself (machine.mem32) sees what it would on a
    Pico. As there, TOP is as large as the frequency allows and duty_u16 is
    rounded to the nearest CC count: cc = (duty * (TOP + 1) + 32767) // 65535."""

    _freq_set = [False] * 8  # per slice, as the port's slice_freq_set
    _duty = {}  # (slice, channel) -> duty_u16 (absent: not set)
    _invert = {}  # (slice, channel) -> bool

    def __init__(self, pin, freq=-1, *, duty_u16=-1, duty_ns=-1, invert=-1):
        n = pin.id if isinstance(pin, Pin) else pin
        self.pin = n
        self._slice = (n >> 1) & 7
        self._channel = n & 1
        key = (self._slice, self._channel)
        PWM._invert[key] = False
        PWM._duty.pop(key, None)
        _chip.backend.gpio_function(n, "pwm")
        self.init(freq=freq, duty_u16=duty_u16, duty_ns=duty_ns, invert=invert)

    def init(self, *, freq=-1, duty_u16=-1, duty_ns=-1, invert=-1):
        self._defer = True
        try:
            if freq != -1:
                self.freq(freq)
            if duty_u16 != -1:
                self.duty_u16(duty_u16)
            if duty_ns != -1:
                raise ValueError("duty_ns is not emulated")
            if invert != -1:
                PWM._invert[(self._slice, self._channel)] = bool(invert)
        finally:
            self._defer = False
        self._start()

    def _read(self, offset):
        return _chip.backend.mem32_read(_pwm_reg(self._slice, offset))

    def _write(self, offset, value):
        _chip.backend.mem32_write(_pwm_reg(self._slice, offset), value & 0xFFFFFFFF)

    def _start(self):
        key = (self._slice, self._channel)
        if self._defer or not PWM._freq_set[self._slice] or key not in PWM._duty:
            return
        a = PWM._invert.get((self._slice, 0), False)
        b = PWM._invert.get((self._slice, 1), False)
        csr = self._read(_PWM_CSR) & ~0xC | a << 2 | b << 3
        self._write(_PWM_CSR, csr | 1)

    def freq(self, hz=None):
        if hz is None:
            period16 = self._read(_PWM_DIV) * (self._read(_PWM_TOP) + 1)
            return (_SYS_HZ * 16 + period16 // 2) // period16
        if hz <= 0:
            raise ValueError("freq too small")
        if (_SYS_HZ + hz // 2) // hz < _TOP_MAX:
            div16 = 16
            top = (_SYS_HZ + hz // 2) // hz - 1
        else:
            div16 = -(-_SYS_HZ * 16 // (_TOP_MAX * hz))
            top = (_SYS_HZ * 16 + div16 * hz // 2) // (div16 * hz) - 1
        if div16 < 16:
            raise ValueError("freq too large")
        if div16 >= 256 * 16:
            raise ValueError("freq too small")
        self._write(_PWM_DIV, div16)
        self._write(_PWM_TOP, top)
        PWM._freq_set[self._slice] = True
        for channel in (self._channel, 1 - self._channel):  # both channels keep their duty
            duty = PWM._duty.get((self._slice, channel))
            if duty is not None:
                self._set_level(channel, duty)
        self._start()
        return None

    def _set_level(self, channel, duty):
        top = self._read(_PWM_TOP)
        cc = (duty * (top + 1) + 65535 // 2) // 65535
        shift = 16 * channel
        self._write(_PWM_CC, self._read(_PWM_CC) & ~(0xFFFF << shift) | cc << shift)
        PWM._duty[(self._slice, channel)] = duty

    def duty_u16(self, duty=None):
        if duty is None:
            counts = self._read(_PWM_TOP) + 1
            cc = self._read(_PWM_CC) >> (16 * self._channel) & 0xFFFF
            return (cc * 65535 + counts // 2) // counts
        if not 0 <= duty <= 65535:
            raise ValueError("duty_u16 out of range")
        self._set_level(self._channel, duty)
        self._start()
        return None

    def deinit(self):
        self._write(_PWM_CSR, self._read(_PWM_CSR) & ~1)


def _pwm_reset():
    """A new chip (soft reset): no slice has a frequency or a duty yet."""
    PWM._freq_set = [False] * 8
    PWM._duty = {}
    PWM._invert = {}


# As the port's machine.mem32: a read is a signed 32-bit int (a word with bit 31
# set reads negative: extmod/machine_mem.c makes an mp_int_t of it).
class _Mem32:
    def __getitem__(self, address):
        value = _chip.backend.mem32_read(address) & 0xFFFFFFFF
        return value - (1 << 32) if value & 0x80000000 else value

    def __setitem__(self, address, value):
        _chip.backend.mem32_write(address, value & 0xFFFFFFFF)


mem32 = _Mem32()


PWRON_RESET = 1
WDT_RESET = 3


# As the port: WDT_RESET whenever the watchdog caused the reset, machine.reset() included.
def reset_cause():
    return _chip.backend.reset_cause()


# As the port (ports/rp2/modmachine.c): pico-sdk watchdog_reboot(0, SRAM_END, 0), a
# reset through the watchdog (reset_cause() then reads WDT_RESET). Never returns: the
# virtual board never answers; a chip model called directly gets SystemExit.
def reset():
    _chip.backend.watchdog_reboot()
    raise SystemExit("machine.reset()")


class WDT:
    """The hardware watchdog: once started, a reset unless fed within the timeout."""

    def __init__(self, id=0, timeout=5000):
        _chip.backend.wdt_start(timeout)

    def feed(self):
        _chip.backend.wdt_feed()


def disable_irq():
    return 0


def enable_irq(state=0):
    return None


class I2C:
    """MicroPython's rp2 machine.I2C (ports/rp2/machine_i2c.c with
    extmod/machine_i2c.c): hardware I2C0/I2C1 on the chip model's I2C buses,
    each transfer one chip call (i2c_write / i2c_read). As on the Pico, a
    transfer to an address nobody ACKs raises OSError(EIO = 5), except a
    zero-length write (scan(), writeto(addr, b"")), which the port does in
    software I2C: OSError(ENODEV = 19). `stop` is accepted and ignored (no
    other bus master). Default pins as the port's: I2C0 SCL 9 SDA 8, I2C1 SCL 7 SDA 6."""

    def __init__(self, id=-1, *, scl=None, sda=None, freq=400000, timeout=50000):
        if id not in (0, 1):
            raise ValueError("I2C(%d) doesn't exist" % id)
        scl = (9 - 2 * id) if scl is None else getattr(scl, "id", scl)
        sda = (8 - 2 * id) if sda is None else getattr(sda, "id", sda)
        if scl & 3 != 2 * id + 1:
            raise ValueError("bad SCL pin")
        if sda & 3 != 2 * id:
            raise ValueError("bad SDA pin")
        self.id, self.scl, self.sda, self.freq, self.timeout = id, scl, sda, freq, timeout
        _chip.backend.i2c_init(id, scl, sda, freq)

    def __repr__(self):
        return "I2C(%u, freq=%u, scl=%u, sda=%u, timeout=%u)" % (self.id, self.freq, self.scl, self.sda, self.timeout)

    def writeto(self, addr, buf, stop=True):
        acked = _chip.backend.i2c_write(self.id, addr, "x" + "".join("%02x" % b for b in buf))
        if acked < 0:
            raise OSError(5, "EIO") if len(buf) else OSError(19, "ENODEV")
        return acked

    def readfrom_into(self, addr, buf, stop=True):
        value = _chip.backend.i2c_read(self.id, addr, len(buf))
        if value < 0:
            raise OSError(5, "EIO")
        for i in range(len(buf) - 1, -1, -1):
            buf[i] = value & 0xFF
            value >>= 8

    def readfrom(self, addr, nbytes, stop=True):
        buf = bytearray(nbytes)
        self.readfrom_into(addr, buf)
        return bytes(buf)

    def scan(self):
        """7-bit addresses 0x08..0x77 that ACK a zero-length write."""
        return [addr for addr in range(0x08, 0x78) if _chip.backend.i2c_write(self.id, addr, "x") >= 0]

    def _memaddr(self, memaddr, addrsize):
        if addrsize & 7 or not 8 <= addrsize <= 32:
            raise ValueError("invalid addrsize")
        return bytes((memaddr >> shift) & 0xFF for shift in range(addrsize - 8, -1, -8))

    def readfrom_mem_into(self, addr, memaddr, buf, *, addrsize=8):
        self.writeto(addr, self._memaddr(memaddr, addrsize), False)  # then a repeated start
        self.readfrom_into(addr, buf)

    def readfrom_mem(self, addr, memaddr, nbytes, *, addrsize=8):
        buf = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, buf, addrsize=addrsize)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf, *, addrsize=8):
        self.writeto(addr, self._memaddr(memaddr, addrsize) + bytes(buf))
