"""Fuzz inputs for the serial protocol and the checks every input must pass.

Shared by tests_host/test_fuzz_parser.py (the firmware's pure stack under
CPython), tests_host/test_fuzz_vboard.py (the running virtual board) and
bench/fuzz_bench.py (the long run). Needs the firmware's package as picostim_fw
and tests_host/mpy on sys.path (tests_host/conftest.py puts them there).

    run = run_fuzz(seed=1, plan={"patient": 1000, "clinician": 1000})
    run.inputs, run.lines, run.failures

The pieces:

* a corpus of valid commands: every command of docs/PROTOCOL.md for both
  roles, the examples the document gives, and one SET per setting key;
* `Mutator`: seeded byte-level mutations of those commands (bit flips, byte
  insert/delete/duplicate, splices, NUL and every control byte, 0x80-0xFF and
  invalid UTF-8, CR/LF/CRLF in odd places, huge lines, Ctrl-C and CAN inside a
  line, numbers at their edges, case, blanks), and a random chunking of the
  byte stream;
* `Framing`: an independent model of the line framing of docs/PROTOCOL.md,
  which says for each complete line what the board must answer it with
  (LONG, ENCODING, EMPTY, or a command);
* `Session`: LineReader feeding Commands as service.build() wires them, over
  `TrainFakeEngine`, with a fake clock, checking after every line: exactly one
  well-formed answer with a documented code; the framing's verdict; a refused
  command changes neither STATUS nor any stored setting nor the engine; the
  patient changes only what the clinician allowed, inside its windows; the
  role becomes clinician only by a right AUTH; every program the engine gets
  is valid and inside the absolute safety limits.
"""

from __future__ import annotations

import importlib
import itertools
import json
import random
import re
from pathlib import Path

from fakes import FakeEngine
from picostim_fw import protocol, safety, service
from picostim_fw.auth import DEV_KEY, hmac_sha256
from picostim_fw.line_reader import LINE, LineReader
from picostim_fw.stim_program import StimError
from picostim_fw.therapy import CLINICIAN, PATIENT

ROOT = Path(__file__).resolve().parents[1]
BOARD = json.loads((ROOT / "boards" / "pico.json").read_text())
LINE_MAX = BOARD["serial"]["line_max"]
TIMEOUT_MS = BOARD["serial"]["line_timeout_ms"]
PROTOCOL_DOC = ROOT / "docs" / "PROTOCOL.md"
CR, LF = 13, 10

FRAMING_CODES = ("LONG", "ENCODING", "EMPTY", "TIMEOUT")
COMMAND_NAMES = (
    "HELLO STATUS SET ON OFF STOP AMP PROGRAM PROGRAMS GROUP GROUPS RESTORE LIMITS TRAIN LOGIN AUTH LOGOUT DIAG ECHO"
).split()
KEY_OF_FIELD = {field: key for key, (field, _, _) in protocol.SETTINGS.items()}  # amp_ua -> amp


def documented_codes(text=None):
    """The codes of the Errors table of docs/PROTOCOL.md (the board's, not the client's)."""
    text = PROTOCOL_DOC.read_text() if text is None else text
    section = text.split("\n## Errors", 1)[1].split("Codes raised only by the Python client", 1)[0]
    return frozenset(re.findall(r"^\| `([A-Z_]+)` \|", section, re.M))


def doc_commands(text=None):
    """Every command line the document shows a host sending (`> ...`) and the
    example inputs of its Errors table."""
    text = PROTOCOL_DOC.read_text() if text is None else text
    out = []
    for line in text.splitlines():
        if line.startswith("> ") and not line.startswith("> ("):
            out.append(re.split(r"\s{2,}\(", line[2:])[0].strip())
    section = text.split("\n## Errors", 1)[1].split("Codes raised only by the Python client", 1)[0]
    out += re.findall(r"`([A-Za-z][^`]*)`(?: \(clinician\))? →", section)
    return [line for line in dict.fromkeys(out) if line and "…" not in line]


# Every code the Errors table of docs/PROTOCOL.md lists: the only codes an answer may carry.
DOCUMENTED_CODES = documented_codes()


# ---- the corpus -----------------------------------------------------------------------------

