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


# --- partial captures, analyser channel names, CSV and sigrok -----------------------------------

# An 8-channel analyser on a program with cathode 2, anode 3: sync, the two phases, both select
# lines of contacts 2 and 3, and the trigger input; the analyser names them D0..D7 in its own order.
ANALYSER = {"D0": "gp21", "D1": "gp20", "D2": "gp22", "D3": "gp7", "D4": "gp6", "D5": "gp8", "D6": "gp9", "D7": "gp26"}
ALIASES = [arg for name, gp in ANALYSER.items() for arg in ("--alias", f"{name}={gp}")]


def _vboard_changes(tmp_path, **fields):
    from picostim.capture import read_capture

    path, program, timing = _trace(tmp_path, cathodes=[2], anodes=[3], **fields)
    return read_capture(path), timing


def _write_vcd(path, changes, names, timescale_ns=8):
    """`changes` as a logic analyser's VCD: only the wires in `names` ({capture name: gp name})."""
    codes = {name: chr(33 + i) for i, name in enumerate(names)}
    out = [f"$timescale {timescale_ns} ns $end", "$scope module logic $end"]
    out += [f"$var wire 1 {codes[name]} {name} $end" for name in names]
    out += ["$upscope $end", "$enddefinitions $end"]
    events = sorted((t, codes[name], v) for name, gp in names.items() for t, v in changes[gp])
    now = None
    for t, code, v in events:
        if t != now:
            out.append(f"#{t // timescale_ns}")
            now = t
        out.append(f"{v}{code}")
    path.write_text("\n".join(out) + "\n")
    return path


