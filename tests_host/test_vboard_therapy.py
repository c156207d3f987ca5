"""Therapy modes and safety through the virtual board, checked in its VCD
trace: soft-start/soft-stop ramp steps, on/off cycling, train duration,
emergency stop from STOP and from the button, and every absolute limit from
both roles. Pulse timing stays exact to the cycle; the therapy timers run on
the firmware's millisecond clock, which on the virtual board is the emulated
chip's: they hold to 1 ms (at 1 kHz, one pulse period) however loaded the host."""

import json
import random
import subprocess
import sys

import pytest
import serial
from picostim.measure import dac_levels_ua, dac_step_ua, measure, read_vcd
from picostim.programmer import ProgrammerError
from picostim.vboard.launcher import SimProcess
from serial_helpers import BOARD, connect, reset
from test_vboard_trace import exchange, raw_login, run_session

pytestmark = [pytest.mark.serial, pytest.mark.usefixtures("vboard_only")]

MS = 1_000_000  # ns
TIMER_TOLERANCE_MS = 1  # the firmware's millisecond clock (and the 1 kHz pulse grid the timers are seen on)
# A ramp step is an amplitude change: it reaches the DAC at the first pulse end
# after the firmware stores it, so the first pulse with it starts one to two
# periods later (2 ms at 1 kHz; docs/PULSE_ENGINE.md), on top of the clock's 1 ms.
RAMP_TOLERANCE_MS = TIMER_TOLERANCE_MS + 2


def amplitudes(pulses):
    """Cathodic levels in DAC counts: the DAC is a PWM, one count = full scale / (TOP + 1)."""
    return [round(p.cathodic_ua / dac_step_ua(BOARD)) for p in pulses]


def level(amp_ua):
    """The DAC count an amplitude setting gives (nearest count)."""
    return round(dac_levels_ua(BOARD, amp_ua)[0] / dac_step_ua(BOARD))


def segments(pulses, gap_ns):
    """Runs of pulses separated by silences longer than gap_ns: [(first, last)]."""
    out = []
    for p in pulses:
        if out and p.start_ns - out[-1][1].start_ns <= gap_ns:
            out[-1] = (out[-1][0], p)
        else:
            out.append((p, p))
    return out