HEX64 = "cdcb439484ccb9b91f67cc60dcaa196ddab7675380d5896968ebf1a3f5e0a393"
# A value of the right form for each setting key; a key added later gets "1".
SAMPLE_VALUES = {
    "amp": "2.5mA",
    "pw": "210us",
    "ipg": "20us",
    "rate": "60Hz",
    "asym": "2",
    "cathodes": "1,4",
    "anodes": "6",
    "burst": "5",
    "burst_rate": "500Hz",
    "step": "200uA",
    "ramp": "1s",
    "cycle_on": "30s",
    "cycle_off": "1.5min",
    "train": "120min",
    "amp_min": "1mA",
    "amp_max": "4mA",
    "pw_min": "100us",
    "pw_max": "300us",
    "rate_min": "20Hz",
    "rate_max": "100Hz",
    "patient": "amp,pw",
    "name": "tonic",
    "trigger": "edge",
    "trigger_pulses": "3",
}
PATIENT_CORPUS = [
    "HELLO",
    "STATUS",
    "SET amp=2mA",
    "SET amp=2500uA",
    "SET amp=3.9mA",
    "SET pw=250us",
    "SET rate=60Hz",
    "SET pw=0.2ms rate=0.05kHz",
    "SET cathodes=1 anodes=2",
    "SET cathodes=1,4 anodes=6",
    "ON",
    "OFF",
    "STOP",
    "AMP UP",
    "AMP DOWN",
    "amp up",
    "PROGRAM 1",
    "PROGRAM 2",
    "PROGRAM 3",
    "PROGRAM 9",
    "PROGRAMS",
    "GROUP walking",
    "GROUP sitting",
    "GROUPS",
    "RESTORE",
    "LIMITS",
    "TRAIN",
    "LOGIN",
    "AUTH " + HEX64,
    "AUTH " + "0" * 64,
    "LOGOUT",
    "DIAG",
    "ECHO",
    "ECHO ON",
    "ECHO OFF",
    "LOG",
    "LOG 1",
    "LOG 2 16",
]
CLINICIAN_CORPUS = [
    "SET amp=2.5mA pw=210us ipg=20us rate=60Hz cathodes=2 anodes=3",
    "SET amp=25.4mA step=200uA pw=10us",
    "SET rate=40Hz burst=5 burst_rate=500Hz pw=200us",
    "SET burst=1 rate=60Hz pw=210us amp=2.5mA",
    "SET ramp=1s cycle_on=30s cycle_off=1.5min train=120min",
    "SET ramp=0ms cycle_on=300ms cycle_off=200ms train=2s",
    "SET amp_min=1mA amp_max=4mA patient=amp,pw name=tonic",
    "SET pw_min=100us pw_max=300us rate_min=20Hz rate_max=100Hz patient=amp,pw,rate,cathodes,anodes",
    "SET patient=none",
    "SET asym=4 ipg=100us",
    "SET amp=8mA pw=450us",
    "SET pw=1000us asym=8 rate=500Hz",
    "set AMP=3MA PW=0.1ms RATE=0.1KHZ",
    "GROUP walking 2",
    "GROUP sitting 3",
    "TRAIN CLEAR",
    "TRAIN ADD 1ms 2ms 500us",
    "TRAIN ADD 4ms 1.5ms",
    "TRAIN ADD 50us",
    "TRAIN PLAY",
    "TRAIN PLAY LOOP",
]


def corpus():
    """(patient lines, clinician lines): valid commands of both roles."""
    every_key = [f"SET {key}={SAMPLE_VALUES.get(key, '1')}" for key in protocol.SETTINGS]
    docs = doc_commands()
    patient = list(dict.fromkeys(PATIENT_CORPUS + docs))
    clinician = list(dict.fromkeys(CLINICIAN_CORPUS + every_key + patient))
    return patient, clinician


# ---- byte-level mutations ---------------------------------------------------------------------

CONTROL_BYTES = bytes(range(32)) + b"\x7f"
HIGH_BYTES = bytes(range(0x80, 0x100))
BAD_UTF8 = (
    b"\xc3\x28",  # a lead byte without its continuation
    b"\xa0\xa1",  # continuations without a lead
    b"\xe2\x28\xa1",
    b"\xf0\x28\x8c\xbc",
    b"\xc0\xaf",  # overlong '/'
    b"\xed\xa0\x80",  # a UTF-16 surrogate
    b"\xf8\x88\x80\x80\x80",
    b"\xff\xfe",
    "µ".encode(),  # valid UTF-8, not ASCII
    "mA\u2009".encode(),
)
EDGE_NUMBERS = (
    b"0",
    b"1",
    b"00",
    b"-1",
    b"+1",
    b"1e3",
    b".5",
    b"5.",
    b"0.0001",
    b"999999999",
    b"1000000000",
    b"4294967296",
    b"18446744073709551617",
    b"9" * 40,
    b"",
)
UNITS = (b"uA", b"mA", b"us", b"ms", b"Hz", b"kHz", b"s", b"min", b"A", b"h", b"MHZ", "µs".encode(), b"")
TERMINATORS = (b"\n", b"\r", b"\r\n", b"\n\r", b"\r\r", b"\n\n")
_DIGITS = re.compile(rb"[0-9]+(?:\.[0-9]+)?")
_UNIT = re.compile(rb"(?<=[0-9])[A-Za-z]+")


