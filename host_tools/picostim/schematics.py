"""The bench schematics in docs/ (schemdraw, SVG), drawn from the board
profile so pins and resistor values have one source of truth:

    python -m picostim.schematics docs      # what `make schematics` runs

- dummy_load.svg: the 8-contact dummy lead (board profile `dummy_load`);
- dac_filter.svg: the two PWM outputs through their RC low-passes into the
  current source's setpoints (board profile `dac`);
- front_end.svg: the Pico's stimulation pins, the analog switches, the
  H-bridge, the current source, the load, and where the scope probes go.
"""

from __future__ import annotations

import os
import sys

import schemdraw
import schemdraw.elements as elm
from schemdraw import flow

from picostim.boards import contact_select_pins, load_board

# The RC low-pass after each PWM pin (docs/WIRING.md): 10 kohm, 100 nF.
RC_OHMS = 10_000
RC_NF = 100
_CATHODE, _ANODE = "#1f5fbf", "#c0392b"


def _ohms(value):
    return f"{value // 1000}k" if value % 1000 == 0 else f"{value}R"


def dummy_load(board):
    """Each contact's resistor to the common tissue node, the tissue resistor to ground."""
    load = board["dummy_load"]
    count = board["contacts"]["count"]
    d = schemdraw.Drawing(show=False)
    d.config(fontsize=11, unit=2.2)
    step = 1.6
    for k in range(count):
        x = k * step
        d.add(elm.Dot(open=True).at((x, 4.4)).label(f"E{k}", loc="top"))
        d.add(
            elm.Resistor().down().at((x, 4.4)).to((x, 1.0)).label(_ohms(load["contact_ohms"]), loc="bottom", ofst=0.1)
        )
    d.add(elm.Line().at((0, 1.0)).to(((count - 1) * step, 1.0)))
    mid = (count - 1) * step / 2
    d.add(elm.Dot().at((mid, 1.0)).label("tissue node", loc="right", ofst=(0.2, 0.3)))
    d.add(elm.Resistor().down().at((mid, 1.0)).label(_ohms(load["tissue_ohms"]), loc="bottom"))
    d.add(elm.Ground())
    return d


def dac_filter(board):
    """GP<cathodic_pin> and GP<anodic_pin> (PWM) through RC low-passes to the setpoints."""
    dac = board["dac"]
    corner_hz = round(1e9 / (2 * 3.14159265 * RC_OHMS * RC_NF))
    d = schemdraw.Drawing(show=False)
    d.config(fontsize=11, unit=2.5)
    rows = (
        (dac["cathodic_pin"], "cathodic setpoint", _CATHODE, 0.0),
        (dac["anodic_pin"], "anodic (recovery) setpoint", _ANODE, -4.0),
    )
    for pin, what, color, y in rows:
        d.add(elm.Dot(open=True).at((0, y)).label(f"GP{pin} PWM {dac['pwm_freq_hz'] // 1000} kHz", loc="left"))
        d.add(elm.Resistor().right().at((0, y)).label(_ohms(RC_OHMS)))
        node = d.add(elm.Dot())
        d.add(elm.Capacitor().down().at(node.end).label(f"{RC_NF} nF", loc="bottom"))
        d.add(elm.Ground())
        d.add(elm.Line().right().at(node.end).length(2.5))
        d.add(elm.Dot(open=True).label(what, loc="right").color(color))
    d.add(
        elm.Label()
        .at((2.5, -7.6))
        .label(f"corner {corner_hz} Hz, far below the PWM; full scale {dac['full_scale_ua'] / 1000:g} mA", fontsize=10)
    )
    return d


def front_end(board):
    """Block diagram of the stimulation path, with the pins from the profile."""
    phase = board["phase_pins"]
    dac = board["dac"]
    selects = contact_select_pins(board)
    first, last = min(min(p) for p in selects.values()), max(max(p) for p in selects.values())
    d = schemdraw.Drawing(show=False)
    d.config(fontsize=10)
    d.add(flow.Box(w=3.0, h=11.0).at((0, 6.0)).anchor("W").label("Raspberry\nPi Pico", halign="left", ofst=(-0.9, 0)))
    # (y, pin label) of each line leaving the Pico
    pins = {
        "selects": (10.0, f"GP{first}..GP{last}"),
        "cathodic": (8.0, f"GP{phase['cathodic']}"),
        "anodic": (7.0, f"GP{phase['anodic']}"),
        "pwm_a": (5.0, f"GP{dac['cathodic_pin']}"),
        "pwm_b": (4.0, f"GP{dac['anodic_pin']}"),
        "sync": (2.0, f"GP{phase['sync']}"),
        "gnd": (1.0, "GND"),
    }
    for y, text in pins.values():
        d.add(elm.Label().at((2.9, y)).label(text, halign="right", fontsize=9))

    def box(x, y, w, text):
        return d.add(flow.Box(w=w, h=1.4).at((x, y)).anchor("W").label(text, fontsize=10))

    switches = box(7.0, 10.0, 4.0, "analog switches\n(2 per contact)")
    bridge = box(7.0, 7.5, 4.0, "H-bridge")
    rc = box(7.0, 4.5, 4.0, "RC low-pass x2")
    source = box(13.5, 4.5, 4.0, "current source")
    lead = box(13.5, 10.0, 4.0, f"dummy lead\nE0..E{len(selects) - 1}")
    scope = box(13.5, 1.5, 4.0, "oscilloscope")
    d.add(elm.Line().at((3.0, 10.0)).to(switches.W).label(f"{2 * len(selects)} select lines", fontsize=9))
    d.add(elm.Line().at((3.0, 8.0)).to((7.0, 8.0)).label("cathodic phase", fontsize=9))
    d.add(elm.Line().at((3.0, 7.0)).to((7.0, 7.0)).label("anodic phase", loc="bottom", fontsize=9))
    d.add(elm.Line().at((3.0, 5.0)).to((7.0, 5.0)).label("PWM1A cathodic level", fontsize=9))
    d.add(elm.Line().at((3.0, 4.0)).to((7.0, 4.0)).label("PWM1B anodic level", loc="bottom", fontsize=9))
    d.add(elm.Arrow().at(rc.E).to(source.W).label("setpoints", fontsize=9))
    d.add(elm.Line().at(source.N).toy(7.5))
    d.add(elm.Arrow().to(bridge.E).label("current", fontsize=9))
    d.add(elm.Line().at(bridge.N).to(switches.S).label("anode / cathode bus", loc="bottom", fontsize=9))
    d.add(elm.Line().at(switches.E).to(lead.W))
    d.add(elm.Line().at((3.0, 2.0)).to((13.5, 2.0)).label("sync: CH1, trigger rising at 1.65 V", fontsize=9))
    d.add(elm.Line().at((3.0, 1.0)).to((5.0, 1.0)))
    d.add(elm.Ground())
    d.add(elm.Line().at(lead.E).right().length(1.5))
    d.add(elm.Line().toy(1.5))
    d.add(elm.Arrow().to(scope.E).label("CH2: load voltage", loc="bottom", fontsize=9))
    return d


DRAWINGS = {"dummy_load": dummy_load, "dac_filter": dac_filter, "front_end": front_end}


def write_all(folder, board_name="pico"):
    """Write every drawing as folder/<name>.svg; returns the paths."""
    board = load_board(board_name)
    schemdraw.use("svg")  # text stays text: the files diff and read well
    paths = []
    for name, draw in DRAWINGS.items():
        path = os.path.join(folder, f"{name}.svg")
        draw(board).save(path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_all(sys.argv[1] if len(sys.argv) > 1 else "docs"):
        print(f"wrote {written}")
