"""Groups of several programs interleaved on the one current source (issue 16),
on the emulated chip: every pulse is wholly its slot's program (widths,
contacts, both DAC levels), each program is exactly periodic at its own rate
from its first pulse on (0 cycles of error, no drift), no two pulses come
closer than the guard, STOP leaves every output low, and a live change of
levels or of a member's shape lands whole."""

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from picostim.chip.session import EngineSession
from picostim_fw.group_schedule import MAX_SLOTS, build, member_periods
from picostim_fw.pulse_engine import dac_counts
from picostim_fw.stim_program import Program, StimError, timing
from pulses import outputs_low, pulses
from test_live_change import ANODIC_PIN, CATHODIC_PIN, Levels

SYS_HZ = 125_000_000


@pytest.fixture(scope="module")
def session():
    return EngineSession("pico")


def fresh(session):
    """Engine off, CC 0 latched, the logs cleared."""
    session.engine.shutdown()
    session.run(1000)
    session.log.changes.clear()
    session.log.pwm[:] = [(session.chip.cycle, pin, 0) for pin in (CATHODIC_PIN, ANODIC_PIN)]


def member(session, **fields):
    program = Program(**fields)
    program.validate(session.board["limits"], session.board["contacts"]["count"])
    return program


def wanted(program, top):
    t = timing(program, SYS_HZ)
    return (t.cathodic, t.interphase, t.anodic, sorted(program.cathodes), sorted(program.anodes)) + dac_counts(
        program.amp_ua, program.asym, 25500, top
    )


def got(pulse, levels):
    return (
        pulse.cathodic_ns,
        pulse.interphase_ns,
        pulse.anodic_ns,
        sorted(pulse.cathodes),
        sorted(pulse.anodes),
        levels.at(CATHODIC_PIN, pulse.start_ns),
        levels.at(ANODIC_PIN, pulse.start_ns),
    )


