"""DAC levels change only between pulses, both at once, synchronised by
hardware: the DAC SM pushes a word at every pulse end, two chained DMA
channels copy the prepared CC word (both PWM channels) into PWM CC, and the
PWM latches it at its next wrap, before the next pulse.

Every pulse is checked against the PWM levels the chip model latched (in
PWM counts, 1 count = 25.5 mA / 625): constant over the whole pulse, the
anodic count the cathodic count / asym (nearest), both from one setting -
the last one written before the end of the previous pulse."""

import bisect
import random

import pytest
from picostim.chip.session import EngineSession
from picostim.measure import dac_levels_ua
from picostim_fw.pulse_engine import dac_counts
from pulses import assert_matches, gaps, pulses, shape, timing_shape

CATHODIC_PIN, ANODIC_PIN = 18, 19


def counts_from_duty(duty, top):
    """The CC count behind a recorded duty_u16 (recorded rounded, so exact)."""
    return (duty * (top + 1) + 32767) // 65535


class Levels:
    """The latched PWM levels over time, from a session's pwm log."""

    def __init__(self, session):
        top = session.engine.dac_top
        self.times = {CATHODIC_PIN: [], ANODIC_PIN: []}
        self.values = {CATHODIC_PIN: [], ANODIC_PIN: []}
        for cycle, pin, duty in session.log.pwm:
            if pin in self.times:
                self.times[pin].append(cycle)
                self.values[pin].append(counts_from_duty(duty, top))

    def at(self, pin, cycle):
        i = bisect.bisect_right(self.times[pin], cycle) - 1
        return self.values[pin][i] if i >= 0 else 0

    def changes_within(self, start, end):
        """PWM level changes on either pin in [start, end]."""
        out = []
        for pin, times in self.times.items():
            lo = bisect.bisect_left(times, start)
            hi = bisect.bisect_right(times, end)
            out += [(times[i], pin) for i in range(lo, hi)]
        return out


def pulse_schedule(timing, t0, count):
    """(start, end) cycles of the first `count` pulses of a train started at t0."""
    first = timing.tail() if timing.burst_count > 1 else timing.period
    pattern = timing.intervals() if timing.burst_count > 1 else [timing.period]
    out = []
    start = t0 + first
    for k in range(count):
        out.append((start, start + timing.pulse()))
        start += pattern[k % len(pattern)]
    return out


def expected_counts(program, top):
    return dac_counts(program.amp_ua, program.asym, 25500, top)


# (rate_hz, pw_us, ipg_us, asym, burst_count, burst_rate_hz): pulses fill up to 90% of the interval
SETTINGS = [
    (10000, 30, 0, 2, 1, 0),  # 90 of 100 us
    (10000, 10, 5, 1, 1, 0),
    (5000, 60, 0, 2, 1, 0),  # 180 of 200 us
    (2000, 100, 50, 3, 1, 0),  # 450 of 500 us
    (1000, 100, 0, 8, 1, 0),  # 900 of 1000 us
    (100, 400, 50, 1, 5, 1000),  # bursts: 850 of 1000 us within a burst
]