class Mutator:
    """Seeded mutations of valid command lines (without their terminators);
    a share `clean` of the cases is a corpus line as it is, so that the
    sessions reach running stimulation, ramps, cycling and trains."""

    def __init__(self, rng, lines, clean=0.0):
        self.rng = rng
        self.clean = clean
        self.lines = [line.encode() for line in lines]
        self.ops = (
            (self.flip, 6),
            (self.insert_any, 4),
            (self.insert_control, 5),
            (self.insert_high, 3),
            (self.delete, 5),
            (self.duplicate, 3),
            (self.splice, 4),
            (self.terminator_inside, 3),
            (self.huge, 1),
            (self.interrupt, 2),
            (self.number_edge, 6),
            (self.unit_swap, 4),
            (self.case_flip, 2),
            (self.blanks, 3),
            (self.tokens, 4),
        )
        self.weights = [w for _, w in self.ops]

    def pick(self):
        return self.rng.choice(self.lines)

    def case(self):
        """One mutated line, usually with a terminator (sometimes none: it runs into the next)."""
        rng = self.rng
        data = self.pick()
        if rng.random() < self.clean:
            return data + b"\n"
        mutations = rng.choice((0, 1, 1, 1, 2, 2, 3, 4))
        for op in rng.choices([op for op, _ in self.ops], self.weights, k=mutations):
            data = op(data)
        roll = rng.random()
        if roll < 0.85:
            end = b"\n"
        elif roll < 0.97:
            end = rng.choice(TERMINATORS)
        else:
            end = b""
        return data + end

    def _at(self, data):
        return self.rng.randint(0, len(data))

    def flip(self, data):
        if not data:
            return data
        i = self.rng.randrange(len(data))
        return data[:i] + bytes((data[i] ^ (1 << self.rng.randrange(8)),)) + data[i + 1 :]

    def insert_any(self, data):
        i = self._at(data)
        return data[:i] + bytes((self.rng.randrange(256),)) + data[i:]

    def insert_control(self, data):
        i = self._at(data)
        byte = (
            self.rng.choice((0, 3, 0x18, 0x1B, 0x7F, 9)) if self.rng.random() < 0.5 else self.rng.choice(CONTROL_BYTES)
        )
        return data[:i] + bytes((byte,)) + data[i:]

    def insert_high(self, data):
        i = self._at(data)
        if self.rng.random() < 0.5:
            bad = self.rng.choice(BAD_UTF8)
        else:
            bad = bytes(self.rng.choice(HIGH_BYTES) for _ in range(self.rng.randint(1, 3)))
        return data[:i] + bad + data[i:]

    def delete(self, data):
        if not data:
            return data
        i = self.rng.randrange(len(data))
        return data[:i] + data[i + self.rng.choice((1, 1, 1, 2, 5)) :]

    def duplicate(self, data):
        if not data:
            return data
        i = self.rng.randrange(len(data))
        j = min(len(data), i + self.rng.choice((1, 1, 3, 8, 40)))
        return data[:j] + data[i:j] * self.rng.choice((1, 2, 10)) + data[j:]

    def splice(self, data):
        other = self.pick()
        return data[: self._at(data)] + other[self.rng.randint(0, len(other)) :]

    def terminator_inside(self, data):
        i = self._at(data)
        return data[:i] + self.rng.choice(TERMINATORS) + data[i:]

    def huge(self, data):
        """Longer than line_max: up to 12 KB, sometimes with a bad byte far in."""
        size = self.rng.choice((LINE_MAX - 1, LINE_MAX, LINE_MAX + 1, 1000, 4096, 10240, 12000))
        filler = data or b"X"
        out = (filler + b" ") * (size // (len(filler) + 1) + 1)
        out = out[:size]
        if self.rng.random() < 0.3:
            i = self.rng.randrange(len(out))
            out = out[:i] + bytes((self.rng.choice((0, 3, 0x18, 0xFF)),)) + out[i + 1 :]
        return out

    def interrupt(self, data):
        """Ctrl-C (0x03) or CAN (0x18) in the middle of the line."""
        i = self._at(data)
        return data[:i] + self.rng.choice((b"\x03", b"\x18", b"\x03\x03", b"\x18\n")) + data[i:]

    def number_edge(self, data):
        found = list(_DIGITS.finditer(data))
        if not found:
            return data + b"=" + self.rng.choice(EDGE_NUMBERS)
        m = self.rng.choice(found)
        return data[: m.start()] + self.rng.choice(EDGE_NUMBERS) + data[m.end() :]

    def unit_swap(self, data):
        found = list(_UNIT.finditer(data))
        if not found:
            return data
        m = self.rng.choice(found)
        return data[: m.start()] + self.rng.choice(UNITS) + data[m.end() :]

    def case_flip(self, data):
        return bytes(b ^ 0x20 if 65 <= (b & ~0x20) <= 90 and self.rng.random() < 0.5 else b for b in data)

    def blanks(self, data):
        rng = self.rng
        choice = rng.randrange(4)
        if choice == 0:
            return data.replace(b" ", rng.choice((b"\t", b"  ", b" \t ", b"")), 1)
        if choice == 1:
            return rng.choice((b" ", b"\t", b"   ")) + data + rng.choice((b"", b" ", b"\t"))
        if choice == 2:
            return data.replace(b"=", rng.choice((b" = ", b"==", b"", b"=\t")), 1)
        return data.replace(b",", rng.choice((b", ", b",,", b"", b";")), 1)

    def tokens(self, data):
        words = data.split(b" ")
        rng = self.rng
        choice = rng.randrange(4)
        if choice == 0 and len(words) > 1:
            i, j = rng.randrange(len(words)), rng.randrange(len(words))
            words[i], words[j] = words[j], words[i]
        elif choice == 1 and len(words) > 1:
            del words[rng.randrange(len(words))]
        elif choice == 2:
            i = rng.randrange(len(words))
            words.insert(i, words[i])
        else:
            words.append(rng.choice(self.pick().split(b" ")))
        return b" ".join(words)


def chunks(rng, data):
    """The bytes as the board might read them: whole, cut anywhere, or byte by byte."""
    roll = rng.random()
    if roll < 0.55 or len(data) < 2:
        return [data]
    if roll < 0.9 or len(data) > 400:
        cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 6))))
        return [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)], strict=True)]
    return [data[i : i + 1] for i in range(len(data))]