def test_eight_channel_capture_with_analyser_names_is_measured_once_aliased(tmp_path, capsys):
    changes, timing = _vboard_changes(tmp_path, pw_us=100, ipg_us=10, rate_hz=2000, amp_ua=2000)
    vcd = _write_vcd(tmp_path / "la8.vcd", changes, ANALYSER)
    assert main(["measure", str(vcd), "--json", *ALIASES]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["pulses"] == 5
    for pulse in report["pulses"]:
        assert (pulse["cathodic_ns"], pulse["interphase_ns"], pulse["anodic_ns"]) == (100_000, 10_000, 100_000)
        assert pulse["cathodes"] == [2] and pulse["anodes"] == [3]
        assert pulse["problems"] == [] and pulse["balanced"] is None
    assert {p["period_ns"] for p in report["pulses"][:-1]} == {500_000}
    summary = report["summary"]
    assert "gp2" in summary["missing_channels"] and "gp7" not in summary["missing_channels"]
    assert summary["unchecked"][0] == "contacts 0,1,4,5,6,7 (select lines not captured)"
    assert "charge balance" in summary["unchecked"][1]


def test_missing_channels_error_shows_the_alias_form_with_the_capture_names(tmp_path, capsys):
    changes, _ = _vboard_changes(tmp_path, pw_us=100, ipg_us=10, rate_hz=2000)
    vcd = _write_vcd(tmp_path / "la8.vcd", changes, ANALYSER)
    assert main(["measure", str(vcd)]) == 2
    err = capsys.readouterr().err
    assert "CHANNELS capture has no channel for: sync, cathodic, anodic" in err
    assert "sync is gp20" in err and "its channels are D0, D1, D2, D3, D4, D5, D6, D7" in err
    assert "--alias D0=gp20 --alias D1=gp21 --alias D2=gp22" in err


def test_sync_and_phases_only_measures_timing_and_names_what_was_not_checked(tmp_path, capsys):
    changes, _ = _vboard_changes(tmp_path, pw_us=100, ipg_us=10, rate_hz=2000)
    vcd = _write_vcd(tmp_path / "la3.vcd", changes, {"gp20": "gp20", "gp21": "gp21", "gp22": "gp22"})
    assert main(["measure", str(vcd)]) == 0  # nothing missing is called a fault
    out = capsys.readouterr().out.splitlines()
    row = out[1].split()
    assert row[:6] == ["5", "100.000", "10.000", "100.000", "-", "-"]
    assert out[2] == "5 pulses, 0 malformed, 0 unbalanced"
    assert out[3].startswith("missing channels: gp2, gp3, gp4,") and out[3].endswith("gp18_duty_u16, gp19_duty_u16")
    assert out[4].startswith("not checked: contacts 0,1,2,3,4,5,6,7 (select lines not captured); amplitude")


def test_a_full_capture_with_no_contact_selected_is_still_a_fault(tmp_path, capsys):
    changes, _ = _vboard_changes(tmp_path, pw_us=100, ipg_us=10, rate_hz=2000)
    for pin in range(2, 18):
        changes[f"gp{pin}"] = [(0, 0)]  # every select line captured, none ever high
    names = {f"gp{pin}": f"gp{pin}" for pin in [*range(2, 18), 20, 21, 22]}
    vcd = _write_vcd(tmp_path / "none.vcd", changes, names)
    assert main(["measure", str(vcd)]) == 1
    assert "no cathode or no anode selected" in capsys.readouterr().out


def test_grouped_summary_and_pulses(tmp_path, capsys):
    path, _, _ = _trace(tmp_path, pw_us=210, ipg_us=20, rate_hz=1000, amp_ua=3000)
    assert main(["measure", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3  # header, one shape, totals: a full capture misses nothing
    assert out[1].split() == ["5", "210.000", "20.000", "210.000", "0", "1", "3019", "1000.000/1000.000/1000.000"] + [
        "0",
        "0",
    ]
    assert main(["measure", str(path), "--pulses"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + 5 + 1  # header, a line per pulse, the summary
    assert json.loads(lines[-1])["missing_channels"] == []


def _write_pulseview_csv(path, changes, names, rate_hz, end_ns, time_column=False):
    """`changes` sampled as PulseView's CSV export writes it (sigrok's csv output module)."""
    step = 10**9 // rate_hz
    levels = [0] * len(names)
    cursors = [0] * len(names)
    series = [changes[gp] for gp in names.values()]
    rows = [
        "; CSV generated by libsigrok 0.5.2",
        f"; Channels ({len(names)}/{len(names)}): " + ", ".join(names),
        f"; Samplerate: {rate_hz // 10**6} MHz",
        ",".join((["nanoseconds"] if time_column else []) + ["logic"] * len(names)),
    ]
    for t in range(0, end_ns, step):
        for i, s in enumerate(series):
            while cursors[i] < len(s) and s[cursors[i]][0] <= t:
                levels[i] = s[cursors[i]][1]
                cursors[i] += 1
        rows.append(",".join(([str(t)] if time_column else []) + [str(v) for v in levels]))
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("time_column", [False, True])
def test_pulseview_csv_export(tmp_path, capsys, time_column):
    changes, _ = _vboard_changes(tmp_path, pw_us=40, ipg_us=8, rate_hz=5000)
    end = changes["gp20"][-1][0] + 1000
    csv = _write_pulseview_csv(tmp_path / "pv.csv", changes, ANALYSER, 125_000_000, end, time_column)
    assert main(["measure", str(csv), "--json", *ALIASES]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["pulses"] == 5
    assert {(p["cathodic_ns"], p["interphase_ns"], p["anodic_ns"]) for p in report["pulses"]} == {
        (40_000, 8_000, 40_000)
    }
    assert {p["period_ns"] for p in report["pulses"][:-1]} == {200_000}
    assert all(p["cathodes"] == [2] and p["anodes"] == [3] for p in report["pulses"])


def test_bad_csv_is_a_format_error(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("; Channels (2/2): D0, D1\nlogic,logic\n0,1\n")  # no sample rate, no time column
    assert main(["measure", str(bad)]) == 2
    assert "FORMAT" in capsys.readouterr().err


def _sigrok():
    from picostim.capture import sigrok_cli

    if sigrok_cli() is None:
        pytest.skip("sigrok-cli is not installed (Debian: apt-get install sigrok-cli)")
    return sigrok_cli()


def test_sigrok_session_file(tmp_path, capsys):
    import subprocess

    exe = _sigrok()
    changes, _ = _vboard_changes(tmp_path, pw_us=100, ipg_us=10, rate_hz=2000)
    # A logic analyser records wires only; sigrok-cli's VCD reader takes 8 ns samples (125 MHz).
    vcd = _write_vcd(tmp_path / "la8.vcd", changes, ANALYSER, timescale_ns=1)
    sr = tmp_path / "capture.sr"
    subprocess.run([exe, "-I", "vcd:downsample=8", "-i", str(vcd), "-o", str(sr)], check=True, capture_output=True)
    assert main(["measure", str(sr), "--json", *ALIASES]) == 0
    from_sr = json.loads(capsys.readouterr().out)
    assert main(["measure", str(vcd), "--json", *ALIASES]) == 0
    from_vcd = json.loads(capsys.readouterr().out)
    assert from_sr["summary"]["pulses"] == 5
    strip = [{k: v for k, v in p.items() if k != "start_ns"} for p in from_sr["pulses"]]
    assert strip == [{k: v for k, v in p.items() if k != "start_ns"} for p in from_vcd["pulses"]]
    # and sigrok-cli's own CSV export of that session (what PulseView writes) reads the same
    csv = tmp_path / "capture.csv"
    csv.write_text(
        subprocess.run([exe, "-i", str(sr), "-O", "csv:time=true"], check=True, capture_output=True).stdout.decode()
    )
    assert main(["measure", str(csv), "--json", *ALIASES]) == 0
    assert json.loads(capsys.readouterr().out)["summary"] == from_sr["summary"]


def test_sr_without_sigrok_cli_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no sigrok-cli on it
    sr = tmp_path / "capture.sr"
    sr.write_bytes(b"PK")
    assert main(["measure", str(sr)]) == 2
    assert "SIGROK reading .sr files needs sigrok-cli" in capsys.readouterr().err


def test_a_group_is_reported_per_program(tmp_path, capsys):
    """Two programs interleaved (40 Hz beside 1 kHz): the summary gives each
    its own period, however their pulses alternate."""
    path = tmp_path / "g.vcd"
    session = EngineSession("pico", trace_path=str(path))
    schedule = session.start_group(
        dict(amp_ua=1500, pw_us=90, rate_hz=1000, cathodes=(2,), anodes=(3,)),
        dict(amp_ua=4000, pw_us=300, rate_hz=40, cathodes=(5,), anodes=(4,)),
    )
    session.run(3 * schedule.period)
    session.close()
    assert main(["measure", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("per program"))
    own = {(r[0], r[1]): (int(r[2]), r[3]) for r in (line.split() for line in lines[at + 1 :]) if len(r) == 4}
    assert own[("2", "3")][1] == "1000.000/1000.000/1000.000" and own[("2", "3")][0] >= 74
    assert own[("5", "4")] == (3, "25000.000/25000.000/25000.000")