def when(rng, schedule, now):
    """A random emulated time for the next change after `now`: anywhere, or
    just before a pulse starts, or around a pulse's end, or in its anodic phase."""
    upcoming = [(s, e) for s, e in schedule if s > now + 8]
    start, end = upcoming[rng.randrange(min(3, len(upcoming)))]
    kind = rng.random()
    if kind < 0.3:
        return start - rng.randint(1, 6)  # right before the pulse starts
    if kind < 0.55:
        return max(now + 1, end + rng.randint(-3, 3))  # around its end (DMA copy: the cycle after)
    if kind < 0.7:
        return max(now + 1, end - rng.randint(1, (end - start) // 3))  # during the anodic phase
    return now + rng.randint(1, 2 * (upcoming[0][0] - now))


def run_ramp(setting, changes, seed, engine_hook=None):
    """Start a train, then write `changes` random amplitudes at random times.
    Returns (session, timing, schedule, [(write cycle, program)])."""
    rate, pw, ipg, asym, count, burst_rate = setting
    rng = random.Random(seed)
    session = EngineSession("pico")
    if engine_hook:
        engine_hook(session.engine)
    fields = dict(pw_us=pw, ipg_us=ipg, rate_hz=rate, asym=asym, cathodes=(2,), anodes=(3,))
    if count > 1:
        fields.update(burst_count=count, burst_rate_hz=burst_rate)
    program, timing = session.program(amp_ua=rng.randint(0, 25500), **fields)
    t0 = session.chip.cycle
    session.engine.start(timing, program)
    periods = 4 * changes * max(1, len(timing.intervals()))
    schedule = pulse_schedule(timing, t0, periods)
    writes = [(t0, program)]
    amp = program.amp_ua
    for _ in range(changes):
        at = when(rng, schedule, session.chip.cycle)
        session.chip.run_until(at)
        amp = max(0, min(25500, amp + rng.choice((-1, 1)) * rng.choice((1, 41, 300, 2000, 9000))))
        new_program, new_timing = session.program(amp_ua=amp, **fields)
        assert new_timing == timing
        session.engine.update(new_timing, new_program)
        assert session.engine.state == "running"  # no restart: the rest holds a PWM period
        writes.append((session.chip.cycle, new_program))
        if rng.random() < 0.2:
            session.engine.poll()
    session.run(2 * timing.period, poll_every=10_000)
    assert not session.engine.pending()
    return session, timing, schedule, writes


def check_ramp(setting, changes, seed, engine_hook=None):
    """Run a ramp and check every pulse; returns (changes written, pulses
    checked, {problem: count}) - every count 0 when all is well."""
    session, timing, schedule, writes = run_ramp(setting, changes, seed, engine_hook)
    asym = setting[3]
    top = session.engine.dac_top
    levels = Levels(session)
    found = pulses(session)
    write_times = [w for w, _ in writes]
    problems = {"mixed levels": 0, "anodic not cathodic/asym": 0, "not the setting due": 0, "unbalanced": 0}
    landed = set()
    previous_end = None
    for k, pulse in enumerate(found):
        start, end = schedule[k]
        assert pulse.start_ns == start  # timing untouched by any of it
        assert shape(pulse) == timing_shape(timing) and pulse.problems == []
        if levels.changes_within(start, end):  # a level changed while current could flow
            problems["mixed levels"] += 1
        cathodic, anodic = levels.at(CATHODIC_PIN, start), levels.at(ANODIC_PIN, start)
        if anodic != (2 * cathodic + asym) // (2 * asym):
            problems["anodic not cathodic/asym"] += 1
        # due: the last setting written by the end of the previous pulse (pulse 0: the start's)
        index = 0 if previous_end is None else bisect.bisect_right(write_times, previous_end) - 1
        if (cathodic, anodic) != expected_counts(writes[index][1], top):
            problems["not the setting due"] += 1
        if pulse.balanced is not True:
            problems["unbalanced"] += 1
        landed.add(index)
        previous_end = end
    assert len(found) > 2 * changes // 3
    assert len(landed) > len(writes) // 3  # the checks covered the changes
    return len(writes) - 1, len(found), problems


@pytest.mark.parametrize("setting", SETTINGS, ids=[f"{s[0]}Hz-{s[1]}us-x{s[3]}-b{s[4]}" for s in SETTINGS])
def test_amplitude_changes_at_random_times_never_unbalance_a_pulse(setting):
    _, _, problems = check_ramp(setting, 300, seed=setting[0] + setting[1])
    assert problems == dict.fromkeys(problems, 0)


def test_over_a_thousand_changes_zero_unbalanced_pulses(capsys):
    """The figures: every setting, other seeds, counted."""
    changes = checked = 0
    totals: dict = {}
    for n, setting in enumerate(SETTINGS):
        written, found, problems = check_ramp(setting, 250, seed=1000 + n)
        changes += written
        checked += found
        for name, count in problems.items():
            totals[name] = totals.get(name, 0) + count
    with capsys.disabled():
        print(f"\nDAC sync: {changes} amplitude changes, {checked} pulses checked, problems {totals}")
    assert changes >= 1000 and checked >= 1000
    assert totals == dict.fromkeys(totals, 0)


def test_the_checks_catch_a_cpu_write_of_cc_while_pulses_run():
    """Control: the same ramp with the CPU storing the CC word itself (no
    sync) has pulses whose level changes mid-pulse - the checks see them."""
    import machine

    def unsynchronised(engine):
        def write_level(word):
            machine.mem32[engine._cc_reg] = word
            engine._level = word

        engine._write_level = write_level

    _, _, problems = check_ramp(SETTINGS[0], 300, seed=7, engine_hook=unsynchronised)
    assert problems["mixed levels"] > 10 and problems["not the setting due"] > 10


def test_levels_are_the_exact_pwm_counts():
    session = EngineSession("pico")
    assert session.engine.dac_top == 624  # 200 kHz from 125 MHz: 625 counts of 40.8 uA
    for amp in (0, 1, 20, 21, 3000, 12345, 25499, 25500):
        for asym in (1, 2, 3, 8):
            cathodic, anodic = dac_counts(amp, asym, 25500, 624)
            assert cathodic == round(amp * 625 / 25500 + 1e-9)  # nearest count (halves up)
            assert abs(cathodic - asym * anodic) <= asym / 2  # anodic charge within half a count
            want = dac_levels_ua(session.board, amp, asym)
            assert want == pytest.approx((cathodic * 40.8, anodic * 40.8))
    assert dac_counts(25500, 1, 25500, 624) == (625, 625)  # 100% duty


def test_start_writes_cc_directly_and_shutdown_zeroes_both_at_once():
    session = EngineSession("pico")
    program, timing = session.start(pw_us=100, ipg_us=10, rate_hz=1000, asym=2, amp_ua=5000)
    session.run(3 * timing.period)
    cc = session.chip.pwm_block.slices[1]
    assert cc.cc == cc.live_cc == 123 | 62 << 16  # one word: A = cathodic, B = anodic
    session.engine.shutdown()
    session.run(1000)
    assert cc.live_cc == 0
    latched = [(c, p) for c, p, d in session.log.pwm if d == 0 and c > 0]
    assert {p for _, p in latched} == {18, 19} and len({c for c, _ in latched}) == 1  # together


def test_a_change_lands_at_the_first_pulse_end_after_it_is_written():
    session = EngineSession("pico")
    program, timing = session.start(pw_us=200, ipg_us=20, rate_hz=1000, amp_ua=2000)
    first_end = timing.period + timing.pulse()
    # written during pulse 1: pulse 2 has the new level
    session.chip.run_until(timing.period + 100)
    session.engine.update(*reversed(session.program(pw_us=200, ipg_us=20, rate_hz=1000, amp_ua=3000)))
    # written right after pulse 2 ends (its copy has gone): waits for pulse 3's end
    session.chip.run_until(2 * timing.period + timing.pulse() + 2)
    session.engine.update(*reversed(session.program(pw_us=200, ipg_us=20, rate_hz=1000, amp_ua=1000)))
    session.run(4 * timing.period, poll_every=5000)
    levels = Levels(session)
    found = pulses(session)
    amps = [levels.at(CATHODIC_PIN, p.start_ns) for p in found[:5]]
    assert amps == [49, 74, 74, 25, 25]  # 2000, 3000, 3000, 1000 uA in counts
    # and the latch comes at a PWM wrap within one PWM period after the pulse end
    latches = sorted({c for c, pin, _ in session.log.pwm if c > timing.period})
    assert first_end < latches[0] <= first_end + 1 + 625


def test_short_rest_changes_restart_the_train_instead():
    """A rest shorter than a PWM period (+ latency) leaves no room for the
    wrap: an amplitude change pauses and restarts the train (as an asym change)."""
    session = EngineSession("pico")
    fields = dict(pw_us=498, ipg_us=0, rate_hz=1000)  # 996 us pulse, 4 us rest
    program, timing = session.start(amp_ua=2000, **fields)
    session.run(3 * timing.period + 30_000)  # inside the 4th pulse
    new_program, new = session.program(amp_ua=4000, **fields)
    session.engine.update(new, new_program)
    assert session.engine.state == "restarting"
    session.run(6 * timing.period, poll_every=1000)
    assert session.engine.state == "running" and not session.engine.pending()
    found = pulses(session)
    levels = Levels(session)
    for pulse in found:
        assert_matches(pulse, timing, program)
        end = pulse.start_ns + timing.pulse()
        assert levels.changes_within(pulse.start_ns, end) == []
    amps = [levels.at(CATHODIC_PIN, p.start_ns) for p in found]
    assert amps[:3] == [49, 49, 49] and amps[-3:] == [98, 98, 98]
    longer = [g for g in gaps(found) if g != timing.period]  # the restart: one longer interval
    assert len(longer) == 1 and timing.period + timing.pulse() < longer[0] <= timing.period + timing.pulse() + 1000
    # a change that leaves the level alone (same counts) does not restart
    same, _ = session.program(amp_ua=4001, **fields)
    session.engine.update(new, same)
    assert session.engine.state == "running"


@pytest.mark.parametrize("seed", [1, 2])
def test_shape_and_amplitude_changes_make_every_pulse_wholly_one_setting(seed):
    """The levels land at the same pulse end as the pulse words they belong to:
    never the old shape at the new level, nor the new shape at the old one."""
    rng = random.Random(seed)
    session = EngineSession("pico")
    low_long = dict(pw_us=300, ipg_us=10, rate_hz=1000, amp_ua=2000)
    high_short = dict(pw_us=60, ipg_us=10, rate_hz=1000, amp_ua=9000)
    program, timing = session.start(**low_long)
    settings = [session.program(**low_long), session.program(**high_short)]
    whole = {(t.cathodic, dac_counts(p.amp_ua, p.asym, 25500, session.engine.dac_top)[0]) for p, t in settings}
    for n in range(60):
        session.chip.run_until(session.chip.cycle + rng.randint(1, 2 * timing.period))
        new_program, new = settings[(n + 1) % 2]
        session.engine.update(new, new_program)
        session.run(rng.randint(1, timing.period), poll_every=rng.choice((997, 20_000)))
    session.run(4 * timing.period, poll_every=1000)
    levels = Levels(session)
    found = pulses(session)
    assert len(found) > 100
    for pulse in found:
        assert pulse.balanced and not pulse.problems
        assert (pulse.cathodic_ns, levels.at(CATHODIC_PIN, pulse.start_ns)) in whole, pulse


def test_default_dac_sm_and_profile_key():
    session = EngineSession("pico")
    assert (session.engine._dac.pio, session.engine._dac.index) == (1, 0)  # the other block's first SM
    board = dict(session.board, pio=dict(session.board["pio"], dac_sm=2))
    other = EngineSession(board)
    assert (other.engine._dac.pio, other.engine._dac.index) == (1, 2)
    program, timing = other.start(pw_us=100, ipg_us=10, rate_hz=1000, amp_ua=3000)
    other.run(4 * timing.period)
    assert len(pulses(other)) == 3 and all(p.balanced for p in pulses(other))
    with pytest.raises(ValueError):  # the pulse block has no room for it
        EngineSession(dict(session.board, pio=dict(session.board["pio"], dac_block=0)))
    with pytest.raises(ValueError):
        EngineSession(dict(session.board, dac=dict(session.board["dac"], anodic_pin=20)))


@pytest.mark.serial
@pytest.mark.usefixtures("vboard_only")
def test_virtual_board_ramps_change_levels_only_between_pulses(tmp_path):
    """The firmware under MicroPython (20 us of emulated time per chip call):
    soft start and soft stop at 1 kHz with 420 us pulses, every DAC level
    change in the VCD trace between two pulses, never inside one."""
    from picostim.measure import read_vcd
    from test_vboard_trace import run_session

    setting = "SET amp=3mA pw=200us ipg=20us rate=1kHz ramp=500ms"
    answers, found = run_session(tmp_path / "t.vcd", [(setting, 0), ("ON", 0.8), ("OFF", 0.8)])
    assert all(a.startswith("OK ") for a in answers), answers
    changes = read_vcd(str(tmp_path / "t.vcd"))
    level_times = sorted({t for name in ("gp18_duty_u16", "gp19_duty_u16") for t, _ in changes[name]})
    assert len(level_times) >= 15  # the ramp's steps, up and down
    for pulse in found:
        end = pulse.start_ns + pulse.cathodic_ns + pulse.interphase_ns + pulse.anodic_ns
        inside = [t for t in level_times if pulse.start_ns <= t <= end]
        assert inside == [], (pulse, inside)
        assert pulse.balanced and not pulse.problems
        assert abs(pulse.cathodic_ua - pulse.anodic_ua) < 0.5  # asym 1: the same count
    assert len(found) > 1000
