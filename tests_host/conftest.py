import sys
from pathlib import Path

import pytest
from picostim.chip import firmware_host

firmware_host.add_paths()  # the firmware's package (as picostim_fw) and the host machine/rp2 stand-ins
sys.path.insert(0, str(Path(__file__).parent / "mpy"))  # test doubles shared with the check scripts


# --port, --key and the board fixtures (board_port, device_key, board, clinician, trace, ...)
pytest_plugins = ["picostim.pytest_plugin"]


@pytest.fixture
def session():
    from picostim.chip.session import EngineSession

    return EngineSession("pico")
