"""`picostim demo`: the whole system with no hardware. Starts the virtual
board (firmware under MicroPython, emulated chip, VCD trace), programs it as
the clinician, plays a patient's handheld-programmer session over its serial
port, then measures every pulse in the trace and draws it (demo.png beside
demo.vcd)."""

from __future__ import annotations

import json
import os

from picostim.boards import load_board
from picostim.measure import format_runs, measure, read_vcd, summary
from picostim.plot import plot
from picostim.programmer import Programmer
from picostim.vboard.launcher import SimProcess

# (who, what happens, protocol line, seconds to let it run); "clinician" lines run logged in
SESSION: tuple[tuple[str, str, str, float], ...] = (
    (
        "clinician",
        "program 1: tonic on contacts 2-/3+",
        "SET amp=2.5mA pw=210us ipg=20us rate=100Hz cathodes=2 anodes=3",
        0,
    ),
    ("clinician", "patient window 1..3 mA, quick soft start", "SET amp_min=1mA amp_max=3mA ramp=300ms name=tonic", 0),
    ("clinician", "program 2: narrower, 200 Hz, contacts 4-/5+", "PROGRAM 2", 0),
    ("clinician", "", "SET amp=2mA pw=90us ipg=10us rate=200Hz cathodes=4 anodes=5 ramp=0ms name=walking", 0),
    ("clinician", "group 'walking' runs program 2", "GROUP walking 2", 0),
    ("clinician", "back to program 1, then hand over", "PROGRAM 1", 0),
    ("patient", "who is there", "HELLO", 0),
    ("patient", "stimulation on (soft start)", "ON", 0.5),
    ("patient", "a little stronger", "AMP UP", 0.2),
    ("patient", "above the clinician's maximum: refused", "SET amp=3.5mA", 0),
    ("patient", "the rate is locked: refused", "SET rate=120Hz", 0),
    ("patient", "walking", "GROUP walking", 0.3),
    ("patient", "emergency stop: no ramp", "STOP", 0.05),
    ("patient", "check", "STATUS", 0),
)


def run_demo(board="pico", trace="demo.vcd"):
    print(f"starting the virtual board (trace: {trace}) ...")
    with SimProcess(board, trace=trace) as sim, Programmer(sim.port, timeout=10) as handheld:
        print(f"connected to {sim.port}: firmware {handheld.hello.firmware}, protocol v{handheld.hello.protocol}\n")
        role = ""
        for who, what, line, seconds in SESSION:
            if who != role:
                print(f"\n== {who} programmer ==")
                if who == "clinician":
                    print(f"(LOGIN + AUTH: role={handheld.login()})")
                role = who
            answer = handheld.send(line)  # HELLO also ends the clinician session
            print(f"# {what}\n> {line}\n< {answer}" if what else f"> {line}\n< {answer}")
            sim.run_for(seconds)
    pulses = measure(read_vcd(trace), load_board(board))
    print(f"\nmeasured from {trace} (runs of identical pulses):")
    print(format_runs(pulses))
    print("summary:", json.dumps(summary(pulses)))
    picture = os.path.splitext(trace)[0] + ".png"
    plot(pulses, load_board(board), picture, name=os.path.basename(trace))
    print(f"wrote {picture} (a pulse as a scope shows it, and the session); open {trace} in PulseView for every edge")
    return 0 if pulses and all(not p.problems and p.balanced for p in pulses) else 1
