"""Skipping delay-loop iterations must not move a single edge: the same
programs, stepped one PIO cycle at a time by rp2040py, give the same trace."""

import pytest
from picostim.chip.session import EngineSession

CASES = [
    dict(pw_us=10, ipg_us=0, rate_hz=10000, asym=1),
    dict(pw_us=37, ipg_us=3, rate_hz=4999, asym=3, cathodes=(0, 5), anodes=(7,)),
    dict(pw_us=100, ipg_us=1, rate_hz=2000, asym=2),
]


@pytest.mark.parametrize("fields", CASES)
def test_same_edges_with_and_without_fast_forward(fields):
    traces = []
    for fast in (True, False):
        session = EngineSession("pico", fast_forward=fast)
        program, timing = session.start(**fields)
        session.run(timing.period * 5 + timing.pulse() + 10)
        traces.append(session.log.changes)
    assert len(traces[0]) > 10
    assert traces[0] == traces[1]


def test_live_update_identical_too():
    traces = []
    for fast in (True, False):
        session = EngineSession("pico", fast_forward=fast)
        program, timing = session.start(pw_us=20, ipg_us=5, rate_hz=10000)
        session.run(timing.period + 1234)
        new_program, new = session.program(pw_us=40, ipg_us=0, rate_hz=8000, cathodes=(1,), anodes=(6,))
        session.engine.update(new, new_program)
        session.run(new.period * 4, poll_every=997)
        traces.append(session.log.changes)
    assert traces[0] == traces[1]
