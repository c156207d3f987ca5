"""AdaptiveStim through Commands as the service wires them (fake engine,
fake clock): a patient's choice is remembered per stable posture; a new
posture moves the therapy to what was chosen there, with a ramp (a glide in
50 ms steps, or a soft start for another program); the clinician's
per-posture limits hold for the patient and for AdaptiveStim; the memory
survives the settings record."""

import pytest
from adaptive import POSTURES
from settings_record import SCHEMA, apply, encode
from stimulator import GLIDE_MS, RAMP_STEP_MS
from test_therapy_pure import Bench, _amps


@pytest.fixture
def bench():
    b = Bench()
    b.login()
    b.ok("SET amp=2mA ramp=0ms patient=amp,rate,pw amp_min=0uA amp_max=10mA")
    b.ok("ADAPTIVE ON")
    b.ok("LOGOUT")
    b.ok("ON")
    b.wait(100)
    return b


def posture(b, name):
    start = len(b.engine.calls)
    event = b.commands.posture_changed(name, b.now)
    return event, b._record(start)


def test_a_patient_choice_is_remembered_for_the_stable_posture_and_restored_with_a_glide(bench):
    b = bench
    posture(b, "supine")
    b.ok("AMP DOWN")
    b.ok("AMP DOWN")  # 1800 uA lying on the back
    posture(b, "upright")
    b.ok("SET amp=3mA")  # 3000 uA standing
    b.wait(GLIDE_MS)
    event, calls = posture(b, "supine")
    assert event == "POSTURE supine program=1 amp=1800uA"
    calls += b.wait(GLIDE_MS + 100)
    amps = _amps(calls)
    steps = GLIDE_MS // RAMP_STEP_MS
    assert amps[-1] == 1800 and len(amps) == steps  # one level per 50 ms step, never one jump
    assert amps == sorted(amps, reverse=True) and max(amps) < 3000
    assert all(a - b_ <= (3000 - 1800) // steps + 1 for a, b_ in zip([3000] + amps, amps, strict=False))
    assert "posture=supine adaptive=on" in b.ok("STATUS")
    assert b.ok("ADAPTIVE").split()[3:5] == ["upright=1:3000uA", "supine=1:1800uA"]


def test_a_posture_without_a_memory_changes_nothing(bench):
    b = bench
    event, calls = posture(b, "left")
    assert event == "POSTURE left" and calls == []


def test_another_program_soft_starts(bench):
    b = bench
    b.login()
    b.ok("PROGRAM 2")
    b.ok("SET amp=1500uA ramp=500ms patient=amp amp_max=10mA")
    b.ok("PROGRAM 1")
    b.ok("LOGOUT")
    posture(b, "prone")
    b.ok("PROGRAM 2")  # the patient picks program 2 lying on the front
    b.ok("AMP UP")  # 1600 uA
    posture(b, "upright")
    b.ok("PROGRAM 1")
    b.wait(600)
    event, calls = posture(b, "prone")
    assert event == "POSTURE prone program=2 amp=1600uA"
    calls += b.wait(700)
    amps = _amps(calls)
    assert amps[0] <= 1600 // 10 + 1 and amps[-1] == 1600  # from the bottom of the soft start
    assert amps == sorted(amps)


def test_the_clinicians_posture_limit_holds_for_the_patient_and_for_adaptivestim(bench):
    b = bench
    posture(b, "supine")
    b.ok("SET amp=2500uA")  # remembered for supine
    b.login()
    assert "max_supine=2000uA" in b.ok("ADAPTIVE MAX supine 2mA")
    b.ok("LOGOUT")
    b.ok("SET amp=2100uA")  # lowering is always allowed, even while still above the new limit
    answer, _ = b.answer("SET amp=2200uA")
    assert answer.startswith("ERR PATIENT_RANGE") and "for supine" in answer
    posture(b, "upright")
    b.ok("SET amp=3mA")
    b.wait(GLIDE_MS)
    event, calls = posture(b, "supine")
    calls += b.wait(GLIDE_MS + 100)
    assert event == "POSTURE supine program=1 amp=2000uA"  # the memory, capped by the limit
    assert max(_amps(calls)) <= 3000 and _amps(calls)[-1] == 2000


def test_entering_a_posture_above_its_limit_glides_down_to_it(bench):
    b = bench
    b.login()
    b.ok("ADAPTIVE MAX left 1200uA")
    b.ok("LOGOUT")
    event, calls = posture(b, "left")  # no memory for left, but 2000 uA is above its limit
    calls += b.wait(GLIDE_MS + 100)
    assert event == "POSTURE left program=1 amp=1200uA"
    amps = _amps(calls)
    assert amps[-1] == 1200 and amps == sorted(amps, reverse=True) and len(amps) > 5


def test_a_refused_move_to_another_program_leaves_the_program_as_it_was(bench):
    b = bench
    posture(b, "prone")
    b.ok("PROGRAM 2")  # remembered: prone = program 2 at its 0 uA
    posture(b, "upright")
    b.ok("PROGRAM 1")
    b.login()
    b.ok("PROGRAM 2")
    b.ok("SET amp=500uA patient=none")  # the clinician changes and locks program 2's amplitude
    b.ok("PROGRAM 1")
    b.ok("LOGOUT")
    before = b.ok("STATUS")
    event, _ = posture(b, "prone")
    assert event == "POSTURE prone"  # the move is refused (LOCKED) ...
    assert b.ok("STATUS").replace("posture=prone", "posture=upright") == before  # ... and nothing changed


def test_off_or_without_the_switch_nothing_is_remembered_or_moved(bench):
    b = bench
    b.login()
    b.ok("ADAPTIVE OFF")
    b.ok("LOGOUT")
    posture(b, "supine")
    b.ok("AMP UP")
    assert "supine=-" in b.ok("ADAPTIVE")
    event, calls = posture(b, "upright")
    assert event == "POSTURE upright" and calls == []


def test_only_the_clinician_switches_it_and_bad_arguments_change_nothing(bench):
    b = bench
    before = b.ok("ADAPTIVE")
    for line, code in [
        ("ADAPTIVE OFF", "ROLE"),
        ("ADAPTIVE MAX supine 1mA", "ROLE"),
        ("ADAPTIVE CLEAR", "ROLE"),
    ]:
        answer, _ = b.answer(line)
        assert answer.startswith("ERR " + code), (line, answer)
    b.login()
    for line, code in [
        ("ADAPTIVE MAX sitting 1mA", "VALUE"),
        ("ADAPTIVE MAX supine 30mA", "RANGE"),
        ("ADAPTIVE MAX supine", "SYNTAX"),
        ("ADAPTIVE SOMETIMES", "SYNTAX"),
    ]:
        answer, _ = b.answer(line)
        assert answer.startswith("ERR " + code), (line, answer)
    assert b.ok("ADAPTIVE") == before


def test_the_memory_and_limits_survive_the_settings_record(bench):
    b = bench
    for name in POSTURES[:3]:
        posture(b, name)
        b.ok("AMP UP")
    b.login()
    b.ok("ADAPTIVE MAX left 1mA")
    body = encode(b.therapy)
    other = Bench()
    apply(other.therapy, body, SCHEMA)
    assert other.therapy.adaptive.memory == b.therapy.adaptive.memory
    assert other.therapy.adaptive.max_ua == {"left": 1000} and other.therapy.adaptive.enabled
    assert encode(other.therapy) == body
