"""`picostim plot`: the numbers each view is drawn from, and the pictures written."""

import pytest
from picostim.boards import load_board
from picostim.capture import read_capture
from picostim.chip.session import EngineSession
from picostim.cli import main
from picostim.measure import measure
from picostim.plot import parse_time_ns, pick_pulse, scope_data, session_data

BOARD = load_board("pico")
STEP_UA = 25500 / 625  # one DAC count


def _trace(tmp_path, periods=6, **fields):
    path = tmp_path / "t.vcd"
    session = EngineSession("pico", trace_path=str(path))
    _, timing = session.start(**fields)
    session.run(timing.period * periods)
    session.close()
    return path


def _pulses(path):
    return measure(read_capture(path), BOARD)


def test_scope_data_rebuilds_the_lead_current_and_load_voltage(tmp_path):
    path = _trace(tmp_path, pw_us=210, ipg_us=20, rate_hz=1000, asym=2, amp_ua=3000, cathodes=[2], anodes=[3, 4])
    data = scope_data(_pulses(path)[0], BOARD)
    cathodic, anodic = 74 * STEP_UA, 37 * STEP_UA  # the DAC's whole counts for 3 mA at asym 2
    # edges at the pulse start, end of the cathodic phase, start and end of the anodic phase (us)
    assert data["t_us"][1:5] == [0, 210, 230, 650]
    assert data["current_ua"][:5] == pytest.approx([0, -cathodic, 0, anodic, 0], abs=0.5)
    assert data["sync"] == [0, 1, 1, 1, 0, 0]
    # one cathode (1 kohm) in series with two anodes in parallel (500 ohm)
    assert data["load_ohms"] == 1500
    assert data["voltage_v"][1] == pytest.approx(-cathodic * 1500 / 1e6, abs=1e-3)
    assert (data["cathodic_us"], data["interphase_us"], data["anodic_us"], data["period_us"]) == (210, 20, 420, 1000)
    assert data["charge_cathodic_nc"] == pytest.approx(cathodic * 210 / 1000, abs=0.2)
    assert data["charge_anodic_nc"] == pytest.approx(anodic * 420 / 1000, abs=0.2)
    assert (data["cathodes"], data["anodes"]) == ([2], [3, 4])


def test_scope_data_without_dac_channels_draws_the_shape_only(tmp_path):
    path = _trace(tmp_path, pw_us=100, ipg_us=10, rate_hz=1000, asym=2)
    pulse = _pulses(path)[0]
    pulse.cathodic_ua = pulse.anodic_ua = None  # as a logic analyser captures it
    data = scope_data(pulse, BOARD)
    assert data["current_ua"] is None and data["voltage_v"] is None
    assert data["shape"][:5] == [0.0, -1.0, 0.0, 0.5, 0.0]


def test_contacts_not_captured_are_marked_unknown(tmp_path):
    from picostim.measure import uncaptured_contacts

    changes = read_capture(_trace(tmp_path, pw_us=100, ipg_us=10, rate_hz=1000, cathodes=[2], anodes=[3]))
    for pin in (2, 3, 11):  # contact 0's lines and contact 4's cathode select: not captured
        del changes[f"gp{pin}"]
    unknown = uncaptured_contacts(changes, BOARD)
    assert unknown == [0, 4]
    data = scope_data(measure(changes, BOARD)[0], BOARD, unknown)
    assert (data["cathodes"], data["anodes"], data["unknown"]) == ([2], [3], [0, 4])


def test_session_data_has_a_point_per_pulse(tmp_path):
    path = _trace(tmp_path, periods=11, pw_us=100, ipg_us=10, rate_hz=200, amp_ua=2000)
    pulses = _pulses(path)
    data = session_data(pulses)
    assert len(data["t_s"]) == 10
    assert [round(b - a, 6) for a, b in zip(data["t_s"], data["t_s"][1:], strict=False)] == [0.005] * 9
    assert data["rate_hz"][:-1] == [200.0] * 9 and data["rate_hz"][-1] is None
    assert data["amp_ua"] == pytest.approx([49 * STEP_UA] * 10, abs=0.5)  # the u16 duty rounds