def check_schedule(session, schedule, programs, found, guard):
    """Pulse k is slot k mod S of the schedule, at exactly its time, with its
    program's every value; nothing changes a level inside a pulse."""
    top = session.engine.dac_top
    levels = Levels(session.log, top)
    slots = len(schedule.starts)
    first = found[0].start_ns
    for k, pulse in enumerate(found):
        slot = k % slots
        at = first + (k // slots) * schedule.period + schedule.starts[slot] - schedule.starts[0]
        assert pulse.start_ns == at, (f"pulse {k} off its slot", pulse.start_ns - at)
        assert got(pulse, levels) == wanted(programs[schedule.members[slot]], top), (f"pulse {k}", pulse)
        end = pulse.start_ns + pulse.cathodic_ns + pulse.interphase_ns + pulse.anodic_ns
        assert not levels.change_within(pulse.start_ns, end), f"a level changed inside pulse {k}"
        assert pulse.balanced is True and pulse.problems == []
        if k + 1 < len(found):
            assert found[k + 1].start_ns - end >= guard, f"pulses {k} and {k + 1} too close"


def per_member_periods(schedule, found):
    """Each member's start-to-start intervals, from its pulses in the trace."""
    slots = len(schedule.starts)
    starts: dict[int, list[int]] = {}
    for k, pulse in enumerate(found):
        starts.setdefault(schedule.members[k % slots], []).append(pulse.start_ns)
    return {m: {b - a for a, b in zip(s, s[1:], strict=False)} for m, s in starts.items()}


def run_group(session, programs, periods=2):
    fresh(session)
    timings = [timing(p, SYS_HZ) for p in programs]
    schedule = session.engine.start_group(timings, programs)
    session.run(periods * schedule.period + schedule.intervals()[0] - 100, poll_every=50_000)
    stop(session)
    return schedule, pulses(session)


def stop(session):
    """STOP: the pulse under way (at most 2 ms) completes, then every output is low."""
    session.engine.stop()
    session.run(300_000, poll_every=1000)
    assert session.engine.state == "idle" and outputs_low(session)


def test_three_programs_at_one_rate(session):
    programs = [
        member(session, amp_ua=2000, pw_us=100, ipg_us=20, rate_hz=50, cathodes=(0,), anodes=(1,)),
        member(session, amp_ua=3500, pw_us=210, ipg_us=0, rate_hz=50, cathodes=(4,), anodes=(5,), asym=2),
        member(session, amp_ua=700, pw_us=60, ipg_us=50, rate_hz=50, cathodes=(1,), anodes=(0, 2)),
    ]
    schedule, found = run_group(session, programs, periods=3)
    assert len(found) == 9
    check_schedule(session, schedule, programs, found, session.engine.group_guard())
    assert per_member_periods(schedule, found) == {0: {2_500_000}, 1: {2_500_000}, 2: {2_500_000}}


def test_two_programs_25x_apart(session):
    """40 Hz with 1 kHz: 26 pulses per 25 ms, each program exact at its rate."""
    programs = [
        member(session, amp_ua=1500, pw_us=90, ipg_us=20, rate_hz=1000, cathodes=(2,), anodes=(3,)),
        member(session, amp_ua=4000, pw_us=300, ipg_us=20, rate_hz=40, cathodes=(3,), anodes=(2,)),
    ]
    schedule, found = run_group(session, programs, periods=2)
    assert len(found) == 52
    check_schedule(session, schedule, programs, found, session.engine.group_guard())
    assert per_member_periods(schedule, found) == {0: {125_000}, 1: {3_125_000}}


def test_dtm_50_and_1200_hz(session):
    """1200 Hz is not a whole number of cycles: the fast program keeps its
    nearest-cycle period, the slow one 24 of them (8 cycles, 64 ns, long)."""
    programs = [
        member(session, amp_ua=1000, pw_us=50, ipg_us=10, rate_hz=1200, cathodes=(0,), anodes=(1,)),
        member(session, amp_ua=2500, pw_us=200, ipg_us=10, rate_hz=50, cathodes=(6,), anodes=(7,)),
    ]
    schedule, found = run_group(session, programs, periods=2)
    check_schedule(session, schedule, programs, found, session.engine.group_guard())
    assert per_member_periods(schedule, found) == {0: {104_167}, 1: {24 * 104_167}}


def test_a_contact_is_cathode_in_one_program_and_anode_in_another(session):
    programs = [
        member(session, amp_ua=1000, pw_us=100, rate_hz=200, cathodes=(3,), anodes=(4,)),
        member(session, amp_ua=1200, pw_us=100, rate_hz=200, cathodes=(4,), anodes=(3,)),
    ]
    schedule, found = run_group(session, programs, periods=4)
    check_schedule(session, schedule, programs, found, session.engine.group_guard())
    assert {tuple(p.cathodes) for p in found} == {(3,), (4,)}


def test_refusals_name_what_does_not_fit(session):
    guard = session.engine.group_guard()
    wide = member(session, amp_ua=1000, pw_us=1000, asym=4, rate_hz=190, cathodes=(0,), anodes=(1,))
    timings = [timing(wide, SYS_HZ)] * 2
    with pytest.raises(StimError) as refused:
        build(timings, guard, SYS_HZ)
    assert refused.value.code == "FIT" and "need" in refused.value.message and "of every" in refused.value.message
    odd = [timing(member(session, rate_hz=r, cathodes=(0,), anodes=(1,)), SYS_HZ) for r in (1000, 300)]
    with pytest.raises(StimError) as refused:
        member_periods(odd)
    assert refused.value.code == "VALUE"
    uneven = [timing(member(session, rate_hz=r, cathodes=(0,), anodes=(1,)), SYS_HZ) for r in (100, 50, 20)]
    with pytest.raises(StimError) as refused:
        member_periods(uneven)  # 20 ms does not divide 50 ms
    assert refused.value.code == "VALUE"
    many = [timing(member(session, rate_hz=r, pw_us=10, cathodes=(0,), anodes=(1,)), SYS_HZ) for r in (10000, 100)]
    with pytest.raises(StimError) as refused:
        build(many, guard, SYS_HZ)
    assert refused.value.code == "RANGE" and str(MAX_SLOTS) in refused.value.message
    burst = timing(member(session, burst_count=3, rate_hz=40, cathodes=(0,), anodes=(1,)), SYS_HZ)
    with pytest.raises(StimError):
        build([burst, timings[0]], guard, SYS_HZ)
    assert session.engine.state == "idle"


def test_level_change_lands_whole_at_a_schedule_boundary(session):
    """GroupAdjust: every member's amplitude scaled while running. Each pulse
    has its own slot's words and its member's old or new levels, never going
    back; the new levels arrive within two schedule periods."""
    old = [
        member(session, amp_ua=2000, pw_us=80, rate_hz=500, cathodes=(0,), anodes=(1,)),
        member(session, amp_ua=3000, pw_us=150, rate_hz=100, cathodes=(2,), anodes=(3,), asym=2),
    ]
    new = [p.copy(amp_ua=p.amp_ua * 3 // 2) for p in old]
    fresh(session)
    timings = [timing(p, SYS_HZ) for p in old]
    engine = session.engine
    schedule = engine.start_group(timings, old)
    session.run(schedule.period + 333_333, poll_every=20_000)
    engine.update_group(timings, new)
    assert engine.pending()
    session.run(3 * schedule.period, poll_every=20_000)
    assert not engine.pending()
    stop(session)
    found = pulses(session)
    top = engine.dac_top
    levels = Levels(session.log, top)
    slots = len(schedule.starts)
    switched = False
    for k, pulse in enumerate(found):
        m = schedule.members[k % slots]
        value = got(pulse, levels)
        if value == wanted(new[m], top):
            switched = True
        else:
            assert value == wanted(old[m], top) and not switched, (f"pulse {k} mixes or goes back", value)
    assert switched and got(found[-1], levels) == wanted(new[schedule.members[(len(found) - 1) % slots]], top)


def test_shape_change_of_one_member_restarts_the_schedule_whole(session):
    a = member(session, amp_ua=2000, pw_us=80, rate_hz=250, cathodes=(0,), anodes=(1,))
    b = member(session, amp_ua=1000, pw_us=100, rate_hz=250, cathodes=(2,), anodes=(3,))
    b2 = b.copy(pw_us=200, cathodes=(5,))
    fresh(session)
    engine = session.engine
    engine.start_group([timing(a, SYS_HZ), timing(b, SYS_HZ)], [a, b])
    session.run(1_000_000, poll_every=20_000)
    engine.update_group([timing(a, SYS_HZ), timing(b2, SYS_HZ)], [a, b2])
    session.run(2_000_000, poll_every=20_000)
    assert engine.state == "running" and not engine.pending()
    stop(session)
    top = engine.dac_top
    levels = Levels(session.log, top)
    allowed = {tuple(map(str, wanted(p, top))) for p in (a, b, b2)}
    found = pulses(session)
    assert all(tuple(map(str, got(p, levels))) in allowed for p in found)
    assert tuple(map(str, got(found[-1], levels))) in {tuple(map(str, wanted(p, top))) for p in (a, b2)}
    assert any(sorted(p.cathodes) == [5] for p in found)


RATES = (40, 50, 100, 200, 250, 500, 1000, 2000)


@st.composite
def group(draw):
    fastest = draw(st.sampled_from(RATES))
    count = draw(st.integers(2, 4))
    programs = []
    for _ in range(count):
        divisor = draw(st.sampled_from([d for d in (1, 1, 2, 5, 10, 25) if fastest % d == 0 and fastest // d >= 20]))
        cathode, anode = draw(st.lists(st.integers(0, 7), min_size=2, max_size=2, unique=True))
        programs.append(
            Program(
                amp_ua=draw(st.integers(0, 8000)),
                pw_us=draw(st.sampled_from((10, 30, 60, 100, 210, 400))),
                ipg_us=draw(st.sampled_from((0, 10, 20, 100))),
                asym=draw(st.sampled_from((1, 1, 2, 3))),
                rate_hz=fastest // divisor,
                cathodes=(cathode,),
                anodes=(anode,),
            )
        )
    return programs


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs=group())
def test_random_groups_are_exact_per_program(session, programs):
    limits, contacts = session.board["limits"], session.board["contacts"]["count"]
    try:
        for p in programs:
            p.validate(limits, contacts)
        schedule = build([timing(p, SYS_HZ) for p in programs], session.engine.group_guard(), SYS_HZ)
    except StimError:
        assume(False)
        return
    schedule, found = run_group(session, programs, periods=2)
    assert len(found) >= len(schedule.starts)
    check_schedule(session, schedule, programs, found, session.engine.group_guard())
    for m, intervals in per_member_periods(schedule, found).items():
        assert intervals <= {schedule.periods[m]}, (m, intervals)
