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
`--key FILE` (its device key, for `clinician`), labgrid's `--lg-env FILE`
(the board of a labgrid place, see docs/LAB.md: the same tests as with --port),
and `--firmware UF2` (the full-chip virtual Pico booted from that MicroPython
image, with this checkout's firmware deployed once and kept: the same tests as
with --port, answers waited for in minutes, as it runs at about 2% of real time).
"""

from __future__ import annotations

import pytest

from picostim.fullchip import ANSWER_S as FULLCHIP_ANSWER_S


def pytest_addoption(parser):
    group = parser.getgroup("picostim", "picostim board under test")
    group.addoption(
        "--port",
        default=None,
        help="run the serial suites against a real board on this port (device path or pyserial URL)",
    )
    group.addoption("--key", default=None, help="the real board's device key file (clinician tests)")
    group.addoption(
        "--firmware",
        default=None,
        metavar="UF2",
        help="run the serial suites on the full-chip virtual Pico booted from this MicroPython image",
    )


# Seconds a test waits for an answer: a Pico answers in ms; the full-chip board's
# tens of ms of emulated time take seconds to minutes of wall time.
ANSWER_S = {"board": 10.0, "fullchip": FULLCHIP_ANSWER_S}
_fullchip = False  # --firmware: the board under test is the full-chip board


def answer_timeout() -> float:
    """Seconds to wait for one answer from the board under test."""
    return ANSWER_S["fullchip" if _fullchip else "board"]


def on_fullchip() -> bool:
    """Whether the board under test is the full-chip board (--firmware)."""
    return _fullchip


def pytest_configure(config):
    global _fullchip
    config.addinivalue_line("markers", "serial: talks to a board (virtual unless --port is given)")
    _fullchip = bool(config.getoption("--firmware", None))
    if _fullchip:  # the CLI and Programmer() as the suites and the README run them: answers take minutes
        import os

        os.environ.setdefault("PICOSTIM_TIMEOUT", str(ANSWER_S["fullchip"]))


@pytest.fixture(scope="session")
def real_port(request):
    """--port, or the labgrid place's port under --lg-env, or None on the virtual board."""
    port = request.config.getoption("--port")
    if port is None and request.config.getoption("lg_env", None):
        from picostim.lab.place import board_url

        port = board_url(request.getfixturevalue("target"))
    if port is None and request.config.getoption("--firmware", None):
        port = _fullchip_port(request)
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


def _fullchip_port(request):
    """A full-chip board for the session, from a flash with the firmware deployed."""
    import shutil
    from pathlib import Path

    from picostim.fullchip.deployed import deployed_flash
    from picostim.fullchip.launch import FullChipProcess, wait_for_line

    image = Path(request.config.getoption("--firmware"))
    if not image.is_file():
        raise pytest.UsageError(f"--firmware {image}: no such MicroPython image")
    flash = request.getfixturevalue("tmp_path_factory").mktemp("fullchip") / "flash.img"
    shutil.copy(deployed_flash(image, request.getfixturevalue("device_key")), flash)
    sim = FullChipProcess(image, flash=flash)
    request.addfinalizer(sim.stop)
    wait_for_line(sim.port, b"EVT READY", ANSWER_S["fullchip"])  # its boot: about 2 s of emulated time
    return sim.port


def _programmer(port):
    from picostim.programmer import Programmer

    return Programmer(port, timeout=answer_timeout())


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
        self.board = Programmer(sim.port, timeout=answer_timeout())

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
