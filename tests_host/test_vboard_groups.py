"""Groups of several programs through the virtual board (issue 16): defined
with GROUP <name> 1,2,3, run with GROUP <name> and ON, measured in the VCD
trace. Each program's pulses (told apart by their contacts) are wholly its
own setting and exactly periodic at its own rate; a live change of one
member leaves the others' timing untouched; STOP ends them all; the group
and its members survive a power cycle; groups that cannot run are refused."""

import pytest
from picostim.measure import dac_levels_ua, dac_step_ua
from picostim.programmer import ProgrammerError
from serial_helpers import BOARD, PERSIST_S

pytestmark = [pytest.mark.serial, pytest.mark.usefixtures("vboard_only")]

NS = 1_000_000_000


def by_program(pulses):
    """Pulses keyed by their cathode (each program here has its own)."""
    out: dict[int, list] = {}
    for p in pulses:
        out.setdefault(p.cathodes[0], []).append(p)
    return out


def intervals(pulses):
    return {b.start_ns - a.start_ns for a, b in zip(pulses, pulses[1:], strict=False)}


def count(amp_ua):
    return round(dac_levels_ua(BOARD, amp_ua)[0] / dac_step_ua(BOARD))


def counts(pulses):
    return {round(p.cathodic_ua / dac_step_ua(BOARD)) for p in pulses}


def define(board, settings):
    """Programs 1.. from `settings` (SET lines), no ramps."""
    board.login()
    for number, line in enumerate(settings, start=1):
        board.command(f"PROGRAM {number}")
        board.command(f"SET {line} ramp=0ms")


THREE = (
    "amp=2mA pw=100us ipg=20us rate=100Hz cathodes=0 anodes=1",
    "amp=3.5mA pw=210us ipg=0us asym=2 rate=100Hz cathodes=2 anodes=3",
    "amp=700uA pw=60us ipg=50us rate=100Hz cathodes=4 anodes=5,6",
)


def test_three_programs_at_one_rate_are_exact_per_program(trace):
    board = trace.board
    define(board, THREE)
    assert board.define_group("mix", [1, 2, 3])["mix"] == "1,2,3"
    status = board.select_group("mix")
    assert (status.group, status.members) == ("mix", (1, 2, 3))
    board.on()
    trace.run_for(0.2)
    assert board.status().out_amp_ua == 2000
    found = by_program(trace.pulses())
    assert set(found) == {0, 2, 4}
    shapes = {0: (100_000, 20_000, 100_000, 2000), 2: (210_000, 0, 420_000, 3500), 4: (60_000, 50_000, 60_000, 700)}
    for cathode, pulses in found.items():
        pw, ipg, anodic, amp = shapes[cathode]
        assert len(pulses) >= 19
        assert intervals(pulses) == {10_000_000}, cathode  # 100 Hz to the nanosecond, every pulse
        assert {(p.cathodic_ns, p.interphase_ns, p.anodic_ns) for p in pulses} == {(pw, ipg, anodic)}
        assert counts(pulses) == {count(amp)}
        assert all(p.balanced and not p.problems for p in pulses)
    everything = sorted((p for ps in found.values() for p in ps), key=lambda p: p.start_ns)
    for a, b in zip(everything, everything[1:], strict=False):
        assert b.start_ns - (a.start_ns + a.cathodic_ns + a.interphase_ns + a.anodic_ns) >= 5_000  # rest + DAC


def test_two_programs_25x_apart(trace):
    board = trace.board
    define(
        board,
        (
            "amp=1.5mA pw=90us rate=1kHz cathodes=2 anodes=3",
            "amp=4mA pw=300us rate=40Hz cathodes=5 anodes=4",
        ),
    )
    board.command("GROUP dtm 1,2")
    board.command("GROUP dtm")
    board.on()
    trace.run_for(0.2)
    found = by_program(trace.pulses())
    assert intervals(found[2]) == {1_000_000} and len(found[2]) >= 190
    assert intervals(found[5]) == {25_000_000} and len(found[5]) >= 7
    assert counts(found[2]) == {count(1500)} and counts(found[5]) == {count(4000)}


def test_live_change_of_one_member_leaves_the_others_exact(trace):
    board = trace.board
    define(board, THREE)
    board.command("GROUP mix 1,2,3")
    board.command("GROUP mix")
    board.on()
    trace.run_for(0.1)
    board.command("PROGRAM 2")  # a member: the group keeps running
    status = board.set(amp="2.5mA")
    assert (status.state, status.members, status.program) == ("on", (1, 2, 3), 2)
    trace.run_for(0.1)
    status = board.amp_up(all_members=True)  # GroupAdjust: ratios kept
    trace.run_for(0.1)
    found = by_program(trace.pulses())
    for cathode in (0, 4):
        assert intervals(found[cathode]) == {10_000_000}, cathode  # untouched by the change
    assert intervals(found[2]) == {10_000_000}
    assert counts(found[2]) == {count(3500), count(2500), count(2600)}
    assert counts(found[0]) == {count(2000), count(2000 * 2600 // 2500)}


def test_stop_ends_every_program_and_the_group_survives_a_power_cycle(trace):
    board = trace.board
    define(board, THREE[:2])
    board.command("GROUP pair 1,2")
    board.command("GROUP pair")
    board.on()
    trace.run_for(0.05)
    status = board.stop()
    assert status.state == "off"
    trace.run_for(PERSIST_S)  # the group's definition reaches the flash
    trace.control("power cycle")
    board.read_until("EVT READY", timeout=30)
    assert board.groups()["pair"] == "1,2"
    status = board.status()
    assert (status.group, status.members) == ("pair", (1, 2))
    pulses = trace.pulses()
    last = max(p.start_ns for p in pulses)
    assert all(p.start_ns <= last for p in pulses) and len(pulses) >= 8


def test_groups_that_cannot_run_are_refused_and_change_nothing(board, device_key):
    board.login(device_key)
    board.command("PROGRAM 1")
    board.command("SET amp=1mA pw=500us ipg=1000us rate=250Hz cathodes=0 anodes=1 ramp=0ms")
    board.command("PROGRAM 2")  # 2 ms a pulse, 4 ms a period: two do not fit with their rests
    board.command("SET amp=1mA pw=500us ipg=1000us rate=250Hz cathodes=2 anodes=3 ramp=0ms")
    before = board.groups()
    with pytest.raises(ProgrammerError) as refused:
        board.define_group("wide", [1, 2])
    assert refused.value.code == "FIT" and "of every" in refused.value.message
    board.command("SET rate=60Hz pw=210us ipg=20us")  # program 2
    with pytest.raises(ProgrammerError) as refused:
        board.define_group("odd", [1, 2])  # 190 Hz and 60 Hz: not whole multiples
    assert refused.value.code == "VALUE"
    board.command("SET rate=250Hz burst=3 burst_rate=1kHz pw=100us")
    with pytest.raises(ProgrammerError) as refused:
        board.define_group("burst", [1, 2])
    assert refused.value.code == "VALUE" and "tonic" in refused.value.message
    for bad in ("GROUP x 1,2,3,4,5", "GROUP x 1,,2", "GROUP x 1,1"):
        assert board.send(bad).startswith("ERR "), bad
    assert board.groups() == before
    board.logout()
    with pytest.raises(ProgrammerError) as refused:
        board.define_group("mine", [1, 2])
    assert refused.value.code == "ROLE"