def test_soft_start_and_soft_stop_ramp_in_steps(tmp_path):
    setting = "SET amp=4mA pw=100us ipg=20us rate=1kHz ramp=1s cathodes=2 anodes=3"
    answers, pulses = run_session(tmp_path / "t.vcd", [(setting, 0), ("ON", 1.5), ("OFF", 1.4)])
    assert all(a.startswith("OK ") for a in answers), answers
    assert all(p.balanced and not p.problems for p in pulses)
    steps = 1000 // 50
    levels = {level(4000 * k // steps) for k in range(1, steps + 1)}
    amps = amplitudes(pulses)
    top = amps.index(level(4000))
    last_top = len(amps) - 1 - amps[::-1].index(level(4000))
    up, down = amps[: top + 1], amps[last_top:]
    assert up == sorted(up) and down == sorted(down, reverse=True)
    assert set(up) <= levels and set(down) <= levels
    assert up[0] <= level(2 * 4000 // steps) and down[-1] <= level(2 * 4000 // steps)
    assert len(set(up)) >= steps - 2 and len(set(down)) >= steps - 2  # no big jumps
    ramp_up_ms = (pulses[top].start_ns - pulses[0].start_ns) / MS
    ramp_down_ms = (pulses[-1].start_ns - pulses[last_top].start_ns) / MS
    assert abs(ramp_up_ms - 950) <= RAMP_TOLERANCE_MS, (ramp_up_ms, ramp_down_ms)  # 1/20 at once, 20/20 at 950 ms
    assert abs(ramp_down_ms - 950) <= RAMP_TOLERANCE_MS, (ramp_up_ms, ramp_down_ms)  # 19/20 at once, off at 950 ms


def test_stop_is_immediate_even_with_a_ramp(tmp_path):
    setting = "SET amp=4mA pw=100us ipg=20us rate=200Hz ramp=1s cathodes=2 anodes=3"
    answers, pulses = run_session(tmp_path / "t.vcd", [(setting, 0), ("ON", 1.3), ("STOP", 0.5)])
    assert "stop=command" in answers[-1] and "state=off" in answers[-1] or "state=stopping" in answers[-1]
    amps = amplitudes(pulses)
    assert amps[-1] == level(4000) and amps[-10:] == [level(4000)] * 10  # no ramp down


def test_cycling_on_and_off_times(tmp_path):
    setting = "SET amp=2mA pw=100us ipg=20us rate=1kHz ramp=0ms cycle_on=300ms cycle_off=200ms"
    answers, pulses = run_session(tmp_path / "t.vcd", [(setting, 0), ("ON", 1.75), ("STOP", 0)])
    assert all(a.startswith("OK ") for a in answers), answers
    runs = segments(pulses, gap_ns=20 * MS)
    assert len(runs) == 4, len(runs)  # 1.75 s of emulated time: three whole cycles and a cut one
    period_ns = 1 * MS
    for first, last in runs[:-1]:  # the last one was cut by STOP
        on_ms = (last.start_ns + period_ns - first.start_ns) / MS
        assert abs(on_ms - 300) <= TIMER_TOLERANCE_MS, on_ms
    for (first, _), (nxt, _) in zip(runs, runs[1:], strict=False):
        cycle_ms = (nxt.start_ns - first.start_ns) / MS  # on + off: the off timer ends the cycle
        assert abs(cycle_ms - 500) <= TIMER_TOLERANCE_MS, cycle_ms
    assert all(p.balanced and not p.problems for p in pulses)


def test_train_duration_ends_stimulation(tmp_path):
    setting = "SET amp=2mA pw=100us rate=1kHz ramp=0ms train=250ms"
    answers, pulses = run_session(tmp_path / "t.vcd", [(setting, 0), ("ON", 0.3), ("STATUS", 0)])
    assert "state=off" in answers[-1] and "stop=train" in answers[-1], answers[-1]
    span_ms = (pulses[-1].start_ns + MS - pulses[0].start_ns) / MS
    assert abs(span_ms - 250) <= TIMER_TOLERANCE_MS, span_ms
    assert len(segments(pulses, gap_ns=20 * MS)) == 1


def test_the_button_stops_at_once_and_stimulation_stays_off_until_on(tmp_path):
    trace = tmp_path / "t.vcd"
    with SimProcess(trace=str(trace)) as sim:
        with serial.Serial(sim.port, timeout=10) as port:
            raw_login(port)
            assert exchange(port, "SET amp=3mA pw=200us rate=1kHz ramp=1s").startswith("OK ")
            assert exchange(port, "ON").startswith("OK ")
            sim.run_for(1.3)
            sim.control("button press")
            sim.run_for(0.2)
            sim.control("button release")
            sim.run_for(0.6)
            status = exchange(port, "STATUS")
            assert "state=off" in status and "stop=button" in status, status
            assert exchange(port, "ON").startswith("OK ")
            sim.run_for(0.3)
    pulses = measure(read_vcd(str(trace)), BOARD)
    runs = segments(pulses, gap_ns=100 * MS)
    assert len(runs) == 2, [(a.start_ns, b.start_ns) for a, b in runs]
    first = [p for p in pulses if p.start_ns <= runs[0][1].start_ns]
    assert amplitudes(first)[-5:] == [level(3000)] * 5  # stopped at full amplitude: no ramp down
    off_ms = (runs[1][0].start_ns - runs[0][1].start_ns) / MS
    assert off_ms >= 750, off_ms  # off through the release, until the deliberate ON
    assert amplitudes(pulses)[len(first)] < level(3000)  # and the new start ramps up again
    assert all(p.balanced and not p.problems for p in pulses)


LIMIT_ROWS = [
    # (limit named in the message, SET arguments), on a profile with 12 mm2 contacts
    ("amplitude", "amp=21mA pw=10us"),
    ("rate", "rate=6kHz pw=10us amp=1mA"),
    ("charge", "amp=20mA pw=210us rate=100Hz"),
    ("density", "amp=19mA pw=200us rate=100Hz"),
    ("Shannon", "amp=16mA pw=200us rate=100Hz"),
    ("duty", "amp=1mA pw=70us rate=5kHz"),
]
TEST_SAFETY = {
    "max_amplitude_ua": 20000,
    "max_charge_nc": 4000,
    "electrode_area_mm2": 12,
    "max_density_uc_cm2": 30,
    "max_shannon_k_x100": 185,
    "max_rate_hz": 5000,
    "max_duty_permille": 600,
}


@pytest.fixture(scope="module")
def strict_board(tmp_path_factory):
    """A virtual board whose safety limits sit inside its hardware ranges, so
    each absolute limit (not a range check) is what refuses."""
    profile = dict(BOARD, name="pico-strict", safety=TEST_SAFETY)
    path = tmp_path_factory.mktemp("board") / "pico-strict.json"
    path.write_text(json.dumps(profile))
    with SimProcess(board=str(path)) as sim:
        yield sim.port


@pytest.mark.parametrize("role", ["clinician", "patient"])
@pytest.mark.parametrize("limit, args", LIMIT_ROWS, ids=[r[0] for r in LIMIT_ROWS])
def test_no_role_passes_an_absolute_limit(strict_board, role, limit, args):
    with connect(strict_board) as board:
        reset(board)
        board.set(patient="amp,pw,rate")  # the patient may touch all three...
        if role == "patient":
            board.logout()
        board.on()
        before = board.status(), board.limits()
        with pytest.raises(ProgrammerError) as err:
            board.command("SET " + args)
        assert err.value.code == "LIMIT" and limit.lower() in err.value.message.lower(), err.value
        assert (board.status(), board.limits()) == before
        board.stop()


def test_the_strict_profile_accepts_settings_just_inside(strict_board):
    with connect(strict_board) as board:
        reset(board)
        for args in ("amp=20mA pw=10us", "rate=5kHz pw=10us amp=1mA", "amp=14mA pw=200us rate=100Hz"):
            assert board.send("SET " + args).startswith("OK "), args


def test_burst_spacing_is_exact(tmp_path):
    setting = "SET amp=1mA pw=200us ipg=20us rate=40Hz burst=5 burst_rate=500Hz ramp=0ms"
    answers, pulses = run_session(tmp_path / "t.vcd", [(setting, 0), ("ON", 0.6), ("OFF", 0)])
    assert all(a.startswith("OK ") for a in answers), answers
    bursts = segments(pulses, gap_ns=5 * MS)
    intra_ns = (125_000_000 // 500) * 8
    period_ns = (125_000_000 // 40) * 8
    assert len(bursts) >= 20
    for first, last in bursts[:-1]:  # the last one may be cut by OFF
        members = [p for p in pulses if first.start_ns <= p.start_ns <= last.start_ns]
        assert len(members) == 5
        assert [b.start_ns - a.start_ns for a, b in zip(members, members[1:], strict=False)] == [intra_ns] * 4
    starts = [first.start_ns for first, _ in bursts]
    assert {b - a for a, b in zip(starts, starts[1:], strict=False)} == {period_ns}
    assert all(p.balanced and not p.problems and p.cathodic_ns == 200_000 for p in pulses)


@pytest.mark.parametrize("loop", [False, True], ids=["once", "looped"])
def test_a_custom_train_of_1000_pulses_is_reproduced_exactly(tmp_path, loop):
    rng = random.Random(7)
    intervals = [rng.randint(400, 2500) for _ in range(1000)]  # duty <= 600 permille at the shortest
    lines = [("SET amp=1mA pw=100us ipg=20us rate=40Hz burst=1 ramp=0ms", 0), ("TRAIN CLEAR", 0)]
    for i in range(0, len(intervals), 30):
        lines.append(("TRAIN ADD " + " ".join(f"{us}us" for us in intervals[i : i + 30]), 0))
    seconds = sum(intervals) / 1e6
    lines += [("TRAIN PLAY LOOP" if loop else "TRAIN PLAY", seconds * (1.3 if loop else 1) + 0.3), ("STATUS", 0)]
    answers, pulses = run_session(tmp_path / "t.vcd", lines)
    assert all(a.startswith("OK ") for a in answers), [a for a in answers if not a.startswith("OK")]
    starts = [p.start_ns for p in pulses]
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    want = [us * 1000 for us in intervals[1:]]
    if loop:
        assert len(pulses) > 1000 and gaps[:999] == want and gaps[999] == intervals[0] * 1000
        assert "state=on" in answers[-1]
    else:
        assert len(pulses) == 1000 and gaps == want
        assert "state=off" in answers[-1] and "stop=train_end" in answers[-1]
    assert all(p.balanced and not p.problems for p in pulses)


def rising_edges(trace, pin):
    return [t for t, v in read_vcd(str(trace)).get(f"gp{pin}", []) if v == 1]


def falling_edges(trace, pin):
    return [t for t, v in read_vcd(str(trace)).get(f"gp{pin}", [])[1:] if v == 0]


def test_external_trigger_edge_mode_plays_n_pulses_per_edge(tmp_path):
    setting = "SET amp=2mA pw=100us rate=1kHz ramp=0ms trigger=edge trigger_pulses=3"
    lines = [(setting, 0), ("ON", 0.1)]
    for _ in range(4):
        lines += [("!pin 26 1", 0.05), ("!pin 26 0", 0.05)]
    trace = tmp_path / "t.vcd"
    answers, pulses = run_session(trace, lines + [("STATUS", 0)])
    assert "trigger=edge trigger_pulses=3" in answers[-1] and "state=on" in answers[-1], answers[-1]
    edges = rising_edges(trace, BOARD["trigger_pin"])
    assert len(edges) == 4 and len(pulses) == 12, (edges, [p.start_ns for p in pulses])
    latencies = set()
    for k, edge in enumerate(edges):
        train = pulses[3 * k : 3 * k + 3]
        latencies.add(train[0].start_ns - edge)
        assert [b.start_ns - a.start_ns for a, b in zip(train, train[1:], strict=False)] == [MS, MS]
    assert len(latencies) == 1 and 0 < latencies.pop() <= 16 * 8  # one constant, a few cycles
    assert all(p.balanced and not p.problems for p in pulses)


def test_external_trigger_gate_mode_pulses_while_high(tmp_path):
    setting = "SET amp=2mA pw=100us rate=1kHz ramp=0ms trigger=gate"
    lines = [
        (setting, 0),
        ("ON", 0.1),
        ("!pin 26 1", 0.08),
        ("!pin 26 0", 0.1),
        ("!pin 26 1", 0.05),
        ("!pin 26 0", 0.05),
    ]
    trace = tmp_path / "t.vcd"
    answers, pulses = run_session(trace, lines)
    rises, falls = rising_edges(trace, BOARD["trigger_pin"]), falling_edges(trace, BOARD["trigger_pin"])
    assert len(rises) == len(falls) == 2
    runs = segments(pulses, gap_ns=2 * MS)
    assert len(runs) == 2
    for (first, last), rise, fall in zip(runs, rises, falls, strict=True):
        assert 0 < first.start_ns - rise <= 16 * 8
        inside = [p for p in pulses if first.start_ns <= p.start_ns <= last.start_ns]
        assert [b.start_ns - a.start_ns for a, b in zip(inside, inside[1:], strict=False)] == [MS] * (len(inside) - 1)
        # The gate's fall ends the run within a period. The trigger SM samples the pin a few cycles
        # before a pulse starts (as for the rise above), so a fall in those cycles still lets that
        # pulse go: the sim applies pin changes on chunk boundaries, which can land there.
        assert last.start_ns - 16 * 8 <= fall < last.start_ns + MS
    assert all(p.balanced and not p.problems for p in pulses)


def _busy_processes(n):
    """CPU burners that end by themselves within a minute (a loaded CI machine)."""
    code = "import time\nend = time.monotonic() + 60\nwhile time.monotonic() < end: pass\n"
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n)]


def test_a_10khz_train_lasts_its_duration_on_a_loaded_host(tmp_path):
    """One clock: with two busy processes on the machine, the emulation runs
    far slower than real time, yet the firmware's train timer and the pulses
    share the chip's clock, so the train is 250 ms of pulses in the trace."""
    busy = _busy_processes(2)
    try:
        setting = "SET amp=2mA pw=30us rate=10kHz ramp=0ms train=250ms"
        answers, pulses = run_session(tmp_path / "t.vcd", [(setting, 0), ("ON", 0.3), ("STATUS", 0)])
    finally:
        for process in busy:
            process.kill()
            process.wait()
    assert "state=off" in answers[-1] and "stop=train" in answers[-1], answers[-1]
    assert abs(len(pulses) - 2500) <= 10 * TIMER_TOLERANCE_MS, len(pulses)  # 10 pulses a millisecond
    assert {b.start_ns - a.start_ns for a, b in zip(pulses, pulses[1:], strict=False)} == {100_000}
    assert all(p.balanced and not p.problems for p in pulses)
