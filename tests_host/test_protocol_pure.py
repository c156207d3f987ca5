"""The serial protocol's pure modules (line_reader, protocol, commands over
therapy, stimulator and auth): the check script under MicroPython with a
Pico-sized heap and under CPython, then property tests under CPython."""

import json
from decimal import Decimal
from pathlib import Path

import pytest
from fakes import FakeEngine, Randomness
from hypothesis import event, given, settings
from hypothesis import strategies as st
from mpy_checks import INTERPRETERS, run_checks
from picostim_fw import protocol, safety
from picostim_fw.auth import DEV_KEY, Auth, hmac_sha256
from picostim_fw.commands import Commands
from picostim_fw.line_reader import E_EMPTY, E_ENCODING, E_LONG, LINE, LineReader
from picostim_fw.stim_program import TRIGGER_MODES, StimError
from picostim_fw.stimulator import Stimulator
from picostim_fw.therapy import Therapy

ROOT = Path(__file__).resolve().parents[1]
BOARD = json.loads((ROOT / "boards" / "pico.json").read_text())
MIN_CHECKS = 500


@pytest.mark.parametrize("where", INTERPRETERS)
def test_protocol_checks(where):
    assert run_checks("check_protocol.py", where) >= MIN_CHECKS


# ---- parse_quantity: exact round trip at every unit scale ---------------------

QUANTITY_KEYS = sorted(key for key, (_, units, _) in protocol.SETTINGS.items() if units)


def _decimal(value, scale, zeros):
    """value (base units) written exactly in a unit `scale` times the base,
    with `zeros` trailing zeros; None when no finite decimal is exact (1 ms in min)."""
    if value * 10**12 % scale:
        return None
    text = format((Decimal(value) / scale).normalize(), "f")
    if zeros:
        text += ("" if "." in text else ".") + "0" * zeros
    return text


def _finer(value, scale):
    """A decimal in the unit `scale` that is not a whole number of base units."""
    k = 1
    while scale % 10**k == 0:
        k += 1
    return format(Decimal(value) / scale + Decimal(10) ** -k, "f")


def _spellings(name):
    return st.lists(st.booleans(), min_size=len(name), max_size=len(name)).map(
        lambda ups: "".join(c.upper() if up else c for c, up in zip(name, ups, strict=True))
    )


quantities = st.integers(0, 10**9) | st.integers(0, 10**5).map(lambda k: k * 3000)  # some exact in min


@settings(max_examples=300, deadline=None)
@given(key=st.sampled_from(QUANTITY_KEYS), value=quantities, zeros=st.integers(0, 2), data=st.data())
def test_parse_quantity_round_trip(key, value, zeros, data):
    units = protocol.SETTINGS[key][1]
    for name, scale in units:
        number = _decimal(value, scale, zeros)
        if number is None:
            continue
        text = number + data.draw(_spellings(name))
        digits = len(number.replace(".", ""))
        if digits > 9:
            with pytest.raises(StimError) as caught:
                protocol.parse_quantity(key, text, units)
            assert caught.value.code == protocol.E_VALUE
            continue
        assert protocol.parse_quantity(key, text, units) == value, text
        finer = _finer(value, scale) + name  # finer than the base unit resolves (or too many digits)
        with pytest.raises(StimError) as caught:
            protocol.parse_quantity(key, finer, units)
        assert caught.value.code == protocol.E_VALUE, finer


contacts = st.lists(st.integers(0, 999), min_size=1, max_size=4).map(tuple)
names = st.lists(st.sampled_from(["amp", "pw", "rate", "cathodes", "anodes"]), unique=True, max_size=5).map(tuple)


def _value_strategy(key):
    """Any value parse_settings can give for `key` (ranges are not its business)."""
    if key in ("cathodes", "anodes"):
        return contacts
    if key == "patient":
        return names
    if key == "trigger":
        return st.sampled_from(TRIGGER_MODES)
    return st.integers(0, 10**9 - 1)  # digits: at most 9


