"""Interleaved schedule of a group of programs on one current source (pure;
MicroPython and CPython).

    schedule = build(timings, guard, sys_hz)   # member Timings (tonic), cycles a pulse needs after it
    schedule.period                    # cycles of one schedule: the slowest member's period
    schedule.starts, schedule.members  # each slot: pulse start (cycles) and member index
    schedule.intervals()               # rate SM intervals, the first one before slot 0

Each member pulses at its own period, a whole multiple of the fastest
member's; the schedule repeats every period of the slowest. A slot is one
pulse (both phases and the gap) and the guard after it: the minimum rest,
and the time the DAC needs to latch the next slot's levels. Slots never
overlap. Members are placed fastest first, each at the earliest offset at
which none of its pulses meets a slot already placed.
"""

from .stim_program import E_FIT, E_RANGE, E_VALUE, StimError

MAX_PROGRAMS = 4
MAX_SLOTS = 64  # pulses per schedule period (the engine keeps room for this many)


_DAC_LATENCY = 64  # cycles from a pulse end to the CC write, with margin (as pulse_engine)


def guard_cycles(board, sys_hz):
    """Cycles every slot keeps free after its pulse: the minimum rest, and one
    PWM period (the DAC latches the next slot's levels at a wrap) plus the
    DMA's latency. From the board profile; the engine checks its own."""
    rest = board["limits"]["min_rest_us"] * (sys_hz // 1000000)
    dac = board.get("dac")
    latch = (sys_hz + dac["pwm_freq_hz"] - 1) // dac["pwm_freq_hz"] + _DAC_LATENCY if dac else 0
    return max(rest, latch, 16)


class Schedule:
    def __init__(self, period, starts, members, periods):
        self.period = period
        self.starts = starts
        self.members = members
        self.periods = periods  # each member's period in cycles (a divisor of period)

    def intervals(self):
        """Start-to-start cycles before each slot; the first wraps from the last slot."""
        starts = self.starts
        out = [self.period - starts[-1] + starts[0]]
        for k in range(1, len(starts)):
            out.append(starts[k] - starts[k - 1])
        return out


def member_periods(timings):
    """Each member's period in cycles: the fastest member's, times the whole
    ratio of the rates. A rate that is not a whole fraction of the fastest
    (each period is only the nearest cycle, so allow that rounding), or a
    period that does not divide the slowest one, is refused."""
    fastest = min(t.period for t in timings)
    periods = []
    for t in timings:
        ratio = (t.period + fastest // 2) // fastest
        if abs(t.period - ratio * fastest) > ratio:
            raise StimError(
                E_VALUE,
                "a group's rates must be whole fractions of its fastest: period of %d cycles is not a multiple of %d"
                % (t.period, fastest),
            )
        periods.append(ratio * fastest)
    slowest = max(periods)
    for period in periods:
        if slowest % period:
            raise StimError(
                E_VALUE,
                "a group's schedule is one period of its slowest program: %d cycles is not a whole number of %d"
                % (slowest, period),
            )
    return periods


def _overlaps(a, b, c, d, period):
    """[a, b) and [c, d) overlap on a circle of `period` cycles (b - a, d - c <= period)."""
    for shift in (-period, 0, period):
        if a < d + shift and c + shift < b:
            return True
    return False


def _us(cycles, sys_hz):
    return (cycles * 1000000 + sys_hz - 1) // sys_hz


def build(timings, guard, sys_hz):
    """The schedule for member Timings (tonic, free running), or StimError:
    VALUE for a member that is not tonic or rates that are not whole
    multiples, RANGE for too many pulses per period, FIT when the pulses do
    not fit (the message names the time needed against the time there is)."""
    if not 1 <= len(timings) <= MAX_PROGRAMS:
        raise StimError(E_RANGE, "a group has 1..%d programs" % MAX_PROGRAMS)
    for t in timings:
        if t.burst_count != 1 or t.trigger != "off":
            raise StimError(E_VALUE, "a group of several programs runs tonic programs only (no burst or trigger)")
    periods = member_periods(timings)
    period = max(periods)
    count = 0
    busy = 0
    for i in range(len(timings)):
        count += period // periods[i]
        busy += period // periods[i] * (timings[i].pulse() + guard)
    if count > MAX_SLOTS:
        raise StimError(
            E_RANGE, "the group needs %d pulses per %d-cycle period, at most %d" % (count, period, MAX_SLOTS)
        )
    if busy > period:
        raise StimError(
            E_FIT,
            "the group's pulses need %dus of every %dus period" % (_us(busy, sys_hz), period * 1000000 // sys_hz),
        )
    placed = []  # type: list  # (start, end) of every slot so far, end = pulse + guard
    starts = []
    members = []
    order = sorted(range(len(timings)), key=lambda i: (periods[i], i))
    for i in order:
        length = timings[i].pulse() + guard
        step = periods[i]
        candidates = [0] + [end % step for _, end in placed]
        candidates.sort()
        offset = None
        for o in candidates:
            clash = False
            for k in range(period // step):
                s = o + k * step
                for a, b in placed:
                    if _overlaps(s, s + length, a, b, period):
                        clash = True
                        break
                if clash:
                    break
            if not clash:
                offset = o
                break
        if offset is None:
            raise StimError(
                E_FIT,
                "the group's pulses (%dus of every %dus period) cannot be interleaved without overlap"
                % (_us(busy, sys_hz), period * 1000000 // sys_hz),
            )
        for k in range(period // step):
            s = offset + k * step
            placed.append((s, s + length))
            starts.append(s)
            members.append(i)
    slots = sorted(range(len(starts)), key=lambda k: starts[k])
    return Schedule(period, [starts[k] for k in slots], [members[k] for k in slots], periods)
