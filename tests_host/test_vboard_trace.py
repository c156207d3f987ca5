"""The virtual board end to end: raw protocol lines through pyserial, then
every pulse in the VCD trace checked against what was SET, to the cycle."""

import signal

import pytest
import serial
from picostim.auth import DEV_KEY, response
from picostim.measure import dac_levels_ua, measure, read_vcd
from picostim.vboard.launcher import SimProcess
from serial_helpers import BOARD

pytestmark = [pytest.mark.serial, pytest.mark.usefixtures("vboard_only")]

NS_PER_CYCLE = 1_000_000_000 // BOARD["sys_clock_hz"]
FULL_SCALE_UA = BOARD["dac"]["full_scale_ua"]


def expected(amp_ua, pw_us, ipg_us, rate_hz, asym, cathodes, anodes):
    period_cycles = (BOARD["sys_clock_hz"] + rate_hz // 2) // rate_hz
    return {
        "cathodic_ns": pw_us * 1000,
        "interphase_ns": ipg_us * 1000,
        "anodic_ns": pw_us * asym * 1000,
        "period_ns": period_cycles * NS_PER_CYCLE,
        "cathodes": sorted(cathodes),
        "anodes": sorted(anodes),
        "amp_ua": amp_ua,
        "asym": asym,
    }


def matches(pulse, want, last=False):
    shape = (pulse.cathodic_ns, pulse.interphase_ns, pulse.anodic_ns, pulse.cathodes, pulse.anodes)
    if shape != (want["cathodic_ns"], want["interphase_ns"], want["anodic_ns"], want["cathodes"], want["anodes"]):
        return False
    if not last and pulse.period_ns != want["period_ns"]:
        return False
    # the DAC's levels are whole PWM counts; the trace records duty to 1/65535 (0.2 uA)
    cathodic_ua, anodic_ua = dac_levels_ua(BOARD, want["amp_ua"], want["asym"])
    return (
        abs(pulse.cathodic_ua - cathodic_ua) <= 0.5
        and abs(pulse.anodic_ua - anodic_ua) <= 0.5
        and pulse.balanced
        and not pulse.problems
    )


def exchange(port, line):
    """One raw line out, its answer back (EVT lines skipped)."""
    port.write(line.encode() + b"\n")
    answer = port.readline().decode()
    while answer.startswith("EVT "):
        answer = port.readline().decode()
    return answer.strip()


def raw_login(port):
    """The clinician role by hand: LOGIN, then AUTH with HMAC-SHA256(key, nonce)."""
    nonce = exchange(port, "LOGIN").split("nonce=")[1]
    assert exchange(port, "AUTH " + response(DEV_KEY, nonce)) == "OK role=clinician"


def run_session(trace, lines, settle=0.3, sim_control=()):
    """Log in, then send each (line, seconds to wait after it) raw; return the answers."""
    answers = []
    with SimProcess(trace=str(trace)) as sim:
        with serial.Serial(sim.port, timeout=10) as port:
            raw_login(port)
            for line, wait in lines:
                if line.startswith("!"):  # acts on the board from outside, e.g. "!button press"
                    sim.control(line[1:])
                    answers.append("")
                else:
                    answers.append(exchange(port, line))
                sim.run_for(wait)
            sim.run_for(settle)
    return answers, measure(read_vcd(str(trace)), BOARD)


def set_line(amp_ua, pw_us, ipg_us, rate_hz, asym, cathodes, anodes):
    return (
        f"SET amp={amp_ua}uA pw={pw_us}us ipg={ipg_us}us rate={rate_hz}Hz asym={asym} ramp=0ms "
        f"cathodes={','.join(map(str, cathodes))} anodes={','.join(map(str, anodes))}"
    )


SETTINGS = [
    (2500, 210, 20, 1000, 1, (2,), (3,)),
    (4000, 30, 0, 10000, 1, (0, 1), (7,)),
    (1000, 1000, 1000, 100, 4, (6,), (5,)),
    (500, 30, 10, 2000, 8, (5,), (4, 6)),
    (25500, 10, 0, 2, 1, (7,), (0,)),
]


@pytest.mark.parametrize("setting", SETTINGS, ids=[f"{s[1]}us-{s[3]}Hz-x{s[4]}" for s in SETTINGS])
def test_every_pulse_in_the_trace_is_what_was_set(tmp_path, setting):
    want = expected(*setting)
    run_s = max(0.4, 4.5 / setting[3])  # at least 3 pulses even at 2 Hz
    answers, pulses = run_session(tmp_path / "t.vcd", [(set_line(*setting), 0), ("ON", run_s), ("OFF", 0)])
    assert all(a.startswith("OK ") for a in answers), answers
    assert len(pulses) >= 3
    for i, pulse in enumerate(pulses):
        assert matches(pulse, want, last=i == len(pulses) - 1), (i, pulse, want)


def test_a_live_change_switches_cleanly_between_two_settings(tmp_path):
    a = (2000, 100, 20, 1000, 1, (1,), (2,))
    b = (3000, 200, 50, 500, 1, (3,), (4, 5))
    lines = [(set_line(*a), 0), ("ON", 0.2), (set_line(*b), 0.3), ("OFF", 0)]
    answers, pulses = run_session(tmp_path / "t.vcd", lines)
    assert all(x.startswith("OK ") for x in answers), answers
    want_a, want_b = expected(*a), expected(*b)
    kinds = []
    for i, pulse in enumerate(pulses):
        last = i == len(pulses) - 1
        if matches(pulse, want_a, last):
            kinds.append("a")
        elif matches(pulse, want_b, last):
            kinds.append("b")
        else:
            # Between the settings, amplitude, pulse shape and period each land
            # at their own boundary: every part is the old or the new value.
            kinds.append("t")
            assert pulse.balanced and not pulse.problems, pulse
            shape = (pulse.cathodic_ns, pulse.interphase_ns, pulse.anodic_ns, pulse.cathodes, pulse.anodes)
            assert shape in [
                (w["cathodic_ns"], w["interphase_ns"], w["anodic_ns"], w["cathodes"], w["anodes"])
                for w in (want_a, want_b)
            ], pulse
            assert pulse.period_ns in (want_a["period_ns"], want_b["period_ns"]), pulse
            levels = [dac_levels_ua(BOARD, w["amp_ua"])[0] for w in (want_a, want_b)]
            assert min(abs(pulse.cathodic_ua - x) for x in levels) <= 0.5, pulse
    text = "".join(kinds)
    # amplitude, shape and period each take a boundary, which the firmware's loop
    # reaches pass after pass: a few pulses at 1 kHz, and only between a and b
    assert text.strip("a").strip("b") == "t" * text.count("t"), text
    assert text.count("t") <= 20, text
    assert text.startswith("a" * 50) and text.endswith("b" * 50), text
    assert "ba" not in text.replace("t", ""), text


def test_refused_commands_leave_the_train_untouched(tmp_path):
    a = (2000, 100, 20, 1000, 1, (1,), (2,))
    lines = [(set_line(*a), 0), ("ON", 0.1), ("SET amp=30mA", 0.05), ("SET pw=5us", 0.05), ("FROB", 0.1), ("OFF", 0)]
    answers, pulses = run_session(tmp_path / "t.vcd", lines)
    assert [x.split()[:2] for x in answers[2:5]] == [["ERR", "RANGE"], ["ERR", "RANGE"], ["ERR", "UNKNOWN"]]
    want = expected(*a)
    assert len(pulses) > 100
    assert all(matches(p, want, last=i == len(pulses) - 1) for i, p in enumerate(pulses))


def _final_levels(trace):
    changes = read_vcd(str(trace))
    return {name: series[-1][1] for name, series in changes.items()}


def _output_wires():
    phase = BOARD["phase_pins"]
    base = BOARD["contacts"]["select_base_pin"]
    pins = [phase["sync"], phase["cathodic"], phase["anodic"]]
    pins += range(base, base + 2 * BOARD["contacts"]["count"])
    dac = BOARD["dac"]
    return [f"gp{n}" for n in pins] + [f"gp{dac['cathodic_pin']}_duty_u16", f"gp{dac['anodic_pin']}_duty_u16"]


@pytest.mark.parametrize("how", ["sigterm", "repl"])
def test_stopping_mid_train_leaves_every_output_low(tmp_path, how):
    trace = tmp_path / "t.vcd"
    with SimProcess(trace=str(trace)) as sim:
        with serial.Serial(sim.port, timeout=10) as port:
            raw_login(port)
            assert exchange(port, "SET amp=5mA pw=300us ipg=100us rate=1kHz ramp=0ms").startswith("OK ")
            assert exchange(port, "ON").startswith("OK ")
            sim.run_for(0.3)
            if how == "repl":
                assert exchange(port, "REPL").startswith("OK leaving")
                port.read_until(b">>> ")
        if how == "sigterm":
            sim.process.send_signal(signal.SIGTERM)
            sim.process.wait(15)
    levels = _final_levels(trace)
    assert all(levels[w] == 0 for w in _output_wires()), levels
    pulses = measure(read_vcd(str(trace)), BOARD)
    assert len(pulses) > 100
    assert all(p.balanced and not p.problems for p in pulses)
