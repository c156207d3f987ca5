"""The accelerometer: the chip model's MPU-6050 at register level through the
machine.I2C stand-in, the firmware driver (accel.py) reading it, the posture
classifier (posture.py), and the virtual board's controls."""

import copy
import math
import os
import select
import subprocess
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mpy_checks import HEAP, INTERPRETERS, LIB, SCRIPTS, micropython, run_checks
from picostim.boards import load_board
from picostim.chip import firmware_host, mpu6050
from picostim.chip.firmware_host import STAND_INS
from picostim.chip.model import SYS_HZ, ChipError, ChipModel
from picostim.chip.mpu6050 import POSTURES, Motion
from picostim.vboard.chip_server import METHODS, ChipServer

MPU = 0x68
ACCEL_XOUT_H, TEMP_OUT_H, ACCEL_CONFIG, PWR_MGMT_1, WHO_AM_I = 0x3B, 0x41, 0x1C, 0x6B, 0x75
MS = SYS_HZ // 1000


def s16(hi, lo):
    v = hi << 8 | lo
    return v - 0x10000 if v & 0x8000 else v


def xyz(data):
    return tuple(s16(data[2 * k], data[2 * k + 1]) for k in range(3))


@pytest.fixture
def board():
    return load_board("pico")


@pytest.fixture
def rig(board):
    """(chip, the MPU-6050 on I2C0, machine, a machine.I2C on the profile's pins)"""
    chip = firmware_host.attach(ChipModel())
    device = mpu6050.attach(chip, board)
    import machine

    bus = board["i2c"]
    i2c = machine.I2C(bus["id"], scl=machine.Pin(bus["scl"]), sda=machine.Pin(bus["sda"]), freq=bus["freq_hz"])
    return chip, device, machine, i2c


# ---- (a) the MPU-6050 model at register level, through machine.I2C -----------------


def test_identity_and_reset_state(rig):
    _, device, _, i2c = rig
    assert i2c.scan() == [MPU]
    assert i2c.readfrom_mem(MPU, WHO_AM_I, 1) == b"\x68"
    assert i2c.readfrom_mem(MPU, PWR_MGMT_1, 1) == b"\x40"  # SLEEP
    assert i2c.readfrom_mem(MPU, ACCEL_CONFIG, 1) == b"\x00"
    assert device.asleep


def test_asleep_data_registers_read_zero(rig):
    _, device, _, i2c = rig
    device.set_posture("upright", kind="sine", amplitude_mg=300, hz=2)
    assert i2c.readfrom_mem(MPU, ACCEL_XOUT_H, 14) == bytes(14)  # accel, temperature, gyro
    i2c.writeto_mem(MPU, PWR_MGMT_1, b"\x00")
    assert xyz(i2c.readfrom_mem(MPU, ACCEL_XOUT_H, 6)) == (16384, 0, 0)
    i2c.writeto_mem(MPU, PWR_MGMT_1, b"\x40")  # back to sleep
    assert i2c.readfrom_mem(MPU, ACCEL_XOUT_H, 6) == bytes(6)


