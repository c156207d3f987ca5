"""The fuzz of test_fuzz_parser against the running board: the virtual board
(the firmware under the MicroPython unix port, a pty as its port), or a real
one with `pytest --port`.

Inputs go out through pyserial from a writer thread in random chunks while
the test reads, so the board reads them in whatever pieces arrive; floods are
written faster than the board reads. The firmware's pure stack under CPython
(fuzz_inputs.Session), set up like the board's program 1, answers the same
bytes: every complete line must get exactly one answer from the board, in
order, with the code the model gives (a difference is a firmware bug, or one
of the MicroPython port). Patient-level and garbage input must leave STATUS,
LIMITS, PROGRAMS, GROUPS and TRAIN as they were.

So that the session's board stays usable for the suites after this one, the
fuzz holds back lines that would change what those suites rely on or lock the
login out: LOGIN (five wrong AUTH answers lock it for 60 s), program and
group selection and definition, and for the patient ON and STOP.
"""

import os
import random
import threading
import time

import fuzz_inputs as fz
import pytest
from picostim.auth import response
from picostim.programmer import open_port, parse_pairs
from picostim.pytest_plugin import on_fullchip
from picostim_fw import protocol
from picostim_fw.line_reader import LINE
from serial_helpers import connect, reset

pytestmark = pytest.mark.serial

SEED = int(os.environ.get("PICOSTIM_FUZZ_SEED", "20240611"))
PATIENT_CASES = 8000
CLINICIAN_CASES = 4000
FLOOD_LINES = 2000
BATCH = 200  # cases per batch of writes
ANSWER_TIMEOUT_S = 30.0
CTRL_C = 0x03


@pytest.fixture
def thousands_of_lines():
    """The fuzz sends thousands of lines (some of 64 KB); the full-chip board, at
    about 2% of real time and tens of ms of emulated time per answer, would take
    hours of wall time for them: there the fuzz runs on the firmware's pure stack
    (test_fuzz_parser) and on the fast board."""
    if on_fullchip():
        pytest.skip("thousands of lines: hours on the full-chip board (run on the fast board and a real Pico)")


class RawPort:
    """The board's port through pyserial: bytes out as given, answer lines in."""

    def __init__(self, port):
        self.serial = open_port(port, timeout=0.05)
        self.pending = b""
        self.other = []  # lines that are neither answers nor events (e.g. a REPL)
        self.events = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.serial.close()

    def handshake(self, timeout=10.0):
        """As the Python client connects: drop stale input, CAN LF, HELLO (patient role)."""
        self.serial.reset_input_buffer()
        self.pending = b""
        self.serial.write(b"\x18\nHELLO\n")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.read_line(deadline)
            if line is not None and line.startswith(b"OK picostim "):
                return line.decode()
        raise AssertionError(f"no HELLO answer in {timeout}s; other lines: {self.other[-5:]!r}")

    def read_line(self, deadline):
        while True:
            at = self.pending.find(b"\n")
            if at >= 0:
                line, self.pending = self.pending[:at], self.pending[at + 1 :]
                return line
            if time.monotonic() > deadline:
                return None
            self.pending += self.serial.read(max(1, self.serial.in_waiting))

    def answers(self, count, timeout=ANSWER_TIMEOUT_S):
        """The next `count` answer lines (events set aside); fewer if the board falls silent."""
        out: list = []
        deadline = time.monotonic() + timeout
        while len(out) < count:
            line = self.read_line(deadline)
            if line is None:
                break
            deadline = time.monotonic() + timeout
            text = line.decode("ascii", "replace")
            if line.startswith(b"EVT "):
                self.events.append(text)
            elif line == b"OK" or line.startswith((b"OK ", b"ERR ")):
                assert all(32 <= b < 127 for b in line), f"answer with a non-printable byte: {line!r}"
                out.append(text)
            else:
                self.other.append(text)
        return out

    def command(self, line, timeout=10.0):
        self.serial.write(line.encode() + b"\n")
        answers = self.answers(1, timeout)
        assert answers, f"no answer to {line!r}; other lines: {self.other[-5:]!r}"
        return answers[0]

    def login(self, key):
        nonce = parse_pairs(self.command("LOGIN"))["nonce"]
        answer = self.command("AUTH " + response(key, nonce))
        assert answer == "OK role=clinician", answer

    def send_all(self, data, rng, whole=False):
        """Write `data` from a thread in random chunks (or all in one write)."""

        def write():
            if whole or rng.random() < 0.3:
                self.serial.write(data)
                return
            at = 0
            while at < len(data):
                size = rng.choice((1, 5, 64, 300, 4096, 16384))
                self.serial.write(data[at : at + size])
                at += size
                if rng.random() < 0.02:
                    time.sleep(0.005)

        thread = threading.Thread(target=write, daemon=True)
        thread.start()
        return thread


