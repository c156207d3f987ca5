"""Burst and custom-train stimulation on the emulated RP2040: the rate state
machine fed by DMA. Every pulse edge is measured; timing is checked to the
PIO cycle (8 ns), with no tolerance."""

import random

import pytest
from picostim.chip.session import EngineSession
from pulses import assert_matches, burst_gaps, gaps, outputs_low, pulses, shape, timing_shape

MIN_REST = 125  # cycles: the board's min_rest_us


def run_bursts(session, timing, bursts):
    """Run until `bursts` whole bursts after start have ended (the first starts one tail in)."""
    t0 = session.chip.cycle
    end = t0 + timing.tail() + (bursts - 1) * timing.period + (timing.burst_count - 1) * timing.intra
    session.chip.run_until(end + timing.pulse() + 100)
    return t0


def check_bursts(session, program, timing, bursts):
    t0 = run_bursts(session, timing, bursts)
    found = pulses(session)
    count = timing.burst_count
    assert len(found) == bursts * count
    for pulse in found:
        assert_matches(pulse, timing, program)
    assert found[0].start_ns == t0 + timing.tail()
    assert gaps(found) == burst_gaps(timing, len(found) - 1)
    firsts = [p.start_ns for p in found[::count]]
    assert {b - a for a, b in zip(firsts, firsts[1:], strict=False)} == {timing.period}
    # pulses per burst: any gap but the intra-burst period separates two bursts
    assert timing.tail() != timing.intra
    sizes = [1]
    for gap in gaps(found):
        if gap != timing.intra:
            sizes.append(1)
        else:
            sizes[-1] += 1
    assert sizes == [count] * bursts
    return found


BURSTS = [
    # pw, ipg, rate, burst_count, burst_rate, asym
    (100, 10, 40, 5, 500, 1),  # BurstDR-like: 5 pulses at 500 Hz, 40 Hz bursts
    (10, 0, 60, 16, 1000, 1),  # longest burst, fastest intra rate
    (30, 5, 2, 2, 3, 2),  # slowest: 2 Hz bursts of 2 pulses 333 ms apart
    (37, 3, 97, 7, 887, 3),  # periods that are not whole microseconds
    (200, 20, 40, 3, 1000, 1),
    (490, 10, 66, 2, 1000, 1),  # the pulse fills its intra period but for min_rest
]


