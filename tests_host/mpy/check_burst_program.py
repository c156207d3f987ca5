# Burst and custom-train settings in stim_program, under MicroPython (and CPython):
# run as a script from firmware/lib. Prints "OK <count>" when every check passes.
import sys

sys.path.insert(0, ".")  # run from firmware/lib
sys.path.append("../../host_tools/picostim/mpy")  # rp2 stand-in: pulse_pio assembles at import
from fakes import LIMITS  # noqa: E402  (a profile without the burst keys: the defaults apply)
from picostim.pulse_pio import (  # noqa: E402
    END_WORD,
    RATE_OVERHEAD,
    RING_TRAIL,
    RING_WORDS,
    SILENT,
    SILENT_CYCLES,
    SILENT_OVERHEAD,
    interval_word,
    ring_lead_in,
    ring_words,
    train_words,
)
from picostim.stim_program import (  # noqa: E402
    DEFAULT_LIMITS,
    E_FIT,
    E_RANGE,
    E_VALUE,
    Program,
    StimError,
    timing,
    train_cycles,
)

SYS_HZ = 125000000

checks = 0


def refused(code, limits=LIMITS, **fields):
    global checks
    try:
        Program(**fields).validate(limits, 8)
    except StimError as e:
        assert e.code == code, (fields, e.code, code, e.message)
        checks += 1
        return e.message
    raise AssertionError("accepted %r" % (fields,))


def accepted(limits=LIMITS, **fields):
    global checks
    Program(**fields).validate(limits, 8)
    checks += 1


def eq(a, b):
    global checks
    assert a == b, (a, b)
    checks += 1


# defaults: tonic, 500 Hz within a burst; the limits the board profile may override
p = Program()
eq((p.burst_count, p.burst_rate_hz), (1, 500))
eq(p.as_dict()["burst_count"], 1)
eq(p.copy(burst_count=5).burst_count, 5)
eq(DEFAULT_LIMITS["burst_count"], [1, 16])
eq(DEFAULT_LIMITS["burst_rate_hz"], [2, 1000])

# ranges (RANGE), with the protocol-style names in the message
assert "burst=0" in refused(E_RANGE, burst_count=0)
refused(E_RANGE, burst_count=17)
assert "burst_rate=1001Hz" in refused(E_RANGE, burst_count=2, burst_rate_hz=1001)
refused(E_RANGE, burst_rate_hz=1)  # checked even when tonic
refused(E_VALUE, burst_count=2.0)
refused(E_VALUE, burst_rate_hz=True)
tight = dict(LIMITS, burst_count=[1, 4], burst_rate_hz=[100, 600])
refused(E_RANGE, tight, burst_count=5)
refused(E_RANGE, tight, burst_count=2, burst_rate_hz=601)
accepted(tight, burst_count=4, burst_rate_hz=600, rate_hz=40)

# BurstDR-like: 5 pulses at 500 Hz, 40 Hz bursts; the longest biphasic pulse that fits 2 ms
accepted(pw_us=999, ipg_us=1, asym=1, rate_hz=40, burst_count=5, burst_rate_hz=500)
refused(E_FIT, pw_us=1000, ipg_us=0, asym=1, rate_hz=40, burst_count=5, burst_rate_hz=500)
# each pulse must fit its intra period: 2 x 490 + 19 + 1 rest = 1000 us = 1 ms at 1000 Hz
accepted(pw_us=490, ipg_us=19, rate_hz=40, burst_count=2, burst_rate_hz=1000)
assert "intra-burst" in refused(E_FIT, pw_us=490, ipg_us=20, rate_hz=40, burst_count=2, burst_rate_hz=1000)
# the burst must fit its period: 15 x 1 ms + (10+10+0+1) us <= 1e9/66 ns = 15151515 ns
accepted(pw_us=10, ipg_us=0, rate_hz=66, burst_count=16, burst_rate_hz=1000)
assert "burst of 16" in refused(E_FIT, pw_us=10, ipg_us=0, rate_hz=67, burst_count=16, burst_rate_hz=1000)
# exactly at the limit: 3 x 2500000 ns + 500 us busy = 8 ms = 1e9 / 125
accepted(pw_us=200, ipg_us=99, rate_hz=125, burst_count=4, burst_rate_hz=400)
refused(E_FIT, pw_us=200, ipg_us=100, rate_hz=125, burst_count=4, burst_rate_hz=400)
# a tonic program ignores burst_rate_hz for fitting
accepted(pw_us=1000, ipg_us=1000, rate_hz=2, burst_count=1, burst_rate_hz=1000)