def snapshot(port):
    """What patient-level input must not change (the answers' text)."""
    return {line: port.command(line) for line in ("STATUS", "LIMITS", "PROGRAMS", "GROUPS", "TRAIN")}


def mirror_lines(status, limits):
    """Clinician SETs that give a model the board's program 1: the setting,
    then the patient's windows and keys and the name (one line would be too long)."""
    kv, lim = parse_pairs(status), parse_pairs(limits)
    setting = [f"{key}={kv[key]}" for key in protocol.STATUS_KEYS if key in kv]
    windows = [f"{key}={lim[key]}" for key in protocol.LIMIT_KEYS if key in lim]
    return ("SET " + " ".join(setting), "SET " + " ".join(windows + [f"name={kv['name']}"]))


def prepare(board_port, device_key, patient="none"):
    """Program 1 at the serial suites' setting with `patient` keys for the
    patient, no custom train. Returns the clinician lines that set a model up
    alike (all but the last: program 1's whole setting)."""
    with connect(board_port) as board:
        reset(board, device_key)
        assert board.send("TRAIN CLEAR").startswith("OK"), "TRAIN CLEAR refused"
        assert board.send(f"SET patient={patient}").startswith("OK ")
        status, limits = board.send("STATUS")[3:], board.send("LIMITS")[3:]
    return (*mirror_lines(status, limits), "TRAIN CLEAR")


def held_back(text, phase):
    """Lines the fuzz does not send to the shared board (see the module docstring)."""
    words = text.split()
    name = words[0].upper()
    if name in ("LOGIN", "PROGRAM", "GROUP", "REPL", "ECHO"):
        return True
    return phase == "patient" and name in ("ON", "STOP")


def cases(rng, count, phase, ctrl_c, framing):
    """`count` mutated lines for `phase` ("patient" or "clinician"), each
    ending a line, none held back; `framing` follows the stream."""
    patient_lines, clinician_lines = fz.corpus()
    if phase == "clinician":
        mutator = fz.Mutator(rng, clinician_lines, clean=0.3)
    else:
        mutator = fz.Mutator(rng, patient_lines + clinician_lines, clean=0.15)
    out: list = []
    while len(out) < count:
        if phase == "clinician" and rng.random() < 0.05:
            out.append(b"ON\n")  # mostly with stimulation running
            continue
        case = mutator.case()
        if not case.endswith((b"\n", b"\r")):
            case += b"\n"
        if not ctrl_c:
            case = case.replace(bytes((CTRL_C,)), b"\x18")
        trial = framing.copy()
        if any(kind == LINE and held_back(text, phase) for kind, text in trial.feed(case)):
            continue
        framing.buf, framing.after_cr = trial.buf, trial.after_cr
        out.append(case)
    return out