# ---- the framing every line must get -----------------------------------------------------------

_TERM = re.compile(rb"[\r\n\x08\x7f]")  # a line end, or an erase (Backspace, DEL)
_BAD_BYTE = re.compile(rb"[^\t\x20-\x7e]")
_ERASE = (0x08, 0x7F)
_ECHO_TABLE = bytes(b if 0x20 <= b <= 0x7E else 0x20 if b == 9 else ord("?") for b in range(256))


class Framing:
    """docs/PROTOCOL.md's framing, written apart from line_reader: a line ends
    at CR, LF or CRLF (an LF right after a CR ends nothing); Backspace or DEL
    erases the line's last byte; more than line_max bytes: LONG; a byte other
    than printable ASCII or TAB: ENCODING; only blanks: EMPTY; else the
    stripped text is a command. With echo on, `echoed` collects the echo: a
    column per byte (printable ASCII, TAB as a blank, others as "?"), "\\b \\b"
    per erase, CRLF per line end."""

    def __init__(self, line_max=LINE_MAX):
        self.line_max = line_max
        self.buf = bytearray()
        self.after_cr = False
        self.echoed = bytearray()

    def copy(self):
        other = Framing(self.line_max)
        other.buf = bytearray(self.buf)
        other.after_cr = self.after_cr
        return other

    def feed(self, data, echo=False):
        """[(kind, text or the raw line)] for every line the bytes end."""
        out: list = []
        pos, n = 0, len(data)
        if not n:
            return out
        if self.after_cr and data[0] == LF:
            pos = 1
        self.after_cr = False
        while pos < n:
            m = _TERM.search(data, pos)
            if m is None:
                self._take(data[pos:], echo)
                break
            at = m.start()
            self._take(data[pos:at], echo)
            pos = at + 1
            if data[at] in _ERASE:
                if self.buf:
                    self.buf.pop()
                    if echo:
                        self.echoed += b"\b \b"
                continue
            out.append(self._end())
            if echo:
                self.echoed += b"\r\n"
            if data[at] == CR:
                if pos == n:
                    self.after_cr = True
                elif data[pos] == LF:
                    pos += 1
        return out

    def _take(self, data, echo):
        self.buf += data
        if echo:
            self.echoed += data.translate(_ECHO_TABLE)

    def take_echo(self):
        out = bytes(self.echoed)
        self.echoed.clear()
        return out

    def timeout(self):
        """A partial line dropped after the silence: [("TIMEOUT", raw)] or []."""
        if not self.buf:
            return []
        raw = bytes(self.buf)
        self.buf.clear()
        return [("TIMEOUT", raw)]

    def partial(self):
        return bool(self.buf)

    def _end(self):
        raw = bytes(self.buf)
        self.buf.clear()
        if len(raw) > self.line_max:
            return ("LONG", raw)
        if _BAD_BYTE.search(raw):
            return ("ENCODING", raw)
        text = raw.strip(b" \t").decode()
        if not text:
            return ("EMPTY", raw)
        return (LINE, text)


_ANSWER = re.compile(r"(?:OK(?: [ -~]+)?|ERR ([A-Z_]+) [ -~]+)\Z")


def answer_code(answer):
    """ "OK" or the ERR code of a well-formed answer line; AssertionError otherwise."""
    m = _ANSWER.match(answer)
    assert m, f"malformed answer {answer!r}"
    code = m.group(1) or "OK"
    assert code == "OK" or code in DOCUMENTED_CODES, f"undocumented code {code} in {answer!r}"
    return code


def expected_code(kind, code):
    """Check an answer's code against the framing's verdict for its line."""
    if kind == LINE:
        assert code not in FRAMING_CODES, f"a clean command line answered {code}"
    else:
        assert code == kind, f"a {kind} line answered {code}"


# ---- the firmware's pure stack ------------------------------------------------------------------


