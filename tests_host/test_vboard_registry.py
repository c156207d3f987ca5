"""The registry of running virtual boards that `picostim ports` lists."""

import json
import os
import subprocess
import sys

import pytest
from picostim.vboard import registry


@pytest.fixture(autouse=True)
def runtime(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    return tmp_path / "picostim"


def dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_register_lists_a_running_board_and_unregister_removes_it(runtime):
    entry = registry.register("/dev/pts/9", os.getpid(), "sim.vcd")
    assert entry.parent == runtime and oct(runtime.stat().st_mode & 0o777) == "0o700"
    assert registry.running() == [registry.VirtualBoard("/dev/pts/9", os.getpid(), "sim.vcd")]
    registry.unregister(os.getpid())
    assert registry.running() == []
    registry.unregister(os.getpid())  # twice is harmless


def test_entries_of_dead_processes_and_broken_files_are_ignored_and_removed(runtime):
    registry.register("/dev/pts/1", dead_pid())
    registry.register("/dev/pts/2", os.getpid())
    (runtime / "77.json").write_text("{not json")
    assert [b.port for b in registry.running()] == ["/dev/pts/2"]
    assert sorted(p.name for p in runtime.iterdir()) == [f"{os.getpid()}.json"]


def test_ports_lists_the_registered_boards(runtime):
    registry.register("/dev/pts/42", os.getpid(), "run.vcd")
    registry.register("/dev/pts/43", dead_pid())
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime.parent)}
    run = [sys.executable, "-m", "picostim.cli", "ports"]
    text = subprocess.run(run, capture_output=True, text=True, env=env, check=True).stdout
    assert f"/dev/pts/42  virtual board (picostim sim, pid {os.getpid()}, trace run.vcd)" in text
    assert "/dev/pts/43" not in text
    listed = json.loads(subprocess.run([*run, "--json"], capture_output=True, text=True, env=env, check=True).stdout)
    assert listed["virtual"] == [{"port": "/dev/pts/42", "pid": os.getpid(), "trace": "run.vcd"}]
