"""The therapy and event log: the ring file (check script under MicroPython
and CPython), what Commands logs and what it must not, LOG on the wire, the
host's parser and `picostim log`, and the virtual board end to end."""

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from fakes import FakeEngine, Randomness
from memory_fs import MemoryFS
from mpy_checks import INTERPRETERS, SCRIPTS, interpreter, run_in_lib
from picostim.cli import print_log
from picostim.programmer import LogRecord, Programmer, ProgrammerError, parse_log
from picostim.pytest_plugin import answer_timeout
from picostim_fw import safety, service
from picostim_fw.auth import DEV_KEY, Auth, hmac_sha256
from picostim_fw.commands import Commands
from picostim_fw.event_log import E_LOG_WRITE, EventLog
from picostim_fw.stimulator import Stimulator
from picostim_fw.therapy import Therapy
from serial_helpers import BOARD, connect, reset

ROOT = Path(__file__).resolve().parents[1]
MIN_CHECKS = 800
WRONG = "00" * 32  # a wrong AUTH answer


@pytest.mark.parametrize("where", INTERPRETERS)
def test_event_log_checks(where):
    result = run_in_lib([*interpreter(where), str(SCRIPTS / "check_event_log.py")])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""  # nothing on the console (on a board, the protocol's port)
    words = result.stdout.split()
    assert words[0] == "OK" and int(words[1]) >= MIN_CHECKS, result.stdout


# ---- Commands with a log --------------------------------------------------------------


class TrainEngine(FakeEngine):
    """FakeEngine that also plays custom trains (as a start)."""

    def start_train(self, timing, program, cycles, loop=True):
        self.start(timing, program)


class Bench:
    """Commands as service.build wires them, with a log on an in-memory flash."""

    def __init__(self, key=DEV_KEY, capacity=64, hold=0):
        self.fs = MemoryFS()
        self.log = EventLog(self.fs, "/events.log", capacity, hold)
        self.saves = 0
        therapy = Therapy(BOARD, lambda program: safety.check(program, BOARD["safety"]))
        self.engine = TrainEngine()
        self.commands = Commands(
            therapy,
            Stimulator(BOARD, self.engine, therapy),
            Auth(key, Randomness("log nonce")),
            "picostim test",
            describe_safety=safety.describe,
            log=self.log,
            save=self.save,
        )
        self.now = 0
        self.answers = []  # every AUTH answer sent, to look for in the log

    def save(self):
        self.saves += 1

    def send(self, line):
        self.now += 7
        answer = self.commands.answer(line, self.now)
        return answer if isinstance(answer, str) else "".join(answer)  # LOG: the line its parts make

    def ok(self, line):
        answer = self.send(line)
        assert answer.startswith("OK"), (line, answer)
        return answer

    def login(self):
        nonce = self.ok("LOGIN").split("nonce=")[1]
        mac = hmac_sha256(DEV_KEY, bytes.fromhex(nonce)).hex()
        self.answers.append(mac)
        assert self.send("AUTH " + mac) == "OK role=clinician"

    def new(self, since):
        """(kind, role, detail) of every record from seq `since` on."""
        return [(r[3], r[4], r[5]) for r in self.log.records(since)]

    def mark(self):
        return self.log.last_seq + 1


def configured():
    bench = Bench()
    bench.login()
    bench.ok("SET amp=2mA ramp=0ms amp_min=1mA amp_max=4mA patient=amp,pw cathodes=2 anodes=3")
    bench.ok("LOGOUT")
    return bench


