"""An MPU-6050 accelerometer at register level, on one of the chip model's I2C buses.

The firmware talks to it through `machine.I2C` -> ChipModel.i2c_write/i2c_read
-> `write()`/`read()` here, byte by byte as on the wire:

- a write's first byte sets the register pointer, every further byte is
  written to the register at the pointer, which then moves on by one;
- a read returns the registers from the pointer on, moving it on by one per
  byte (auto-increment: one 6-byte read at ACCEL_XOUT_H gets X, Y and Z).

Registers modelled (everything else reads 0 and ignores writes):

    0x19 SMPLRT_DIV, 0x1A CONFIG, 0x1B GYRO_CONFIG   stored, no effect
    0x1C ACCEL_CONFIG    bits 4:3 AFS_SEL: full scale +-2/4/8/16 g (16384/8192/4096/2048 LSB/g)
    0x3B..0x40 ACCEL_XOUT_H..ACCEL_ZOUT_L   big-endian two's complement at the selected scale
    0x41..0x42 TEMP_OUT  a steady 25 degrees C;  0x43..0x48 GYRO_*OUT  0 (no rotation rate)
    0x6B PWR_MGMT_1      reset value 0x40: SLEEP (bit 6) set, every data register reads 0;
                         bit 7 DEVICE_RESET puts every register back to its reset value
    0x6C PWR_MGMT_2      stored, no effect
    0x75 WHO_AM_I        0x68

The acceleration comes from a scripted `Motion` in the patient's body axes
(see BODY_AXES), turned into chip axes by the board profile's "axes" mapping
and sampled at the chip model's emulated time when a read starts (1 kHz
output rate, as the accelerometer's; a burst read is one coherent sample).
"""

from __future__ import annotations

import math

WHO_AM_I = 0x75
PWR_MGMT_1 = 0x6B
PWR_MGMT_2 = 0x6C
ACCEL_CONFIG = 0x1C
ACCEL_XOUT_H = 0x3B
TEMP_OUT_H = 0x41
GYRO_XOUT_H = 0x43
_STORED = (0x19, 0x1A, 0x1B, ACCEL_CONFIG, PWR_MGMT_1, PWR_MGMT_2)
_SLEEP = 0x40
_DEVICE_RESET = 0x80
_REGISTERS = 0x80  # the register pointer is 7 bits wide
ADDRESS = 0x68  # AD0 low; 0x69 with AD0 high
SAMPLE_NS = 1_000_000  # accelerometer output rate: 1 kHz
TEMP_C = 25

BODY_AXES = "+X toward the head, +Y to the patient's left, +Z out of the back"
# What the accelerometer reads at rest in each posture (mg, body axes): +1 g
# along the axis that points up.
POSTURES = {
    "upright": (1000, 0, 0),  # standing or sitting: the head (+X) points up
    "supine": (0, 0, -1000),  # lying on the back: the back (+Z) points down
    "prone": (0, 0, 1000),  # lying on the front: the back points up
    "left": (0, -1000, 0),  # lying on the left side: the left (+Y) points down
    "right": (0, 1000, 0),
}
MOTIONS = ("sine", "noise")


def parse_axes(axes: str) -> list[tuple[int, int]]:
    """ "+x+y+z"-style mapping -> [(chip axis index, sign)] for body X, Y, Z."""
    text = axes.replace(" ", "").lower()
    if len(text) != 6:
        raise ValueError(f"axes {axes!r}: three signed chip axes, e.g. '+x+y+z' or '-y+x+z'")
    out = []
    for k in range(3):
        sign, axis = text[2 * k], text[2 * k + 1]
        if sign not in "+-" or axis not in "xyz":
            raise ValueError(f"axes {axes!r}: three signed chip axes, e.g. '+x+y+z' or '-y+x+z'")
        out.append(("xyz".index(axis), 1 if sign == "+" else -1))
    if sorted(a for a, _ in out) != [0, 1, 2]:
        raise ValueError(f"axes {axes!r} names a chip axis twice")
    return out


def _noise(seed: int, axis: int, step: int) -> float:
    """Deterministic uniform value in [-1, 1] (splitmix64 of seed, axis, step)."""
    z = (seed * 0x9E3779B97F4A7C15 + axis * 0xBF58476D1CE4E5B9 + step * 0x94D049BB133111EB) & (2**64 - 1)
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & (2**64 - 1)
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & (2**64 - 1)
    z ^= z >> 31
    return (z >> 11) / float(1 << 52) - 1.0