def test_default_scope_pulse_is_the_strongest_well_formed_one(tmp_path):
    pulses = _pulses(_trace(tmp_path, pw_us=100, ipg_us=10, rate_hz=1000, amp_ua=1000))
    pulses[2].cathodic_ua = 5000.0
    pulses[3].cathodic_ua = 9000.0
    pulses[3].problems = ["phases overlap"]
    assert pick_pulse(pulses) is pulses[2]
    assert pick_pulse(pulses, 4) is pulses[4]


@pytest.mark.parametrize("name", ["out.png", "out.svg"])
def test_plot_writes_the_picture(tmp_path, capsys, name):
    path = _trace(tmp_path, pw_us=210, ipg_us=20, rate_hz=1000, amp_ua=3000)
    out = tmp_path / name
    assert main(["plot", str(path), "-o", str(out), "--pulse", "2", "--from", "1ms", "--to", "4.5ms"]) == 0
    data = out.read_bytes()
    assert len(data) > 10_000
    assert data.startswith(b"\x89PNG\r\n") if name.endswith(".png") else b"<svg" in data[:2000]
    assert capsys.readouterr().out.strip() == f"wrote {out}"


def test_plot_refuses_bad_input_and_writes_nothing(tmp_path, capsys):
    path = _trace(tmp_path, pw_us=210, ipg_us=20, rate_hz=1000)
    out = tmp_path / "x.png"
    assert main(["plot", str(path), "-o", str(out), "--pulse", "99"]) == 2
    assert "PULSES pulse 99 does not exist: the capture has pulses 0..4" in capsys.readouterr().err
    assert main(["plot", str(path), "-o", str(out), "--from", "soon"]) == 2
    assert "TIME 'soon' is not a time" in capsys.readouterr().err
    assert main(["plot", str(path), "-o", str(tmp_path / "x.jpg")]) == 2
    assert "OUTPUT" in capsys.readouterr().err
    assert main(["plot", str(path), "-o", str(out), "--from", "1s"]) == 2  # no pulse after 1 s
    assert "PULSES" in capsys.readouterr().err
    assert not out.exists()


def test_parse_time():
    assert [parse_time_ns(t) for t in ("1.5s", "200ms", "10us", "800ns", "2")] == [
        1_500_000_000,
        200_000_000,
        10_000,
        800,
        2_000_000_000,
    ]


def test_a_group_gets_one_lane_per_program_with_its_own_rate(tmp_path):
    path = tmp_path / "g.vcd"
    session = EngineSession("pico", trace_path=str(path))
    schedule = session.start_group(
        dict(amp_ua=1000, pw_us=60, rate_hz=500, cathodes=(0,), anodes=(1,)),
        dict(amp_ua=3000, pw_us=200, rate_hz=100, cathodes=(4,), anodes=(5,)),
    )
    session.run(4 * schedule.period)
    session.close()
    pulses = _pulses(path)
    data = session_data(pulses)
    assert data["lanes"] == ["E0- E1+", "E4- E5+"]
    by_lane = {0: set(), 1: set()}
    for lane, rate, amp in zip(data["lane"], data["rate_hz"], data["amp_ua"], strict=True):
        if rate is not None:
            by_lane[lane].add(round(rate, 6))
        assert amp == pytest.approx((25 if lane == 0 else 74) * STEP_UA, abs=0.5)
    assert by_lane == {0: {500.0}, 1: {100.0}}  # each program's own rate, not the gap to the other's pulse
    out = tmp_path / "g.png"
    assert main(["plot", str(path), "-o", str(out)]) == 0
    assert out.stat().st_size > 10_000
