import sys
from pathlib import Path

import pytest
from picostim.chip import firmware_host

firmware_host.add_paths()  # firmware/lib and the host machine/rp2 stand-ins
sys.path.insert(0, str(Path(__file__).parent / "mpy"))  # test doubles shared with the check scripts


def pytest_addoption(parser):
    parser.addoption(
        "--port",
        default=None,
        help="run the serial suites against a real board on this port (device path or pyserial URL)",
    )
    parser.addoption("--key", default=None, help="the real board's device key file (clinician tests)")


@pytest.fixture
def session():
    from picostim.chip.session import EngineSession

    return EngineSession("pico")


@pytest.fixture(scope="session")
def real_port(request):
    return request.config.getoption("--port")


@pytest.fixture(scope="session")
def device_key(request):
    """The board's key: --key FILE for a real board, else the development key."""
    from picostim.auth import load_key

    return load_key(request.config.getoption("--key"))


@pytest.fixture(scope="session")
def board_port(real_port):
    """The port of the board under test: --port, else a virtual board for the session."""
    if real_port:
        yield real_port
        return
    from picostim.vboard.launcher import SimProcess

    with SimProcess() as sim:
        yield sim.port


@pytest.fixture
def vboard_only(real_port):
    if real_port:
        pytest.skip("needs the virtual board (its trace or its process)")
