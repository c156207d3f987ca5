"""Run the firmware's modules in this (CPython) process against a ChipModel.

On a board the firmware is the package `picostim` (/lib/picostim). Here that
name is the host tools' own package, so the firmware's package is loaded as
`picostim_fw`: its imports are relative, and `from picostim_fw import
pulse_engine` is the same file the board runs. The host `machine`/`rp2`
stand-ins go first on sys.path.
"""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
FIRMWARE_LIB = ROOT / "firmware" / "lib"
FIRMWARE_PACKAGE = FIRMWARE_LIB / "picostim"
PACKAGE = "picostim_fw"
STAND_INS = Path(__file__).resolve().parents[1] / "mpy"


def add_paths():
    if str(STAND_INS) not in sys.path:
        sys.path.insert(0, str(STAND_INS))
    if PACKAGE not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            PACKAGE, FIRMWARE_PACKAGE / "__init__.py", submodule_search_locations=[str(FIRMWARE_PACKAGE)]
        )
        assert spec is not None and spec.loader is not None
        package = importlib.util.module_from_spec(spec)
        sys.modules[PACKAGE] = package
        spec.loader.exec_module(package)


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
