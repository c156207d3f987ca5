import pytest
from picostim.chip import firmware_host

firmware_host.add_paths()  # firmware/lib and the host machine/rp2 stand-ins


def pytest_addoption(parser):
    parser.addoption("--port", default=None, help="run the serial suites against a real board on this port")


@pytest.fixture
def session():
    from picostim.chip.session import EngineSession

    return EngineSession("pico")
