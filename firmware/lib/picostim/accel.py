"""The accelerometer (hardware adapter): an MPU-6050 on the board profile's
I2C bus, read in milli-g along the patient's body axes.

    accel = Accelerometer(profile)   # wakes the part, +-2 g; AccelError if it is missing
    x, y, z = accel.read_mg()        # body axes, mg: +X head, +Y patient's left, +Z out of the back

The profile's "accelerometer" section: "part" ("mpu6050"), "address" (7-bit,
104 = 0x68), "axes" (body X, Y, Z as signed chip axes, e.g. "+x+y+z" or
"-y+x+z" for a part mounted turned by 90 degrees). AccelError (an OSError; its
.code is "ACCEL", the fault code) for a missing, wrong or failing part, from
the constructor and from read_mg().

read_mg() allocates nothing: it reads into a preallocated buffer and returns
the same 3-element list each time (copy it to keep a reading).
"""

import machine

E_ACCEL = "ACCEL"
WHO_AM_I = 0x75  # reads 0x68
PWR_MGMT_1 = 0x6B  # 0x40 at power-up: asleep, every data register 0
ACCEL_CONFIG = 0x1C  # bits 4:3 full scale; 0: +-2 g, 16384 LSB/g
ACCEL_XOUT_H = 0x3B  # X, Y, Z: big-endian int16 each


class AccelError(OSError):
    """A missing, wrong, misconfigured or failing part (an OSError, as a bus error is)."""

    code = E_ACCEL


def parse_axes(text):
    """'+x+y+z' -> for body X, Y, Z the chip axis as a signed 1-based index
    (e.g. '-y+x+z' -> [-2, 1, 3]); ValueError if malformed."""
    t = text.replace(" ", "").lower()
    out = []
    for k in range(0, len(t), 2):
        axis = "xyz".find(t[k + 1 : k + 2]) + 1
        if t[k] not in "+-" or not axis or axis in out or -axis in out:
            break
        out.append(axis if t[k] == "+" else -axis)
    if len(t) != 6 or len(out) != 3:
        raise ValueError("axes %r: three signed chip axes, e.g. +x+y+z" % text)
    return out


class Accelerometer:
    def __init__(self, profile, i2c=None):
        spec = profile.get("accelerometer") or {}
        if spec.get("part") != "mpu6050":
            raise AccelError("no supported accelerometer in the board profile (part mpu6050)")
        self.address = spec.get("address", 0x68)
        self.name = "MPU-6050 at 0x%02x" % self.address
        try:
            self._axes = parse_axes(spec.get("axes", "+x+y+z"))
        except ValueError as e:
            raise AccelError(str(e)) from None
        if i2c is None:
            bus = profile["i2c"]
            i2c = machine.I2C(
                bus["id"], scl=machine.Pin(bus["scl"]), sda=machine.Pin(bus["sda"]), freq=bus.get("freq_hz", 400000)
            )
        self._i2c = i2c
        self._buf = bytearray(6)
        self.mg = [0, 0, 0]
        self.wake()

    def wake(self):
        """Check WHO_AM_I, leave sleep (clock from the X gyro PLL, the
        datasheet's advice), select +-2 g, and check both took."""
        i2c, address = self._i2c, self.address
        try:
            who = i2c.readfrom_mem(address, WHO_AM_I, 1)[0]
            if who == 0x68:
                i2c.writeto_mem(address, PWR_MGMT_1, b"\x01")
                i2c.writeto_mem(address, ACCEL_CONFIG, b"\x00")
                state = i2c.readfrom_mem(address, PWR_MGMT_1, 1)[0], i2c.readfrom_mem(address, ACCEL_CONFIG, 1)[0]
        except OSError as e:
            raise AccelError("%s: no answer (%s)" % (self.name, e)) from None
        if who != 0x68:
            raise AccelError("%s: WHO_AM_I 0x%02x, expected 0x68" % (self.name, who))
        if state[0] != 1 or state[1] & 0x18:
            raise AccelError("%s: still asleep or not at +-2 g" % self.name)

    def read_mg(self):
        """[x, y, z] in mg along the body axes (the same list each call)."""
        buf = self._buf
        try:
            self._i2c.readfrom_mem_into(self.address, ACCEL_XOUT_H, buf)
        except OSError as e:
            raise AccelError("%s: read failed (%s)" % (self.name, e)) from None
        out, axes = self.mg, self._axes
        for k in range(3):
            axis = axes[k]
            i = 2 * abs(axis) - 2
            raw = buf[i] << 8 | buf[i + 1]
            if raw & 0x8000:
                raw -= 0x10000
            mg = (raw * 125 + 1024) >> 11  # raw * 1000 / 16384, rounded
            out[k] = mg if axis > 0 else -mg
        return out
