"""Helpers for the pulse-engine tests: pulses out of a session's edge log."""

from picostim.measure import measure

# The grid across the full ranges, shared by the tests and bench/pulse_bench.py.
PW = (10, 11, 210, 999, 1000)
IPG = (0, 1, 20, 1000)
RATE = (2, 3, 60, 1000, 7919, 10000)
ASYM = (1, 2, 8)


def pulses(session):
    return measure(session.log.series(), session.board)


def output_pins(board):
    base = board["contacts"]["select_base_pin"]
    pins = list(range(base, base + 2 * board["contacts"]["count"]))
    sync = board["phase_pins"]["sync"]
    return pins + [sync, sync + 1, sync + 2]


def outputs_low(session):
    levels = session.chip.levels()
    return all(not levels >> n & 1 for n in output_pins(session.board))


def assert_matches(pulse, timing, program):
    """Exact match, in cycles, of one measured pulse against a programmed Timing."""
    assert pulse.problems == []
    assert (pulse.cathodic_ns, pulse.interphase_ns, pulse.anodic_ns) == (
        timing.cathodic,
        timing.interphase,
        timing.anodic,
    )
    assert sorted(pulse.cathodes) == sorted(program.cathodes)
    assert sorted(pulse.anodes) == sorted(program.anodes)
    assert pulse.balanced is True


def gaps(found):
    """Start-to-start intervals between consecutive measured pulses, in cycles."""
    return [b.start_ns - a.start_ns for a, b in zip(found, found[1:], strict=False)]


def shape(pulse):
    return (pulse.cathodic_ns, pulse.interphase_ns, pulse.anodic_ns)


def timing_shape(timing):
    return (timing.cathodic, timing.interphase, timing.anodic)


def burst_gaps(timing, count):
    """The `count` gaps a burst train makes from its first pulse: intra x (n-1), tail, ..."""
    pattern = timing.intervals()
    return [pattern[i % len(pattern)] for i in range(count)]