@pytest.mark.parametrize("keys", [protocol.STATUS_KEYS, protocol.LIMIT_KEYS], ids=["STATUS", "LIMITS"])
@given(data=st.data())
def test_format_settings_parses_back(keys, data):
    strategies = {protocol.SETTINGS[key][0]: _value_strategy(key) for key in keys}
    values = data.draw(st.fixed_dictionaries({}, optional=strategies).filter(bool))
    name, args = protocol.split("SET " + protocol.format_settings(values, keys))
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
        elif byte in (8, 127):  # Backspace, DEL: erase the last byte
            del line[-1:]
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


def build(diag=None):
    """engine, commands wired like service.build (deterministic nonces)."""
    therapy = Therapy(BOARD, lambda program: safety.check(program, BOARD["safety"]))
    engine = FakeEngine()
    stim = Stimulator(BOARD, engine, therapy)
    auth = Auth(DEV_KEY, Randomness("nonce"))
    return engine, Commands(therapy, stim, auth, "picostim test", diag, describe_safety=safety.describe)


def login(commands, now):
    answer = commands.answer("LOGIN", now)
    nonce = answer.split("nonce=")[1]
    mac = hmac_sha256(DEV_KEY, bytes.fromhex(nonce)).hex()
    assert commands.answer("AUTH " + mac, now) == "OK role=clinician"


def snapshot(commands, now):
    return [commands.answer(line, now) for line in ("STATUS", "LIMITS", "PROGRAMS", "GROUPS")]


CODES = {"UNKNOWN", "SYNTAX", "KEY", "UNIT", "VALUE", "RANGE", "FIT", "CONTACTS", "EMPTY", "LIMIT"}
CODES |= {"LOCKED", "PATIENT_RANGE", "ROLE", "NOT_FOUND", "AUTH", "LOCKOUT"}
printable = st.text(st.characters(min_codepoint=32, max_codepoint=126) | st.just("\t"), max_size=60)
UNIT_NAMES = {"ua": "uA", "ma": "mA", "us": "us", "ms": "ms", "hz": "Hz", "khz": "kHz", "s": "s", "min": "min"}


@st.composite
def setting(draw):
    """key=value, mostly well formed, often out of range, not fitting or past a limit."""
    key = draw(st.sampled_from(sorted(protocol.SETTINGS) + ["x"]))
    if key in ("cathodes", "anodes"):
        value = ",".join(str(c) for c in draw(st.lists(st.integers(0, 9), min_size=1, max_size=3)))
    elif key == "patient":
        value = draw(st.sampled_from(["none", "amp", "amp,pw", "amp,pw,rate", "pw,rate,cathodes", "volts", "amp,amp"]))
    elif key == "name":
        value = draw(st.sampled_from(["walk", "Sleep_2", "a.b", "x" * 13]))
    elif draw(st.integers(0, 4)) == 0:
        value = draw(st.sampled_from(["", "1,", "-1", ".5", "2.0005", "1234567890"]))
    else:
        value = str(draw(st.integers(0, 30000))) if draw(st.booleans()) else str(draw(st.decimals(0, 30, places=3)))
    units = protocol.SETTINGS[key][1] if key in protocol.SETTINGS else None
    names = [UNIT_NAMES[name] for name, _ in units] if units else [""]
    unit = draw(st.sampled_from(names + ["V"] if draw(st.integers(0, 9)) == 0 else names))
    return key + "=" + value + unit


PLAUSIBLE = {  # base-unit ranges a programmer would send
    "amp": (0, 25500),
    "pw": (10, 1000),
    "ipg": (0, 1000),
    "rate": (2, 1200),
    "asym": (1, 8),
    "step": (1, 2000),
    "ramp": (0, 3000),
    "cycle_on": (0, 3000),
    "cycle_off": (0, 3000),
    "train": (0, 5000),
    "amp_min": (0, 25500),
    "amp_max": (0, 25500),
    "pw_min": (10, 1000),
    "pw_max": (10, 1000),
    "rate_min": (2, 1200),
    "rate_max": (2, 1200),
}


