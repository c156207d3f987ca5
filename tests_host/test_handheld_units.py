"""The handheld's parts without a board: what it shows, the SET its editor sends, the worker's retries."""

import re

import pytest
from picostim.handheld import model
from picostim.programmer import ProgrammerError, Status

STATUS = (
    "state=on pending=0 amp=2400uA pw=210us ipg=20us rate=60Hz asym=1 cathodes=2 anodes=3 burst=1 "
    "burst_rate=500Hz trigger=off trigger_pulses=1 step=100uA ramp=1000ms cycle_on=0ms cycle_off=0ms train=0ms "
    "program=1 name=tonic group=walking role=clinician phase=ramp_up out_amp=600uA stop=- charge=504nC "
    "density=8400nC/cm2 k=0.63 duty=25permille posture=supine adaptive=on fault=-"
)


def snapshot(**status_changes):
    text = STATUS
    for key, value in status_changes.items():
        text = re.sub(rf"(?<= ){key}=\S+", f"{key}={value}", text)
    return model.Snapshot(
        Status.parse(text),
        limits={"program": "1", "amp_min": "1000uA", "amp_max": "4000uA", "pw_min": "10us", "patient": "amp,pw"},
        programs={"active": "1", "1": "tonic", "2": "burst", "3": "P3"},
        groups={"active": "walking", "walking": "2", "sitting": "1", "mix": "1,2,3"},
        adaptive={"enabled": "1", "posture": "supine", "upright": "1:2400uA", "supine": "-", "max_supine": "1500uA"},
    )


def test_amp_window_is_the_programs_window_capped_by_the_posture_limit():
    assert model.amp_window(snapshot()) == (1000, 1500)  # supine is limited to 1.5 mA
    assert model.amp_window(snapshot(posture="upright")) == (1000, 4000)


def test_ramp_progress_only_during_a_ramp():
    assert model.ramp_percent(snapshot().status) == 25  # 600 of 2400 uA
    assert model.ramp_percent(snapshot(phase="steady").status) is None
    assert model.ramp_percent(snapshot(phase="ramp_down").status) == 75


def test_lists_mark_the_active_program_and_group_and_the_next_group_cycles():
    snap = snapshot()
    assert model.program_list(snap) == [(1, "tonic", True), (2, "burst", False), (3, "P3", False)]
    assert model.group_list(snap) == [("mix", (1, 2, 3), False), ("sitting", (1,), False), ("walking", (2,), True)]
    assert model.next_group(snap) == "mix"  # after walking, around to the first
    assert model.next_group(snapshot(group="-")) == "mix"
    assert model.next_group(model.Snapshot(snap.status)) is None  # no groups


def test_posture_memory_and_limits():
    rows = dict((p, (m, c)) for p, m, c in model.posture_memory(snapshot()))
    assert rows["upright"] == ("P1 2.4 mA", "")
    assert rows["supine"] == ("-", "max 1.5 mA")
    assert model.format_ua(50) == "50 uA" and model.format_ua(25500) == "25.5 mA"


def test_editor_sends_only_what_changed():
    loaded = model.form_from(snapshot(), 8)
    assert loaded.contacts[2] == "cathode" and loaded.contacts[3] == "anode"
    assert loaded.patient == {"amp", "pw"}
    assert model.set_arguments(loaded, loaded) == []
    contacts = list(loaded.contacts)
    contacts[3], contacts[5] = "off", "anode"
    edited = model.ProgramForm({**loaded.values, "pw": "300us"}, tuple(contacts), frozenset({"amp", "rate"}))
    assert model.set_arguments(loaded, edited) == ["pw=300us", "cathodes=2", "anodes=5", "patient=amp,rate"]
    nobody = model.ProgramForm(loaded.values, loaded.contacts, frozenset())
    assert model.set_arguments(loaded, nobody) == ["patient=none"]


@pytest.mark.parametrize("text", ["3 00us", "pw=1", "", "210us;ON"])
def test_editor_refuses_text_the_protocol_cannot_carry(text):
    loaded = model.form_from(snapshot(), 8)
    with pytest.raises(ProgrammerError) as err:
        model.set_arguments(loaded, model.ProgramForm({**loaded.values, "pw": text}, loaded.contacts, loaded.patient))
    assert err.value.code == "VALUE"


def test_editor_refuses_a_lead_without_a_cathode():
    loaded = model.form_from(snapshot(), 8)
    no_cathode = tuple("anode" if role == "cathode" else role for role in loaded.contacts)
    with pytest.raises(ProgrammerError) as err:
        model.set_arguments(loaded, model.ProgramForm(loaded.values, no_cathode, loaded.patient))
    assert err.value.code == "CONTACTS"


def test_lead_refusal_names_the_contact():
    assert model.lead_fault_from_refusal("contact 3 is open (impedance check)") == (3, "open")
    assert model.lead_fault_from_refusal("contact 4 is shorted (impedance check)") == (4, "short")
    assert model.lead_fault_from_refusal("something else") is None


def test_cli_handheld_refuses_a_bad_key_file(tmp_path, capsys):
    from picostim.cli import main

    bad = tmp_path / "board.key"
    bad.write_text("not a key\n")
    assert main(["handheld", "--port", "/dev/null", "--clinician", "--key", str(bad)]) == 2
    assert "expected 64 hex digits" in capsys.readouterr().err


def test_worker_reports_a_missing_port_retries_and_refuses_actions(tmp_path):
    import queue
    import threading

    from picostim.handheld.board import BoardLink, Failed, Lost

    news: queue.Queue = queue.Queue()
    link = BoardLink(str(tmp_path / "no-such-port"), news.put, retry_s=0.05)
    worker = threading.Thread(target=link.run)
    worker.start()
    try:
        first = news.get(timeout=10)
        assert isinstance(first, Lost) and first.attempt == 1 and first.reason.startswith("PORT")
        link.submit("on", lambda board: board.on())
        seen = [news.get(timeout=10) for _ in range(4)]
        assert any(isinstance(n, Failed) and (n.label, n.code) == ("on", "PORT") for n in seen)
        assert max(n.attempt for n in seen if isinstance(n, Lost)) >= 2  # it keeps trying
    finally:
        link.stop()
        worker.join(10)
    assert not worker.is_alive()
