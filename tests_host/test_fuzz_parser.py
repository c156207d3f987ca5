"""Input hardening of the firmware's pure stack: line_reader.LineReader feeding
commands.Commands as service.build wires them, over a fake pulse engine, fed
byte-level mutations of every documented command (seeded, reproducible) and
hypothesis-generated streams, cut into arbitrary reads.

After every input (tests_host/fuzz_inputs.Session): nothing escapes; every
complete line gets exactly one answer, OK or ERR with a documented code, the
one the framing demands for overlong, non-ASCII and blank lines; a refused
command changes neither STATUS nor a stored setting nor the engine; the
patient changes only what the clinician allowed, inside its windows, and
never gets the clinician role; every program the engine gets is valid and
inside the absolute safety limits.

A failure names the seed; PICOSTIM_FUZZ_SEED=<seed> runs the same inputs
again (bench/fuzz_bench.py runs the same fuzz for longer).
"""

import os
import time

import fuzz_inputs as fz
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from picostim_fw.line_reader import LineReader

SEED = int(os.environ.get("PICOSTIM_FUZZ_SEED", "20240611"))
MIN_INPUTS = 100_000
INPUTS: dict = {}  # part of the suite -> inputs it fed; the total is checked by the last test
PATIENT_LINES, CLINICIAN_LINES = fz.corpus()


def _report(run):
    return run.summary() + f"\nrerun: PICOSTIM_FUZZ_SEED={run.seed} pytest {__file__}"


# ---- the checks themselves -------------------------------------------------------------------


def test_the_checks_use_the_documented_codes():
    codes = fz.documented_codes()
    assert set(fz.FRAMING_CODES) <= codes
    assert {"UNKNOWN", "SYNTAX", "KEY", "UNIT", "VALUE", "RANGE", "LOCKED", "ROLE", "AUTH", "LOCKOUT"} <= codes
    assert fz.answer_code("OK") == "OK"
    assert fz.answer_code("ERR LONG line of 300 bytes is longer than 256") == "LONG"
    for bad in ("ERR NOPE something", "OK\n", "ERR LONG", "ok", "OK \x00", "EVT READY", ""):
        with pytest.raises(AssertionError):
            fz.answer_code(bad)


def test_the_corpus_has_every_command_of_both_roles():
    names = {line.split()[0].upper() for line in PATIENT_LINES + CLINICIAN_LINES}
    assert set(fz.COMMAND_NAMES) <= names
    assert len(fz.doc_commands()) >= 30, "docs/PROTOCOL.md examples not found"
    assert any(line.startswith("TRAIN PLAY") for line in CLINICIAN_LINES)


def test_framing_model_agrees_with_the_document():
    framing = fz.Framing(8)
    assert framing.feed(b"A\r\nB\n\rC\r") == [("LINE", "A"), ("LINE", "B"), ("EMPTY", b""), ("LINE", "C")]
    assert framing.feed(b"\nD\x03\n") == [("ENCODING", b"D\x03")]  # the LF after the CR ended nothing
    assert framing.feed(b"123456789\n12345678\n \t\n") == [
        ("LONG", b"123456789"),
        ("LINE", "12345678"),
        ("EMPTY", b" \t"),
    ]
    assert framing.feed(b"partial") == [] and framing.timeout() == [("TIMEOUT", b"partial")]


# ---- the seeded fuzz: >= 100,000 inputs ------------------------------------------------------------


@pytest.mark.parametrize("kind", list(fz.PLAN))
def test_seeded_fuzz(kind):
    """patient: patient-only sessions over several clinician setups;
    clinician: logged in (again after the fuzz logs out); sweep: every control
    byte at every position; flood: hundreds of lines in one read."""
    started = time.perf_counter()
    run = fz.run_fuzz(SEED, {kind: fz.PLAN[kind]})
    INPUTS[kind] = run.inputs
    assert not run.failures, _report(run)
    assert run.inputs == fz.PLAN[kind]
    assert run.lines >= run.inputs * 0.9, "most inputs should end at least one line"
    if kind in ("patient", "clinician"):
        for code in ("OK", "ENCODING", "LONG", "EMPTY", "UNKNOWN", "SYNTAX", "VALUE", "UNIT", "LOCKED", "AUTH"):
            assert run.codes.get(code), f"the fuzz never reached {code}: {run.codes!r}"
    print(f"{kind}: {run.inputs} inputs, {run.lines} lines, {time.perf_counter() - started:.1f}s")


