"""Groups of several programs in the therapy model and the protocol (issue 16),
through Commands as service.build wires them: definition and its refusals
(FIT, VALUE, LIMIT for the combined limits), a member's edit checked with
the rest of the group, GroupAdjust within each window, RESTORE of every
member, and the settings record (groups of several, and a v3 record's)."""

import json
from pathlib import Path

import pytest
from fakes import Randomness
from picostim_fw import safety
from picostim_fw.auth import DEV_KEY, Auth
from picostim_fw.commands import Commands
from picostim_fw.settings_record import SCHEMA, apply, encode
from picostim_fw.stimulator import Stimulator
from picostim_fw.therapy import Therapy

ROOT = Path(__file__).resolve().parents[1]
BOARD = json.loads((ROOT / "boards" / "pico.json").read_text())


class IdleEngine:
    """Commands that do not start stimulation never reach the engine."""

    state = "idle"

    def pending(self):
        return False


def bench(limits=None):
    table = dict(BOARD["safety"], **(limits or {}))
    therapy = Therapy(
        BOARD, lambda program: safety.check(program, table), lambda programs: safety.check_group(programs, table)
    )
    stim = Stimulator(BOARD, IdleEngine(), therapy)
    commands = Commands(therapy, stim, Auth(DEV_KEY, Randomness("groups")), "picostim test")
    commands.auth.logout()
    return commands


def ok(commands, line):
    answer = commands.answer(line)
    assert isinstance(answer, str) and answer.startswith("OK"), (line, answer)
    return answer


def refused(commands, line, code):
    answer = commands.answer(line)
    assert answer.startswith("ERR " + code + " "), (line, answer)
    return answer


def clinician(commands):
    from picostim_fw.auth import hmac_sha256

    nonce = ok(commands, "LOGIN").split("nonce=")[1]
    ok(commands, "AUTH " + hmac_sha256(DEV_KEY, bytes.fromhex(nonce)).hex())


def programs(commands, *settings):
    for number, line in enumerate(settings, start=1):
        ok(commands, f"PROGRAM {number}")
        ok(commands, f"SET {line}")


def pairs(answer):
    return dict(part.split("=", 1) for part in answer[3:].split() if "=" in part)


@pytest.fixture
def three():
    c = bench()
    clinician(c)
    programs(
        c,
        "amp=2mA pw=100us rate=100Hz cathodes=0 anodes=1 amp_max=5mA patient=amp",
        "amp=3mA pw=200us rate=50Hz cathodes=2 anodes=3 amp_max=4mA patient=amp",
        "amp=1mA pw=60us rate=100Hz cathodes=4 anodes=5 amp_max=1.5mA patient=amp",
    )
    ok(c, "GROUP mix 1,2,3")
    return c


def test_define_select_and_show_the_members(three):
    assert pairs(three.answer("GROUPS")) == {"active": "-", "mix": "1,2,3"}
    status = pairs(ok(three, "GROUP mix"))
    assert (status["group"], status["members"], status["program"]) == ("mix", "1,2,3", "1")
    status = pairs(ok(three, "PROGRAM 3"))  # a member: the group stays
    assert (status["group"], status["members"], status["program"]) == ("mix", "1,2,3", "3")
    status = pairs(ok(three, "PROGRAM 5"))  # not a member: the group is left
    assert (status["group"], status["members"]) == ("-", "5")
    ok(three, "GROUP walking 2")  # the one-program form still works
    assert pairs(three.answer("GROUPS"))["walking"] == "2"


def test_refusals_change_nothing(three):
    before = three.answer("GROUPS")
    ok(three, "PROGRAM 4")
    ok(three, "SET pw=1000us ipg=1000us asym=1 rate=250Hz cathodes=6 anodes=7")
    ok(three, "PROGRAM 5")
    ok(three, "SET pw=1000us ipg=1000us asym=1 rate=250Hz cathodes=0 anodes=7")
    assert "of every" in refused(three, "GROUP wide 4,5", "FIT")
    refused(three, "GROUP odd 1,2,4", "VALUE")  # 100, 50 and 250 Hz
    for bad in ("GROUP x 1,2,3,4,5", "GROUP x 1,,2", "GROUP x 0,1", "GROUP x 9,1"):
        assert three.answer(bad).startswith("ERR "), bad
    refused(three, "GROUP x 1,1", "VALUE")
    assert three.answer("GROUPS") == before
    ok(three, "LOGOUT")
    refused(three, "GROUP mine 1,2", "ROLE")


