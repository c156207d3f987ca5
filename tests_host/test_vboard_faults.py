"""Faults injected into the virtual board, each checked in the VCD trace and
over the serial port: an exception in the service loop, a hang the watchdog
catches, corrupt settings, a host that disappears. Every time: outputs low
(every pulse balanced), the fault in STATUS and in the event log, the
protocol still answering. (A log that cannot be written, on a flash that
fills up: tests_host/test_service_faults.py.)"""

import json
import os
import time

import pytest
import serial
from picostim.measure import measure, read_vcd
from picostim.vboard.launcher import SimProcess
from serial_helpers import BOARD, PERSIST_S
from test_vboard_trace import _final_levels, _output_wires, exchange, raw_login

pytestmark = [pytest.mark.serial, pytest.mark.usefixtures("vboard_only")]

SETTING = "SET amp=3mA pw=200us ipg=20us rate=500Hz ramp=0ms"


def status(port):
    return dict(w.split("=", 1) for w in exchange(port, "STATUS").split()[1:] if "=" in w)


def log_kinds(port):
    """(kind, detail) of the newest records."""
    answer = exchange(port, "LOG")
    records = [r.strip().split(",", 5) for r in answer.split("|")[1:]]
    return [(r[3], r[5]) for r in records]


def profile(tmp_path, **changes):
    """A copy of the pico profile with top-level or serial changes."""
    board = json.loads(json.dumps(BOARD))
    for key, value in changes.items():
        if key.startswith("serial_"):
            board["serial"][key[len("serial_") :]] = value
        else:
            board[key] = value
    path = tmp_path / "board.json"
    path.write_text(json.dumps(board))
    return str(path)


def stimulating(sim, port):
    raw_login(port)
    assert exchange(port, SETTING).startswith("OK ")
    assert exchange(port, "ON").startswith("OK ")
    sim.run_for(0.3)


def assert_outputs_low_and_balanced(trace, cut_by_reset=False):
    """Every output low at the end, every pulse balanced. A hardware reset
    (the watchdog) stops the PIO where it is: the pulse it lands in is cut,
    as on the chip, so with cut_by_reset the last pulse may be."""
    levels = _final_levels(trace)
    assert all(levels[w] == 0 for w in _output_wires()), levels
    pulses = measure(read_vcd(str(trace)), BOARD)
    assert len(pulses) > 10
    whole = pulses[:-1] if cut_by_reset else pulses
    assert all(p.balanced and not p.problems for p in whole)
    return pulses