class Motion:
    """A scripted acceleration in body axes (mg): a steady gravity vector, plus
    optionally `kind` "sine" (amplitude_mg * sin(2 pi hz t) along the gravity
    vector: a walking-like bounce that changes the magnitude) or "noise" (on
    each axis a deterministic uniform value in +-amplitude_mg, new every
    1/hz s). t counts from `start_ns` (when the motion was set)."""

    def __init__(
        self,
        gravity_mg=(1000, 0, 0),
        kind: str | None = None,
        amplitude_mg: float = 0,
        hz: float = 0,
        seed: int = 1,
        start_ns: int = 0,
    ):
        if kind is not None and kind not in MOTIONS:
            raise ValueError(f"motion {kind!r}: one of {', '.join(MOTIONS)}")
        if kind is not None and (amplitude_mg < 0 or hz <= 0):
            raise ValueError("motion needs an amplitude >= 0 mg and a frequency > 0 Hz")
        self.gravity = tuple(float(v) for v in gravity_mg)
        if len(self.gravity) != 3:
            raise ValueError("gravity: three components in mg")
        self.kind = kind
        self.amplitude_mg = float(amplitude_mg)
        self.hz = float(hz)
        self.seed = seed
        self.start_ns = start_ns

    @classmethod
    def posture(cls, name: str, **motion) -> Motion:
        if name not in POSTURES:
            raise ValueError(f"posture {name!r}: one of {', '.join(POSTURES)}")
        return cls(POSTURES[name], **motion)

    def at(self, t_ns: int) -> tuple[float, float, float]:
        """Acceleration (mg, body axes) at emulated time t_ns."""
        gx, gy, gz = self.gravity
        if not self.kind or not self.amplitude_mg:
            return gx, gy, gz
        t = max(0, t_ns - self.start_ns) / 1e9
        if self.kind == "sine":
            norm = math.sqrt(gx * gx + gy * gy + gz * gz)
            ux, uy, uz = (gx / norm, gy / norm, gz / norm) if norm else (1.0, 0.0, 0.0)
            a = self.amplitude_mg * math.sin(2 * math.pi * self.hz * t)
            return gx + a * ux, gy + a * uy, gz + a * uz
        step = int(t * self.hz)
        a = self.amplitude_mg
        seed = self.seed
        return gx + a * _noise(seed, 0, step), gy + a * _noise(seed, 1, step), gz + a * _noise(seed, 2, step)

    def describe(self) -> str:
        x, y, z = (round(v) for v in self.gravity)
        text = f"gravity ({x}, {y}, {z}) mg"
        if self.kind and self.amplitude_mg:
            text += f" + {self.kind} {self.amplitude_mg:g} mg at {self.hz:g} Hz"
        return text


def motion_from_words(words: list[str]) -> Motion:
    """The sim's controls (see vboard/sim.py CONTROL_HELP):

    posture <name> [motion|noise <mg> <hz>]
    accel <x_mg> <y_mg> <z_mg> [motion|noise <mg> <hz>]
    """
    if words[:1] == ["posture"] and len(words) >= 2:
        gravity, rest = POSTURES.get(words[1]), words[2:]
        if gravity is None:
            raise ValueError(f"posture {words[1]!r}: one of {', '.join(POSTURES)}")
    elif words[:1] == ["accel"] and len(words) >= 4:
        gravity, rest = (int(words[1]), int(words[2]), int(words[3])), words[4:]
    else:
        raise ValueError("use 'posture <name> [motion|noise <mg> <hz>]' or 'accel <x> <y> <z> [...]'")
    if not rest:
        return Motion(gravity)
    if len(rest) != 3 or rest[0] not in ("motion", "noise"):
        raise ValueError("after the orientation: 'motion <mg> <hz>' (sine) or 'noise <mg> <hz>'")
    kind = "sine" if rest[0] == "motion" else "noise"
    return Motion(gravity, kind, float(rest[1]), float(rest[2]))


