"""AdaptiveStim through the virtual board: posture sequences set on the
emulated MPU-6050 (the sim's `posture` control), read by the firmware over
its real I2C driver path; the VCD trace shows the amplitude gliding to the
remembered setting in ramp steps, a brief posture change held off by the
stability timer, the clinician's posture limit holding, and the log records
each move."""

import json

import pytest
import serial
from picostim.measure import measure, read_vcd
from picostim.vboard.launcher import SimProcess
from serial_helpers import BOARD
from test_vboard_therapy import amplitudes, level
from test_vboard_trace import exchange, raw_login

pytestmark = [pytest.mark.serial, pytest.mark.usefixtures("vboard_only")]

SETTLE_MS = 300


def runs(values):
    """Consecutive duplicates dropped."""
    out = []
    for v in values:
        if not out or out[-1] != v:
            out.append(v)
    return out


def test_posture_changes_glide_to_the_remembered_amplitude_within_the_posture_limit(tmp_path):
    board = json.loads(json.dumps(BOARD))
    board["posture"]["settle_ms"] = SETTLE_MS
    profile = tmp_path / "board.json"
    profile.write_text(json.dumps(board))
    trace = tmp_path / "t.vcd"
    settle = SETTLE_MS / 1000 + 0.25  # the stability timer, a few samples, and the loop
    with SimProcess(board=str(profile), trace=str(trace)) as sim:
        sim.control("posture upright")
        with serial.Serial(sim.port, timeout=10) as port:
            raw_login(port)
            setting = "SET amp=2mA pw=100us rate=200Hz ramp=500ms patient=amp amp_min=0uA amp_max=10mA"
            assert exchange(port, setting).startswith("OK ")
            assert exchange(port, "ADAPTIVE ON").startswith("OK enabled=1")
            assert exchange(port, "ADAPTIVE MAX upright 2500uA").startswith("OK ")
            assert exchange(port, "LOGOUT") == "OK role=patient"
            sim.run_for(settle)
            assert "posture=upright" in exchange(port, "STATUS")
            assert exchange(port, "ON").startswith("OK ")
            sim.run_for(0.7)  # the soft start
            assert exchange(port, "SET amp=3mA").startswith("ERR PATIENT_RANGE")  # above upright's limit
            assert exchange(port, "SET amp=2400uA").startswith("OK ")  # remembered for upright
            sim.control("posture supine")
            sim.run_for(settle)
            assert "posture=supine" in exchange(port, "STATUS")  # no memory there yet: no move
            assert exchange(port, "SET amp=1500uA").startswith("OK ")  # remembered for supine
            sim.control("posture upright")  # briefly: shorter than the stability timer
            sim.run_for(SETTLE_MS / 3000)
            sim.control("posture supine")
            sim.run_for(settle)
            assert "posture=supine" in exchange(port, "STATUS")
            sim.control("posture upright")
            sim.run_for(settle + 0.7)  # stable, then the 500 ms glide
            status = exchange(port, "STATUS")
            assert "posture=upright" in status and "out_amp=2400uA" in status, status
            log = exchange(port, "LOG")
            assert "ADAPTIVE,device,posture=upright program=1 amp=2400uA" in log, log
            assert exchange(port, "STOP").startswith("OK ")
            sim.run_for(0.2)
    pulses = measure(read_vcd(str(trace)), BOARD)
    assert all(p.balanced and not p.problems for p in pulses)
    levels = runs(amplitudes(pulses))
    top = levels.index(level(2000))
    assert levels[: top + 1] == sorted(levels[: top + 1])  # the soft start
    after = levels[top:]
    # 2000 -> 2400 (the patient's step) -> 1500 (the patient's step, supine), nothing for the
    # brief upright, then the glide back up to upright's 2400 in 50 ms steps
    assert after[:3] == [level(2000), level(2400), level(1500)], after
    glide = after[2:]
    assert glide == sorted(glide) and glide[-1] == level(2400), glide
    assert len(glide) >= 8  # 10 steps of 50 ms over the 500 ms ramp (neighbours may share a DAC count)
    assert max(amplitudes(pulses)) <= level(2500)  # never above the posture limit
