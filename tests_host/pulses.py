"""Helpers for the pulse-engine tests: pulses out of a session's edge log."""

from picostim.measure import measure

OUTPUT_GPIOS = None


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
