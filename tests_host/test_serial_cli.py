"""The picostim CLI as a user runs it, against the board under test."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import serial
from picostim.programmer import ProgrammerError
from picostim.pytest_plugin import answer_timeout
from serial_helpers import connect, reset

pytestmark = pytest.mark.serial
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _device_key_file(request, monkeypatch):
    """A real board's key (pytest --key FILE) reaches the CLI as $PICOSTIM_KEY."""
    key = request.config.getoption("--key")
    if key:
        monkeypatch.setenv("PICOSTIM_KEY", key)
    else:
        monkeypatch.delenv("PICOSTIM_KEY", raising=False)
    monkeypatch.setenv("PICOSTIM_TIMEOUT", str(answer_timeout()))  # the full-chip board answers in minutes


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "picostim.cli", *args],
        capture_output=True,
        text=True,
        timeout=60 + 10 * answer_timeout(),
        cwd=ROOT,
    )


def test_the_programmer_takes_its_default_timeout_from_the_environment(monkeypatch):
    from picostim.programmer import default_timeout

    monkeypatch.delenv("PICOSTIM_TIMEOUT", raising=False)
    assert default_timeout(2.0) == 2.0
    monkeypatch.setenv("PICOSTIM_TIMEOUT", "45")
    assert default_timeout(2.0) == 45.0
    for bad in ("0", "-3", "soon", "nan"):
        monkeypatch.setenv("PICOSTIM_TIMEOUT", bad)
        with pytest.raises(ValueError, match="is not a number of seconds"):
            default_timeout(2.0)


def test_status_set_on_off_through_the_cli(board_port):
    assert cli("stop", "--port", board_port).returncode == 0
    result = cli("set", "pw=120us", "--port", board_port)
    assert result.returncode == 1 and "LOCKED" in result.stderr  # the patient may not
    args = ("amp=1.5mA", "pw=120us", "rate=80Hz", "cathodes=1,2", "anodes=6", "ramp=0ms", "amp_max=20mA")
    result = cli("set", *args, "--clinician", "--port", board_port)
    assert result.returncode == 0, result.stderr
    assert "amplitude  1.5 mA, step 0.1 mA; patient window 0..20 mA" in result.stdout
    assert "cathodes 1,2, anodes 6" in result.stdout
    assert cli("on", "--port", board_port).stdout.startswith("state      on")
    assert "amplitude  1.6 mA" in cli("amp", "up", "--port", board_port).stdout
    result = cli("status", "--port", board_port)
    assert result.returncode == 0 and result.stdout.startswith("state      on"), result.stdout
    assert "pulse      120 us, gap 20 us, 80 Hz" in result.stdout
    assert len(result.stdout.splitlines()) == 8  # a short block, not the 370-character STATUS line
    assert cli("off", "--port", board_port).returncode == 0


def test_login_reports_the_clinician_role_and_a_wrong_key_fails(board_port, tmp_path):
    result = cli("login", "--port", board_port)
    assert result.returncode == 0 and result.stdout.startswith("role=clinician"), result.stderr
    wrong = tmp_path / "wrong.key"
    wrong.write_text("00" * 32 + "\n")
    result = cli("login", "--key", str(wrong), "--port", board_port)
    assert result.returncode == 1 and "AUTH" in result.stderr
    assert cli("login", "--port", board_port).returncode == 0  # one failure is not a lockout


def test_a_refusal_exits_1_with_its_code(board_port):
    result = cli("set", "amp=30mA", "--port", board_port)
    assert result.returncode == 1
    assert "RANGE" in result.stderr


def test_send_prints_the_raw_answer(board_port):
    result = cli("send", "FROB", "--port", board_port)
    assert result.returncode == 1
    assert result.stdout.startswith("ERR UNKNOWN ")
    result = cli("send", "HELLO", "--port", board_port)
    assert result.returncode == 0 and result.stdout.startswith("OK picostim ")


def test_missing_port_exits_2_with_a_clear_message(tmp_path):
    result = cli("status", "--port", str(tmp_path / "ttyNOPE"))
    assert result.returncode == 2
    assert "no such port" in result.stderr


def test_ports_lists_without_error():
    result = cli("ports")
    assert result.returncode == 0 and result.stdout.strip()


def test_deploy_plan_installs_every_module_then_resets():
    result = cli("deploy", "--dry-run")
    assert result.returncode == 0, result.stderr
    modules = sorted(p.stem for p in (ROOT / "firmware" / "lib" / "picostim").glob("*.py"))
    assert "__init__" in modules and "service" in modules
    command = result.stdout.splitlines()[-1]
    for name in modules:  # one package on the board: /lib/picostim
        assert f"build/mpy/picostim/{name}.mpy :/lib/picostim/{name}.mpy" in command
        assert (ROOT / "build" / "mpy" / "picostim" / f"{name}.mpy").read_bytes()[:1] == b"M"
    assert ":/lib/service.mpy" not in command
    assert "firmware/main.py :/main.py" in command and "boards/pico.json :/board.json" in command
    assert command.endswith("+ reset")


