"""`picostim lab` without a rack: clear errors, and the report read from
pytest's JUnit XML (the farm tier, test_docs_lab.py, runs the real thing)."""

import os
import subprocess
import sys

import pytest
from picostim.lab.run import BoardRun, read_junit, report


def lab(*args, path="/usr/bin:/bin"):
    env = dict(os.environ, PATH=path)
    return subprocess.run(
        [sys.executable, "-m", "picostim.cli", "lab", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_without_labgrid_the_error_says_how_to_install_it(tmp_path):
    if os.path.exists(os.path.join(os.path.dirname(sys.executable), "labgrid-client")):
        pytest.skip("this venv has labgrid (the farm tier covers it)")
    done = lab("run", "--coordinator", "127.0.0.1:1", "--out", str(tmp_path))
    assert done.returncode == 2
    assert "labgrid-client not found: install labgrid (`make lab-setup`" in done.stderr


def test_a_tag_must_be_key_value(tmp_path):
    done = lab("run", "--tag", "pico", "--out", str(tmp_path))
    assert done.returncode == 2 and "a tag is KEY=VALUE" in done.stderr


def test_the_report_counts_what_pytest_wrote(tmp_path):
    xml = tmp_path / "r.xml"
    xml.write_text(
        '<?xml version="1.0"?><testsuites><testsuite name="pytest" errors="1" failures="2" skipped="3" tests="10">'
        '<properties><property name="picostim_firmware" value="0.5.0"/></properties></testsuite></testsuites>'
    )
    run = BoardRun(place="vpico-1", seconds=12.5)
    read_junit(xml, run)
    assert (run.firmware, run.passed, run.failed, run.skipped) == ("0.5.0", 4, 3, 3)
    assert not run.ok
    assert report([run]).splitlines()[1].split() == ["vpico-1", "0.5.0", "4", "3", "3", "12.5s"]