@pytest.mark.parametrize("pw,ipg,rate,count,burst_rate,asym", BURSTS)
def test_burst_spacing_exact(pw, ipg, rate, count, burst_rate, asym):
    session = EngineSession("pico")
    program, timing = session.start(
        pw_us=pw, ipg_us=ipg, rate_hz=rate, burst_count=count, burst_rate_hz=burst_rate, asym=asym, amp_ua=3000
    )
    assert timing.intra == (125_000_000 + burst_rate // 2) // burst_rate
    bursts = 3 if rate == 2 else 40
    check_bursts(session, program, timing, bursts)


def test_burst_over_many_periods_has_no_drift():
    session = EngineSession("pico")
    program, timing = session.start(pw_us=60, ipg_us=10, rate_hz=130, burst_count=4, burst_rate_hz=977, amp_ua=1000)
    found = check_bursts(session, program, timing, 300)
    assert found[-timing.burst_count].start_ns - found[0].start_ns == 299 * timing.period


def check_tonic(found, timing, program, count):
    assert len(found) >= count
    for pulse in found[:count]:
        assert_matches(pulse, timing, program)
    assert set(gaps(found[:count])) == {timing.period}


def test_tonic_10khz_30us_exact():
    session = EngineSession("pico")
    program, timing = session.start(pw_us=30, ipg_us=20, rate_hz=10000, amp_ua=5000)
    assert timing.period == 12500
    t0 = session.chip.cycle
    session.run(1000 * timing.period + timing.pulse() + 100)
    found = pulses(session)
    assert len(found) == 1000
    assert found[0].start_ns == t0 + timing.period
    check_tonic(found, timing, program, 1000)


def test_tonic_10khz_30us_exact_when_fed_by_dma():
    """The same train after a burst: tonic from the DMA ring (15 silent words + the period)."""
    session = EngineSession("pico")
    session.start(pw_us=30, ipg_us=20, rate_hz=100, burst_count=3, burst_rate_hz=1000, amp_ua=5000)
    session.run(2_000_000)
    program, timing = session.program(pw_us=30, ipg_us=20, rate_hz=10000, amp_ua=5000)
    session.engine.update(timing, program)
    session.run(3_000_000, poll_every=1000)  # the ring changes after the burst period under way
    assert not session.engine.pending() and session.engine.source == "stream"
    before = len(pulses(session))
    session.run(1000 * timing.period, poll_every=100_000)
    found = pulses(session)[before:]
    check_tonic(found, timing, program, 1000)


def random_intervals(rng, low_us, high_us, count):
    values = [rng.randint(low_us, high_us) for _ in range(count)]
    values[rng.randrange(count)] = low_us  # the shortest allowed interval is in there
    return values


def test_custom_train_of_1000_random_intervals_played_once():
    rng = random.Random(2024)
    session = EngineSession("pico")
    program, timing = session.program(pw_us=50, ipg_us=10, rate_hz=100, amp_ua=2000, cathodes=(3,), anodes=(4, 5))
    busy_us = program.busy_us(session.board["limits"])
    assert busy_us == 111
    intervals_us = random_intervals(rng, busy_us, 2000, 1000)
    intervals_us[500] = 500_000  # the longest the board allows (its lowest rate, 2 Hz)
    cycles = session.stim.train_cycles(program, intervals_us, session.board["limits"], 125_000_000)
    t0 = session.chip.cycle
    session.engine.start_train(timing, program, cycles, loop=False)
    session.run(sum(cycles) + timing.pulse() + 5000, poll_every=50_000)
    session.run(1_000_000, poll_every=10_000)  # the engine notices the end by itself
    found = pulses(session)
    assert len(found) == 1000
    for pulse in found:
        assert_matches(pulse, timing, program)
    assert found[0].start_ns == t0 + cycles[0]
    assert gaps(found) == cycles[1:]
    assert session.engine.state == "idle"
    assert outputs_low(session)
    session.run(10_000_000)
    assert len(pulses(session)) == 1000


def test_custom_train_loops_exactly():
    rng = random.Random(7)
    session = EngineSession("pico")
    program, timing = session.program(pw_us=40, ipg_us=0, rate_hz=100, amp_ua=2000)
    intervals_us = random_intervals(rng, 81, 600, 1000)
    cycles = session.stim.train_cycles(program, intervals_us, session.board["limits"], 125_000_000)
    t0 = session.chip.cycle
    session.engine.start_train(timing, program, cycles, loop=True)
    session.run(3 * sum(cycles) + cycles[0] + timing.pulse() + 100, poll_every=1_000_000)
    found = pulses(session)
    assert len(found) == 3000 + 1
    for pulse in found:
        assert_matches(pulse, timing, program)
    assert found[0].start_ns == t0 + cycles[0]
    assert gaps(found) == [cycles[(k + 1) % 1000] for k in range(3000)]
    assert session.engine.state == "running"
    session.engine.stop()
    session.run(100_000, poll_every=1000)
    assert session.engine.state == "idle" and outputs_low(session)


def test_short_looped_train_and_restart_with_another():
    session = EngineSession("pico")
    program, timing = session.program(pw_us=20, ipg_us=0, rate_hz=100)
    first = [6000, 7000, 100_000]
    session.engine.start_train(timing, program, first, loop=True)
    session.run(10 * sum(first) - 50_000, poll_every=10_000)
    session.engine.stop()
    session.run(10_000, poll_every=1000)
    assert session.engine.state == "idle"
    n = len(pulses(session))
    assert n == 29
    assert gaps(pulses(session)) == [first[(k + 1) % 3] for k in range(28)]
    second = [9000, 12_000]  # shorter than the first: the same buffer, rewritten
    t0 = session.chip.cycle
    session.engine.start_train(timing, program, second, loop=False)
    session.run(100_000, poll_every=1000)
    found = pulses(session)[n:]
    assert [p.start_ns - t0 for p in found] == [9000, 21_000]
    assert session.engine.state == "idle"


def test_stop_mid_burst_finishes_that_pulse_then_goes_low():
    session = EngineSession("pico")
    program, timing = session.start(pw_us=300, ipg_us=50, rate_hz=40, burst_count=5, burst_rate_hz=500, asym=2)
    # inside the third pulse of the second burst, half-way through its anodic phase
    third = timing.tail() + timing.period + 2 * timing.intra
    session.chip.run_until(third + timing.cathodic + timing.interphase + timing.anodic // 2)
    assert session.engine.stop() is False
    session.run(timing.period * 3, poll_every=125)
    found = pulses(session)
    assert len(found) == 5 + 3
    for pulse in found:
        assert_matches(pulse, timing, program)
    assert found[-1].start_ns == third
    assert outputs_low(session)
    assert session.engine.state == "idle"
    last_edge = session.log.changes[-1][0]
    assert last_edge - (third + timing.pulse()) <= 125  # low within one poll


def test_stop_between_pulses_of_a_burst_is_immediate():
    session = EngineSession("pico")
    program, timing = session.start(pw_us=100, ipg_us=10, rate_hz=40, burst_count=4, burst_rate_hz=500)
    session.chip.run_until(timing.tail() + timing.intra + timing.pulse() + 1000)  # after pulse 2 of 4
    assert session.engine.stop() is True
    assert outputs_low(session)
    session.run(timing.period * 3)
    assert len(pulses(session)) == 2


def live_change(first, second, wait_cycles):
    """Start `first`, update to `second` after wait_cycles, with the service
    loop polling; return (found pulses, first timing, second timing)."""
    session = EngineSession("pico")
    _, old = session.start(**first)
    session.run(wait_cycles)
    program, new = session.program(**second)
    session.engine.update(new, program)
    for _ in range(20):
        session.run(max(old.period, new.period), poll_every=3000)
        if not session.engine.pending():
            break
    assert not session.engine.pending()
    session.run(3 * new.period, poll_every=3000)
    return session, pulses(session), old, new


def check_change(found, old, new):
    """Every pulse whole and with the old or the new shape, the old shape
    never after the new one, and the start-to-start gaps: the old pattern,
    then the new one from its ring's start."""
    shapes = [shape(p) for p in found]
    assert set(shapes) <= {timing_shape(old), timing_shape(new)}
    first_new = shapes.index(timing_shape(new))
    assert set(shapes[first_new:]) == {timing_shape(new)}
    for pulse in found:
        assert pulse.problems == [] and pulse.balanced is True
    measured = gaps(found)
    # each pulse has the pulse length plus the minimum rest before the next starts
    for pulse, gap in zip(found, measured, strict=False):
        assert gap >= pulse.cathodic_ns + pulse.interphase_ns + pulse.anodic_ns + MIN_REST
    # gaps[:k] from the old pattern, gaps[k:] the new pattern from its start
    old_gaps = burst_gaps(old, len(measured))
    k = 0
    while k < len(measured) and measured[k] == old_gaps[k]:
        k += 1
    lowest = max(0, k - len(old.intervals()))
    candidates = [j for j in range(lowest, k + 1) if measured[j:] == new_tail(new, j, measured)]
    assert candidates, "gaps are not the old pattern followed by the new one"
    if old.burst_count > 1:  # the new ring starts after the last pulse of a burst: none is cut short
        assert any(j % old.burst_count == old.burst_count - 1 for j in candidates)
    return first_new, candidates


def new_tail(new, start, measured):
    pattern = [new.tail()] + [new.intra] * (new.burst_count - 1) if new.burst_count > 1 else [new.period]
    return [pattern[i % len(pattern)] for i in range(len(measured) - start)]


TONIC = dict(cathodes=(2,), anodes=(3,), amp_ua=2000)
BURST_40 = dict(ipg_us=0, rate_hz=40, burst_rate_hz=1000)
CHANGES = [
    # tonic -> burst, the new pulse fits the old period: pulse words first
    (dict(pw_us=100, ipg_us=10, rate_hz=100), dict(pw_us=300, burst_count=4, **BURST_40)),
    # tonic -> burst, the new pulse is longer than the old period: the ring first
    (dict(pw_us=200, ipg_us=0, rate_hz=2000), dict(pw_us=300, burst_count=5, **BURST_40)),
    # burst -> tonic, pulse first
    (dict(pw_us=300, burst_count=4, **BURST_40), dict(pw_us=200, ipg_us=0, rate_hz=2000)),
    # burst -> tonic, the new pulse does not fit the old intra period: the ring first
    (dict(pw_us=100, burst_count=4, **BURST_40), dict(pw_us=500, ipg_us=100, rate_hz=500)),
    # burst -> burst with other contacts
    (
        dict(pw_us=100, burst_count=4, **BURST_40),
        dict(pw_us=60, ipg_us=5, rate_hz=60, burst_count=9, burst_rate_hz=700, cathodes=(5,), anodes=(0, 1)),
    ),
]


@pytest.mark.parametrize("first,second", CHANGES)
@pytest.mark.parametrize("when", [0.13, 0.5, 0.91])
def test_live_change_tonic_burst_no_malformed_pulse(first, second, when):
    first = {**TONIC, **first}
    second = {**TONIC, **second}
    session = EngineSession("pico")
    _, old = session.program(**first)
    wait = int(3 * old.period + when * old.period)
    session, found, old, new = live_change(first, second, wait)
    assert len(found) > 10
    check_change(found, old, new)
    assert session.engine.source == "stream" if (old.burst_count > 1 or new.burst_count > 1) else "direct"


def test_tonic_to_burst_switches_at_the_next_period_and_burst_to_tonic_between_bursts():
    """Exact boundaries: after the last tonic pulse the new ring begins (its
    gap before the burst, then the burst); after a burst's last pulse the
    tonic ring begins (one period, then periods)."""
    base = dict(pw_us=100, ipg_us=10, cathodes=(2,), anodes=(3,), amp_ua=1000)
    session = EngineSession("pico")
    _, tonic = session.start(rate_hz=200, **base)
    session.run(3 * tonic.period + 1234)
    program, burst = session.program(rate_hz=50, burst_count=3, burst_rate_hz=800, **base)
    session.engine.update(burst, program)  # same pulse: only the rate side changes
    session.run(5 * burst.period + 4321, poll_every=5000)
    assert not session.engine.pending()
    program, tonic2 = session.program(rate_hz=300, **base)
    session.engine.update(tonic2, program)
    session.run(10 * tonic2.period + 3 * burst.period, poll_every=5000)
    measured = gaps(pulses(session))
    expected = [tonic.period] * 3 + [burst.tail()] + burst_gaps(burst, 3 * 5 - 1)
    assert measured[: len(expected)] == expected
    # the burst in progress when the tonic update came completes, then tonic periods
    rest = measured[len(expected) :]  # from the gap after the 5th burst's last pulse
    k = 0
    while rest[k : k + 3] == [burst.tail(), burst.intra, burst.intra]:
        k += 3
    assert rest[k:] == [tonic2.period] * len(rest[k:])
    assert len(rest[k:]) >= 10


def test_random_live_changes_between_tonic_and_burst():
    rng = random.Random(99)
    session = EngineSession("pico")
    base = dict(cathodes=(2,), anodes=(3,), amp_ua=2000)
    program, timing = session.start(pw_us=100, ipg_us=10, rate_hz=1000, **base)
    shapes = {timing_shape(timing)}
    updates = 0
    longest = timing.period
    while updates < 80:
        fields = dict(pw_us=rng.randint(10, 400), ipg_us=rng.randint(0, 100), **base)
        if rng.random() < 0.5:
            fields.update(rate_hz=rng.choice((20, 40, 60, 100)), burst_count=rng.randint(2, 16))
            fields.update(burst_rate_hz=rng.choice((300, 500, 800, 1000)))
        else:
            fields.update(rate_hz=rng.choice((50, 200, 1000, 2500)))
        if rng.random() < 0.3:
            fields.update(cathodes=(rng.randrange(8),), anodes=(8 - 1 - rng.randrange(4),))
        try:
            program, timing = session.program(**fields)
        except Exception as exc:
            assert getattr(exc, "code", None) in ("FIT", "CONTACTS"), exc
            continue
        session.engine.update(timing, program)
        shapes.add(timing_shape(timing))
        longest = max(longest, timing.period)
        updates += 1
        session.run(rng.randint(1, 3 * timing.period), poll_every=rng.choice((1000, 10_000, 100_000)))
    for _ in range(10):
        if not session.engine.pending():
            break
        session.run(longest, poll_every=1000)
    assert not session.engine.pending()
    session.run(3 * timing.period, poll_every=10_000)
    found = pulses(session)
    assert len(found) > 300
    for pulse, gap in zip(found, gaps(found), strict=False):
        assert pulse.problems == [] and pulse.balanced is True
        assert shape(pulse) in shapes
        assert gap >= pulse.cathodic_ns + pulse.interphase_ns + pulse.anodic_ns + MIN_REST
    tail = found[-2 * timing.burst_count :]
    for pulse in tail:
        assert_matches(pulse, timing, program)


def test_asym_change_restarts_a_burst_cleanly():
    session = EngineSession("pico")
    program, timing = session.start(pw_us=100, ipg_us=10, rate_hz=40, burst_count=3, burst_rate_hz=500)
    session.chip.run_until(timing.tail() + timing.intra + timing.cathodic // 2)  # inside pulse 2
    new_program, new = session.program(pw_us=100, ipg_us=10, rate_hz=40, burst_count=3, burst_rate_hz=500, asym=2)
    session.engine.update(new, new_program)
    session.run(4 * new.period, poll_every=1000)
    found = pulses(session)
    assert_matches(found[0], timing, program)
    assert_matches(found[1], timing, program)  # the pulse under way completes
    for pulse in found[2:]:
        assert_matches(pulse, new, new_program)
    assert gaps(found[2:]) == burst_gaps(new, len(found) - 3)


def test_update_during_a_train_is_refused_and_start_needs_idle():
    session = EngineSession("pico")
    program, timing = session.program(pw_us=20, ipg_us=0, rate_hz=100)
    session.engine.start_train(timing, program, [10_000, 20_000])
    with pytest.raises(RuntimeError):
        session.engine.update(timing, program)
    with pytest.raises(RuntimeError):
        session.engine.start_train(timing, program, [10_000])
    session.engine.shutdown()
    with pytest.raises(ValueError):
        session.engine.start_train(timing, program, [timing.pulse()])  # no room for the pulse to end


def test_dma_stays_off_for_tonic_and_stops_with_the_engine():
    session = EngineSession("pico")
    engine = session.engine
    moved = session.chip.dma_moved
    rate_channels = (engine._data.channel, engine._reload.channel)
    level_channels = (engine._tick.channel, engine._copy.channel)
    session.start(pw_us=100, ipg_us=10, rate_hz=1000)
    session.run(1_000_000)
    assert [moved[c] for c in rate_channels] == [0, 0] and engine.source == "direct"
    # the DAC levels: one word from the DAC SM and one CC copy after each of the 7 pulses
    assert [moved[c] for c in level_channels] == [7, 7]
    assert session.chip.dma_transfers == 14
    engine.shutdown()
    session.start(pw_us=100, ipg_us=10, rate_hz=40, burst_count=2, burst_rate_hz=500)
    session.run(1_000_000)
    assert moved[engine._data.channel] > 0
    engine.shutdown()
    total = session.chip.dma_transfers
    assert not any(channel.active for channel in session.chip.dma.channels)
    session.run(1_000_000)
    assert session.chip.dma_transfers == total and outputs_low(session)