class TrainFakeEngine(FakeEngine):
    """FakeEngine that also plays custom trains and refuses what
    pulse_engine.PulseEngine refuses: a train unless idle, an interval shorter
    than the pulse and its 16-cycle tail, more words than the buffer holds, an
    update while a train plays. A one-shot train ends after `train_polls` polls."""

    TAIL_CYCLES = 16
    state: str

    def __init__(self, stop_polls=2, train_words=1025, train_polls=3):
        FakeEngine.__init__(self, stop_polls)
        self.train_words = train_words
        self.train_polls = train_polls
        self.training = False
        self._train_left = 0

    def start_train(self, timing, program, intervals_cycles, loop=True):
        if self.state != "idle":
            raise RuntimeError("engine is " + self.state)
        shortest = timing.pulse() + self.TAIL_CYCLES
        for cycles in intervals_cycles:
            if cycles < shortest:
                raise ValueError(f"interval of {cycles} cycles does not hold the {timing.pulse()}-cycle pulse")
        count = len(intervals_cycles) + (0 if loop else 1)
        if count > self.train_words:
            raise ValueError(f"train of {count} words is longer than {self.train_words}")
        self.calls.append(("train", timing, program, list(intervals_cycles), loop))
        self.state = "running"
        self.training = True
        self._asym = program.asym
        self._queued = 0
        self._train_left = 0 if loop else self.train_polls

    def update(self, timing, program):
        if self.training and self.state == "running":
            raise RuntimeError("a custom train is running: stop it first")
        FakeEngine.update(self, timing, program)

    def poll(self):
        if self.training and self._train_left and self.state == "running":
            self._train_left -= 1
            if not self._train_left:
                self.polls += 1
                self._shutdown()
                return True
        return FakeEngine.poll(self)

    def _shutdown(self):
        FakeEngine._shutdown(self)
        self.training = False
        self._train_left = 0


class HealthyLead:
    """The lead check as the virtual board's healthy dummy lead answers it: every
    measurement at its expected value (impedance.LeadCheck without the engine)."""

    def __init__(self, board):
        from picostim_fw.lead import Config

        self.config = Config(board)
        self.current_na = 489600

    def measure(self, items):
        return [(item, item[3], "ok") for item in items]


def memory_log():
    """An event log on an in-memory filesystem, as the board keeps one on flash
    (None while the firmware has no event log)."""
    try:
        from picostim_fw.event_log import EventLog
    except ImportError:
        return None
    for module in ("memory_fs", "fakes"):  # tests_host/mpy
        try:
            memory_fs = importlib.import_module(module).MemoryFS
        except (ImportError, AttributeError):
            continue
        return EventLog(memory_fs(), "/events.log")
    return None


def fingerprint(commands):
    """Everything a command may store: each program slot, groups, the train."""
    therapy = commands.therapy
    slots = []
    for slot in therapy.slots:
        slots.append(
            {
                "number": slot.number,
                "name": slot.name,
                "program": slot.program.as_dict(),
                "clinic": slot.clinic.as_dict(),
                "settings": dict(slot.settings),
                "window": dict(slot.window),
                "patient_keys": tuple(slot.patient_keys),
            }
        )
    train = list(commands.train[: commands.train_length]) if commands.train is not None else []
    return {
        "slots": slots,
        "active": therapy.active.number,
        "group": therapy.group,
        "groups": dict(therapy.groups),
        "train": train,
    }


def patient_violations(before, after):
    """What a command in the patient role changed that the patient may not change."""
    out = []
    for b, a in zip(before["slots"], after["slots"], strict=True):
        n = b["number"]
        for part in ("name", "clinic", "settings", "window", "patient_keys"):
            if a[part] != b[part]:
                out.append(f"program {n}: the patient changed {part} {b[part]!r} -> {a[part]!r}")
        if a["program"] == b["program"] or a["program"] == b["clinic"]:
            continue  # unchanged, or RESTORE
        if n != before["active"]:
            out.append(f"program {n} (not the active one) changed")
            continue
        for field, old in b["program"].items():
            new = a["program"].get(field)
            if new == old:
                continue
            key = KEY_OF_FIELD.get(field, field)
            if key not in b["patient_keys"]:
                out.append(f"program {n}: the patient changed locked {key} {old!r} -> {new!r}")
            elif field in b["window"]:
                low, high = b["window"][field]
                if not low <= new <= high:
                    out.append(f"program {n}: the patient set {key}={new!r} outside {low}..{high}")
    for part in ("groups", "train"):
        if after[part] != before[part]:
            out.append(f"the patient changed {part} {before[part]!r} -> {after[part]!r}")
    return out


def allowed_for_patient(program, baseline):
    """None if some program slot of the clinician's `baseline` (a fingerprint)
    allows this engine program to a patient (ramps may lower the amplitude),
    else why not."""
    reasons = []
    for slot in baseline["slots"]:
        why = _slot_allows(program.as_dict(), slot)
        if why is None:
            return None
        reasons.append(f"program {slot['number']}: {why}")
    return "; ".join(reasons)


def _slot_allows(values, slot):
    for field, value in values.items():
        fixed = (slot["program"].get(field), slot["clinic"].get(field))
        key = KEY_OF_FIELD.get(field, field)
        mine = key in slot["patient_keys"]
        low, high = slot["window"].get(field, (None, None))
        if field == "amp_ua":
            top = max(high, *fixed) if mine else max(fixed)
            if not 0 <= value <= top:
                return f"amp {value} above {top}"
            continue
        if value in fixed:
            continue
        if not mine:
            return f"{key}={value!r} is locked"
        if low is not None and not low <= value <= high:
            return f"{key}={value!r} outside {low}..{high}"
    return None


class Failure(AssertionError):
    pass