# ---- targeted cases ---------------------------------------------------------------------------------


def test_a_line_split_over_many_reads_gets_one_answer():
    session = fz.Session("patient", setup=fz.SETUPS[0])
    answers = []
    for byte in b"SET amp=3mA\r\n":
        answers += session.send(bytes((byte,)))
        session.tick(1)
    assert len(answers) == 1 and answers[0].startswith("OK state=off") and " amp=3000uA " in answers[0]


def test_huge_lines_keep_the_buffer_bounded_and_the_next_line_works():
    session = fz.Session("patient", setup=fz.SETUPS[0])
    reader = session.reader
    size = len(reader._buf)
    answers = session.send(b"SET amp=3mA " * 1000 + b"\n")
    answers += session.send(b"\xff" * 10240 + b"\r\n")
    answers += session.send(b"STATUS\n")
    assert [a.split()[1] for a in answers[:2]] == ["LONG", "LONG"]
    assert answers[2].startswith("OK state=")
    assert len(reader._buf) == size == fz.LINE_MAX


@pytest.mark.parametrize("byte", [0x03, 0x18, 0x00, 0x07, 0x1B])  # 0x08 and 0x7F erase instead
def test_control_bytes_inside_a_line_refuse_it_and_nothing_runs(byte):
    session = fz.Session("clinician")
    session.send(b"SET ramp=0ms amp=1mA\n")
    session.send(b"ON\n")
    before = session.commands.status(session.now)
    for line in (b"STOP", b"OFF", b"SET amp=2mA", b"PROGRAM 2", b"TRAIN PLAY"):
        for i in range(len(line) + 1):
            answers = session.send(line[:i] + bytes((byte,)) + line[i:] + b"\n")
            assert len(answers) == 1 and answers[0].startswith("ERR ENCODING "), answers
    assert session.commands.status(session.now) == before


@pytest.mark.parametrize("erase", [0x08, 0x7F])
def test_backspace_and_del_erase_the_last_byte_typed(erase):
    session = fz.Session("patient", setup=fz.SETUPS[0])
    bs = bytes((erase,))
    assert session.send(b"STATZ" + bs + b"US\r\n")[0].startswith("OK state=")
    assert session.send(bs * 3 + b"LIMITS\n")[0].startswith("OK program=")  # nothing to erase: nothing happens
    assert session.send(b"STATUS\x1b" + bs + b"\n")[0].startswith("OK state=")  # the bad byte erased: clean
    assert session.send(b"ST\x1bATUS" + bs * 4 + b"\n")[0].startswith("ERR ENCODING ")  # still in the line
    assert session.send(b"X" * (fz.LINE_MAX + 2) + bs * 2 + b"\n")[0].startswith("ERR UNKNOWN ")  # back to max
    assert session.send(b"ON" + bs * 2 + b"\n")[0].startswith("ERR EMPTY ")  # all erased
    assert not session.stim.on


def test_echo_is_off_by_default_and_shows_what_a_person_types():
    session = fz.Session("patient", setup=fz.SETUPS[0])
    session.send(b"STATUS\n")
    assert session.reader.take_echo() == b""  # a machine client sees answers only
    assert session.send(b"ECHO ON\n") == ["OK echo=on"]
    session.reader.echo = session.commands.echo
    echoed = session.reader.feed(b"STAX\x7fT\tUS\x03\x08\r\n")
    assert echoed == [(fz.LINE, "STAT\tUS")]
    assert session.reader.take_echo() == b"STAX\x08 \x08T US?\x08 \x08\r\n"
    assert session.send(b"echo\n") == ["OK echo=on"]
    assert session.send(b"ECHO LOUD\n")[0].startswith("ERR SYNTAX ")
    assert session.send(b"HELLO\n")[0].startswith("OK picostim")  # a programmer connecting turns it off
    assert session.commands.echo is False


def test_a_flood_of_lines_in_one_read_gets_every_answer_in_order():
    session = fz.Session("patient", setup=fz.SETUPS[0])
    lines = [b"STATUS", b"FOO", b"", b"SET pw=1ms", b"LIMITS", b"X" * 300, b"AMP UP", b"\x03"] * 250
    answers = session.send(b"\n".join(lines) + b"\n")
    assert len(answers) == len(lines) == 2000
    expected = ["OK", "UNKNOWN", "EMPTY", "PATIENT_RANGE", "OK", "LONG", "OK", "ENCODING"]
    got = [fz.answer_code(a) for a in answers]
    assert got[:8] == expected
    assert got.count("PATIENT_RANGE") >= 250 and got.count("LONG") == got.count("ENCODING") == 250