@st.composite
def good_setting(draw):
    """key=value in the protocol's form, values in a plausible range."""
    key = draw(st.sampled_from(sorted(protocol.SETTINGS)))
    if key in ("cathodes", "anodes"):
        value = ",".join(str(c) for c in draw(st.lists(st.integers(0, 7), min_size=1, max_size=2, unique=True)))
    elif key == "patient":
        value = draw(st.sampled_from(["none", "amp", "amp,pw", "amp,pw,rate", "pw,rate,cathodes"]))
    elif key == "name":
        value = draw(st.sampled_from(["walk", "Sleep_2"]))
    elif key in PLAUSIBLE:
        low, high = PLAUSIBLE[key]
        value = str(draw(st.integers(low, high)))
    else:  # a key added since: its base unit, any small number
        value = str(draw(st.integers(0, 100)))
    units = protocol.SETTINGS[key][1]
    return key + "=" + value + (UNIT_NAMES[units[0][0]] if units else "")


good_line = st.one_of(
    st.lists(good_setting(), min_size=1, max_size=3).map(lambda args: "SET " + " ".join(args)),
    st.sampled_from(
        ["ON", "OFF", "STOP", "AMP UP", "AMP DOWN", "RESTORE", "PROGRAM 1", "PROGRAM 2", "PROGRAM 9"]
        + ["GROUP g 2", "GROUP g", "GROUP h", "LOGOUT", "HELLO", "LIMITS", "STATUS"]
    ),
)
argument = st.one_of(setting(), st.sampled_from(["UP", "down", "now", "1", "2", "9", "walk"]), printable)
command_like = st.builds(
    "{} {}".format,
    st.sampled_from(
        "HELLO STATUS SET set ON OFF STOP AMP amp PROGRAM PROGRAMS GROUP GROUPS RESTORE LIMITS "
        "LOGIN AUTH LOGOUT DIAG SETT".split()
    ),
    st.lists(argument, max_size=4).map(" ".join),
)
set_line = st.lists(setting(), min_size=1, max_size=3).map(lambda args: "SET " + " ".join(args))
lines = st.one_of(
    printable, command_like, set_line, good_line, good_line, good_line, st.just("<login>"), st.just("<wait>")
)


@settings(max_examples=300, deadline=None)
@given(st.lists(lines, min_size=1, max_size=16))
def test_answer_is_ok_or_err_and_a_refusal_changes_nothing(script):
    engine, commands = build(lambda: "commands=0")
    now = 0
    for line in script:
        now += 7
        if line == "<login>":
            login(commands, now)
            continue
        if line == "<wait>":  # ramps, cycles and trains move on
            for _ in range(40):
                now += 25
                commands.stim.poll(now)
            continue
        before, calls = snapshot(commands, now), list(engine.calls)
        answer = commands.answer(line, now)
        assert isinstance(answer, str)
        assert "\n" not in answer and "\r" not in answer
        assert answer == "OK" or answer.startswith("OK ") or answer.startswith("ERR "), answer
        event(answer.split(" ", 2)[1] if answer.startswith("ERR ") else "OK " + line.split(" ")[0].upper())
        if answer.startswith("ERR "):
            assert answer.split(" ", 2)[1] in CODES, answer
            assert snapshot(commands, now) == before, line
            assert engine.calls == calls, line


@given(st.text())
def test_answer_never_raises_on_any_unicode_line(line):
    answer = build()[1].answer(line)
    assert answer == "OK" or answer.startswith("OK ") or answer.startswith("ERR "), answer


@pytest.mark.parametrize("line", ["", "   ", "\t", "\u3000"])
def test_answer_on_a_blank_line(line):
    answer = build()[1].answer(line)
    assert answer.startswith("ERR EMPTY ")