def wait_for(port, text, timeout=10.0):
    """Read lines until one contains `text`; return it."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = port.readline().decode(errors="replace")
        if text in line:
            return line.strip()
    raise AssertionError(f"no {text!r} within {timeout}s")


def test_exception_in_the_loop_stops_stimulation_logs_and_keeps_answering(tmp_path):
    trace = tmp_path / "t.vcd"
    with SimProcess(trace=str(trace)) as sim:
        with serial.Serial(sim.port, timeout=10) as port:
            stimulating(sim, port)
            sim.control("fault raise")
            assert wait_for(port, "EVT FAULT") == "EVT FAULT code=LOOP"
            sim.run_for(0.2)
            now = status(port)
            assert (now["state"], now["stop"], now["fault"]) == ("off", "fault", "LOOP"), now
            assert ("FAULT", "code=LOOP OSError: injected fault") in log_kinds(port)
            mid = sim.clock_ns()
            assert sim.run_for(0.3) - mid >= 300_000_000
        with serial.Serial(sim.port, timeout=10) as port:  # and the board still works
            raw_login(port)
            assert exchange(port, "ON").startswith("OK state=on")
            sim.run_for(0.05)  # pulses again: the board's own time, however slowly the host sends STOP
            assert exchange(port, "STOP").startswith("OK ")
            sim.run_for(0.2)
    assert_outputs_low_and_balanced(trace)
    pulses = measure(read_vcd(str(trace)), BOARD)
    gaps = [b.start_ns - a.start_ns for a, b in zip(pulses, pulses[1:], strict=False)]
    assert max(gaps) >= 500_000_000  # off from the fault until the deliberate ON


def test_the_watchdog_resets_a_hung_loop_and_the_board_boots_with_outputs_off(tmp_path):
    trace = tmp_path / "t.vcd"
    with SimProcess(board=profile(tmp_path, watchdog_ms=300), trace=str(trace)) as sim:
        with serial.Serial(sim.port, timeout=10) as port:
            stimulating(sim, port)
            hung = sim.clock_ns()
            sim.control("fault hang")
            wait_for(port, "EVT READY")
            assert 300_000_000 <= sim.clock_ns() - hung <= 2_000_000_000  # the 300 ms watchdog, then the boot
            now = status(port)
            assert (now["state"], now["fault"]) == ("off", "WATCHDOG"), now
            assert any(kind == "FAULT" and "WATCHDOG" in detail for kind, detail in log_kinds(port))
            sim.run_for(0.3)
    pulses = assert_outputs_low_and_balanced(trace, cut_by_reset=True)
    # the PIO kept pulsing while the CPU hung, until the reset (as on the chip)
    gaps = {b.start_ns - a.start_ns for a, b in zip(pulses, pulses[1:], strict=False)}
    assert gaps == {2_000_000}


@pytest.mark.parametrize("damage", ["bit flip", "truncated", "garbage"])
def test_corrupt_settings_boot_with_the_last_good_ones_outputs_off_and_a_fault(tmp_path, damage):
    flash = tmp_path / "flash"
    trace = tmp_path / "t.vcd"
    with SimProcess(trace=str(trace), flash=str(flash)) as sim:
        with serial.Serial(sim.port, timeout=10) as port:
            raw_login(port)
            assert exchange(port, "SET amp=2mA rate=70Hz ramp=0ms").startswith("OK ")
            sim.run_for(PERSIST_S)  # on flash; then the newest:
            assert exchange(port, "SET amp=3mA rate=80Hz").startswith("OK ")
            assert exchange(port, "ON").startswith("OK state=on")
            sim.run_for(PERSIST_S)
            data = bytearray((flash / "settings").read_bytes())
            if damage == "bit flip":
                data[len(data) // 2] ^= 0x10
            elif damage == "truncated":
                data = data[: len(data) - 7]
            else:
                data = bytearray(os.urandom(len(data)))
            (flash / "settings").write_bytes(bytes(data))
            sim.control("power cycle")
            wait_for(port, "EVT READY")
            now = status(port)
            # the generation before the damaged one, never a mix; never on
            assert (now["amp"], now["rate"]) == ("2000uA", "70Hz"), now
            assert (now["state"], now["fault"]) == ("off", "SETTINGS_CORRUPT"), now
            assert any(kind == "FAULT" and "SETTINGS_CORRUPT" in detail for kind, detail in log_kinds(port))
            sim.run_for(0.2)
    assert_outputs_low_and_balanced(trace, cut_by_reset=True)  # the power cycle may land in a pulse


def test_settings_survive_a_power_cycle_and_a_restart_of_the_sim(tmp_path):
    flash = tmp_path / "flash"
    with SimProcess(flash=str(flash)) as sim:
        with serial.Serial(sim.port, timeout=10) as port:
            raw_login(port)
            assert exchange(port, "SET amp=2.5mA rate=90Hz name=walk ramp=0ms").startswith("OK ")
            assert exchange(port, "GROUP walking 1").startswith("OK ")
            assert exchange(port, "ON").startswith("OK state=on")
            sim.run_for(PERSIST_S)
            sim.control("power cycle")
            wait_for(port, "EVT READY")
            now = status(port)
            assert (now["state"], now["amp"], now["rate"], now["name"], now["fault"]) == (
                "off",
                "2500uA",
                "90Hz",
                "walk",
                "-",
            )
    with SimProcess(flash=str(flash)) as sim:
        with serial.Serial(sim.port, timeout=10) as port:
            assert status(port)["amp"] == "2500uA"
            assert exchange(port, "GROUPS") == "OK active=- walking=1"
            kinds = [kind for kind, _ in log_kinds(port)]
            assert kinds.count("BOOT") >= 2  # the log survived both restarts


def test_a_host_that_disappears_stops_stimulation_when_the_profile_asks(tmp_path):
    trace = tmp_path / "t.vcd"
    with SimProcess(board=profile(tmp_path, serial_host_timeout_ms=400), trace=str(trace)) as sim:
        with serial.Serial(sim.port, timeout=10) as port:
            stimulating(sim, port)
            port.write(b"SET amp=4")  # and the host is gone mid-command
        sim.run_for(2.8)  # past the host timeout and the partial-line timeout
        with serial.Serial(sim.port, timeout=10) as port:
            port.reset_input_buffer()
            now = status(port)
            assert (now["state"], now["stop"], now["fault"], now["amp"]) == ("off", "host", "HOST_LOST", "3000uA")
            kinds = log_kinds(port)
            assert any(kind == "FAULT" and "HOST_LOST" in detail for kind, detail in kinds), kinds
            assert any(kind == "DROP" for kind, _ in kinds), kinds  # the half command: dropped, never applied
    pulses = assert_outputs_low_and_balanced(trace)
    span_ms = (pulses[-1].start_ns - pulses[0].start_ns) / 1e6
    # ON was the last whole line: stopped 400 ms (+ at most 1) after it. The first pulse comes a
    # few ms after ON (the engine's start), the last one within a period (2 ms) of the stop.
    assert 400 - 5 <= span_ms <= 400 + 1, span_ms


def _generation(path):
    from picostim_fw import store

    generation, _version, _body = store.unpack(path.read_bytes())
    return generation


def test_a_burst_of_changes_is_one_save_after_the_host_goes_quiet(tmp_path):
    """Five presses of AMP UP: five answers and five records, one save of the
    settings once the host is quiet; a power cut then keeps the last amplitude."""
    flash = tmp_path / "flash"
    with SimProcess(flash=str(flash)) as sim:
        with serial.Serial(sim.port, timeout=10) as port:
            raw_login(port)
            assert exchange(port, "SET amp=2mA ramp=0ms").startswith("OK ")
            sim.run_for(PERSIST_S)
            before = _generation(flash / "settings")
            saves = int(diag(port)["saves"])
            for _ in range(5):
                assert exchange(port, "AMP UP").startswith("OK ")
            assert [d for k, d in log_kinds(port) if k == "AMP"][-5:] == [f"amp={a}uA" for a in range(2100, 2600, 100)]
            sim.run_for(PERSIST_S)
            after = diag(port)
            # one save; two if the host stalled a whole second between presses (a loaded machine)
            assert saves < int(after["saves"]) <= saves + 2 and after["unsaved"] == "0", after
            assert before < _generation(flash / "settings") <= before + 2
            sim.control("power cycle")
            wait_for(port, "EVT READY")
            assert status(port)["amp"] == "2500uA"
            records = [d for k, d in log_kinds(port) if k == "AMP"]
            assert records[-5:] == [f"amp={a}uA" for a in range(2100, 2600, 100)]


def diag(port):
    return dict(w.split("=", 1) for w in exchange(port, "DIAG").split()[1:] if "=" in w)
