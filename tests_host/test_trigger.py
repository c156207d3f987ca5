"""External trigger input on the emulated RP2040: "edge" (each rising edge
starts trigger_pulses pulses at the rate) and "gate" (pulses at the rate while
the input is high). The trigger SM paces the pulse SM; every pulse edge is
measured and checked to the PIO cycle, and the edge-to-pulse latency must be
one constant."""

import pytest
from picostim.chip.session import EngineSession
from picostim_fw.stim_program import StimError
from pulses import assert_matches, gaps, outputs_low
from pulses import pulses as measured

TRIGGER_PIN = 26
PERIOD = 125_000  # cycles at 1 kHz
SHAPE = dict(pw_us=100, ipg_us=10, rate_hz=1000, amp_ua=3000)
MAX_LATENCY = 16  # cycles from the input edge to the pulse's start: wait, mov, irq, wait


def drive(session, level, at):
    """Run to cycle `at`, then drive the trigger input to `level`."""
    session.run(at - session.chip.cycle, poll_every=20_000)
    session.chip.set_input(TRIGGER_PIN, level)
    return session.chip.cycle


def pulses(session):
    """Measured pulses; none while the sync pin has never moved."""
    sync = f"gp{session.board['phase_pins']['sync']}"
    return measured(session) if len(session.log.series().get(sync, ())) > 1 else []


def latencies(found, edges):
    """For each edge, the cycles to the first pulse after it."""
    out = []
    for edge in edges:
        after = [p.start_ns for p in found if p.start_ns >= edge]
        out.append(after[0] - edge)
    return out


@pytest.fixture
def session():
    return EngineSession("pico")


def test_edge_mode_plays_n_pulses_per_rising_edge_and_nothing_without_one(session):
    program, timing = session.start(trigger="edge", trigger_pulses=3, **SHAPE)
    session.run(5 * PERIOD, poll_every=20_000)
    assert pulses(session) == []  # no edge, no pulse
    edges = []
    for start in (6, 20, 31):  # an edge every few periods, held high for a while
        edges.append(drive(session, 1, start * PERIOD))
        drive(session, 0, (start + 5) * PERIOD)
    session.run(6 * PERIOD, poll_every=20_000)
    found = pulses(session)
    assert len(found) == 9
    for pulse in found:
        assert_matches(pulse, timing, program)
    lat = latencies(found, edges)
    assert len(set(lat)) == 1 and 0 < lat[0] <= MAX_LATENCY, lat
    for k, edge in enumerate(edges):
        train = found[3 * k : 3 * k + 3]
        assert train[0].start_ns == edge + lat[0]
        assert gaps(train) == [timing.period] * 2