def test_combined_limits():
    c = bench({"max_contact_uc_s": 500})  # a profile stricter than amplitude and duty
    clinician(c)
    programs(
        c,
        "amp=5mA pw=100us rate=500Hz cathodes=0 anodes=1",  # 250 uC/s through contacts 0 and 1
        "amp=5mA pw=100us rate=500Hz cathodes=2 anodes=3",
        "amp=6mA pw=100us rate=500Hz cathodes=0 anodes=4",  # contact 0: 250 + 300 uC/s
    )
    ok(c, "GROUP a 1,2")
    message = refused(c, "GROUP b 1,3", "LIMIT")
    assert "contact 0" in message and "550uC/s" in message
    d = bench()
    clinician(d)
    programs(  # each 300 permille of duty, together 900
        d,
        "amp=1mA pw=300us rate=500Hz cathodes=0 anodes=1",
        "amp=1mA pw=300us rate=500Hz cathodes=2 anodes=3",
        "amp=1mA pw=300us rate=500Hz cathodes=4 anodes=5",
    )
    assert "group duty 900permille" in refused(d, "GROUP c 1,2,3", "LIMIT")


def test_a_member_edit_that_breaks_the_group_is_refused(three):
    ok(three, "GROUP mix")
    ok(three, "PROGRAM 2")
    refused(three, "SET rate=60Hz", "VALUE")  # 60 Hz is no whole fraction of 100 Hz
    assert pairs(three.answer("STATUS"))["rate"] == "50Hz"
    ok(three, "SET rate=25Hz")  # still a whole fraction


def test_group_adjust_keeps_ratios_within_each_window(three):
    ok(three, "GROUP mix")
    ok(three, "LOGOUT")  # the patient's AMP, within each program's window
    ok(three, "AMP UP ALL")  # the focused member 2 mA -> 2.1 mA: all x 1.05
    amps = [pairs(three.answer(f"PROGRAM {n}"))["amp"] for n in (1, 2, 3)]
    assert amps == ["2100uA", "3150uA", "1050uA"]
    ok(three, "PROGRAM 1")  # now each step moves program 1 by its 100 uA, the others in proportion
    for _ in range(5):
        ok(three, "AMP UP ALL")
    amps = [pairs(three.answer(f"PROGRAM {n}"))["amp"] for n in (1, 2, 3)]
    assert amps == ["2600uA", "3900uA", "1300uA"]
    ok(three, "PROGRAM 1")
    message = refused(three, "AMP UP ALL", "PATIENT_RANGE")  # program 2 would pass its 4 mA window
    assert message.startswith("ERR PATIENT_RANGE program 2: amp=4050uA")
    amps = [pairs(three.answer(f"PROGRAM {n}"))["amp"] for n in (1, 2, 3)]
    assert amps == ["2600uA", "3900uA", "1300uA"]  # all or none


def test_restore_brings_back_every_member(three):
    ok(three, "GROUP mix")
    ok(three, "LOGOUT")
    ok(three, "AMP UP ALL")
    ok(three, "RESTORE")
    amps = [pairs(three.answer(f"PROGRAM {n}"))["amp"] for n in (1, 2, 3)]
    assert amps == ["2000uA", "3000uA", "1000uA"]


def test_groups_in_the_settings_record(three):
    ok(three, "GROUP walking 2")
    ok(three, "GROUP mix")
    body = encode(three.therapy)
    assert b'"groups":{"mix":[1,2,3],"walking":2}' in body
    other = bench()
    apply(other.therapy, body, SCHEMA)
    assert other.therapy.groups == {"mix": (1, 2, 3), "walking": (2,)}
    assert other.therapy.group == "mix" and other.therapy.numbers() == (1, 2, 3)
    assert encode(other.therapy) == body
    v3 = json.loads(body)
    v3["groups"] = {"walking": 2}
    v3["group"] = None
    older = bench()
    apply(older.therapy, json.dumps(v3).encode(), 3)  # a record of the firmware before groups of several
    assert older.therapy.groups == {"walking": (2,)}