class Session:
    """One board lifetime: LineReader -> Commands (service.build) over
    TrainFakeEngine, a fake clock, and the checks of the module docstring.

    kind "patient": the clinician sets the board up (`setup` lines), logs out,
    and from then on no input may give the clinician role. kind "clinician":
    logged in at the start; `login()` logs in again when the fuzz logged out."""

    def __init__(self, kind="patient", setup=(), board=BOARD, label=""):
        self.kind = kind
        self.board = board
        self.label = label
        self.engine = TrainFakeEngine()
        self.commands = service.build(board, self.engine, DEV_KEY)
        self.commands.allocate_train()
        if board.get("impedance"):
            self.commands.lead_check = HealthyLead(board)
        if self.commands.log is None:
            self.commands.log = memory_log()
        self.auth = self.commands.auth
        self.stim = self.commands.stim
        self.reader = LineReader(board["serial"]["line_max"])
        self.framing = Framing(board["serial"]["line_max"])
        self.timeout_ms = board["serial"]["line_timeout_ms"]
        self.now = 0
        self.last_rx = 0
        self.lines = 0  # answers checked
        self.fed = 0  # fuzz inputs fed (run_fuzz counts them)
        self.codes = {}  # code -> count
        self.trusted = False
        self.patient_only = False
        self.alternatives = None  # a list to record, per answer, the codes the board may give instead
        self._seen_calls = 0
        self.history = []  # the latest inputs, for failure reports
        self.fp = fingerprint(self.commands)
        self.baseline = None
        self.login()
        for line in setup:
            answer = self.trusted_line(line)
            if not answer.startswith("OK"):
                raise Failure(f"setup line {line!r} refused: {answer}")
        if kind == "patient":
            self.trusted_line("LOGOUT")
            self.baseline = fingerprint(self.commands)
            self.patient_only = True

    # -- inputs --------------------------------------------------------------------------
    def send(self, data):
        """Bytes as one read of the service loop: every line they end answered and checked."""
        self._remember(data)
        self.reader.echo = echo = self.commands.echo  # as the service loop sets it before each read
        expected = self.framing.feed(data, echo)
        got = self.reader.feed(data)
        self.last_rx = self.now
        if [kind for kind, _ in got] != [kind for kind, _ in expected]:
            self.fail(f"framing: line_reader gave {got!r}, expected {expected!r}")
        echoed, echo_model = self.reader.take_echo(), self.framing.take_echo()
        if echoed != echo_model:
            self.fail(f"echo: line_reader echoed {echoed!r}, expected {echo_model!r}")
        answers = []
        for (kind, text), (_, model) in zip(got, expected, strict=True):
            if kind == LINE and text != model:
                self.fail(f"framing: line_reader gave the command {text!r}, expected {model!r}")
            answers.append(self._line(kind, text))
        self._poll()
        return answers

    def tick(self, ms, step=10):
        """Silence on the line for `ms`, the service loop polling every `step` ms."""
        while ms > 0:
            dt = min(step, ms)
            ms -= dt
            self.now += dt
            if self.reader.partial() and self.now - self.last_rx >= self.timeout_ms:
                expected = self.framing.timeout()
                if not expected:
                    self.fail("framing: line_reader holds a partial line the model does not")
                self._remember(f"<{self.timeout_ms} ms of silence>")
                self._line("TIMEOUT", self.reader.discard()[1])
            elif self.framing.partial() and not self.reader.partial():
                self.fail("framing: the model holds a partial line line_reader does not")
            self._poll()

    def trusted_line(self, line):
        """A line from the test's own programmer, not the fuzz (ends any partial
        line first as the Python client does: CAN, LF)."""
        if self.reader.partial():
            self.send(b"\x18\n")
        self.trusted = True
        try:
            answers = self.send(line.encode() + b"\n")
        finally:
            self.trusted = False
        return answers[-1]

    def login(self):
        """The clinician role by a right AUTH (waiting out a lockout the fuzz caused)."""
        for _ in range(3):
            answer = self.trusted_line("LOGIN")
            if answer.startswith("ERR LOCKOUT"):
                self.tick(self.auth.lockout_ms + 1000, step=1000)
                continue
            nonce = answer.split("nonce=", 1)[1]
            answer = self.trusted_line("AUTH " + hmac_sha256(DEV_KEY, bytes.fromhex(nonce)).hex())
            if answer != "OK role=clinician":
                self.fail(f"a right AUTH answered {answer!r}")
            return
        self.fail("no login after waiting out the lockout")

    def role(self):
        return self.auth.role(self.now)

    # -- checks --------------------------------------------------------------------------
    def _line(self, kind, text):
        commands = self.commands
        role = self.role()
        status = commands.status(self.now)
        before = self.fp
        calls = len(self.engine.calls)
        try:
            answer = commands.answer(text, self.now) if kind == LINE else protocol.err(kind, text)
            if not isinstance(answer, str):  # LOG: the line its parts make on the wire
                answer = "".join(answer)
        except Exception as e:  # noqa: BLE001  (anything escaping the dispatcher would end the service loop)
            self.fail(f"{type(e).__name__} escaped for the line {text!r}: {e!r}")
        self.lines += 1
        try:
            code = answer_code(answer)
            expected_code(kind, code)
        except AssertionError as e:
            self.fail(f"line {text!r}: {e}")
        self.codes[code] = self.codes.get(code, 0) + 1
        if self.alternatives is not None:
            self.alternatives.append(self._alternatives(kind, text, code))
        if code != "OK":
            if commands.status(self.now) != status:
                self.fail(f"refused ({answer}) but STATUS changed: {status!r} -> {commands.status(self.now)!r}")
            if len(self.engine.calls) != calls:
                self.fail(f"refused ({answer}) but the engine was driven: {self.engine.calls[calls:]!r}")
            after = fingerprint(commands)
            if after != before:
                self.fail(f"refused ({answer}) but settings changed: {_diff(before, after)}")
        else:
            self.fp = after = fingerprint(commands)
            if role == PATIENT:
                problems = patient_violations(before, after)
                if problems:
                    self.fail(f"line {text!r} answered {answer!r} in the patient role: {'; '.join(problems)}")
        role_after = self.role()
        if role == PATIENT and role_after == CLINICIAN and not self.trusted:
            self.fail(f"line {text!r} gave the clinician role ({answer!r})")
        if self.patient_only and (role_after != PATIENT or "role=clinician" in answer):
            self.fail(f"line {text!r}: the clinician role in a patient-only session ({answer!r})")
        self._check_engine()
        return answer

    def _alternatives(self, kind, text, code):
        """The codes a refused SET may give: docs/PROTOCOL.md leaves open which
        key of one stage is reported first (MicroPython's dicts keep another
        order than CPython's), so every order of its pairs counts. IMPEDANCE
        may be OK or BUSY: the board's soft stop runs on its own clock."""
        if kind == LINE and code in ("OK", "BUSY") and protocol.split(text)[0] == "IMPEDANCE":
            return {"OK", "BUSY"}  # whether stimulation has stopped yet runs on the board's own clock
        if kind != LINE or code == "OK":
            return {code}
        name, args = protocol.split(text)
        if name != "SET" or len(args) < 2:
            return {code}
        codes = {code}
        for order in itertools.islice(itertools.permutations(args), 1, 240):
            answer = self.commands.answer("SET " + " ".join(order), self.now)
            codes.add(answer_code(answer))
        if "OK" in codes or fingerprint(self.commands) != self.fp:
            self.fail(f"a refused SET was taken in another order of its pairs: {text!r}")
        return codes

    def _poll(self):
        before = self.stim.state()
        try:
            event = self.stim.poll(self.now)
        except Exception as e:  # noqa: BLE001
            self.fail(f"{type(e).__name__} escaped from Stimulator.poll: {e!r}")
        if event is not None and event != "STATE " + self.stim.state():
            self.fail(f"event {event!r} after state {before} -> {self.stim.state()}")
        self._check_engine()

    def _check_engine(self):
        calls = self.engine.calls
        limits, count = self.board["limits"], self.board["contacts"]["count"]
        for call in calls[self._seen_calls :]:
            if call[0] == "stop":
                continue
            programs = call[2] if call[0] in ("start_group", "update_group") else (call[2],)
            if len(programs) > 1:
                try:
                    safety.check_group(programs, self.board["safety"])
                except StimError as e:
                    self.fail(f"the engine got a group outside the combined limits ({e})")
            for program in programs:
                try:
                    program.validate(limits, count)
                    safety.check(program, self.board["safety"])
                except StimError as e:
                    self.fail(f"the engine got a program outside the limits ({e}): {program.as_dict()!r}")
                if self.patient_only:
                    why = allowed_for_patient(program, self.baseline)
                    if why:
                        self.fail(f"the engine got a program the clinician did not allow: {why}")
        self._seen_calls = len(calls)

    def _remember(self, data):
        self.history.append(data)
        del self.history[:-12]

    def fail(self, message):
        inputs = "\n".join(f"    {h!r}" for h in self.history)
        raise Failure(
            f"{message}\n  session {self.label} ({self.role()} role now, t={self.now} ms)\n"
            f"  latest inputs, oldest first:\n{inputs}"
        )


