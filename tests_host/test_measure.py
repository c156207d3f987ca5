"""`picostim measure` on the virtual board's trace and on a capture exported
by a logic analyzer (other channel names, another timescale)."""

import json

import pytest
from picostim.boards import load_board
from picostim.chip.session import EngineSession
from picostim.cli import main
from picostim.measure import dac_levels_ua

BOARD = load_board("pico")


def _trace(tmp_path, **fields):
    path = tmp_path / "t.vcd"
    session = EngineSession("pico", trace_path=str(path))
    program, timing = session.start(**fields)
    session.run(timing.period * 6)
    session.close()
    return path, program, timing


def test_measure_json_matches_the_program(tmp_path, capsys):
    path, program, timing = _trace(tmp_path, pw_us=210, ipg_us=20, rate_hz=1000, asym=2, amp_ua=3000)
    assert main(["measure", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["pulses"] == 5
    for pulse in report["pulses"]:
        assert (pulse["cathodic_ns"], pulse["interphase_ns"], pulse["anodic_ns"]) == (210_000, 20_000, 420_000)
        assert pulse["cathodes"] == [0] and pulse["anodes"] == [1]
        assert pulse["balanced"] is True
        # the DAC's real levels: whole PWM counts of 25500 uA / 625 = 40.8 uA
        # (74 counts = 3019.2 uA, and 37 counts for the anodic phase at asym 2)
        assert abs(pulse["cathodic_ua"] - 74 * 40.8) < 0.5
        assert abs(pulse["anodic_ua"] - 37 * 40.8) < 0.5
        assert dac_levels_ua(BOARD, 3000, 2) == pytest.approx((74 * 40.8, 37 * 40.8))
    assert {p["period_ns"] for p in report["pulses"][:-1]} == {1_000_000}


def test_logic_analyzer_export_with_aliases(tmp_path, capsys):
    # A sigrok-style export: 10 ns timescale, channels named D0..D2 and D3/D4 for selects.
    vcd = tmp_path / "la.vcd"
    vcd.write_text(
        "$timescale 10 ns $end\n$scope module logic $end\n"
        '$var wire 1 ! D0 $end\n$var wire 1 " D1 $end\n$var wire 1 # D2 $end\n'
        "$var wire 1 $ D3 $end\n$var wire 1 % D4 $end\n$upscope $end\n$enddefinitions $end\n"
        '#0\n0!\n0"\n0#\n1$\n1%\n'
        '#100\n1!\n1"\n#1100\n0"\n#1300\n1#\n#2300\n0!\n0#\n'
        '#10100\n1!\n1"\n#11100\n0"\n#11300\n1#\n#12300\n0!\n0#\n'
    )
    args = ["measure", str(vcd), "--json", "--alias", "D0=gp20", "--alias", "D1=gp21", "--alias", "D2=gp22"]
    args += ["--alias", "D3=gp3", "--alias", "D4=gp4"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    first = report["pulses"][0]
    assert (first["cathodic_ns"], first["interphase_ns"], first["anodic_ns"]) == (10_000, 2_000, 10_000)
    assert first["period_ns"] == 100_000
    assert first["cathodes"] == [0] and first["anodes"] == [1]
    assert first["balanced"] is None  # no DAC channels in a logic capture
    assert first["problems"] == []


def test_missing_channels_is_a_clear_error(tmp_path, capsys):
    vcd = tmp_path / "empty.vcd"
    vcd.write_text(
        "$timescale 1 ns $end\n$scope module x $end\n$var wire 1 ! gp0 $end\n"
        "$upscope $end\n$enddefinitions $end\n#0\n0!\n"
    )
    assert main(["measure", str(vcd)]) == 2
    assert "no channel for: sync, cathodic, anodic" in capsys.readouterr().err


def test_malformed_pulse_is_reported(tmp_path, capsys):
    vcd = tmp_path / "bad.vcd"
    vcd.write_text(
        "$timescale 1 ns $end\n$scope module x $end\n"
        '$var wire 1 ! gp20 $end\n$var wire 1 " gp21 $end\n$var wire 1 # gp22 $end\n'
        "$upscope $end\n$enddefinitions $end\n"
        '#0\n0!\n0"\n0#\n#100\n1!\n1"\n#200\n0"\n#300\n0!\n'
    )
    assert main(["measure", str(vcd)]) == 1
    assert "expected one cathodic and one anodic phase" in capsys.readouterr().out