def test_accepted_changes_are_logged_with_the_role_that_made_them():
    bench = Bench()
    start = bench.mark()
    bench.login()
    bench.ok("SET amp=2.5mA pw=210us rate=60Hz cathodes=1,2 anodes=3 ramp=0ms name=tonic")
    bench.ok("ON")
    bench.ok("AMP UP")
    bench.ok("OFF")
    bench.ok("GROUP walking 2")
    bench.ok("GROUP walking")
    bench.ok("PROGRAM 1")
    bench.ok("RESTORE")
    bench.ok("TRAIN ADD 1ms 2ms")
    bench.ok("TRAIN PLAY LOOP")
    bench.ok("STOP")
    bench.ok("LOGOUT")
    bench.ok("AMP DOWN")
    bench.ok("ON")
    bench.ok("STOP")
    assert bench.new(start) == [
        ("LOGIN", "clinician", ""),
        ("SET", "clinician", "amp=2500uA pw=210us rate=60Hz cathodes=1,2 anodes=3 ramp=0ms name=tonic"),
        ("ON", "clinician", "program=1 amp=2500uA"),
        ("AMP", "clinician", "amp=2600uA"),
        ("OFF", "clinician", ""),
        ("GROUP", "clinician", "define=walking program=2"),
        ("GROUP", "clinician", "select=walking program=2"),
        ("PROGRAM", "clinician", "program=1 name=tonic"),
        ("RESTORE", "clinician", "program=1 amp=2600uA"),
        ("TRAIN", "clinician", "play intervals=2 loop=1"),
        ("STOP", "clinician", "reason=command"),
        ("LOGOUT", "clinician", "reason=command"),
        ("AMP", "patient", "amp=2500uA"),
        ("ON", "patient", "program=1 amp=2500uA"),
        ("STOP", "patient", "reason=command"),
    ]
    records = bench.log.records(start)
    assert [r[0] for r in records] == list(range(start, start + len(records)))
    assert [r[2] for r in records] == sorted(r[2] for r in records)  # uptime in order within the boot


def test_what_changes_nothing_logs_nothing():
    bench = configured()
    start = bench.mark()
    for line in ("STATUS", "LIMITS", "PROGRAMS", "GROUPS", "DIAG", "HELLO", "LOG", "LOGOUT", "OFF", "TRAIN"):
        bench.ok(line)
    bench.ok("ON")
    bench.ok("ON")  # already on: no second ON
    bench.ok("OFF")
    bench.ok("OFF")  # already off
    assert bench.new(start) == [("ON", "patient", "program=1 amp=2000uA"), ("OFF", "patient", "")]


REFUSED = [
    "SET rate=100Hz",  # LOCKED
    "SET amp=5mA",  # PATIENT_RANGE
    "SET amp=30mA",  # RANGE
    "SET amp=2mA amp=3mA",  # SYNTAX
    "SET ramp=1s",  # a clinician setting
    "SET volume=11",  # KEY
    "AMP SIDEWAYS",
    "PROGRAM 9",
    "PROGRAM one",
    "GROUP flying",
    "GROUP walking 2",  # ROLE
    "RESTORE now",
    "TRAIN ADD 1ms",  # ROLE
    "TRAIN PLAY",
    "ON please",
    "STOP now",
    "FROB",
    "LOG x",
    "LOG 1 17",
]


@pytest.mark.parametrize("line", REFUSED)
def test_a_refused_command_logs_nothing_and_saves_nothing(line):
    bench = configured()
    start, saves = bench.mark(), bench.saves
    answer = bench.send(line)
    assert answer.startswith("ERR "), answer
    assert bench.new(start) == []
    assert bench.saves == saves


def test_failed_logins_are_logged_and_lockout_too():
    bench = Bench()
    start = bench.mark()
    bench.ok("LOGIN")
    assert bench.send("AUTH " + WRONG).startswith("ERR AUTH ")
    assert bench.send("AUTH " + WRONG).startswith("ERR AUTH ")  # no challenge now
    for _ in range(4):
        bench.ok("LOGIN")
        bench.send("AUTH nothex")
    assert bench.send("LOGIN").startswith("ERR LOCKOUT ")
    assert bench.new(start) == [
        ("LOGIN_FAIL", "patient", "step=auth code=AUTH failures=1"),
        ("LOGIN_FAIL", "patient", "step=auth code=AUTH failures=1"),
        ("LOGIN_FAIL", "patient", "step=auth code=AUTH failures=2"),
        ("LOGIN_FAIL", "patient", "step=auth code=AUTH failures=3"),
        ("LOGIN_FAIL", "patient", "step=auth code=AUTH failures=4"),
        ("LOGIN_FAIL", "patient", "step=auth code=LOCKOUT failures=0"),
        ("LOGIN_FAIL", "patient", "step=login code=LOCKOUT failures=0"),
    ]
    keyless = Bench(key=None)
    start = keyless.mark()
    assert keyless.send("LOGIN").startswith("ERR AUTH ")
    assert keyless.new(start) == [("LOGIN_FAIL", "patient", "step=login code=AUTH failures=0")]


def test_a_session_ended_by_hello_or_login_is_logged():
    bench = Bench()
    bench.login()
    start = bench.mark()
    bench.ok("HELLO")
    bench.login()
    bench.ok("LOGIN")
    bench.ok("LOGOUT")  # no session left: nothing to log
    assert bench.new(start) == [
        ("LOGOUT", "clinician", "reason=hello"),
        ("LOGIN", "clinician", ""),
        ("LOGOUT", "clinician", "reason=login"),
    ]


