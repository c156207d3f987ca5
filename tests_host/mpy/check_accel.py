# The MPU-6050 driver (accel.py) on a register-file I2C double, under
# MicroPython (and CPython): run as a script from firmware/lib. Prints
# "OK <count>" when every check passes; raises otherwise.
import sys

sys.path.insert(0, ".")  # run from firmware/lib
try:
    import machine  # noqa: F401  (the unix port's: no I2C; the driver is handed one)
except ImportError:  # CPython: accel.py only needs machine to build its own I2C
    import types

    sys.modules["machine"] = types.ModuleType("machine")

from picostim import accel
from picostim.accel import Accelerometer, AccelError

checks = 0
MICROPYTHON = sys.implementation.name == "micropython"
PROFILE = {"accelerometer": {"part": "mpu6050", "address": 0x68, "axes": "+x+y+z"}, "i2c": {"id": 0}}


def ok(condition, what):
    global checks
    if not condition:
        raise AssertionError(what)
    checks += 1


class FakeMPU:
    """machine.I2C's memory-access methods over one MPU-6050-like register file."""

    def __init__(self, address=0x68, who=0x68):
        self.address = address
        self.regs = bytearray(128)
        self.regs[0x75] = who
        self.regs[0x6B] = 0x40
        self.fail = False

    def _check(self, addr):
        if self.fail or addr != self.address:
            raise OSError(5)

    def readfrom_mem_into(self, addr, memaddr, buf):
        self._check(addr)
        for i in range(len(buf)):
            buf[i] = self.regs[memaddr + i]

    def readfrom_mem(self, addr, memaddr, n):
        buf = bytearray(n)
        self.readfrom_mem_into(addr, memaddr, buf)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, data):
        self._check(addr)
        for i in range(len(data)):
            self.regs[memaddr + i] = data[i]

    def set_raw(self, x, y, z):
        for k, v in enumerate((x, y, z)):
            v &= 0xFFFF
            self.regs[0x3B + 2 * k] = v >> 8
            self.regs[0x3C + 2 * k] = v & 0xFF


def raises(fn, *args):
    """fn(*args) raises AccelError with code ACCEL; returns its message."""
    global checks
    try:
        fn(*args)
    except AccelError as e:
        ok(e.code == "ACCEL", "code " + e.code)
        return str(e)
    raise AssertionError("no AccelError")


# ---- wake-up ---------------------------------------------------------------------
dev = FakeMPU()
a = Accelerometer(PROFILE, dev)
ok(dev.regs[0x6B] == 0x01, "awake, PLL clock: 0x%02x" % dev.regs[0x6B])
ok(dev.regs[0x1C] & 0x18 == 0, "+-2 g")
dev.regs[0x1C] = 0x18  # some earlier run left +-16 g
Accelerometer(PROFILE, dev)
ok(dev.regs[0x1C] == 0, "back to +-2 g")

# ---- conversion: 16384 LSB/g, big-endian two's complement ------------------------
for raw, mg in ((16384, 1000), (-16384, -1000), (0, 0), (32767, 2000), (-32768, -2000), (8192, 500), (16, 1), (8, 0)):
    dev.set_raw(raw, 0, raw)
    got = a.read_mg()
    ok(got[0] == mg and got[1] == 0 and got[2] == mg, "raw %d -> %r, expected %d" % (raw, got, mg))
dev.set_raw(0x0102, -2, 0x7F00)
got = a.read_mg()
ok(list(got) == [(0x0102 * 1000 + 8192) // 16384, 0, (0x7F00 * 1000 + 8192) // 16384], "bytes: %r" % (got,))
ok(a.read_mg() is a.mg, "the same list each call")

# ---- axes mapping -------------------------------------------------------------------
dev.set_raw(16384, 8192, -16384)  # chip x 1000, y 500, z -1000
for axes, expected in (
    ("+x+y+z", [1000, 500, -1000]),
    ("-y+x+z", [-500, 1000, -1000]),
    ("+z-x-y", [-1000, -1000, -500]),
):
    prof = {"accelerometer": {"part": "mpu6050", "address": 0x68, "axes": axes}}
    got = Accelerometer(prof, dev).read_mg()
    ok(list(got) == expected, "%s: %r" % (axes, got))
ok(accel.parse_axes("-Y +X +Z") == [-2, 1, 3], "parse with spaces")
for bad in ("+x+y", "+x+x+z", "+x-x+z", "*x+y+z", "+x+y+w", "+x+y+z+", "x+y+z+"):
    prof = {"accelerometer": {"part": "mpu6050", "address": 0x68, "axes": bad}}
    raises(Accelerometer, prof, FakeMPU())

# ---- a missing, wrong or failing part: AccelError "ACCEL" -----------------------
m = raises(Accelerometer, PROFILE, FakeMPU(address=0x69))
ok("no answer" in m and "0x68" in m, m)
m = raises(Accelerometer, PROFILE, FakeMPU(who=0x70))
ok("WHO_AM_I 0x70" in m, m)
ok(isinstance(AccelError("x"), OSError), "an OSError, as a bus error is")
raises(Accelerometer, {"i2c": {"id": 0}}, FakeMPU())
raises(Accelerometer, {"accelerometer": {"part": "adxl345"}}, FakeMPU())
stuck = FakeMPU()
stuck.writeto_mem = lambda addr, memaddr, data: None  # writes lost: still asleep
ok("asleep" in raises(Accelerometer, PROFILE, stuck), "sleep kept")
dev.fail = True
ok("read failed" in raises(a.read_mg), "read failure")
dev.fail = False

# ---- no allocation per read ------------------------------------------------------
if MICROPYTHON:
    import micropython

    dev.set_raw(-12345, 23456, -1)
    a.read_mg()
    micropython.heap_lock()
    try:
        for _ in range(200):
            x, y, z = a.read_mg()
    finally:
        micropython.heap_unlock()
    ok((x, y, z) == ((-12345 * 125 + 1024) >> 11, (23456 * 125 + 1024) >> 11, 0), "read under heap_lock")

print("OK", checks)
