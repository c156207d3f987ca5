# The interleaved group schedule (group_schedule), under MicroPython (and CPython):
# run as a script from firmware/lib. Prints "OK <count>" when every check passes.
import sys

sys.path.insert(0, ".")  # run from firmware/lib
from picostim.group_schedule import MAX_SLOTS, build, member_periods  # noqa: E402
from picostim.stim_program import E_FIT, E_RANGE, E_VALUE, Program, StimError, timing  # noqa: E402

SYS_HZ = 125000000
GUARD = 689  # one PWM period at 200 kHz and the DMA's latency
checks = 0


def eq(got, want):
    global checks
    assert got == want, (got, want)
    checks += 1


def t(**fields):
    return timing(Program(**fields), SYS_HZ)


def refused(code, timings):
    global checks
    try:
        build(timings, GUARD, SYS_HZ)
    except StimError as e:
        assert e.code == code, (code, e.code, e.message)
        checks += 1
        return e.message
    raise AssertionError("accepted %r" % (timings,))


def no_overlap(schedule, timings):
    """Every slot's pulse and guard end before the next slot starts (around the wrap too)."""
    starts = schedule.starts
    for k in range(len(starts)):
        end = starts[k] + timings[schedule.members[k]].pulse() + GUARD
        following = starts[k + 1] if k + 1 < len(starts) else schedule.period + starts[0]
        assert end <= following, (k, end, following)
    eq(sum(schedule.intervals()), schedule.period)


# three programs at one rate: one slot each, back to back
three = [t(pw_us=100, rate_hz=50), t(pw_us=210, asym=2, rate_hz=50), t(pw_us=60, ipg_us=50, rate_hz=50)]
s = build(three, GUARD, SYS_HZ)
eq(s.period, 2500000)
eq(s.members, [0, 1, 2])
eq(s.starts, [0, three[0].pulse() + GUARD, three[0].pulse() + three[1].pulse() + 2 * GUARD])
eq(three[1].pulse(), 26250 + 2500 + 52500)
no_overlap(s, three)

# 40 Hz with 1 kHz: 25 + 1 pulses per 25 ms
pair = [t(pw_us=90, rate_hz=1000), t(pw_us=300, rate_hz=40)]
s = build(pair, GUARD, SYS_HZ)
eq((s.period, len(s.starts), s.members.count(1)), (3125000, 26, 1))
eq(s.periods, [125000, 3125000])
no_overlap(s, pair)
fast = [s.starts[k] for k in range(26) if s.members[k] == 0]
eq(set(fast[k + 1] - fast[k] for k in range(len(fast) - 1)), {125000})

# 50 Hz with 1200 Hz (DTM): the slow period is 24 of the fast one's nearest cycles
eq(member_periods([t(rate_hz=1200), t(rate_hz=50)]), [104167, 24 * 104167])

# refusals
message = refused(E_FIT, [t(pw_us=1000, asym=4, rate_hz=190)] * 2)
assert "need" in message and "of every" in message
refused(E_VALUE, [t(rate_hz=1000), t(rate_hz=300)])
refused(E_VALUE, [t(rate_hz=100), t(rate_hz=50), t(rate_hz=20)])
refused(E_VALUE, [t(rate_hz=40, burst_count=3), t(rate_hz=40)])
assert str(MAX_SLOTS) in refused(E_RANGE, [t(pw_us=10, rate_hz=10000), t(pw_us=10, rate_hz=100)])
refused(E_RANGE, [t(rate_hz=50)] * 5)
print("OK", checks)