def exchange(port, model, data, rng, what, whole=False):
    """Send `data`; the board's answers must be the model's, code for code, in order."""
    framing = model.framing.copy()
    lines = framing.feed(data)
    model.alternatives = []
    expected = model.send(data)
    accepted = model.alternatives
    started = time.monotonic()
    writer = port.send_all(data, rng, whole)
    got = port.answers(len(expected))
    writer.join(ANSWER_TIMEOUT_S)
    elapsed = time.monotonic() - started
    assert not port.other, f"{what}: lines that are no answers: {port.other[:5]!r}"
    for i, answer in enumerate(got):
        code = fz.answer_code(answer)
        kind, text = lines[i]
        fz.expected_code(kind, code)
        assert code in accepted[i], (
            f"{what}: answer {i + 1} of {len(expected)} to {text!r} ({kind}): board {answer[:160]!r}, "
            f"model {expected[i][:160]!r} (seed {SEED})"
        )
    assert len(got) == len(expected), (
        f"{what}: {len(got)} answers to {len(expected)} lines; last line {lines[len(got)] if got else lines[0]!r}"
    )
    return len(expected), elapsed


@pytest.fixture(scope="module")
def ctrl_c_is_data(board_port):
    """Whether 0x03 inside a line is an ordinary byte while the firmware serves
    (the line refused with ENCODING, the board still answering). Where it is
    not, the board is brought back (Ctrl-D at its REPL restarts it) and the
    fuzz sends CAN in its place."""
    with RawPort(board_port) as port:
        port.handshake()
        port.serial.write(b"SET amp=1\x03mA\n\x03\nSTA\x03TUS\nHELLO\n")
        answers = port.answers(4, timeout=5.0)
        codes = [a.split()[1] if a.startswith("ERR ") else a[:12] for a in answers]
        if codes == ["ENCODING", "ENCODING", "ENCODING", "OK picostim "]:
            return True, ""
        seen = f"answers {answers!r}, other lines {port.other[-6:]!r}"
        for _ in range(3):
            port.serial.write(b"\r\n\x04")  # at a REPL: Ctrl-D restarts the firmware
            time.sleep(1.0)
            try:
                port.handshake(timeout=5.0)
                break
            except AssertionError:
                continue
        return False, seen


def test_ctrl_c_inside_a_line_is_refused_and_the_board_keeps_running(ctrl_c_is_data):
    ok, seen = ctrl_c_is_data
    assert ok, f"0x03 inside a line should earn ERR ENCODING and the board keep serving; {seen}"


@pytest.mark.usefixtures("thousands_of_lines")
def test_patient_level_fuzz_changes_nothing(board_port, device_key, ctrl_c_is_data):
    setup = prepare(board_port, device_key)
    model = fz.Session("patient", setup=setup, label="vboard patient")
    rng = random.Random(f"{SEED}:vboard:patient")
    with RawPort(board_port) as port:
        port.handshake()
        before = snapshot(port)
        framing = model.framing.copy()
        all_cases = cases(rng, PATIENT_CASES, "patient", ctrl_c_is_data[0], framing)
        all_cases += [
            bytes(c) for c in fz.sweep_cases(["SET amp=2mA", "AMP UP"]) if ctrl_c_is_data[0] or CTRL_C not in c
        ]
        lines = 0
        elapsed = 0.0
        for at in range(0, len(all_cases), BATCH):
            n, dt = exchange(port, model, b"".join(all_cases[at : at + BATCH]), rng, f"patient batch {at // BATCH}")
            lines += n
            elapsed += dt
        assert snapshot(port) == before
        assert port.command("HELLO").startswith("OK picostim ")
        assert port.command("STATUS") == before["STATUS"]
    print(f"patient fuzz: {len(all_cases)} inputs, {lines} lines answered, {lines / elapsed:.0f} lines/s")


@pytest.mark.usefixtures("thousands_of_lines")
def test_a_flood_faster_than_the_board_reads(board_port, device_key, ctrl_c_is_data):
    """2,000 lines in one write: every one answered, in order, none lost."""
    setup = prepare(board_port, device_key)
    model = fz.Session("patient", setup=setup, label="vboard flood")
    mix = [
        b"STATUS",
        b"LIMITS",
        b"FOO bar",
        b"",
        b"SET amp=1\x00mA",
        b"X" * 300,
        b"TRAIN",
        b"SET pw=100us",
        b"GROUPS",
        b"\xff\xfe\xc3\x28",
        b"AMP UP",
        b"SET amp=1mA",
        b"HELLO",
        b"STA\x18TUS",
        b"\t",
        b"PROGRAMS",
    ]
    lines = [mix[i % len(mix)] for i in range(FLOOD_LINES)]
    data = b"\n".join(lines) + b"\n"
    with RawPort(board_port) as port:
        port.handshake()
        before = snapshot(port)
        framing = model.framing.copy()
        assert len(framing.feed(data)) == FLOOD_LINES
        n, elapsed = exchange(port, model, data, random.Random(SEED), "flood", whole=True)
        assert n == FLOOD_LINES
        assert snapshot(port) == before
    print(f"flood: {FLOOD_LINES} lines ({len(data)} bytes) in one write, all answered in {elapsed:.1f}s")


