"""The firmware's pulse engine on the emulated RP2040 (rp2040py's PIO): every
pulse exact to the cycle, charge balanced, glitch-free updates, safe stop."""

import itertools
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from picostim.chip.session import EngineSession
from pulses import ASYM, IPG, PW, RATE, assert_matches, outputs_low, pulses


def _fits(pw, ipg, rate, asym):
    return (pw * (1 + asym) + ipg + 1) * 1000 <= (10**9 + rate // 2) // rate


GRID = [c for c in itertools.product(PW, IPG, RATE, ASYM) if _fits(*c)]


def run_pulses(session, timing, count):
    """Run long enough for `count` whole pulses after the first (which starts one period in)."""
    session.run(timing.period * (count + 1) + timing.pulse() + 100)
    return pulses(session)


def check_train(session, program, timing, count):
    found = run_pulses(session, timing, count)
    assert len(found) == count + 1
    for pulse in found:
        assert_matches(pulse, timing, program)
    periods = {p.period_ns for p in found[:-1]}
    assert periods == {timing.period}, "period drifted or jittered"
    # no drift: the last pulse starts exactly count periods after the first
    assert found[-1].start_ns - found[0].start_ns == count * timing.period


def test_grid_is_large_and_covers_the_ranges():
    assert len(GRID) > 150
    for index, values in enumerate((PW, IPG, RATE, ASYM)):
        assert {g[index] for g in GRID} == set(values)


@pytest.mark.parametrize("pw,ipg,rate,asym", GRID)
def test_grid_exact_for_1000_pulses(pw, ipg, rate, asym):
    session = EngineSession("pico")
    program, timing = session.start(pw_us=pw, ipg_us=ipg, rate_hz=rate, asym=asym, amp_ua=3000)
    check_train(session, program, timing, 1000)


contact_pairs = st.lists(st.integers(0, 7), min_size=2, max_size=8, unique=True).flatmap(
    lambda cs: st.integers(1, len(cs) - 1).map(lambda k: (tuple(cs[:k]), tuple(cs[k:])))
)


@st.composite
def programs(draw):
    rate = draw(st.integers(2, 10000))
    asym = draw(st.integers(1, 8))
    period_us = 10**6 // rate
    pw = draw(st.integers(10, max(10, min(1000, (period_us - 2) // (1 + asym)))))
    ipg = draw(st.integers(0, max(0, min(1000, period_us - 2 - pw * (1 + asym)))))
    cathodes, anodes = draw(contact_pairs)
    amp = draw(st.integers(0, 25500))
    return dict(pw_us=pw, ipg_us=ipg, rate_hz=rate, asym=asym, cathodes=cathodes, anodes=anodes, amp_ua=amp)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_programs_exact(fields):
    session = EngineSession("pico")
    try:
        program, timing = session.program(**fields)
    except Exception as exc:  # drawn program does not fit: must be a FIT or RANGE refusal
        assert getattr(exc, "code", None) in ("FIT", "RANGE"), exc
        return
    session.engine.start(timing, program)
    check_train(session, program, timing, 20)


def test_live_updates_never_malform_a_pulse():
    rng = random.Random(1234)
    session = EngineSession("pico")
    base = dict(cathodes=(2,), anodes=(3,), amp_ua=2000)
    program, timing = session.start(pw_us=100, ipg_us=10, rate_hz=1000, **base)
    allowed = {(timing.cathodic, timing.interphase, timing.anodic)}
    periods = {timing.period}
    updates = 0
    while updates < 150:
        rate = rng.choice((50, 200, 500, 1000, 2500, 5000))
        asym = rng.choice((1, 1, 1, 2))
        pw = rng.randint(10, 1000)
        ipg = rng.randint(0, 200)
        cath = rng.sample(range(8), 2)
        fields = dict(pw_us=pw, ipg_us=ipg, rate_hz=rate, asym=asym, amp_ua=rng.randint(0, 8000))
        fields.update(cathodes=(cath[0],), anodes=(cath[1],))
        try:
            program, timing = session.program(**fields)
        except Exception:
            continue
        session.engine.update(timing, program)
        allowed.add((timing.cathodic, timing.interphase, timing.anodic))
        periods.add(timing.period)
        updates += 1
        # let a random part of a few periods pass, with the service loop polling
        session.run(rng.randint(1, 4 * timing.period), poll_every=rng.choice((500, 5000, 50000)))
    for _ in range(10):  # the last update may wait up to two of the slowest periods
        if not session.engine.pending():
            break
        session.run(max(periods), poll_every=1000)
    assert not session.engine.pending()
    session.run(10 * timing.period, poll_every=1000)
    found = pulses(session)
    assert len(found) > 200
    for pulse in found:
        assert pulse.problems == []
        assert pulse.balanced is True
        assert (pulse.cathodic_ns, pulse.interphase_ns, pulse.anodic_ns) in allowed
        assert pulse.period_ns is None or pulse.period_ns >= min(periods)
    assert found[-1].cathodic_ns == timing.cathodic and found[-1].anodic_ns == timing.anodic
    assert found[-2].period_ns == timing.period


def test_update_takes_effect_at_the_next_boundary():
    session = EngineSession("pico")
    program, old = session.start(pw_us=200, ipg_us=20, rate_hz=1000)
    session.run(old.period * 2 + 50_000)  # inside the second pulse's cathodic phase
    new_program, new = session.program(pw_us=100, ipg_us=0, rate_hz=2000)
    session.engine.update(new, new_program)
    session.run(old.period * 4, poll_every=1000)
    found = pulses(session)
    assert_matches(found[1], old, program)  # the pulse under way is not cut
    assert_matches(found[2], new, new_program)
    assert [p.period_ns for p in found[2:-1]] == [new.period] * (len(found) - 3)


def test_stop_between_pulses_is_immediate(session):
    program, timing = session.start(pw_us=100, ipg_us=10, rate_hz=100)
    session.run(timing.period + timing.pulse() + 1000)  # after the first pulse
    assert session.engine.stop() is True
    assert outputs_low(session)
    session.run(timing.period * 3)
    assert len(pulses(session)) == 1


def test_stop_mid_pulse_finishes_that_pulse_then_goes_low(session):
    program, timing = session.start(pw_us=500, ipg_us=100, rate_hz=100, asym=2)
    session.run(timing.period + timing.cathodic // 2)  # half-way through the cathodic phase
    assert session.engine.stop() is False
    session.run(timing.period * 3, poll_every=125)
    found = pulses(session)
    assert len(found) == 1
    assert_matches(found[0], timing, program)
    assert outputs_low(session)
    last_edge = session.log.changes[-1][0]
    assert last_edge - (found[0].start_ns + timing.pulse()) <= 125  # low within one poll


def test_outputs_low_at_boot_and_after_shutdown(session):
    assert outputs_low(session)
    session.start(pw_us=100, ipg_us=10, rate_hz=1000)
    session.run(300_000)
    session.engine.shutdown()
    assert outputs_low(session)
    assert session.chip.pwm[18][1] == 0 and session.chip.pwm[19][1] == 0
