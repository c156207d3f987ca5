import pytest


def pytest_addoption(parser):
    parser.addoption("--port", default=None, help="run the serial suites against a real board on this port")


@pytest.fixture
def session():
    from picostim.chip.session import EngineSession

    return EngineSession("pico")