@pytest.mark.usefixtures("thousands_of_lines")
def test_control_bytes_huge_lines_and_a_timeout(board_port, device_key, ctrl_c_is_data):
    setup = prepare(board_port, device_key)
    model = fz.Session("patient", setup=setup, label="vboard control")
    rng = random.Random(f"{SEED}:vboard:control")
    with RawPort(board_port) as port:
        port.handshake()
        before = snapshot(port)
        controls = [b for b in range(32) if b not in (10, 13) and (b != CTRL_C or ctrl_c_is_data[0])] + [127]
        data = b"".join(b"SET amp=" + bytes((b,)) + b"2mA\n" for b in controls)
        data += b"".join(b"STATUS" + bytes((b,)) + b"\n" for b in range(128, 256))
        exchange(port, model, data, rng, "control bytes")
        for size in (fz.LINE_MAX, fz.LINE_MAX + 1, 10240, 65536):
            exchange(port, model, b"S" * size + b"\r\n", rng, f"a line of {size} bytes")
        port.serial.write(b"SET amp=1\x00")  # then silence: the partial line is dropped
        answer = port.answers(1, timeout=fz.TIMEOUT_MS / 1000 + 5)
        assert answer and answer[0].startswith("ERR TIMEOUT "), answer
        model.send(b"SET amp=1\x00")
        model.tick(fz.TIMEOUT_MS + 10, step=500)
        exchange(port, model, b"mA\nSTATUS\n", rng, "after the timeout")
        assert snapshot(port) == before


@pytest.mark.usefixtures("thousands_of_lines")
def test_clinician_level_fuzz_stays_in_the_limits(board_port, device_key, ctrl_c_is_data):
    """Mutated clinician commands on program 1: the board's answers are the
    model's, and so is program 1's setting at the end."""
    setup = prepare(board_port, device_key, patient="amp")
    model = fz.Session("clinician", setup=setup, label="vboard clinician")
    rng = random.Random(f"{SEED}:vboard:clinician")
    with RawPort(board_port) as port:
        port.handshake()
        port.login(device_key)
        framing = model.framing.copy()
        all_cases = cases(rng, CLINICIAN_CASES, "clinician", ctrl_c_is_data[0], framing)
        try:
            for at in range(0, len(all_cases), BATCH // 2):
                if model.role() == "patient":  # the fuzz logged out (HELLO, LOGOUT)
                    port.login(device_key)
                    model.login()
                exchange(port, model, b"".join(all_cases[at : at + BATCH // 2]), rng, f"clinician batch {at}")
            board = parse_pairs(port.command("STATUS"))
            mine = parse_pairs(model.commands.status(model.now))
            keys = list(protocol.STATUS_KEYS) + ["program", "name", "role"]
            assert {k: board.get(k) for k in keys} == {k: mine.get(k) for k in keys}
            assert parse_pairs(port.command("LIMITS")) == parse_pairs(model.commands.answer("LIMITS", model.now))
            started = sum(1 for call in model.engine.calls if call[0] in ("start", "train"))
            print(f"clinician fuzz: {len(all_cases)} inputs, {model.lines} lines, codes {model.codes}")
            print(f"clinician fuzz: {started} starts of stimulation, {len(port.events)} events from the board")
        finally:
            port.handshake()
            port.login(device_key)
            port.command("STOP")
            port.command("TRAIN CLEAR")
            for line in setup[:-1]:  # program 1 as it was
                assert port.command(line).startswith("OK "), line
