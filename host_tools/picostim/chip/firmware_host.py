"""Run the firmware's modules in this (CPython) process against a ChipModel.

The host `machine`/`rp2` stand-ins go first on sys.path, then firmware/lib, so
`import pulse_engine` here is the same file the board runs.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
FIRMWARE_LIB = ROOT / "firmware" / "lib"
STAND_INS = Path(__file__).resolve().parents[1] / "mpy"


def add_paths():
    for path in (str(FIRMWARE_LIB), str(STAND_INS)):
        if path not in sys.path:
            sys.path.insert(0, path)


def attach(chip):
    add_paths()
    import _chip
    import machine
    import rp2

    _chip.backend = chip
    rp2._loader.reset()
    rp2._sram.reset()
    machine._pwm_reset()
    return chip