def test_no_key_or_login_answer_ever_reaches_the_log():
    bench = Bench()
    for _ in range(3):
        bench.login()
        bench.ok("SET amp=1mA")
        nonce = bench.ok("LOGIN").split("nonce=")[1]
        wrong = hmac_sha256(b"not the key" * 3, bytes.fromhex(nonce)).hex()
        bench.answers.append(wrong)
        bench.send("AUTH " + wrong.upper())
    flash = bytes(bench.fs.files["/events.log"])
    log_text = bench.send("LOG 1 16") + " ".join(str(r) for r in bench.log.records())
    secrets = [DEV_KEY.hex(), DEV_KEY.hex().upper()] + bench.answers + [a.upper() for a in bench.answers]
    for secret in secrets:
        for part in (secret[:16], secret[16:32], secret[32:48], secret[48:]):
            assert part.encode() not in flash.lower() and part.encode() not in flash
            assert part.lower() not in log_text.lower()
    for i in range(len(DEV_KEY) - 8):
        assert DEV_KEY[i : i + 8] not in flash  # not as bytes either


def test_a_stored_change_marks_the_settings_unsaved_and_persist_saves_them_once():
    bench = Bench(hold=16)
    bench.login()
    bench.commands.persist()
    marked = []
    for line in (
        "SET amp=1mA ramp=0ms",
        "AMP UP",
        "PROGRAM 2",
        "GROUP g 2",
        "GROUP g",
        "RESTORE",
        "ON",
        "OFF",
        "STOP",
        "STATUS",
        "LOG",
        "TRAIN ADD 1ms",
        "TRAIN PLAY",
        "LOGOUT",
    ):
        bench.ok(line)
        marked.append((line, bench.commands.unsaved))
        bench.commands.unsaved = False
    assert [line for line, unsaved in marked if unsaved] == [
        "SET amp=1mA ramp=0ms",
        "AMP UP",
        "PROGRAM 2",
        "GROUP g 2",
        "GROUP g",
        "RESTORE",
    ]
    assert bench.saves == 0  # nothing on the answer path
    for line in ("AMP UP", "AMP UP", "AMP DOWN", "PROGRAM 1"):
        bench.ok(line)
    held = bench.log.pending
    assert bench.commands.pending() and held >= 4
    bench.commands.persist()
    assert bench.saves == 1 and bench.commands.saves == 2  # four changes, one save
    assert not bench.commands.pending() and bench.log.pending == 0
    bench.commands.persist()
    assert bench.saves == 1 and bench.commands.saves == 2  # nothing waited: nothing written


def test_persist_times_itself_and_pending_dates_from_the_first_change():
    bench = Bench()
    bench.commands.persist()
    bench.send("STATUS")
    assert not bench.commands.pending()
    bench.ok("AMP UP")
    first = bench.now
    bench.ok("AMP UP")
    assert bench.commands.since == first
    ticks = iter((100, 142))
    bench.commands.persist(lambda: next(ticks))
    assert bench.commands.save_ms == 42


def test_a_failing_save_is_a_fault_not_a_refusal():
    from picostim_fw.stim_program import StimError

    bench = Bench()

    def broken():
        raise StimError("SETTINGS_WRITE", "flash full")

    bench.commands.save = broken
    assert "amp=1500uA" in bench.ok("SET amp=1.5mA")
    bench.commands.persist()
    assert bench.commands.faults == ["SETTINGS_WRITE"]
    assert bench.ok("STATUS").endswith(" fault=SETTINGS_WRITE")

    def gone():
        raise OSError(28)

    bench.commands.save = gone
    bench.ok("AMP UP")
    bench.commands.persist()
    assert bench.commands.faults == ["SETTINGS_WRITE", "SAVE"]
    bench.commands.save = broken
    bench.ok("AMP UP")
    bench.commands.persist()
    assert bench.commands.faults == ["SAVE", "SETTINGS_WRITE"]  # each code once, newest last


def test_held_records_that_cannot_be_written_are_counted_lost():
    bench = Bench(hold=4)
    bench.login()
    bench.commands.persist()
    start = bench.mark()
    bench.ok("AMP UP")
    bench.ok("AMP DOWN")
    bench.fs.fail_writes = 28
    bench.commands.persist()
    assert bench.commands.log_fault == E_LOG_WRITE and bench.commands.log_lost == 2
    assert bench.ok("STATUS").endswith(" fault=LOG_WRITE")
    bench.fs.fail_writes = None
    bench.ok("AMP UP")
    bench.commands.persist()
    assert bench.new(start)[:2] == [("FAULT", "device", "code=LOG_WRITE lost=2"), ("AMP", "clinician", "amp=100uA")]