@pytest.mark.parametrize("afs, lsb_per_g", [(0, 16384), (1, 8192), (2, 4096), (3, 2048)])
def test_full_scale_and_big_endian_twos_complement(rig, afs, lsb_per_g):
    _, device, _, i2c = rig
    i2c.writeto_mem(MPU, PWR_MGMT_1, b"\x01")
    i2c.writeto_mem(MPU, ACCEL_CONFIG, bytes((afs << 3,)))
    assert device.full_scale_g == 2 << afs
    device.set_accel(1000, -500, 250)
    data = i2c.readfrom_mem(MPU, ACCEL_XOUT_H, 6)
    assert xyz(data) == (lsb_per_g, -lsb_per_g // 2, lsb_per_g // 4)
    assert data[0:2] == lsb_per_g.to_bytes(2, "big")  # high byte first
    assert data[2:4] == (-lsb_per_g // 2 & 0xFFFF).to_bytes(2, "big")
    device.set_posture("supine")
    assert xyz(i2c.readfrom_mem(MPU, ACCEL_XOUT_H, 6)) == (0, 0, -lsb_per_g)


def test_saturates_at_full_scale(rig):
    _, device, _, i2c = rig
    i2c.writeto_mem(MPU, PWR_MGMT_1, b"\x00")
    device.set_accel(2500, -2500, 1999)
    assert xyz(i2c.readfrom_mem(MPU, ACCEL_XOUT_H, 6)) == (32767, -32768, round(1999 * 16.384))


def test_auto_increment_reads_and_writes(rig):
    _, device, _, i2c = rig
    i2c.writeto(MPU, bytes((0x1B, 0x00, 0x08)))  # GYRO_CONFIG, then ACCEL_CONFIG: +-4 g
    assert i2c.readfrom_mem(MPU, 0x1B, 2) == b"\x00\x08"
    i2c.writeto_mem(MPU, PWR_MGMT_1, b"\x00")
    device.set_accel(100, 200, 300)
    burst = i2c.readfrom_mem(MPU, ACCEL_XOUT_H, 6)
    singles = b"".join(i2c.readfrom_mem(MPU, ACCEL_XOUT_H + n, 1) for n in range(6))
    assert burst == singles and xyz(burst) == (819, 1638, 2458)
    # the pointer carries on from one read transfer to the next
    i2c.writeto(MPU, bytes((ACCEL_XOUT_H,)))
    assert i2c.readfrom(MPU, 2) == burst[0:2]
    assert i2c.readfrom(MPU, 4) == burst[2:6]
    # past the accelerometer: temperature (25 C), then gyro (0)
    more = i2c.readfrom_mem(MPU, ACCEL_XOUT_H, 14)
    assert more[:6] == burst
    assert s16(more[6], more[7]) == round((25 - 36.53) * 340)
    assert more[8:] == bytes(6)
    buf = bytearray(8)
    i2c.readfrom_mem_into(MPU, ACCEL_XOUT_H, memoryview(buf)[2:])
    assert buf == bytes(2) + burst


def test_unknown_registers_read_zero_and_ignore_writes(rig):
    _, _, _, i2c = rig
    i2c.writeto_mem(MPU, 0x50, b"\x55\xaa")
    assert i2c.readfrom_mem(MPU, 0x50, 2) == b"\x00\x00"
    assert i2c.readfrom_mem(MPU, 0x00, 4) == bytes(4)
    # read-only registers keep their values
    i2c.writeto_mem(MPU, WHO_AM_I, b"\x00")
    i2c.writeto_mem(MPU, ACCEL_XOUT_H, b"\x12")
    assert i2c.readfrom_mem(MPU, WHO_AM_I, 1) == b"\x68"


def test_device_reset_bit(rig):
    _, device, _, i2c = rig
    i2c.writeto_mem(MPU, ACCEL_CONFIG, b"\x18")
    i2c.writeto_mem(MPU, PWR_MGMT_1, b"\x00")
    i2c.writeto_mem(MPU, PWR_MGMT_1, b"\x80")
    assert i2c.readfrom_mem(MPU, PWR_MGMT_1, 1) == b"\x40"
    assert i2c.readfrom_mem(MPU, ACCEL_CONFIG, 1) == b"\x00"
    assert device.asleep


def test_absent_address_raises_like_the_rp2_port(rig):
    _, _, _, i2c = rig
    for transfer in (
        lambda: i2c.readfrom_mem(0x69, WHO_AM_I, 1),
        lambda: i2c.writeto_mem(0x69, PWR_MGMT_1, b"\x00"),
        lambda: i2c.readfrom(0x69, 1),
        lambda: i2c.writeto(0x69, b"\x75"),
    ):
        with pytest.raises(OSError) as err:
            transfer()
        assert err.value.errno == 5  # EIO: the rp2 port's hardware I2C on a NACK
    with pytest.raises(OSError) as err:
        i2c.writeto(0x69, b"")  # zero-length: the port's software I2C
    assert err.value.errno == 19  # ENODEV
    assert i2c.writeto(MPU, b"") == 0
    assert i2c.writeto(MPU, b"\x75") == 1


def test_i2c_constructor_checks_bus_and_pins(rig):
    chip, _, machine, _ = rig
    with pytest.raises(ValueError, match="doesn't exist"):
        machine.I2C(2)
    with pytest.raises(ValueError, match="bad SCL pin"):
        machine.I2C(0, scl=machine.Pin(3), sda=machine.Pin(0))
    with pytest.raises(ValueError, match="bad SDA pin"):
        machine.I2C(0, scl=1, sda=2)
    with pytest.raises(ValueError, match="invalid addrsize"):
        machine.I2C(0, scl=1, sda=0).readfrom_mem(MPU, 0, 1, addrsize=12)
    other = machine.I2C(1)  # the port's default pins, GP7/GP6: nobody on that bus
    assert (other.scl, other.sda) == (7, 6) and other.scan() == []
    assert chip.function[0] == chip.function[1] == "i2c"
    assert repr(other) == "I2C(1, freq=400000, scl=7, sda=6, timeout=50000)"


def test_chip_model_refuses_transfers_on_a_bus_not_set_up():
    chip = ChipModel()
    mpu6050.attach(chip, load_board("pico"))
    with pytest.raises(ChipError, match="not set up"):
        chip.i2c_read(0, MPU, 1)
    chip.i2c_init(0, 1, 0, 400_000)
    assert chip.i2c_read(0, MPU, 1) == 0  # register 0
    chip.gpio_function(1, "sio")  # SCL taken for GPIO: the I2C block is cut off
    with pytest.raises(ChipError, match="not set up"):
        chip.i2c_write(0, MPU, "x75")
    with pytest.raises(ChipError, match="SCL/SDA"):
        chip.i2c_init(1, 1, 0, 400_000)
    with pytest.raises(ChipError, match="'x' \\+ hex"):
        chip.i2c_write(0, MPU, "75")


def test_over_the_chip_server_text_protocol(board):
    chip = ChipModel()
    device = mpu6050.attach(chip, board)
    assert {"i2c_init", "i2c_write", "i2c_read"} <= METHODS
    server = ChipServer(chip)
    assert server.serve("i2c_init 0 1 0 400000") == b"=\n"
    assert server.serve("i2c_read 0 104 1") == b"=0\n"
    assert server.serve("i2c_write 0 104 x75") == b"=1\n"
    assert server.serve("i2c_read 0 104 1") == b"=104\n"
    assert server.serve("i2c_write 0 104 x6b00") == b"=2\n"
    device.set_posture("supine")
    assert server.serve("i2c_write 0 104 x3b") == b"=1\n"
    assert server.serve("i2c_read 0 104 6") == b"=%d\n" % 0xC000  # 0, 0, -16384
    assert server.serve("i2c_read 0 105 1") == b"=-1\n"
    assert server.serve("i2c_write 0 105 x") == b"=-1\n"
    assert server.serve("i2c_read 0 104 999").startswith(b"!")


def test_samples_follow_emulated_time(rig):
    chip, device, _, i2c = rig
    i2c.writeto_mem(MPU, PWR_MGMT_1, b"\x00")
    device.set_posture("upright", kind="sine", amplitude_mg=500, hz=1)
    seen = []
    for _ in range(5):
        seen.append(xyz(i2c.readfrom_mem(MPU, ACCEL_XOUT_H, 6))[0])
        chip.run(250 * MS)  # a quarter period
    assert seen == [16384, round(1500 * 16.384), 16384, round(500 * 16.384), 16384]
    # within one 1 kHz sample period the registers hold still
    chip.run(100 * MS + 10)
    a = i2c.readfrom_mem(MPU, ACCEL_XOUT_H, 6)
    chip.run(MS // 10)
    assert i2c.readfrom_mem(MPU, ACCEL_XOUT_H, 6) == a


def test_noise_motion_is_deterministic():
    def readings():
        chip = ChipModel()
        device = mpu6050.attach(chip, load_board("pico"))
        device.set_posture("left", kind="noise", amplitude_mg=200, hz=20)
        out = []
        for _ in range(50):
            out.append(device.chip_mg(chip.now_ns()))
            chip.run(10 * MS)
        return out

    first = readings()
    assert first == readings()
    assert len({round(v[1]) for v in first}) > 5  # it does move
    assert all(abs(v[0]) <= 200 and -1200 <= v[1] <= -800 and abs(v[2]) <= 200 for v in first)


def test_mounting_axes_map_body_to_chip():
    # "-y+x+z": body X (head) = -chip y, body Y (left) = +chip x, body Z = +chip z
    device = mpu6050.MPU6050(lambda: 0, axes="-y+x+z", motion=Motion.posture("left"))
    assert device.chip_mg(0) == (-1000.0, 0.0, 0.0)
    device.set_posture("upright")
    assert device.chip_mg(0) == (0.0, -1000.0, 0.0)
    with pytest.raises(ValueError):
        mpu6050.parse_axes("+x+x+z")


# ---- (b) the firmware driver on the emulated part ----------------------------------


@pytest.mark.parametrize("name", sorted(POSTURES))
def test_driver_reads_every_posture(rig, board, name):
    _, device, _, _ = rig
    from picostim_fw import accel

    sensor = accel.Accelerometer(board)
    assert not device.asleep and device.full_scale_g == 2
    device.set_posture(name)
    assert tuple(sensor.read_mg()) == POSTURES[name]
    device.set_accel(123, -456, 789)
    assert tuple(sensor.read_mg()) == (123, -456, 789)


def test_driver_with_a_rotated_mounting(board):
    chip = firmware_host.attach(ChipModel())
    rotated = copy.deepcopy(board)
    rotated["accelerometer"]["axes"] = "-y+x+z"
    device = mpu6050.attach(chip, rotated)
    from picostim_fw import accel

    sensor = accel.Accelerometer(rotated)
    for name, vector in POSTURES.items():
        device.set_posture(name)
        assert tuple(sensor.read_mg()) == vector, name


def test_driver_errors_are_accel_faults(board):
    from picostim_fw import accel

    firmware_host.attach(ChipModel())  # no accelerometer on the bus
    with pytest.raises(accel.AccelError, match="no answer") as err:
        accel.Accelerometer(board)
    assert err.value.code == "ACCEL"
    chip = firmware_host.attach(ChipModel())
    device = mpu6050.attach(chip, board)
    assert device is not None
    device.registers[WHO_AM_I] = 0x72  # another part of the family
    with pytest.raises(accel.AccelError, match="WHO_AM_I 0x72"):
        accel.Accelerometer(board)
    moved = copy.deepcopy(board)
    moved["accelerometer"]["address"] = 0x69
    chip = firmware_host.attach(ChipModel())
    mpu6050.attach(chip, board)
    with pytest.raises(accel.AccelError, match="0x69"):
        accel.Accelerometer(moved)
    chip = firmware_host.attach(ChipModel())
    mpu6050.attach(chip, board)
    sensor = accel.Accelerometer(board)
    del chip.i2c_devices[(0, MPU)]  # unplugged while running
    with pytest.raises(accel.AccelError, match="read failed"):
        sensor.read_mg()


def test_driver_and_classifier_on_emulated_time(rig, board):
    """The service's loop in miniature: read every sample_ms of emulated time, classify."""
    chip, device, _, _ = rig
    from picostim_fw import accel, posture

    sensor = accel.Accelerometer(board)
    p = posture.from_profile(board)
    step = posture.settings(board)["sample_ms"]
    changes = []

    def run(ms):
        for _ in range(ms // step):
            x, y, z = sensor.read_mg()
            got = p.update(x, y, z, chip.now_ns() // 1_000_000)
            if got:
                changes.append((chip.now_ns() // 1_000_000, got))
            chip.run(step * MS)

    device.set_posture("upright")
    run(5000)
    device.set_posture("supine")
    run(2000)  # shorter than settle_ms: ignored
    device.set_posture("upright")
    run(4000)
    device.set_posture("left")
    run(5000)
    device.set_posture("upright", kind="sine", amplitude_mg=400, hz=1.8)
    run(6000)
    device.set_posture("upright")
    run(6000)
    assert [name for _, name in changes] == ["upright", "left", "moving", "upright"]
    assert changes[0][0] == 3000  # settle_ms after the first sample


# ---- (c) posture.py ------------------------------------------------------------------


@pytest.mark.parametrize("where", INTERPRETERS)
def test_posture_checks(where):
    assert run_checks("check_posture.py", where) >= 90


@pytest.mark.parametrize("where", INTERPRETERS)
def test_accel_driver_checks(where):
    assert run_checks("check_accel.py", where) >= 31


REFERENCES = {
    "upright": (1, 0, 0),
    "supine": (0, 0, -1),
    "prone": (0, 0, 1),
    "left": (0, -1, 0),
    "right": (0, 1, 0),
}


def unit_near(ref, angle_deg, azimuth_deg):
    """A unit vector angle_deg away from axis `ref`, turned azimuth_deg around it."""
    i = [abs(c) for c in ref].index(1)
    j, k = [n for n in range(3) if n != i]
    a, b = math.radians(angle_deg), math.radians(azimuth_deg)
    v = [0.0, 0.0, 0.0]
    v[i] = ref[i] * math.cos(a)
    v[j] = math.sin(a) * math.cos(b)
    v[k] = math.sin(a) * math.sin(b)
    return v


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(REFERENCES)),
    st.sampled_from([None, *sorted(REFERENCES)]),
    st.floats(0, 38),
    st.floats(0, 360),
    st.integers(600, 2500),
)
def test_property_within_38_degrees_is_that_class(name, before, angle, azimuth, mag):
    """Within 38 degrees of a class's axis (45 less the ~6-degree hysteresis
    margin) a sample is that class, from a fresh start or from any class."""
    from picostim_fw import posture

    p = posture.Posture(settle_ms=0)
    if before:
        r = REFERENCES[before]
        assert p.update(r[0] * 1000, r[1] * 1000, r[2] * 1000, 0) == before
    v = [round(c * mag) for c in unit_near(REFERENCES[name], angle, azimuth)]
    p.update(v[0], v[1], v[2], 50)
    assert p.stable == name


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([("upright", "supine"), ("upright", "left"), ("supine", "right"), ("prone", "left")]),
    st.booleans(),
    st.lists(st.floats(-5.5, 5.5), min_size=1, max_size=60),
    st.integers(800, 1200),
)
def test_property_no_flapping_near_a_boundary(pair, from_second, jitter, mag):
    """Angles jittering within 5.5 degrees of the 45-degree boundary between
    two classes never change the class, whichever side it started on."""
    from picostim_fw import posture

    first, second = (pair[1], pair[0]) if from_second else pair
    a, b = REFERENCES[first], REFERENCES[second]
    p = posture.Posture(settle_ms=0, margin_mg=150)
    assert p.update(a[0] * 1000, a[1] * 1000, a[2] * 1000, 0) == first
    for n, d in enumerate(jitter):
        r = math.radians(45 + d)
        v = [round(mag * (a[i] * math.cos(r) + b[i] * math.sin(r))) for i in range(3)]
        assert p.update(v[0], v[1], v[2], 50 * (n + 1)) is None
        assert p.stable == first


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 2000),
    st.lists(st.tuples(st.sampled_from(sorted(REFERENCES)), st.integers(1, 60)), min_size=1, max_size=12),
)
def test_property_stability_timer(settle_ms, segments):
    """Clean vectors held for runs of 50 ms samples: a posture becomes stable
    exactly settle_ms after its first sample, if it lasts that long."""
    from picostim_fw import posture

    p = posture.Posture(settle_ms=settle_ms)
    got, expected = [], []
    t = 0
    stable = None
    merged: list[list] = []
    for name, count in segments:
        if merged and merged[-1][0] == name:
            merged[-1][1] += count
        else:
            merged.append([name, count])
    for name, count in merged:
        start = t
        if name != stable and (count - 1) * 50 >= settle_ms:
            at = start + (settle_ms + 49) // 50 * 50
            expected.append((at, name))
            stable = name
        r = REFERENCES[name]
        for _ in range(count):
            change = p.update(r[0] * 1000, r[1] * 1000, r[2] * 1000, t)
            if change:
                got.append((t, change))
            t += 50
    assert got == expected
    assert p.stable == stable


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(*[st.integers(-40000, 40000)] * 3), min_size=1, max_size=80))
def test_property_any_samples_give_a_posture_or_none(samples):
    from picostim_fw import posture

    p = posture.Posture(settle_ms=100, window=8)
    for n, (x, y, z) in enumerate(samples):
        change = p.update(x, y, z, 50 * n)
        assert change is None or change in posture.POSTURES
        assert p.stable is None or p.stable in posture.POSTURES