def test_a_partial_line_is_dropped_after_the_timeout():
    session = fz.Session("patient")
    assert session.send(b"SET amp=1\x03") == []
    session.tick(fz.TIMEOUT_MS + 20)
    assert session.codes.get("TIMEOUT") == 1
    assert session.send(b"mA\n")[0].startswith("ERR UNKNOWN ")  # the rest is a line of its own


def test_line_reader_alone_never_grows():
    """A reader fed a megabyte without a line end keeps line_max bytes."""
    reader = LineReader(fz.LINE_MAX)
    no_line_end = bytes(b for b in range(256) if b not in (10, 13))
    for _ in range(64):
        assert reader.feed(no_line_end * 64) == []
    assert len(reader._buf) == fz.LINE_MAX
    kind, _ = reader.feed(b"\n")[0]
    assert kind == "LONG"


# ---- firmware bugs the fuzz found (open: each test fails until the firmware is fixed) ------------------


def _answer(commands, line):
    try:
        return commands.answer(line, 1000)
    except Exception as e:  # noqa: BLE001  (on the board this ends the service loop)
        pytest.fail(f"FIRMWARE BUG: {type(e).__name__}: {e} escaped Commands.answer({line!r})")


def test_train_add_finer_than_1us_is_a_value_error():
    """`TRAIN ADD 1.5us` once raised KeyError out of Commands.answer (the
    refusal's wording looked "interval" up as a setting key), which ended the
    service loop on the board. Now: ERR VALUE, nothing added."""
    commands = fz.Session("clinician").commands
    for line in ("TRAIN ADD 1.5us", "TRAIN ADD 1ms 0.0001ms", "TRAIN ADD 0.5us"):
        answer = _answer(commands, line)
        assert answer.startswith("ERR VALUE "), (line, answer)
    assert _answer(commands, "TRAIN") == "OK length=0 max=1024"


def test_train_add_checks_each_interval_before_storing_it():
    """TRAIN ADD once stored each interval in the array("I") unchecked: under
    MicroPython `TRAIN ADD 4294969ms` wrapped modulo 2**32 and played 1704 us
    for the 71.6 minutes asked. Now: ERR RANGE (at most 1 s / the lowest rate,
    500000 us), nothing added."""
    commands = fz.Session("clinician").commands
    for line in ("TRAIN ADD 4294969ms", "TRAIN ADD 999999999ms", "TRAIN ADD 1ms 4294968ms"):
        answer = _answer(commands, line)
        assert answer.startswith("ERR RANGE "), (line, answer)
    assert _answer(commands, "TRAIN") == "OK length=0 max=1024"


# ---- hypothesis ---------------------------------------------------------------------------------------

ALL_LINES = sorted(set(PATIENT_LINES + CLINICIAN_LINES))
TERMINATOR = st.sampled_from([b"\n", b"\n", b"\r", b"\r\n", b"\n\r", b""])
position = st.integers(0, 400)
mutation = st.one_of(
    st.tuples(st.just("insert"), position, st.binary(min_size=1, max_size=4)),
    st.tuples(st.just("insert"), position, st.sampled_from([b"\x00", b"\x03", b"\x18", b"\r", b"\n", b"\xff", b"\t"])),
    st.tuples(st.just("delete"), position, st.integers(1, 8)),
    st.tuples(st.just("flip"), position, st.integers(0, 7)),
    st.tuples(st.just("repeat"), position, st.integers(2, 1200)),
    st.tuples(st.just("splice"), position, st.sampled_from(ALL_LINES)),
)


def _mutate(data, op):
    kind, at = op[0], op[1] % (len(data) + 1)
    if kind == "insert":
        return data[:at] + op[2] + data[at:]
    if kind == "delete":
        return data[:at] + data[at + op[2] :]
    if kind == "flip":
        return data if at == len(data) else data[:at] + bytes((data[at] ^ (1 << op[2]),)) + data[at + 1 :]
    if kind == "repeat":
        return data[:at] + data[at : at + 8] * op[2] + data[at + 8 :]
    return data[:at] + op[2].encode()


mutated_line = st.builds(
    lambda line, ops, end: _reduce(line.encode(), ops) + end,
    st.sampled_from(ALL_LINES),
    st.lists(mutation, max_size=4),
    TERMINATOR,
)


def _reduce(data, ops):
    for op in ops:
        data = _mutate(data, op)
    return data