def test_log_full_the_command_still_answers_and_status_shows_the_fault():
    bench = configured()
    assert bench.ok("STATUS").endswith(" fault=-")
    start = bench.mark()
    bench.fs.fail_writes = 28
    answer = bench.ok("SET amp=3mA")
    assert "amp=3000uA" in answer and answer.endswith(" fault=LOG_WRITE")
    assert "state=on" in bench.ok("ON")  # on, though it could not be logged
    assert bench.commands.log_fault == E_LOG_WRITE and bench.commands.log_lost == 2
    assert bench.commands.log_event("STOP", "device", "reason=button", bench.now) is None
    assert bench.log.last_seq == start - 1
    bench.fs.fail_writes = None
    bench.ok("OFF")
    assert bench.new(start) == [("FAULT", "device", "code=LOG_WRITE lost=3"), ("OFF", "patient", "")]
    assert bench.commands.log_fault is None and bench.commands.log_lost == 0
    assert bench.ok("STATUS").endswith(" fault=LOG_WRITE")  # the fault stays until the next boot


def test_the_service_logs_through_log_event():
    bench = Bench()
    start = bench.mark()
    seq = bench.commands.log_event("STOP", "device", "reason=button", 1234)
    assert seq == start
    assert bench.log.records(start)[0][2:] == (1234, "STOP", "device", "reason=button")


# ---- LOG on the wire ----------------------------------------------------------------------


def test_log_answers_pages_of_at_most_16_oldest_first():
    bench = Bench()
    for i in range(40):
        bench.commands.log_event("AMP", "patient", f"amp={100 * i}uA", i)
    answer = bench.ok("LOG")
    page = parse_log(answer[3:])
    assert [r.seq for r in page.records] == list(range(31, 41)) and (page.last, page.next) == (40, 41)
    page = parse_log(bench.ok("LOG 5")[3:])
    assert [r.seq for r in page.records] == list(range(5, 21)) and page.next == 21
    page = parse_log(bench.ok("LOG 38 2")[3:])
    assert [r.seq for r in page.records] == [38, 39] and page.next == 40
    assert parse_log(bench.ok("LOG 41")[3:]) == parse_log("count=0 boot=1 last=40 next=41")
    assert bench.ok("LOG 9999") == "OK count=0 boot=1 last=40 next=9999"
    assert parse_log(bench.ok("LOG 0 1")[3:]).records[0] == LogRecord(1, 1, 0, "AMP", "patient", "amp=0uA")
    assert len(bench.ok("LOG 1 16")) < 2000


def test_log_answer_format():
    bench = Bench()
    bench.commands.log_event("BOOT", "device", "", 0)
    bench.commands.log_event("SET", "clinician", "cathodes=1,2 anodes=3", 1300)
    assert bench.ok("LOG") == (
        "OK count=2 boot=1 last=2 next=3 | 1,1,0,BOOT,device,- | 2,1,1300,SET,clinician,cathodes=1,2 anodes=3"
    )


@pytest.mark.parametrize(
    "line, code",
    [("LOG x", "SYNTAX"), ("LOG 1 2 3", "SYNTAX"), ("LOG -1", "SYNTAX"), ("LOG 1 0", "RANGE"), ("LOG 1 17", "RANGE")],
)
def test_log_refusals(line, code):
    assert Bench().send(line).startswith(f"ERR {code} ")


def test_log_without_a_log_and_with_an_unreadable_one():
    bench = Bench()
    bench.commands.log = None
    assert bench.send("LOG").startswith("ERR LOG_OPEN ")
    assert bench.commands.log_event("ON", "patient", "", 0) is None
    assert bench.ok("STATUS").endswith(" fault=-")
    assert "LOG" in bench.send("FROB")  # in the known-command list


def test_an_unreadable_log_is_refused_and_a_fault():
    bench = configured()
    bench.log.close()

    def broken(path, mode):
        raise OSError(5)

    bench.fs.open = broken
    assert bench.send("LOG").startswith("ERR LOG_READ ")
    assert bench.ok("STATUS").endswith(" fault=LOG_READ")


