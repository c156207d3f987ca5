"""What `picostim deploy` does to a board's /lib before it copies the package,
run under MicroPython's unix port on a directory standing in for the flash."""

import subprocess

from mpy_checks import micropython
from picostim import deploy


def prepare(lib, files=()):
    """The files (paths under `lib`), then deploy's board-side preparation run on `lib` as /lib;
    what is left there."""
    for name in files:
        (lib / name).parent.mkdir(parents=True, exist_ok=True)
        (lib / name).write_bytes(b"x")
    code = deploy._prepare_lib().replace("'/lib", f"'{lib}")
    result = subprocess.run([micropython(), "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return sorted(str(p.relative_to(lib)) for p in lib.rglob("*"))


def test_prepare_lib_keeps_the_users_modules_and_drops_only_picostims_leftovers(tmp_path):
    old_layout = ("pulse_engine.mpy", "service.mpy", "board.mpy")
    left = prepare(tmp_path / "lib", old_layout + ("mine.py", "mine.mpy", "picostim/old.py", "picostim/store.mpy"))
    # the flat modules of a deploy from before the package, and stale sources in the package, go
    assert left == ["mine.mpy", "mine.py", "picostim", "picostim/store.mpy"]


def test_prepare_lib_keeps_a_users_module_named_like_one_of_picostims(tmp_path):
    # no flat picostim there (no pulse_engine.mpy): a board.mpy is the user's own
    left = prepare(tmp_path / "lib", ("board.mpy", "store.py", "picostim/service.mpy"))
    assert left == ["board.mpy", "picostim", "picostim/service.mpy", "store.py"]


def test_prepare_lib_makes_the_package_directory_on_a_blank_flash(tmp_path):
    assert prepare(tmp_path / "lib") == ["picostim"]  # /lib made too


def test_deploy_waits_for_the_firmware_to_answer_and_says_what_started():
    from picostim.vboard.launcher import SimProcess

    with SimProcess() as sim:
        assert deploy.wait_for_firmware(sim.port, 30).startswith("firmware started: picostim fw=")


def test_deploy_says_so_when_the_firmware_does_not_answer(tmp_path, monkeypatch):
    import pytest

    with pytest.raises(SystemExit, match="the firmware did not answer within 1s after the reset"):
        deploy.wait_for_firmware(str(tmp_path / "no-such-port"), 1)
    monkeypatch.setenv("PICOSTIM_TIMEOUT", "soon")
    with pytest.raises(SystemExit, match="PICOSTIM_TIMEOUT='soon' is not a number of seconds"):
        deploy.wait_for_firmware(str(tmp_path / "no-such-port"), 1)


def test_the_port_to_wait_on_is_found_before_the_reset(monkeypatch, capsys):
    monkeypatch.delenv("PICOSTIM_PORT", raising=False)
    assert deploy._port_to_wait_on("/dev/ttyACM7") == "/dev/ttyACM7"
    monkeypatch.setattr("picostim.programmer.find_ports", lambda: [])
    assert deploy._port_to_wait_on(None) is None
    assert "not waiting for the firmware after the reset" in capsys.readouterr().out


def test_a_board_left_at_its_repl_is_reported_as_not_running_the_firmware():
    import pytest
    from picostim.programmer import Programmer
    from picostim.vboard.launcher import SimProcess

    with SimProcess() as sim:
        with Programmer(sim.port, timeout=10) as board:
            board.login()
            assert board.send("REPL").startswith("OK")
        with pytest.raises(SystemExit, match="a MicroPython REPL answered"):
            deploy.wait_for_firmware(sim.port, 4)


def test_the_default_wait_grows_with_the_answer_timeout(monkeypatch):
    import pytest

    monkeypatch.delenv("PICOSTIM_TIMEOUT", raising=False)
    assert deploy.default_wait() == 30.0
    monkeypatch.setenv("PICOSTIM_TIMEOUT", "60")  # the full-chip board
    assert deploy.default_wait() == 600.0
    monkeypatch.setenv("PICOSTIM_TIMEOUT", "later")
    with pytest.raises(SystemExit, match="PICOSTIM_TIMEOUT='later' is not a number of seconds"):
        deploy.default_wait()
