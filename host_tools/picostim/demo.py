"""`picostim demo`: the whole system with no hardware. Starts the virtual
board (firmware under MicroPython, emulated chip, VCD trace), plays a
handheld-programmer session over its serial port, then measures every pulse
in the trace."""

from __future__ import annotations

import json
import time

from picostim.boards import load_board
from picostim.measure import format_runs, measure, read_vcd, summary
from picostim.programmer import Programmer
from picostim.vboard.launcher import SimProcess

# (what the patient does, protocol line, seconds to let it run)
SESSION: tuple[tuple[str, str, float], ...] = (
    ("who is there", "HELLO", 0),
    ("program a setting", "SET amp=2.5mA pw=210us ipg=20us rate=100Hz cathodes=2 anodes=3", 0),
    ("stimulation on", "ON", 0.3),
    ("a little stronger", "AMP UP", 0.2),
    ("and stronger", "AMP UP", 0.2),
    ("move it: narrower pulse, contacts 4-/5+, 200 Hz", "SET pw=90us ipg=10us rate=200Hz cathodes=4 anodes=5", 0.3),
    ("long low recovery phase (4x width, 1/4 amplitude)", "SET pw=60us asym=4", 0.3),
    ("too strong is refused, nothing changes", "SET amp=30mA", 0.1),
    ("stimulation off", "OFF", 0.05),
    ("check", "STATUS", 0),
)


def run_demo(board="pico", trace="demo.vcd"):
    print(f"starting the virtual board (trace: {trace}) ...")
    with SimProcess(board, trace=trace) as sim, Programmer(sim.port, timeout=10) as handheld:
        print(f"connected to {sim.port}: firmware {handheld.hello.firmware}, protocol v{handheld.hello.protocol}\n")
        for what, line, seconds in SESSION:
            answer = handheld.send(line)
            print(f"# {what}\n> {line}\n< {answer}")
            time.sleep(seconds)
    pulses = measure(read_vcd(trace), load_board(board))
    print(f"\nmeasured from {trace} (runs of identical pulses):")
    print(format_runs(pulses))
    print("summary:", json.dumps(summary(pulses)))
    print(f"open {trace} in PulseView or GTKWave to see every edge")
    return 0 if pulses and all(not p.problems and p.balanced for p in pulses) else 1