def test_edge_mode_ignores_edges_during_a_train_and_rearms_after_its_last_period(session):
    program, timing = session.start(trigger="edge", trigger_pulses=4, **SHAPE)
    first = drive(session, 1, 2 * PERIOD)
    # bounce the input while the 4 pulses play: ignored
    for k in range(3):
        drive(session, 0, first + k * PERIOD + PERIOD // 3)
        drive(session, 1, first + k * PERIOD + 2 * PERIOD // 3)
    drive(session, 0, first + 3 * PERIOD + PERIOD // 2)
    # high again before the last pulse's period has run out: too early to re-arm
    # on a low that came before the end; the SM waits for a low after the period
    early = drive(session, 1, first + 3 * PERIOD + 3 * PERIOD // 4)
    session.run(3 * PERIOD, poll_every=20_000)
    found = pulses(session)
    assert len(found) == 4, [p.start_ns for p in found]
    assert gaps(found) == [timing.period] * 3
    assert all(p.start_ns < early for p in found)
    # a clean low-high after the period: the next train comes
    drive(session, 0, session.chip.cycle + 1000)
    second = drive(session, 1, session.chip.cycle + 1000)
    session.run(5 * PERIOD, poll_every=20_000)
    found = pulses(session)
    assert len(found) == 8
    assert found[4].start_ns - second == found[0].start_ns - first


def test_gate_mode_pulses_at_the_rate_while_high(session):
    program, timing = session.start(trigger="gate", **SHAPE)
    session.run(3 * PERIOD, poll_every=20_000)
    assert pulses(session) == []
    opens = []
    opens.append(drive(session, 1, 4 * PERIOD))
    drive(session, 0, 4 * PERIOD + 5 * PERIOD + PERIOD // 2)  # open for 5.5 periods
    opens.append(drive(session, 1, 20 * PERIOD + 12_345))
    drive(session, 0, 20 * PERIOD + 12_345 + 2 * PERIOD + PERIOD // 2)
    session.run(4 * PERIOD, poll_every=20_000)
    found = pulses(session)
    assert len(found) == 6 + 3, [p.start_ns for p in found]
    for pulse in found:
        assert_matches(pulse, timing, program)
    assert gaps(found[:6]) == [timing.period] * 5
    assert gaps(found[6:]) == [timing.period] * 2
    lat = latencies(found, opens)
    assert len(set(lat)) == 1 and 0 < lat[0] <= MAX_LATENCY, lat


def test_gate_already_high_at_start_pulses_once_the_dac_has_settled(session):
    session.chip.set_input(TRIGGER_PIN, 1)
    start = session.chip.cycle
    program, timing = session.start(trigger="gate", **SHAPE)
    session.run(3 * PERIOD + PERIOD // 2, poll_every=20_000)
    found = pulses(session)
    settle = session.engine._dac_wait  # one PWM period + the CC latch latency
    assert len(found) == 4 and settle <= found[0].start_ns - start <= settle + MAX_LATENCY
    assert gaps(found) == [timing.period] * 3
    assert all(p.balanced and abs(p.cathodic_ua - 3000) < 41 for p in found)


def test_edge_mode_waits_for_a_low_when_started_high(session):
    session.chip.set_input(TRIGGER_PIN, 1)
    session.start(trigger="edge", trigger_pulses=2, **SHAPE)
    session.run(4 * PERIOD, poll_every=20_000)
    assert pulses(session) == []  # a level is not an edge
    drive(session, 0, session.chip.cycle + 100)
    edge = drive(session, 1, session.chip.cycle + 100)
    session.run(3 * PERIOD, poll_every=20_000)
    assert [p.start_ns > edge for p in pulses(session)] == [True, True]


def test_amplitude_and_shape_change_without_restart_rate_change_restarts(session):
    program, timing = session.start(trigger="gate", **SHAPE)
    drive(session, 1, PERIOD)
    session.run(3 * PERIOD, poll_every=20_000)
    louder, louder_t = session.program(**dict(SHAPE, amp_ua=4000, pw_us=120), trigger="gate")
    session.engine.update(louder_t, louder)
    assert session.engine.state == "running"
    session.run(4 * PERIOD, poll_every=20_000)
    faster, faster_t = session.program(**dict(SHAPE, rate_hz=2000), trigger="gate")
    session.engine.update(faster_t, faster)
    assert session.engine.state in ("restarting", "running")
    session.run(6 * PERIOD, poll_every=20_000)
    found = pulses(session)
    assert all(p.balanced and not p.problems for p in found)
    assert {p.cathodic_ns for p in found} == {timing.cathodic, louder_t.cathodic}
    assert faster_t.period in gaps(found)[-4:]
    assert session.engine.source == "trigger"


def test_stop_mid_train_completes_the_pulse_and_leaves_outputs_low(session):
    session.start(trigger="edge", trigger_pulses=100, **dict(SHAPE, pw_us=400))
    edge = drive(session, 1, PERIOD)
    session.run(2 * PERIOD + 40_000 - (session.chip.cycle - edge), poll_every=20_000)  # mid-pulse
    session.engine.stop()
    session.run(PERIOD, poll_every=1_000)
    assert session.engine.state == "idle" and outputs_low(session)
    found = pulses(session)
    assert len(found) == 3 and all(p.balanced and not p.problems for p in found)
    drive(session, 0, session.chip.cycle + 100)
    drive(session, 1, session.chip.cycle + 100)
    session.run(2 * PERIOD)
    assert len(pulses(session)) == 3  # stopped means stopped, trigger or not


@pytest.mark.parametrize(
    "fields, code",
    [
        (dict(trigger="sometimes"), "VALUE"),
        (dict(trigger="edge", burst_count=5, burst_rate_hz=500, rate_hz=40), "VALUE"),
        (dict(trigger="edge", trigger_pulses=0), "RANGE"),
        (dict(trigger="edge", trigger_pulses=1025), "RANGE"),
    ],
)
def test_bad_trigger_settings_are_refused(session, fields, code):
    with pytest.raises(StimError) as refused:
        session.program(**dict(dict(pw_us=100, rate_hz=60), **fields))
    assert refused.value.code == code