# timing(): the intra-burst period to the nearest cycle
t = timing(Program(pw_us=100, rate_hz=40, burst_count=5, burst_rate_hz=500), SYS_HZ)
eq((t.period, t.burst_count, t.intra), (3125000, 5, 250000))
eq(t.tail(), 3125000 - 4 * 250000)
eq(t.intervals(), [250000] * 4 + [2125000])
eq(t.min_interval(), 250000)
t = timing(Program(pw_us=37, rate_hz=97, burst_count=7, burst_rate_hz=887), SYS_HZ)
eq(t.intra, 140924)  # 125e6 / 887 = 140924.46 -> nearest
t1 = timing(Program(rate_hz=60), SYS_HZ)
eq((t1.burst_count, t1.intra, t1.intervals(), t1.min_interval()), (1, 0, [2083333], 2083333))
eq(t1 == timing(Program(rate_hz=60, burst_rate_hz=999), SYS_HZ), True)  # tonic: burst rate unused

# rate-SM words: every ring lasts exactly one period and ends with RING_TRAIL silent words
for fields in (
    dict(rate_hz=40, burst_count=5, burst_rate_hz=500),
    dict(rate_hz=66, burst_count=16, burst_rate_hz=1000, pw_us=10, ipg_us=0),
    dict(rate_hz=10000, pw_us=30),
    dict(rate_hz=2, burst_count=2, burst_rate_hz=3),
):
    t = timing(Program(**fields), SYS_HZ)
    words = ring_words(t)
    eq(len(words), RING_WORDS)
    total = 0
    pulses = []
    for w in words:
        silent = w & SILENT
        total += (w & ~SILENT & 0xFFFFFFFF) + (SILENT_OVERHEAD if silent else RATE_OVERHEAD)
        if not silent:
            pulses.append(total)
    eq(total, t.period)
    eq(len(pulses), t.burst_count)
    eq([pulses[i + 1] - pulses[i] for i in range(len(pulses) - 1)], [t.intra] * (t.burst_count - 1))
    eq([w & SILENT for w in words[-RING_TRAIL:]], [SILENT] * RING_TRAIL)
eq(ring_lead_in(), [interval_word(SILENT_CYCLES, True)] * RING_TRAIL)
eq(interval_word(1000), 1000 - RATE_OVERHEAD)
eq(interval_word(1000, True), SILENT | (1000 - SILENT_OVERHEAD))
eq(train_words([1000, 2000], True), [993, 1993])
eq(train_words([1000], False), [993, END_WORD])
try:
    interval_word(RATE_OVERHEAD - 1)
    raise AssertionError("accepted a too short interval")
except ValueError:
    checks += 1

# custom trains: intervals in us -> cycles, each holding the pulse and rest
p = Program(pw_us=50, ipg_us=10, rate_hz=100)
eq(p.busy_us(LIMITS), 111)
eq(train_cycles(p, [111, 500000, 1000], LIMITS, SYS_HZ), [13875, 62500000, 125000])
LONGEST = DEFAULT_LIMITS["train_length"][1]  # the default when the profile has no train_length
eq(len(train_cycles(p, [200] * LONGEST, LIMITS, SYS_HZ)), LONGEST)
for code, intervals in (
    (E_FIT, [1000, 110]),
    (E_RANGE, [500001]),
    (E_RANGE, []),
    (E_RANGE, [200] * (LONGEST + 1)),
    (E_VALUE, [200, 300.5]),
    (E_VALUE, 200),
):
    try:
        train_cycles(p, intervals, LIMITS, SYS_HZ)
        raise AssertionError("accepted train %r" % (intervals,))
    except StimError as e:
        assert e.code == code, (intervals, e.code)
        checks += 1
eq(len(train_cycles(p, [200] * 10, dict(LIMITS, train_length=[1, 10]), SYS_HZ)), 10)
print("OK", checks)