def _diff(before, after):
    out = []
    for key in before:
        if key == "slots":
            for b, a in zip(before["slots"], after["slots"], strict=True):
                for part in b:
                    if a[part] != b[part]:
                        out.append(f"program {b['number']} {part} {b[part]!r} -> {a[part]!r}")
        elif before[key] != after[key]:
            out.append(f"{key} {before[key]!r} -> {after[key]!r}")
    return "; ".join(out)


# ---- the seeded run ---------------------------------------------------------------------------------

# What the clinician sets up before a patient-only session (each must be accepted).
SETUPS = (
    (
        "SET amp=2mA pw=200us rate=50Hz cathodes=2 anodes=3 ramp=200ms step=100uA name=tonic "
        "patient=amp,pw,rate,cathodes,anodes amp_min=1mA amp_max=4mA pw_min=100us pw_max=300us "
        "rate_min=20Hz rate_max=100Hz",
        "PROGRAM 2",
        "SET amp=1500uA pw=200us rate=40Hz burst=5 burst_rate=500Hz cathodes=4 anodes=5 ramp=0ms "
        "patient=amp amp_min=500uA amp_max=2500uA name=burst",
        "PROGRAM 3",
        "SET amp=3mA patient=none name=locked ramp=100ms cycle_on=300ms cycle_off=200ms",
        "PROGRAM 4",
        "SET amp=1mA train=500ms patient=amp,pw pw_min=10us pw_max=1000us",
        "GROUP walking 2",
        "GROUP sitting 3",
        "TRAIN ADD 1ms 2ms 500us",
        "PROGRAM 1",
    ),
    (),  # the defaults: the patient has amp over the board's whole range
    ("SET amp=5mA amp_min=1mA amp_max=3mA patient=amp,rate rate_min=30Hz rate_max=40Hz ramp=0ms",),
)
PLAN = {"patient": 50000, "clinician": 40000, "sweep": 5000, "flood": 8000}
SESSION_CASES = 2000  # inputs per board lifetime