def test_deploy_refuses_an_unknown_board():
    result = cli("deploy", "--board", "nope", "--dry-run")
    assert result.returncode == 2 and "no board profile" in result.stderr


@pytest.mark.usefixtures("vboard_only")
def test_deploy_first_takes_a_running_board_out_of_service():
    from picostim.deploy import leave_service
    from picostim.vboard.launcher import SimProcess

    with SimProcess() as sim:
        assert "service stopped" in leave_service(sim.port, None)  # the sim's key is the development key
        with serial.Serial(sim.port, timeout=5) as port:
            port.write(b"\r\n")
            assert b">>>" in port.read_until(b">>> ")  # MicroPython's REPL, free for mpremote


def test_adaptive_from_the_cli_and_the_api(board_port, device_key):
    with connect(board_port) as board:
        reset(board, device_key)
        assert board.adaptive("max", "left", "20mA")["max_left"] == "20000uA"
        assert board.adaptive("off")["enabled"] == "0"
        status = board.status()
        assert status.adaptive is False
        assert status.posture in ("-", "upright", "supine", "prone", "left", "right", "moving")
    result = cli("adaptive", "--port", board_port)
    assert result.returncode == 0 and "enabled=0" in result.stdout, result.stdout + result.stderr


def test_every_query_command_answers_json(board_port):
    status = json.loads(cli("status", "--json", "--port", board_port).stdout)
    assert status["state"] in ("off", "on", "stopping") and isinstance(status["cathodes"], list)
    assert status["limits"]["patient"]  # the window travels with it
    for command, key in (
        ("hello", "protocol"),
        ("diag", "uptime_ms"),
        ("programs", "active"),
        ("groups", "active"),
        ("limits", "amp_max"),
        ("adaptive", "enabled"),
        ("train", "max"),
    ):
        result = cli(command, "--json", "--port", board_port)
        assert result.returncode == 0, result.stderr
        assert key in json.loads(result.stdout), (command, result.stdout)
    assert cli("ports", "--json").returncode == 0


def test_a_closed_pipe_ends_quietly(board_port):
    for command in ("log --all", "impedance --json", "set --help"):
        shell = f"{sys.executable} -m picostim.cli {command} --port {board_port} | head -1"
        result = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True, text=True, cwd=ROOT)
        assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr
        assert result.stdout.strip(), command


def test_a_role_refusal_says_how_to_log_in(board_port):
    result = cli("adaptive", "on", "--port", board_port)
    assert result.returncode == 1 and "ROLE" in result.stderr
    assert "--clinician" in result.stderr and "--key" in result.stderr


def test_train_from_the_cli_and_the_api(board_port, device_key):
    with connect(board_port) as board:
        reset(board, device_key)
        assert board.train_clear() == {"length": 0, "max": 1024}
        assert board.train_add("1ms", 2000, "1.5ms") == {"length": 3, "max": 1024}
        with pytest.raises(ProgrammerError) as refused:
            board.train_add("1ms", "0.5us")
        assert refused.value.code == "VALUE" and board.train()["length"] == 3  # all or nothing
        status = board.train_play()
        assert status.state == "on" and status.phase == "train"
        board.stop()
    assert json.loads(cli("train", "clear", "--clinician", "--json", "--port", board_port).stdout)["length"] == 0
    result = cli("train", "add", "1ms", "2ms", "--clinician", "--port", board_port)
    assert result.returncode == 0 and result.stdout.strip() == "length=2 max=1024", result.stdout
    assert cli("train", "add", "1ms", "--port", board_port).returncode == 1  # the patient may not
    result = cli("train", "play", "--loop", "--clinician", "--json", "--port", board_port)
    assert result.returncode == 0 and json.loads(result.stdout)["phase"] == "train", result.stdout
    assert cli("train", "--json", "--port", board_port).returncode == 0
    assert cli("stop", "--port", board_port).returncode == 0


def test_every_subcommand_has_a_description_and_an_example():
    from picostim.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name in ("status", "set", "amp", "program", "group", "log", "adaptive", "impedance", "train", "ports", "send"):
        text = sub.choices[name].format_help()
        assert "example:\n  picostim " + name in text, name
    text = sub.choices["set"].format_help()
    for key in ("amp", "pw", "rate", "ramp", "amp_max", "patient", "name"):
        assert f"\n  {key} " in text, key
    assert "[uA, mA]" in text and "[Hz, kHz]" in text and "[ms, s, min]" in text
    assert "clinician allows it" in text.split("\n  amp ")[1].split("\n")[0]
    assert text.split("\n  ramp ")[1].split("\n")[0].endswith("; clinician")


def test_a_bad_picostim_timeout_is_named_and_nothing_is_sent(monkeypatch):
    monkeypatch.setenv("PICOSTIM_TIMEOUT", "soon")
    result = cli("status", "--port", "/dev/null")
    assert result.returncode == 1
    assert "PICOSTIM_TIMEOUT='soon' is not a number of seconds" in result.stderr
