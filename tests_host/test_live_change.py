"""A live change never makes a pulse of mixed settings (issue 12, item 1).

Settings change while pulses run: any combination of amp, pw, ipg, asym,
rate, contacts and burst in one update, at random emulated times (also
while the previous change is still on its way), at rates up to 10 kHz.
Every pulse on the emulated chip must be wholly one of the settings given,
in order: its widths, contacts and both DAC levels (PWM counts latched by
the chip model, constant over the pulse) all from that one setting."""

import bisect

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from picostim.chip.session import EngineSession
from picostim_fw.pulse_engine import dac_counts
from picostim_fw.stim_program import Program, StimError, timing
from pulses import pulses

CATHODIC_PIN, ANODIC_PIN = 18, 19
KEYS = ("amp_ua", "pw_us", "ipg_us", "asym", "rate_hz", "contacts", "burst")
SYS_HZ = 125_000_000


@pytest.fixture(scope="module")
def session():
    return EngineSession("pico")  # one emulated chip for every example (each starts from shutdown)


class Levels:
    """The latched PWM counts of both DAC pins over time (cycles)."""

    def __init__(self, log, top):
        self.times: dict[int, list[int]] = {CATHODIC_PIN: [], ANODIC_PIN: []}
        self.counts: dict[int, list[int]] = {CATHODIC_PIN: [], ANODIC_PIN: []}
        for cycle, pin, duty in log.pwm:
            if pin in self.times:
                self.times[pin].append(cycle)
                self.counts[pin].append((duty * (top + 1) + 32767) // 65535)

    def at(self, pin, cycle):
        i = bisect.bisect_right(self.times[pin], cycle) - 1
        return self.counts[pin][i] if i >= 0 else 0

    def change_within(self, start, end):
        return any(bisect.bisect_right(t, end) > bisect.bisect_left(t, start) for t in self.times.values())


def fitted(board, fields):
    """The program for `fields`, its pulse width cut down to fit the period
    (or the burst's intra period); None when nothing fits."""
    limits = board["limits"]
    program = Program(**fields)
    interval_us = 1_000_000 // (program.burst_rate_hz if program.burst_count > 1 else program.rate_hz)
    room = interval_us - program.ipg_us - limits["min_rest_us"] - 1
    program.pw_us = max(10, min(program.pw_us, room // (1 + program.asym)))
    try:
        program.validate(limits, board["contacts"]["count"])
    except StimError:
        return None
    return program


@st.composite
def change(draw):
    """The keys one update changes (at least one), drawn together."""
    keys = draw(st.sets(st.sampled_from(KEYS), min_size=1))
    fields = {}
    if "amp_ua" in keys:
        fields["amp_ua"] = draw(st.integers(0, 25500))
    if "pw_us" in keys:
        fields["pw_us"] = draw(st.sampled_from((10, 40, 90, 150, 300, 1000)))
    if "ipg_us" in keys:
        fields["ipg_us"] = draw(st.sampled_from((0, 5, 20, 100)))
    if "asym" in keys:
        fields["asym"] = draw(st.sampled_from((1, 2, 3, 8)))
    if "rate_hz" in keys:
        fields["rate_hz"] = draw(st.sampled_from((100, 500, 1000, 2000, 5000, 10000)))
    if "contacts" in keys:
        cathode, anode = draw(st.lists(st.integers(0, 7), min_size=2, max_size=2, unique=True))
        fields["cathodes"], fields["anodes"] = (cathode,), (anode,)
    if "burst" in keys:
        fields["burst_count"] = draw(st.sampled_from((1, 1, 2, 4)))
        fields["burst_rate_hz"] = draw(st.sampled_from((500, 1000)))
    return fields


def expected(program, top):
    """(cathodic, interphase, anodic, cathodes, anodes, cathodic count, anodic count) in cycles and counts."""
    t = timing(program, SYS_HZ)
    return (t.cathodic, t.interphase, t.anodic, sorted(program.cathodes), sorted(program.anodes)) + dac_counts(
        program.amp_ua, program.asym, 25500, top
    )


def play(session, base, changes, delays, poll_every):
    """Start `base`, apply each change after its delay (cycles); returns the
    programs given, in order."""
    engine = session.engine
    engine.shutdown()
    session.run(1000)  # CC = 0 latched: the log can start afresh from all zero
    session.log.changes.clear()
    session.log.pwm[:] = [(session.chip.cycle, pin, 0) for pin in (CATHODIC_PIN, ANODIC_PIN)]
    fields = dict(base)
    program = fitted(session.board, fields)
    if program is None:
        return None
    given_ = [program]
    engine.start(timing(program, SYS_HZ), program)
    for change_, delay in zip(changes, delays, strict=True):
        session.run(delay, poll_every=poll_every)
        candidate = fitted(session.board, dict(fields, **change_))
        if candidate is None:
            continue
        fields = candidate.as_dict()
        engine.update(timing(candidate, SYS_HZ), candidate)
        given_.append(candidate)
    longest = max(timing(p, SYS_HZ).period for p in given_)
    for _ in range(8):  # the last change lands within a few of the longest periods
        session.run(longest, poll_every=poll_every)
        if not engine.pending():
            break
    assert not engine.pending()
    session.run(2 * timing(given_[-1], SYS_HZ).period, poll_every=poll_every)
    return given_


def check(session, given_):
    """Every pulse is wholly one of the programs given, never going back to
    an earlier one; the last pulses are the last program."""
    top = session.engine.dac_top
    wanted = [expected(p, top) for p in given_]
    levels = Levels(session.log, top)
    found = pulses(session)
    assert found, "no pulse"
    index = 0
    for pulse in found:
        end = pulse.start_ns + pulse.cathodic_ns + pulse.interphase_ns + pulse.anodic_ns
        assert not levels.change_within(pulse.start_ns, end), ("a level changed inside", pulse)
        shape = (pulse.cathodic_ns, pulse.interphase_ns, pulse.anodic_ns, sorted(pulse.cathodes), sorted(pulse.anodes))
        got = shape + (levels.at(CATHODIC_PIN, pulse.start_ns), levels.at(ANODIC_PIN, pulse.start_ns))
        later = [k for k in range(index, len(wanted)) if wanted[k] == got]
        assert later, ("a pulse of mixed settings", got, wanted[index:])
        index = later[0]
        assert pulse.balanced is True and pulse.problems == []
    assert wanted[index] == wanted[-1], "the last setting never arrived"


BASE = {"amp_ua": 3000, "pw_us": 40, "ipg_us": 20, "rate_hz": 2000, "cathodes": (2,), "anodes": (3,)}


def test_the_reported_case_old_width_never_meets_the_new_amplitude(session):
    """3 mA / 40 us <-> 0.7 mA / 150 us at 2 kHz, ten times, each change
    less than one period after the last (the previous one still on its way)."""
    back_and_forth = [{"amp_ua": 700, "pw_us": 150}, {"amp_ua": 3000, "pw_us": 40}] * 5
    for delays in ([30_000] * 10, [70_000, 5_000] * 5, [100_000, 61_000] * 5):
        given_ = play(session, BASE, back_and_forth, delays, poll_every=4_000)
        check(session, given_)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=change(),
    changes=st.lists(change(), min_size=1, max_size=8),
    # often shorter than a period: a change while the one before is on its way
    delays=st.lists(st.one_of(st.integers(1, 20_000), st.integers(1, 150_000)), min_size=8, max_size=8),
    poll_every=st.sampled_from((997, 5_000, 40_000)),
)
def test_random_combined_changes_make_only_whole_pulses(session, base, changes, delays, poll_every):
    given_ = play(session, dict(BASE, **base), changes, delays[: len(changes)], poll_every)
    if given_ is not None:
        check(session, given_)
