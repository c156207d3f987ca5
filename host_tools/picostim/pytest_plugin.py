"""pytest fixtures for testing a picostim board over its serial port: the
virtual board by default, a real Pico with `--port`.

Load it from a conftest.py (tests_host/conftest.py does):

    pytest_plugins = ["picostim.pytest_plugin"]

or on the command line: `pytest -p picostim.pytest_plugin`. Then:

    def test_amp_up(board):              # a connected Programmer, patient role
        before = board.status().amp_ua
        assert board.amp_up().amp_ua > before

    def test_rate(clinician):            # the same, logged in as the clinician
        assert clinician.set(rate="40Hz").rate_hz == 40

    def test_pulses(trace):              # a fresh virtual board writing a VCD trace
        trace.board.login()
        trace.board.set(amp="2mA", pw="100us", rate="100Hz", cathodes=[2], anodes=[3], ramp="0ms")
        trace.board.on()
        trace.run_for(0.1)               # 100 ms of the board's time
        pulses = trace.pulses()          # stops the board, measures the trace
        assert all(p.cathodic_ns == 100_000 for p in pulses)

Options: `--port PORT` (a real board, a device path or a pyserial URL such as
rfc2217://host:port; tests using `trace` or `vboard_only` are skipped there),
`--key FILE` (its device key, for `clinician`), and labgrid's `--lg-env FILE`
(the board of a labgrid place, see docs/LAB.md: the same tests as with --port).
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser):
    group = parser.getgroup("picostim", "picostim board under test")
    group.addoption(
        "--port",
        default=None,
        help="run the serial suites against a real board on this port (device path or pyserial URL)",
    )
    group.addoption("--key", default=None, help="the real board's device key file (clinician tests)")


def pytest_configure(config):
    config.addinivalue_line("markers", "serial: talks to a board (virtual unless --port is given)")


@pytest.fixture(scope="session")
def real_port(request):
    """--port, or the labgrid place's port under --lg-env, or None on the virtual board."""
    port = request.config.getoption("--port")
    if port is None and request.config.getoption("lg_env", None):
        from picostim.lab.place import board_url

        port = board_url(request.getfixturevalue("target"))
    if port:
        with _programmer(port) as board:
            firmware = board.hello.firmware
        request.getfixturevalue("record_testsuite_property")("picostim_firmware", firmware)
    return port


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


def _programmer(port):
    from picostim.programmer import Programmer

    return Programmer(port, timeout=10)


@pytest.fixture
def board(board_port):
    """A connected Programmer (patient role); stimulation is stopped afterwards."""
    with _programmer(board_port) as programmer:
        yield programmer
        programmer.stop()


@pytest.fixture
def clinician(board, device_key):
    """`board`, logged in as the clinician with the device key."""
    board.login(device_key)
    return board


class TracedBoard:
    """A virtual board of its own for one test, tracing every pin edge."""

    def __init__(self, sim, path, board_name):
        from picostim.programmer import Programmer

        self.sim = sim
        self.path = path
        self.board_name = board_name
        self.board = Programmer(sim.port, timeout=10)

    def run_for(self, seconds):
        """Let the board run for `seconds` of its own (emulated) time."""
        return self.sim.run_for(seconds)

    def control(self, line):
        """Act on the board from outside: "button press", "pin 26 1", ..."""
        self.sim.control(line)

    def close(self):
        self.board.close()
        self.sim.stop()

    def pulses(self):
        """Stop the board (outputs low, trace closed) and measure every pulse in the trace."""
        from picostim.boards import load_board
        from picostim.measure import measure, read_capture

        self.close()
        return measure(read_capture(self.path), load_board(self.board_name))


@pytest.fixture
def trace(vboard_only, tmp_path):
    """A fresh virtual board writing tmp_path/trace.vcd: `.board` (a connected
    Programmer), `.run_for(s)`, `.control(line)`, `.pulses()`, `.path`."""
    from picostim.vboard.launcher import SimProcess

    path = tmp_path / "trace.vcd"
    sim = SimProcess("pico", trace=str(path))
    traced = TracedBoard(sim, path, "pico")
    try:
        yield traced
    finally:
        traced.close()