def test_any_role_may_read_the_log():
    bench = configured()
    assert bench.ok("LOG").startswith("OK count=")  # patient
    bench.login()
    assert bench.ok("LOG").startswith("OK count=")


# ---- service.build: the log on the flash root ---------------------------------------------------


def test_build_opens_the_log_next_to_the_key_and_logs_boot(tmp_path):
    root = str(tmp_path) + "/"
    commands = service.build(BOARD, FakeEngine(), DEV_KEY, root)
    assert (tmp_path / "events.log").stat().st_size == 256 * 128
    assert commands.faults == []
    commands.answer("SET amp=1mA", 5)
    assert commands.log.pending == 2  # BOOT and SET: held until the service persists them
    commands.persist()
    commands.log.close()
    commands = service.build(BOARD, FakeEngine(), DEV_KEY, root)
    records = commands.log.records()
    assert [(r[0], r[1], r[3], r[4]) for r in records] == [
        (1, 1, "BOOT", "device"),
        (2, 1, "SET", "patient"),
        (3, 2, "BOOT", "device"),
    ]
    assert records[0][5] == "fw=" + service.FIRMWARE_VERSION
    commands.log.close()


def test_build_without_a_usable_flash_runs_without_a_log(tmp_path):
    commands = service.build(BOARD, FakeEngine(), DEV_KEY, str(tmp_path / "missing") + "/")
    assert commands.log is None and commands.faults == ["LOG_OPEN"]
    assert commands.answer("STATUS").endswith(" fault=LOG_OPEN")
    assert commands.answer("SET amp=1mA").startswith("OK ")
    assert service.build(BOARD, FakeEngine(), DEV_KEY).log is None  # no flash root: no log


# ---- host: parser, Programmer.log paging, output forms ---------------------------------


def test_parse_log():
    page = parse_log("count=2 boot=3 last=56 next=57 | 55,3,1234,ON,patient,- | 56,2,9,SET,clinician,cathodes=1,2 x=y")
    assert (page.boot, page.last, page.next) == (3, 56, 57)
    assert page.records == [
        LogRecord(55, 3, 1234, "ON", "patient", ""),
        LogRecord(56, 2, 9, "SET", "clinician", "cathodes=1,2 x=y"),
    ]
    for bad in ("count=1 boot=1 last=1 next=2", "count=0 last=1", "count=1 boot=1 last=1 next=2 | 1,1,x,ON,patient,-"):
        with pytest.raises(ProgrammerError) as err:
            parse_log(bad)
        assert err.value.code == "PROTOCOL"


def board_over(bench):
    """A Programmer whose commands go straight to a bench's Commands."""
    board = Programmer.__new__(Programmer)
    sent = []

    def command(line):
        sent.append(line)
        answer = bench.send(line)
        if answer.startswith("ERR "):
            _, code, message = answer.split(" ", 2)
            raise ProgrammerError(code, message)
        return answer[3:]

    board.command = command  # type: ignore[method-assign]
    return board, sent


def test_programmer_log_pages_to_the_end():
    bench = Bench(capacity=32)
    for i in range(50):
        bench.commands.log_event("AMP", "patient", f"amp={i}uA", i)
    board, sent = board_over(bench)
    assert [r.seq for r in board.log()] == list(range(41, 51))
    everything = board.log(since=1)
    assert [r.seq for r in everything] == list(range(19, 51))  # what the ring of 32 holds
    assert sent[-2:] == ["LOG 1 16", "LOG 35 16"]  # the second page ends at the newest record
    assert [r.seq for r in board.log(since=45)] == list(range(45, 51))
    assert [r.seq for r in board.log(since=20, count=20)] == list(range(20, 40))
    assert [r.seq for r in board.log(count=3)] == [48, 49, 50]
    assert board.log(since=51) == []


def test_programmer_log_follows_records_added_while_paging():
    bench = Bench()
    for i in range(20):
        bench.commands.log_event("ON", "patient", "", i)
    board, _ = board_over(bench)
    original = board.command

    def command(line):
        bench.commands.log_event("OFF", "patient", "", 0)  # one more each time it asks
        return original(line)

    board.command = command  # type: ignore[method-assign]
    records = board.log(since=1)
    assert [r.seq for r in records] == list(range(1, len(records) + 1)) and len(records) >= 22


RECORDS = [LogRecord(1, 1, 0, "BOOT", "device", "fw=0.4.0"), LogRecord(2, 1, 61234, "SET", "patient", "a=1,2")]