blank = st.sampled_from([" ", " ", "\t", "  ", " \t"])
number = st.one_of(
    st.integers(0, 30000).map(str),
    st.integers(0, 10**12).map(str),
    st.tuples(st.integers(0, 99), st.integers(0, 99999)).map(lambda t: f"{t[0]}.{t[1]}"),
    st.sampled_from(["", ".", "1.", ".5", "-1", "1e3", "0x10", "٣"]),
)
unit = st.sampled_from(["uA", "mA", "us", "ms", "Hz", "kHz", "s", "min", "", "MA", "h", "µA"])
value = st.one_of(
    st.builds(str.__add__, number, unit),
    st.lists(st.integers(0, 12).map(str), min_size=1, max_size=4).map(",".join),
    st.sampled_from(["none", "amp,pw", "amp,amp", "walk", "x" * 13, "edge", "gate", "off", ""]),
)
pair = st.builds(
    lambda key, value, sep: key + sep + value,
    st.sampled_from(sorted(fz.SAMPLE_VALUES) + ["volume", "AMP", "Pw", ""]),
    value,
    st.sampled_from(["=", "=", "=", "==", ""]),
)
word = st.one_of(
    pair,
    number,
    st.sampled_from(["UP", "down", "CLEAR", "ADD", "PLAY", "LOOP", "walking", "sitting", fz.HEX64, "0" * 64, "2ms"]),
)
grammar_line = st.builds(
    lambda name, lower, words, sep, end: (
        ((name.lower() if lower else name) + "".join(sep + w for w in words)).encode("utf-8") + end
    ),
    st.sampled_from(fz.COMMAND_NAMES + ["LOG", "FOO", ""]),
    st.booleans(),
    st.lists(word, max_size=5),
    blank,
    TERMINATOR,
)


def _run_stream(kind, setup, lines, cuts, pauses):
    session = fz.Session(kind, setup=fz.SETUPS[setup] if kind == "patient" else (), label="hypothesis")
    data = b"".join(lines)
    at = 0
    for i, cut in enumerate(cuts + [len(data)]):
        session.send(data[at : at + cut])
        session.tick(pauses[i % len(pauses)] if pauses else 1)
        at += cut
        if at >= len(data):
            break
    session.tick(fz.TIMEOUT_MS + 10, step=500)  # whatever is left over times out
    assert not session.reader.partial()
    INPUTS["hypothesis"] = INPUTS.get("hypothesis", 0) + len(lines)
    event(f"{kind} {'OK' if session.codes.get('OK', 0) > 4 else 'few OK'}")


HYPOTHESIS = settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])
role = st.sampled_from(["patient", "clinician"])
setup = st.integers(0, len(fz.SETUPS) - 1)
cuts = st.lists(st.integers(1, 80), max_size=20)
pauses = st.lists(st.sampled_from([0, 1, 5, 50, 400]), max_size=5)


@HYPOTHESIS
@given(role, setup, st.lists(st.binary(max_size=300), min_size=1, max_size=8), cuts, pauses)
def test_hypothesis_raw_bytes(kind, which, blobs, cut, pause):
    _run_stream(kind, which, blobs, cut, pause)


@HYPOTHESIS
@given(role, setup, st.lists(mutated_line, min_size=1, max_size=25), cuts, pauses)
def test_hypothesis_mutated_commands(kind, which, lines, cut, pause):
    _run_stream(kind, which, lines, cut, pause)


@HYPOTHESIS
@given(role, setup, st.lists(grammar_line, min_size=1, max_size=25), cuts, pauses)
def test_hypothesis_commands_from_the_grammar(kind, which, lines, cut, pause):
    _run_stream(kind, which, lines, cut, pause)


# ---- the total ------------------------------------------------------------------------------------------


def test_at_least_100000_inputs():
    """Last in the file: the seeded parts (and hypothesis) fed >= 100,000 inputs."""
    missing = [kind for kind in fz.PLAN if kind not in INPUTS]
    if missing:
        pytest.skip(f"run the whole file to count the inputs (not run: {', '.join(missing)})")
    total = sum(INPUTS.values())
    print(f"fuzz inputs: {total} ({', '.join(f'{k} {n}' for k, n in INPUTS.items())})")
    assert total >= MIN_INPUTS, INPUTS
    assert sum(INPUTS[kind] for kind in fz.PLAN) >= MIN_INPUTS, "the seeded fuzz alone shrank below 100,000"
