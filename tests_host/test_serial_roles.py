"""The two programmers over the serial port: what the patient may do, what
only the clinician may do, and clinician authentication. Runs against the
virtual board, or a real one with `pytest --port ... --key FILE`."""

import pytest
from picostim.auth import response
from picostim.programmer import ProgrammerError
from serial_helpers import connect, reset

pytestmark = pytest.mark.serial


@pytest.fixture
def clinician(board_port, device_key):
    with connect(board_port) as b:
        reset(b, device_key)
        b.set(amp_max="3mA", amp_min="0.5mA", patient="amp,pw", pw_min="100us", pw_max="300us")
        yield b
        b.stop()


@pytest.fixture
def patient(clinician):
    clinician.logout()
    assert clinician.status().role == "patient"
    return clinician


def snapshot(board):
    return board.status(), board.limits(), board.groups(), board.programs()


# (what, command, code): every one refused, nothing changed
PATIENT_REFUSED = [
    ("amplitude above the clinician's maximum", "SET amp=3.1mA", "PATIENT_RANGE"),
    ("amplitude below the clinician's minimum", "SET amp=0.4mA", "PATIENT_RANGE"),
    ("pulse width above its window", "SET pw=310us", "PATIENT_RANGE"),
    ("locked rate", "SET rate=120Hz", "LOCKED"),
    ("locked interphase gap", "SET ipg=30us", "LOCKED"),
    ("locked asymmetry", "SET asym=2", "LOCKED"),
    ("locked contacts", "SET cathodes=4", "LOCKED"),
    ("one locked key spoils the whole SET", "SET amp=2mA rate=120Hz", "LOCKED"),
    ("clinician setting: ramp", "SET ramp=0ms", "LOCKED"),
    ("clinician setting: window", "SET amp_max=20mA", "LOCKED"),
    ("clinician setting: unlocking", "SET patient=amp,pw,rate", "LOCKED"),
    ("clinician setting: cycling", "SET cycle_on=1s", "LOCKED"),
    ("clinician setting: name", "SET name=mine", "LOCKED"),
    ("defining a group", "GROUP walking 2", "ROLE"),
    ("unknown program", "PROGRAM 9", "NOT_FOUND"),
    ("unknown group", "GROUP flying", "NOT_FOUND"),
    ("answer without a challenge", "AUTH " + "00" * 32, "AUTH"),
]


@pytest.mark.parametrize("what, line, code", PATIENT_REFUSED, ids=[r[0] for r in PATIENT_REFUSED])
def test_patient_cannot_pass_a_limit_or_change_a_locked_setting(patient, what, line, code):
    patient.set(amp="3mA")  # the top of the window
    before = snapshot(patient)
    answer = patient.send(line)
    assert answer.startswith(f"ERR {code} "), answer
    assert snapshot(patient) == before


def test_patient_steps_stop_at_the_window(patient):
    patient.set(amp="2.9mA")
    assert patient.amp_up().amp_ua == 3000
    with pytest.raises(ProgrammerError) as err:
        patient.amp_up()
    assert err.value.code == "PATIENT_RANGE"
    patient.set(amp="0.6mA")
    assert patient.amp_down().amp_ua == 500
    with pytest.raises(ProgrammerError) as err:
        patient.amp_down()
    assert err.value.code == "PATIENT_RANGE"
    assert patient.status().amp_ua == 500


def test_patient_may_change_what_was_unlocked_and_restore_the_clinic_setting(patient):
    status = patient.set(amp="2.5mA", pw="250us")
    assert (status.amp_ua, status.pw_us) == (2500, 250)
    status = patient.restore()
    assert (status.amp_ua, status.pw_us) == (1000, 210)  # what the clinician set (serial_helpers.BASE)


def test_programs_and_groups(clinician, device_key):
    clinician.select_program(3)
    clinician.set(amp="2mA", pw="90us", rate="40Hz", cathodes=[5], anodes=[6], name="walking", ramp="0ms")
    clinician.define_group("walking", 3)
    clinician.define_group("sleeping", 1)
    clinician.logout()
    status = clinician.select_group("walking")
    assert (status.program, status.group, status.name, status.rate_hz, status.cathodes) == (
        3,
        "walking",
        "walking",
        40,
        (5,),
    )
    status = clinician.select_group("sleeping")
    assert (status.program, status.group) == (1, "sleeping")
    assert clinician.programs()["3"] == "walking"
    assert clinician.select_program(3).group == "-"


def test_clinician_session_ends_at_logout_and_at_the_next_connect(board_port, device_key):
    with connect(board_port) as board:
        assert board.login(device_key) == "clinician"
        assert board.status().role == "clinician"
        assert board.logout() == "patient"
        with pytest.raises(ProgrammerError) as err:
            board.define_group("x", 1)
        assert err.value.code == "ROLE"
        board.login(device_key)
    with connect(board_port) as board:  # HELLO at connect
        assert board.status().role == "patient"


def test_a_wrong_key_and_a_replayed_answer_are_refused(board_port, device_key):
    with connect(board_port) as board:
        nonce = board.command("LOGIN").split("=")[1]
        with pytest.raises(ProgrammerError) as err:
            board.command("AUTH " + response(b"\x00" * 32, nonce))
        assert err.value.code == "AUTH"
        nonce = board.command("LOGIN").split("=")[1]
        answer = response(device_key, nonce)
        assert board.command("AUTH " + answer) == "role=clinician"
        board.logout()
        with pytest.raises(ProgrammerError) as err:  # the nonce is spent
            board.command("AUTH " + answer)
        assert err.value.code == "AUTH"
        board.command("LOGIN")  # a fresh nonce: the old answer does not fit it
        with pytest.raises(ProgrammerError) as err:
            board.command("AUTH " + answer)
        assert err.value.code == "AUTH"
        assert board.status().role == "patient"
        assert board.login(device_key) == "clinician"  # under the failure limit


def test_nonces_are_fresh(board_port):
    with connect(board_port) as board:
        nonces = {board.command("LOGIN") for _ in range(50)}
    assert len(nonces) == 50


@pytest.mark.usefixtures("vboard_only")
def test_brute_force_locks_login_out():
    from picostim.auth import DEV_KEY
    from picostim.vboard.launcher import SimProcess

    with SimProcess() as sim, connect(sim.port) as board:
        codes = []
        for _ in range(6):
            try:
                nonce = board.command("LOGIN").split("=")[1]
                board.command("AUTH " + response(b"wrong key", nonce))
            except ProgrammerError as err:
                codes.append(err.code)
        assert codes[:4] == ["AUTH"] * 4 and "LOCKOUT" in codes[4:], codes
        with pytest.raises(ProgrammerError) as err:  # the right key is no help now
            board.login(DEV_KEY)
        assert err.value.code == "LOCKOUT"
        assert board.status().role == "patient"
