import pytest
from picostim.chip import firmware_host

firmware_host.add_paths()  # firmware/lib and the host machine/rp2 stand-ins


def pytest_addoption(parser):
    parser.addoption(
        "--port",
        default=None,
        help="run the serial suites against a real board on this port (device path or pyserial URL)",
    )


@pytest.fixture
def session():
    from picostim.chip.session import EngineSession

    return EngineSession("pico")


@pytest.fixture(scope="session")
def real_port(request):
    return request.config.getoption("--port")


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
