"""AdaptiveStim through Commands as the service wires them (fake engine,
fake clock): a patient's choice is remembered per stable posture; a new
posture moves the therapy to what was chosen there, with a ramp (a glide in
50 ms steps, or a soft start for another program); the clinician's
per-posture limits hold for the patient and for AdaptiveStim; the memory
survives the settings record."""

import pytest
from picostim_fw.adaptive import POSTURES
from picostim_fw.settings_record import SCHEMA, apply, encode
from picostim_fw.stimulator import GLIDE_MS, RAMP_STEP_MS
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


# ---- groups of several programs ---------------------------------------------------


@pytest.fixture
def group_bench():
    """Programs 1 and 2 as the group `mix`, running, AdaptiveStim on, the patient's."""
    b = Bench()
    b.login()
    b.ok("SET amp=2mA rate=100Hz cathodes=0 anodes=1 ramp=0ms patient=amp amp_min=0uA amp_max=10mA")
    b.ok("PROGRAM 2")
    b.ok("SET amp=3mA rate=50Hz cathodes=2 anodes=3 ramp=0ms patient=amp amp_min=0uA amp_max=10mA")
    b.ok("PROGRAM 3")
    b.ok("SET amp=1mA rate=60Hz cathodes=4 anodes=5 ramp=0ms patient=amp amp_min=0uA amp_max=10mA")
    b.ok("GROUP mix 1,2")
    b.ok("GROUP mix")
    b.ok("ADAPTIVE ON")
    b.ok("LOGOUT")
    b.ok("ON")
    b.wait(100)
    return b


def _group_amps(calls):
    return [tuple(p.amp_ua for p in programs) for _, kind, programs in calls if kind in ("start_group", "update_group")]


def test_a_group_and_each_members_amplitude_are_remembered_and_glided_back(group_bench):
    b = group_bench
    posture(b, "supine")
    b.ok("AMP DOWN ALL")  # 1.9 mA and 2.85 mA lying down
    assert "supine=mix:1900,2850uA" in b.ok("ADAPTIVE")
    posture(b, "upright")
    b.ok("AMP UP ALL")
    b.ok("AMP UP ALL")  # 2.1 and 3.15 mA standing (ratios kept from 1.9/2.85)
    b.wait(GLIDE_MS)
    event, calls = posture(b, "supine")
    assert event == "POSTURE supine group=mix amp=1900,2850uA"
    calls += b.wait(GLIDE_MS + 100)
    amps = _group_amps(calls)
    steps = GLIDE_MS // RAMP_STEP_MS
    assert amps[-1] == (1900, 2850) and len(amps) == steps  # every member along, in 50 ms steps
    assert [a for a, _ in amps] == sorted(a for a, _ in amps)[::-1]
    assert all(a < 2100 and c < 3150 for a, c in amps)


def test_another_posture_selects_the_group_it_remembers(group_bench):
    b = group_bench
    posture(b, "left")
    b.ok("AMP UP ALL")  # remembered for left: mix at 2.1/3.15 mA
    posture(b, "upright")
    b.ok("PROGRAM 3")  # a single program standing
    b.ok("AMP UP")
    b.wait(100)
    event, calls = posture(b, "left")
    assert event == "POSTURE left group=mix amp=2100,3150uA"
    status = b.ok("STATUS")
    assert "group=mix members=1,2" in status
    calls += b.wait(100)
    assert ("start_group" in [kind for _, kind, _ in calls]) and _group_amps(calls)[-1] == (2100, 3150)


def test_a_postures_limit_lowers_every_member_of_a_running_group(group_bench):
    b = group_bench
    b.login()
    b.ok("ADAPTIVE MAX prone 2500uA")
    b.ok("LOGOUT")
    event, calls = posture(b, "prone")
    assert event == "POSTURE prone group=mix amp=2000,2500uA"  # only the 3 mA member moves
    calls += b.wait(GLIDE_MS + 100)
    assert _group_amps(calls)[-1] == (2000, 2500)


def test_a_group_memory_survives_the_settings_record(group_bench):
    b = group_bench
    posture(b, "right")
    b.ok("AMP DOWN ALL")
    body = encode(b.therapy)
    assert b'"right":["mix",[1900,2850]]' in body
    other = Bench()
    apply(other.therapy, body, SCHEMA)
    assert other.therapy.adaptive.memory["right"] == ("mix", (1900, 2850))
    assert encode(other.therapy) == body