class MPU6050:
    """One MPU-6050; `clock()` gives the emulated time in ns (ChipModel.now_ns)."""

    def __init__(self, clock, axes: str = "+x+y+z", motion: Motion | None = None):
        self.clock = clock
        self.axes = parse_axes(axes)
        self.motion = motion or Motion.posture("upright")
        self.registers = bytearray(_REGISTERS)
        self.pointer = 0
        self.reads = 0  # bytes read, for tests
        self.reset()

    # -- the patient -------------------------------------------------------------------
    def set_motion(self, motion: Motion):
        """From now on (its time counts from now)."""
        motion.start_ns = self.clock()
        self.motion = motion

    def set_posture(self, name: str, **motion):
        self.set_motion(Motion.posture(name, **motion))

    def set_accel(self, x_mg, y_mg, z_mg, **motion):
        self.set_motion(Motion((x_mg, y_mg, z_mg), **motion))

    def chip_mg(self, t_ns: int) -> tuple[float, float, float]:
        """The acceleration along the chip's own x, y, z at t_ns (mg)."""
        body = self.motion.at(t_ns)
        chip = [0.0, 0.0, 0.0]
        for k, (axis, sign) in enumerate(self.axes):
            chip[axis] = sign * body[k]
        return chip[0], chip[1], chip[2]

    # -- the wire --------------------------------------------------------------------------
    def reset(self):
        """Power-on reset: every register to its reset value (the motion stays)."""
        self.registers[:] = bytes(_REGISTERS)
        self.registers[PWR_MGMT_1] = _SLEEP
        self.registers[WHO_AM_I] = ADDRESS
        self.pointer = 0

    @property
    def asleep(self) -> bool:
        return bool(self.registers[PWR_MGMT_1] & _SLEEP)

    @property
    def full_scale_g(self) -> int:
        return 2 << (self.registers[ACCEL_CONFIG] >> 3 & 3)

    def write(self, data: bytes) -> int:
        """A write transfer's data bytes (after the address): returns how many were ACKed."""
        if not data:
            return 0
        self.pointer = data[0] & (_REGISTERS - 1)
        for byte in data[1:]:
            self._store(self.pointer, byte)
            self.pointer = (self.pointer + 1) % _REGISTERS
        return len(data)

    def _store(self, register: int, value: int):
        if register == PWR_MGMT_1 and value & _DEVICE_RESET:
            self.reset()
            return
        if register in _STORED:
            self.registers[register] = value

    def read(self, n: int, sample: bytearray | None = None) -> bytes:
        """A read transfer of n bytes from the register pointer on; `sample`:
        the registers as `sample()` took them when the transfer started (a bus
        that moves one byte at a time still reads one coherent sample)."""
        view = self.sample() if sample is None else sample
        out = bytearray(n)
        for i in range(n):
            out[i] = view[self.pointer]
            self.pointer = (self.pointer + 1) % _REGISTERS
        self.reads += n
        return bytes(out)

    def sample(self) -> bytearray:
        """The register file with the data registers of the sample due now."""
        view = bytearray(self.registers)
        if self.asleep:
            return view  # data registers read 0 while asleep
        t_ns = self.clock() // SAMPLE_NS * SAMPLE_NS
        lsb_per_g = 32768 // self.full_scale_g
        for k, mg in enumerate(self.chip_mg(t_ns)):
            _put16(view, ACCEL_XOUT_H + 2 * k, round(mg * lsb_per_g / 1000))
        _put16(view, TEMP_OUT_H, round((TEMP_C - 36.53) * 340))
        return view


def _put16(view: bytearray, register: int, value: int):
    value = max(-32768, min(32767, value)) & 0xFFFF
    view[register] = value >> 8
    view[register + 1] = value & 0xFF


def from_profile(board: dict, clock) -> tuple[MPU6050, int, int] | None:
    """The board profile's accelerometer, with its I2C bus and address, or None without one."""
    spec = board.get("accelerometer")
    if not spec:
        return None
    if spec.get("part") != "mpu6050":
        raise ValueError(f"accelerometer part {spec.get('part')!r} is not emulated (mpu6050 is)")
    return MPU6050(clock, spec.get("axes", "+x+y+z")), board["i2c"]["id"], spec.get("address", ADDRESS)


def attach(chip, board: dict) -> MPU6050 | None:
    """The board profile's accelerometer on `chip`'s I2C bus, or None without one."""
    found = from_profile(board, chip.now_ns)
    if found is None:
        return None
    device, bus, address = found
    chip.i2c_devices[(bus, address)] = device
    return device