@given(st.integers(0, 10**12))
def test_property_isqrt(n):
    from picostim_fw import posture

    r = posture.isqrt(n)
    assert r == math.isqrt(n)


def test_moving_from_the_scripted_motion(rig, board):
    """A sinusoidal bounce from the chip model, sampled by the driver: moving;
    the same posture still: not moving."""
    chip, device, _, _ = rig
    from picostim_fw import accel, posture

    sensor = accel.Accelerometer(board)
    for amplitude, moving in ((0, False), (60, False), (250, True), (500, True)):
        device.set_posture("supine", kind="sine", amplitude_mg=amplitude, hz=2)
        p = posture.Posture(settle_ms=0)
        for _ in range(40):
            x, y, z = sensor.read_mg()
            p.update(x, y, z, chip.now_ns() // 1_000_000)
            chip.run(50 * MS)
        assert p.moving is moving, amplitude
        assert p.static == "supine"


# ---- the driver under MicroPython over the virtual board's link ---------------------


class LinkedAccel:
    """accel_over_link.py in MicroPython; this process serves its chip calls."""

    def __init__(self, tmp_path, board):
        import json

        self.chip = ChipModel()
        self.device = mpu6050.attach(self.chip, board)
        self.server = ChipServer(self.chip)
        request, reply = tmp_path / "request", tmp_path / "reply"
        os.mkfifo(request)
        os.mkfifo(reply)
        self.request_fd = os.open(request, os.O_RDWR | os.O_NONBLOCK)
        self.reply_fd = os.open(reply, os.O_RDWR)
        board_json = tmp_path / "board.json"
        board_json.write_text(json.dumps(board))
        argv = [micropython(), "-X", f"heapsize={HEAP}", str(SCRIPTS / "accel_over_link.py")]
        argv += [str(request), str(reply), str(LIB), str(STAND_INS), str(board_json)]
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        self._pending = b""
        self._out = b""
        self.expect("BOOT")

    def expect(self, marker, timeout=60):
        assert self.process.stdout
        out_fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b"\n" in self._out:
                line, self._out = self._out.split(b"\n", 1)
                text = line.decode()
                if text.startswith(("ERR", "Traceback")):
                    raise AssertionError(text + self._out.decode())
                if text.startswith(marker):
                    return text
                continue
            ready, _, _ = select.select([self.request_fd, out_fd], [], [], 1.0)
            if self.request_fd in ready:
                self._pending += os.read(self.request_fd, 65536)
                while b"\n" in self._pending:
                    line, self._pending = self._pending.split(b"\n", 1)
                    os.write(self.reply_fd, self.server.serve(line.decode()))
            if out_fd in ready:
                data = os.read(out_fd, 65536)
                if not data:
                    raise AssertionError("MicroPython exited: " + self._out.decode())
                self._out += data
        raise AssertionError("timed out waiting for " + marker)

    def ask(self, command, marker):
        assert self.process.stdin
        self.process.stdin.write((command + "\n").encode())
        return self.expect(marker).split()[1:]

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream:
                stream.close()
        os.close(self.request_fd)
        os.close(self.reply_fd)


def test_driver_under_micropython_over_the_link(tmp_path, board):
    linked = LinkedAccel(tmp_path, board)
    try:
        assert not linked.device.asleep
        for name, vector in POSTURES.items():
            linked.device.set_posture(name)
            assert tuple(int(v) for v in linked.ask("read", "MG")) == vector
        linked.device.set_accel(-1234, 567, 1999)
        assert linked.ask("read", "MG") == ["-1234", "567", "1999"]
        assert linked.ask("scan", "SCAN") == ["104"]
        assert linked.ask("absent", "NACK") == ["errno", "5"]
        assert linked.ask("probe", "NACK") == ["errno", "19"]
        assert linked.ask("regs 117 1", "REGS") == ["68"]
        linked.device.set_posture("supine")
        assert linked.ask("regs 59 6", "REGS") == ["00000000c000"]
    finally:
        linked.close()


# ---- the virtual board's controls ----------------------------------------------------


def test_sim_controls_script_the_accelerometer(tmp_path):
    from picostim.vboard.sim import CONTROL_HELP, VirtualBoard

    vboard = VirtualBoard(flash=str(tmp_path / "flash"), log=open(os.devnull, "w"))
    try:
        assert vboard.accel is not None and vboard.chip.i2c_devices[(0, MPU)] is vboard.accel
        assert "posture" in CONTROL_HELP and "accel <x_mg>" in CONTROL_HELP
        assert vboard.control("posture supine") == "accelerometer: gravity (0, 0, -1000) mg"
        assert vboard.accel.chip_mg(vboard.chip.now_ns()) == (0.0, 0.0, -1000.0)
        message = vboard.control("posture left motion 300 2")
        assert message == "accelerometer: gravity (0, -1000, 0) mg + sine 300 mg at 2 Hz"
        start = vboard.chip.now_ns()
        assert vboard.accel.motion.start_ns == start
        assert vboard.accel.chip_mg(start + 125_000_000)[1] == pytest.approx(-1300)
        assert vboard.control("accel 100 -200 900 noise 50 10").endswith("+ noise 50 mg at 10 Hz")
        assert vboard.control("accel 0 0 1000") == "accelerometer: gravity (0, 0, 1000) mg"
        assert "one of upright" in vboard.control("posture sideways")
        assert "motion <mg> <hz>" in vboard.control("posture upright wobble 1 2")
        assert vboard.control("accel 1 2").startswith("accelerometer: use")
    finally:
        vboard.close()
