"""Lead impedance through the virtual board's serial port: the dummy lead
broken and repaired from the sim's stdin (`contact 3 break`, `contact 3
ok`), IMPEDANCE and `picostim impedance` reporting it, stimulation through
the broken contact refused (LEAD) until a new check passes, and in the VCD
trace every measuring pulse charge balanced and every output low after each
check."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from picostim.measure import measure, read_vcd
from picostim.programmer import ProgrammerError
from picostim.vboard.launcher import SimProcess
from serial_helpers import BOARD, connect, reset

pytestmark = [pytest.mark.serial, pytest.mark.usefixtures("vboard_only")]

ROOT = Path(__file__).resolve().parents[1]
IMP = BOARD["impedance"]
PW_NS = IMP["pulse_width_us"] * 1000
MS = 1_000_000  # ns


def control(sim, line):
    sim.control(line)  # returns once the sim has done it


def refused(code, call, *args, **kw):
    with pytest.raises(ProgrammerError) as err:
        call(*args, **kw)
    assert err.value.code == code, err.value
    return err.value.message


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "picostim.cli", *args], capture_output=True, text=True, timeout=60, cwd=ROOT
    )


def levels_at(changes, name, t_ns):
    value = 0
    for t, v in changes.get(name, [(0, 0)]):
        if t > t_ns:
            break
        value = v
    return value


def output_wires():
    phase = BOARD["phase_pins"]
    base = BOARD["contacts"]["select_base_pin"]
    pins = [phase["sync"], phase["cathodic"], phase["anodic"], *range(base, base + 2 * BOARD["contacts"]["count"])]
    dac = BOARD["dac"]
    return [f"gp{n}" for n in pins] + [f"gp{dac['cathodic_pin']}_duty_u16", f"gp{dac['anodic_pin']}_duty_u16"]


def test_a_broken_contact_is_found_refused_and_cleared_by_a_new_check(tmp_path):
    trace = tmp_path / "t.vcd"
    with SimProcess(trace=str(trace)) as sim:
        with connect(sim.port) as board:
            reset(board)  # clinician; program 1: cathodes=2 anodes=3, stimulation off
            healthy = board.impedance()
            assert len(healthy.results) == 15 and healthy.all_ok(), healthy
            for r in healthy.results:
                assert abs(r.ohms - r.expected_ohms) <= r.expected_ohms // 100, r  # within 1 %
            assert healthy.current_ua == 490 and healthy.pw_us == IMP["pulse_width_us"]

            control(sim, "contact 3 break")
            report = board.impedance()
            verdicts = {r.name: r.status for r in report.results}
            assert report.failed() == {3: "open"}
            assert verdicts.pop("c3") == verdicts.pop("pair2-3") == verdicts.pop("pair3-4") == "open"
            assert set(verdicts.values()) == {"ok"}, verdicts

            message = refused("LEAD", board.on)  # program 1 has contact 3 as its anode
            assert message == "contact 3 is open (impedance check)"
            assert board.status().state == "off"

            board.set(cathodes=[0], anodes=[1])  # healthy contacts: stimulation runs
            assert board.on().state == "on"
            refused("LEAD", board.set, anodes=[3])  # and cannot be moved onto contact 3
            assert board.status().anodes == (1,)
            refused("BUSY", board.impedance)  # no check while stimulating
            board.stop()
            board.wait_settled()

            board.set(cathodes=[2], anodes=[3])
            control(sim, "contact 3 ok")  # repaired: still refused until a check says so
            refused("LEAD", board.on)
            again = board.impedance(3)
            assert [r.name for r in again.results] == ["c3", "pair2-3", "pair3-4"] and again.all_ok(), again
            assert board.on().state == "on"
            sim.run_for(0.1)
            board.stop()
            board.wait_settled()
            kinds = [(r.kind, r.detail) for r in board.log(count=16) if r.kind == "IMPEDANCE"]
            assert kinds[-3:] == [
                ("IMPEDANCE", "checked=15 ok=15 open=- short=-"),
                ("IMPEDANCE", "checked=15 ok=12 open=3 short=-"),
                ("IMPEDANCE", "checked=3 ok=3 open=- short=-"),
            ]
            sim.run_for(0.2)

    changes = read_vcd(str(trace))
    pulses = measure(changes, BOARD)
    checks = [p for p in pulses if p.cathodic_ns == PW_NS]
    assert len(checks) == 15 + 15 + 3  # one pulse per measurement
    for p in checks:
        assert p.balanced and not p.problems, p
        assert (p.interphase_ns, p.anodic_ns) == (IMP["interphase_us"] * 1000, PW_NS), p
        assert abs(p.cathodic_ua - 489.6) < 0.5 and abs(p.anodic_ua - 489.6) < 0.5, p
    # after every measuring pulse every output goes low (contact selects, phases,
    # both DAC levels) before the next pulse of any kind starts
    wires = output_wires()
    times = sorted({t for w in wires for t, _ in changes.get(w, [])})
    starts = [p.start_ns for p in pulses] + [times[-1] + 1]
    for p in checks:
        end = p.start_ns + p.cathodic_ns + p.interphase_ns + p.anodic_ns
        low = next(t for t in times if t >= end and all(levels_at(changes, w, t) == 0 for w in wires))
        assert low < min(s for s in starts if s > p.start_ns), p


def test_picostim_impedance_prints_a_table_and_exits_1_on_a_fault():
    with SimProcess() as sim:
        result = cli("impedance", "--port", sim.port)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert lines[0].split() == ["item", "contacts", "ohms", "expected", "status"] and len(lines) == 17
        assert lines[1].split()[:3] == ["c0", "0", "vs"] and lines[1].split()[-2:] == ["1143", "ok"]
        assert lines[-1].endswith("no contact open or shorted")
        control(sim, "contact 6 short")
        result = cli("impedance", "6", "--json", "--port", sim.port)
        assert result.returncode == 1, result.stderr
        report = json.loads(result.stdout)
        assert [(r["name"], r["status"]) for r in report["results"]] == [
            ("c6", "short"),
            ("pair5-6", "low"),
            ("pair6-7", "short"),
        ]
        assert report["current_ua"] == 490
        assert cli("set", "cathodes=6", "anodes=0", "--clinician", "--port", sim.port).returncode == 0
        result = cli("on", "--port", sim.port)
        assert result.returncode == 1 and "LEAD contact 6 is shorted (impedance check)" in result.stderr
