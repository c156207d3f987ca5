"""Where the MicroPython RPI_PICO image comes from: $PICOSTIM_FIRMWARE, else
the copy kept beside the checkout (../shared/micropython/)."""

from __future__ import annotations

import os
from pathlib import Path

from picostim.chip.firmware_host import ROOT

SHARED_IMAGE = ROOT.parent / "shared" / "micropython" / "RPI_PICO-v1.28.0.uf2"
ENV = "PICOSTIM_FIRMWARE"


def find_image() -> Path | None:
    """The image to boot, or None when there is none (tests skip then)."""
    named = os.environ.get(ENV)
    if named:
        return Path(named) if Path(named).is_file() else None
    return SHARED_IMAGE if SHARED_IMAGE.is_file() else None
