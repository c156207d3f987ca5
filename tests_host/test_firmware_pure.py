"""The firmware's pure modules under the real MicroPython interpreter (unix
port) with a Pico-sized heap, and under CPython; mpy-cross compiles every
firmware file for the RP2040."""

import pytest
from mpy_checks import INTERPRETERS, ROOT, run_checks, run_in_lib, tool


@pytest.mark.parametrize("where", INTERPRETERS)
def test_pure_modules(where):
    assert run_checks("check_stim_program.py", where) >= 25


FIRMWARE_FILES = sorted((ROOT / "firmware").rglob("*.py"))


@pytest.mark.parametrize("path", FIRMWARE_FILES, ids=[p.name for p in FIRMWARE_FILES])
def test_mpy_cross_compiles(path, tmp_path):
    mpy_cross = tool("mpy-cross")
    assert mpy_cross, "mpy-cross is not installed"
    out = tmp_path / (path.stem + ".mpy")
    result = run_in_lib([mpy_cross, "-march=armv6m", "-o", str(out), str(path)])
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:1] == b"M"