class Run:
    def __init__(self, seed):
        self.seed = seed
        self.inputs = 0
        self.lines = 0
        self.codes = {}
        self.failures = []  # (where, message)

    def summary(self, examples=1):
        """The failures grouped by their first line, with examples and the seed."""
        kinds: dict = {}
        for where, message in self.failures:
            first = message.splitlines()[0]
            kinds.setdefault(re.sub(r"'[^']*'", "'...'", first), []).append((where, message))
        lines = [f"seed {self.seed}: {len(self.failures)} failure(s) in {self.inputs} inputs"]
        for found in kinds.values():
            for where, message in found[:examples]:
                lines.append(f"--- {len(found)}x, e.g. {where}\n{message}")
        return "\n".join(lines)

    def add(self, session):
        self.lines += session.lines
        for code, n in session.codes.items():
            self.codes[code] = self.codes.get(code, 0) + n


def run_fuzz(seed, plan=None, stop_at_first=False, log=None):
    """Fuzz the pure stack: `plan` maps a kind (patient, clinician, sweep,
    flood) to a number of inputs. Deterministic for a seed. A failure ends
    its session (a board lifetime); the next session goes on with new inputs."""
    plan = PLAN if plan is None else plan
    patient_lines, clinician_lines = corpus()
    run = Run(seed)
    for kind, count in plan.items():
        done = 0
        number = 0
        while done < count:
            rng = random.Random(f"{seed}:{kind}:{number}")
            label = f"seed={seed} kind={kind} session={number}"
            number += 1
            n = count - done if kind == "sweep" else min(SESSION_CASES, count - done)
            session = None
            try:
                session = _session(kind, rng, label)
                _drive(kind, session, rng, n, patient_lines, clinician_lines)
            except Failure as e:
                run.failures.append((label, str(e)))
                if stop_at_first:
                    raise
            fed = max(1, session.fed) if session else 1  # a failed setup counts as one input
            if session:
                run.add(session)
            done += fed
            run.inputs += fed
            if log:
                log(run)
    return run


def _session(kind, rng, label):
    if kind == "clinician":
        return Session("clinician", label=label)
    return Session("patient", setup=rng.choice(SETUPS), label=label)


def _drive(kind, session, rng, count, patient_lines, clinician_lines):
    """Feed `count` inputs of this kind (session.fed counts them)."""
    if kind == "sweep":
        sweep(session, rng, count)
        return
    lines = clinician_lines if kind == "clinician" or rng.random() < 0.3 else patient_lines
    mutator = Mutator(rng, lines, clean=0.3 if kind == "clinician" else 0.15)
    if kind == "flood":
        while session.fed < count:
            n = min(count - session.fed, rng.randint(50, 500))
            session.send(b"".join(mutator.case() for _ in range(n)))
            session.fed += n
            session.tick(rng.randint(0, 30))
        return
    for _ in range(count):
        if kind == "clinician" and session.role() == PATIENT and rng.random() < 0.05:
            session.login()
        if session.stim.state() == "off" and rng.random() < 0.05:
            session.send(b"ON\n")  # mostly with stimulation running
        for chunk in chunks(rng, mutator.case()):
            session.send(chunk)
            session.tick(rng.choice((0, 0, 1, 1, 2, 5, 20)))
        session.fed += 1
        roll = rng.random()
        if roll < 0.01:
            session.tick(session.timeout_ms + rng.randint(0, 500), step=50)  # a host gone quiet
        elif roll < 0.05:
            session.tick(rng.randint(50, 1500))


def sweep_cases(lines=None):
    """Every control byte, DEL and a few high bytes at every position of a set
    of commands, and Ctrl-C/CAN around them; terminated by LF."""
    lines = lines or ["SET amp=2mA", "STATUS", "AMP UP", "PROGRAM 2", "AUTH " + "0" * 8, "TRAIN ADD 1ms"]
    inserts = list(CONTROL_BYTES) + [0x80, 0xA0, 0xC3, 0xFF]
    for line in lines:
        raw = line.encode()
        for byte in inserts:
            for i in range(len(raw) + 1):
                yield raw[:i] + bytes((byte,)) + raw[i:] + b"\n"


def sweep(session, rng, count):
    cases = list(sweep_cases())
    while session.fed < count:
        for case in cases[: count - session.fed]:
            for chunk in chunks(rng, case):
                session.send(chunk)
            session.fed += 1