def test_print_log_forms():
    out = io.StringIO()
    print_log(RECORDS, "csv", out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows == [
        ["seq", "boot", "uptime_ms", "kind", "role", "detail"],
        ["1", "1", "0", "BOOT", "device", "fw=0.4.0"],
        ["2", "1", "61234", "SET", "patient", "a=1,2"],
    ]
    out = io.StringIO()
    print_log(RECORDS, "json", out)
    assert json.loads(out.getvalue()) == [r.as_dict() for r in RECORDS]
    assert json.loads(out.getvalue())[1]["uptime_ms"] == 61234
    out = io.StringIO()
    print_log(RECORDS, "table", out)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["seq", "boot", "uptime", "kind", "role", "detail"]
    assert lines[2].split() == ["2", "1", "61.234s", "SET", "patient", "a=1,2"]


# ---- the virtual board (or --port) ------------------------------------------------------


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "picostim.cli", *args],
        capture_output=True,
        text=True,
        timeout=60 + 10 * answer_timeout(),  # the full-chip board answers in minutes
        cwd=ROOT,
    )


@pytest.mark.serial
def test_the_board_logs_a_session(board_port, device_key):
    with connect(board_port) as board:
        reset(board, device_key)
        start = board.log_page().last + 1
        board.set(amp="2mA")
        board.on()
        board.logout()
        board.amp_up()
        board.stop()
        with pytest.raises(ProgrammerError):
            board.command("AUTH " + WRONG)
        with pytest.raises(ProgrammerError):
            board.set(pw="100us")  # locked: not logged
        records = board.log(since=start)
        status = board.status()
    assert [(r.kind, r.role, r.detail) for r in records] == [
        ("SET", "clinician", "amp=2000uA"),
        ("ON", "clinician", "program=1 amp=2000uA"),
        ("LOGOUT", "clinician", "reason=command"),
        ("AMP", "patient", "amp=2100uA"),
        ("STOP", "patient", "reason=command"),
        ("LOGIN_FAIL", "patient", "step=auth code=AUTH failures=0"),
    ]
    assert [r.seq for r in records] == list(range(start, start + 6))
    assert status.fault == status.raw["fault"]  # "-" or the newest fault code


@pytest.mark.serial
def test_picostim_log_as_csv_and_json(board_port, device_key):
    with connect(board_port) as board:
        reset(board, device_key)
        start = board.log_page().last + 1
        board.logout()
        board.on()
        board.off()
    result = cli("log", "--since", str(start), "--csv", "--port", board_port)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(row["kind"], row["role"]) for row in rows[:3]] == [
        ("LOGOUT", "clinician"),
        ("ON", "patient"),
        ("OFF", "patient"),
    ]
    assert rows[0]["seq"] == str(start)
    result = cli("log", "--since", str(start), "--json", "--port", board_port)
    assert result.returncode == 0, result.stderr
    assert [r["kind"] for r in json.loads(result.stdout)][:3] == ["LOGOUT", "ON", "OFF"]
    result = cli("log", "--port", board_port)
    assert result.returncode == 0 and result.stdout.splitlines()[0].split()[:3] == ["seq", "boot", "uptime"]
    everything = json.loads(cli("log", "--all", "--json", "--port", board_port).stdout)
    assert [r["seq"] for r in everything] == list(range(everything[0]["seq"], everything[-1]["seq"] + 1))
    assert [(r["kind"], r["role"]) for r in everything if r["seq"] == start + 2] == [("OFF", "patient")]
    result = cli("log", "--since", "x", "--port", board_port)
    assert result.returncode == 2  # argparse


@pytest.mark.serial
@pytest.mark.usefixtures("vboard_only")
def test_the_log_survives_power_off(tmp_path):
    from picostim.vboard.launcher import SimProcess

    with SimProcess(flash=str(tmp_path)) as sim, connect(sim.port) as board:
        first = board.log_page()
        board.login()
        board.set(amp="1mA", ramp="0ms")
        board.on()
    with SimProcess(flash=str(tmp_path)) as sim, connect(sim.port) as board:
        second = board.log_page()
        records = board.log(since=1)
    assert [(r.seq, r.boot, r.kind) for r in records[:4]] == [
        (1, 1, "BOOT"),
        (2, 1, "LOGIN"),
        (3, 1, "SET"),
        (4, 1, "ON"),
    ]
    boots = [r for r in records if r.kind == "BOOT"]
    assert [(r.boot, r.role) for r in boots] == [(1, "device"), (2, "device")]
    assert first.boot == 1 and second.boot == 2 and boots[1].seq > 4
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
