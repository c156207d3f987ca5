# Protocol modules (line_reader, protocol, stimulator, commands) under
# MicroPython (and CPython): run as a script from firmware/lib.
# Prints "OK <count>" when every check passes; raises otherwise.
import json
import sys

sys.path.insert(0, ".")  # run from firmware/lib
import protocol
from commands import Commands
from line_reader import E_EMPTY, E_ENCODING, E_LONG, E_TIMEOUT, LINE, LineReader
from stim_program import E_RANGE, Program, StimError, Timing, timing
from stimulator import Stimulator

with open("../../boards/pico.json") as f:
    BOARD = json.load(f)
SYS_HZ = BOARD["sys_clock_hz"]
MAX_LEN = BOARD["serial"]["line_max"]
HELLO = "picostim fw=test proto=1 board=pico contacts=8"
DEFAULT_STATUS = "OK state=off pending=0 amp=0uA pw=210us ipg=20us rate=60Hz asym=1 cathodes=0 anodes=1 step=100uA"

checks = 0


def check(cond, what):
    global checks
    if not cond:
        raise AssertionError(what)
    checks += 1


def eq(got, want, what=""):
    global checks
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))
    checks += 1


class FakeEngine:
    """Records what the Stimulator asks of the pulse engine."""

    def __init__(self):
        self.state = "idle"
        self.calls = []  # ("start"|"update", Timing, Program) or ("stop",)
        self.polls = 0
        self.stop_polls = 2  # polls a stop takes to finish the pulse in progress
        self._left = 0
        self.has_pending = False

    def start(self, timing, program):
        assert self.state == "idle", "start while " + self.state
        self.calls.append(("start", timing, program))
        self.state = "running"

    def update(self, timing, program):
        assert self.state == "running", "update while " + self.state
        self.calls.append(("update", timing, program))

    def stop(self):
        self.calls.append(("stop",))
        if self.state == "running":
            self.state = "stopping"
            self._left = self.stop_polls

    def poll(self):
        self.polls += 1
        if self.state == "stopping":
            self._left -= 1
            if self._left <= 0:
                self.state = "idle"

    def pending(self):
        return self.has_pending


def fresh(diag=None):
    engine = FakeEngine()
    stim = Stimulator(BOARD, engine)
    return engine, stim, Commands(stim, HELLO, diag)


def code_of(answer):
    parts = answer.split(" ", 2)
    return parts[1] if parts[0] == "ERR" else None


def refused(cmds, engine, line, code):
    """The line is answered with ERR <code>, and nothing changed."""
    before = cmds.answer("STATUS")
    calls = len(engine.calls)
    answer = cmds.answer(line)
    eq(code_of(answer), code, "%r -> %r" % (line, answer))
    check(len(answer.split(" ", 2)) == 3 and answer.split(" ", 2)[2], "ERR without a message: %r" % answer)
    check(cmds.answer("STATUS") == before and len(engine.calls) == calls, "%r changed something" % line)


def field(answer, key):
    for part in answer.split():
        if part.startswith(key + "="):
            return part[len(key) + 1 :]
    raise AssertionError("no %s in %r" % (key, answer))


# ---- LineReader --------------------------------------------------------------

r = LineReader(MAX_LEN)
eq(r.feed(b""), [], "empty feed")
eq(r.feed(b"HELLO\r"), [(LINE, "HELLO")], "CR")
eq(r.feed(b"HELLO\n"), [(LINE, "HELLO")], "LF")
eq(r.feed(b"HELLO\r\n"), [(LINE, "HELLO")], "CRLF")
eq(r.feed(b"A\r"), [(LINE, "A")], "CR at the end of a feed")
eq(r.feed(b"\nB\n"), [(LINE, "B")], "LF of a CRLF split over two feeds")
eq(r.feed(b"\r\n\r\n"), [(E_EMPTY, "empty line"), (E_EMPTY, "empty line")], "two bare CRLFs")
eq(len(r.feed(b"\n\r")), 2, "LF CR is two line ends")
r.feed(b"\n")  # the LF after that CR is part of it: swallowed
eq(r.feed(b"A\nB\rC\r\nD"), [(LINE, "A"), (LINE, "B"), (LINE, "C")], "three lines in one feed")
check(r.partial(), "D is a partial line")
eq(r.feed(b"\n"), [(LINE, "D")], "partial line completed")
check(not r.partial(), "nothing partial after a terminator")

# a line split over many feed() calls, one byte at a time
line = b"SET amp=2.5mA pw=210us\r\n"
got = []
for i in range(len(line)):
    out = r.feed(line[i : i + 1])
    if i < len(line) - 2:
        check(out == [] and r.partial(), "byte %d ended something: %r" % (i, out))
    got.extend(out)
eq(got, [(LINE, "SET amp=2.5mA pw=210us")], "line fed byte by byte")

# length: max_len accepted, one more refused, memory bounded
eq(r.feed(b"A" * MAX_LEN + b"\n"), [(LINE, "A" * MAX_LEN)], "line of exactly max_len")
out = r.feed(b"A" * (MAX_LEN + 1) + b"\n")
eq(out[0][0], E_LONG, "line of max_len + 1")
check(str(MAX_LEN + 1) in out[0][1], "LONG message gives the length: %r" % out[0][1])
size = len(r._buf)
eq(size, MAX_LEN, "buffer preallocated to max_len")
for _ in range(80):  # 10240 bytes without a terminator
    r.feed(b"X" * 128)
    if r._len > MAX_LEN or len(r._buf) != size:
        raise AssertionError("buffer grew: %d kept, %d allocated" % (r._len, len(r._buf)))
check(True, "buffer bounded while an overlong line arrives")
out = r.feed(b"\r\n")
eq(out, [(E_LONG, "line of 10240 bytes is longer than %d" % MAX_LEN)], "overlong line ends in LONG")
eq(r.feed(b"STATUS\n"), [(LINE, "STATUS")], "clean line after an overlong one")
eq(r.feed(b"\x00" * (MAX_LEN + 5) + b"\n")[0][0], E_LONG, "overlong with bad bytes is LONG")
small = LineReader(4)
eq(small.feed(b"ABCD\nABCDE\n"), [(LINE, "ABCD"), (E_LONG, "line of 5 bytes is longer than 4")], "max_len=4")

# encoding: anything outside printable ASCII (TAB aside) spoils the line
for bad in (0x00, 0x01, 0x07, 0x1B, 0x7F, 0x80, 0xC3, 0xFF):
    out = r.feed(b"SET" + bytes([bad]) + b" amp=1mA\n")
    eq(out, [(E_ENCODING, "byte 0x%02x at column 4 is not printable ASCII" % bad)], "byte 0x%02x" % bad)
eq(r.feed(b"\x1b[A\n")[0][0], E_ENCODING, "an arrow key's escape sequence")
eq(r.feed("amp=2µA\n".encode())[0][0], E_ENCODING, "UTF-8 text")
eq(r.feed(b"OK\n"), [(LINE, "OK")], "clean line after an ENCODING error")
eq(r.feed(b"SET\tamp=1mA\n"), [(LINE, "SET\tamp=1mA")], "TAB is allowed")

# empty and blank
eq(r.feed(b"   \n"), [(E_EMPTY, "empty line")], "spaces only")
eq(r.feed(b"\t \t\r\n"), [(E_EMPTY, "empty line")], "tabs and spaces only")
eq(r.feed(b"  HELLO \t\n"), [(LINE, "HELLO")], "surrounding blanks stripped")

# partial lines and timeout
r = LineReader(MAX_LEN)
check(not r.partial(), "new reader has nothing partial")
r.feed(b"SE")
check(r.partial(), "partial after 2 bytes")
eq(r.discard(), (E_TIMEOUT, "partial line of 2 bytes discarded"), "discard")
check(not r.partial(), "nothing partial after discard")
eq(r.feed(b"HELLO\n"), [(LINE, "HELLO")], "discarded bytes are gone")
r.feed(b"\x00ab")
eq(r.discard()[0], E_TIMEOUT, "discard a partial line with a bad byte")
eq(r.feed(b"OK\n"), [(LINE, "OK")], "the bad byte went with it")
r.feed(b"Y" * 300)
eq(r.discard(), (E_TIMEOUT, "partial line of 300 bytes discarded"), "discard an overlong partial line")
eq(r.feed(b"HI\n"), [(LINE, "HI")], "no LONG after a discarded overlong line")

# ---- protocol: split, parse_settings, format_settings -------------------------

eq(protocol.split("set amp=1mA  pw=2us"), ("SET", ["amp=1mA", "pw=2us"]), "split")
eq(protocol.split("SET\tamp=1mA"), ("SET", ["amp=1mA"]), "split on TAB")
eq(protocol.ok(), "OK", "ok()")
eq(protocol.err("UNIT", "x"), "ERR UNIT x", "err()")

GOOD = (
    ("amp=2500uA", "amp_ua", 2500),
    ("amp=2.5mA", "amp_ua", 2500),
    ("amp=2.500mA", "amp_ua", 2500),
    ("amp=0.001mA", "amp_ua", 1),
    ("amp=007uA", "amp_ua", 7),
    ("amp=25.5mA", "amp_ua", 25500),
    ("AMP=1MA", "amp_ua", 1000),
    ("amp=123456789uA", "amp_ua", 123456789),
    ("pw=210us", "pw_us", 210),
    ("pw=0.21ms", "pw_us", 210),
    ("pw=1MS", "pw_us", 1000),
    ("ipg=0us", "ipg_us", 0),
    ("rate=60Hz", "rate_hz", 60),
    ("rate=60hz", "rate_hz", 60),
    ("rate=1kHz", "rate_hz", 1000),
    ("rate=0.06kHz", "rate_hz", 60),
    ("asym=2", "asym", 2),
    ("step=50uA", "step_ua", 50),
    ("step=0.05mA", "step_ua", 50),
    ("cathodes=0,2", "cathodes", (0, 2)),
    ("anodes=7", "anodes", (7,)),
)
for text, name, value in GOOD:
    eq(protocol.parse_settings([text]), {name: value}, text)
eq(
    protocol.parse_settings(["amp=2.5mA", "pw=210us", "cathodes=3"]),
    {"amp_ua": 2500, "pw_us": 210, "cathodes": (3,)},
    "several settings",
)

BAD_ARGS = (
    ([], "SYNTAX"),
    (["amp"], "SYNTAX"),  # bare value without '='
    (["2.5mA"], "SYNTAX"),
    (["=2.5mA"], "SYNTAX"),
    (["amp="], "SYNTAX"),
    (["amp=1mA", "amp=2mA"], "SYNTAX"),  # duplicate key
    (["amp=1mA", "AMP=2mA"], "SYNTAX"),
    (["volts=1"], "KEY"),
    (["amplitude=1mA"], "KEY"),
    (["amp=2.5"], "UNIT"),  # missing unit
    (["pw=210"], "UNIT"),
    (["rate=60"], "UNIT"),
    (["amp=2.5V"], "UNIT"),  # bad unit
    (["amp=2.5ms"], "UNIT"),
    (["pw=1s"], "UNIT"),
    (["rate=1MHz"], "UNIT"),
    (["amp=mA"], "VALUE"),
    (["amp=.5mA"], "VALUE"),
    (["amp=5.mA"], "VALUE"),
    (["amp=-1mA"], "VALUE"),
    (["amp=+1mA"], "VALUE"),
    (["amp=1e3uA"], "VALUE"),
    (["amp=1,5mA"], "VALUE"),
    (["amp=1.2.3mA"], "VALUE"),
    (["amp=2.0005mA"], "VALUE"),  # finer than 1 uA
    (["amp=0.5uA"], "VALUE"),
    (["rate=2.5Hz"], "VALUE"),
    (["pw=0.0001ms"], "VALUE"),
    (["amp=1234567890uA"], "VALUE"),  # too many digits
    (["amp=12345.67890mA"], "VALUE"),
    (["asym=2.0"], "VALUE"),
    (["asym=2x"], "VALUE"),
    (["cathodes=1,,2"], "VALUE"),
    (["cathodes=1,"], "VALUE"),
    (["cathodes=a"], "VALUE"),
    (["cathodes=-1"], "VALUE"),
    (["cathodes=1000"], "VALUE"),
    (["anodes=1;2"], "VALUE"),
)
for args, code in BAD_ARGS:
    try:
        value = protocol.parse_settings(args)
    except StimError as e:
        eq(e.code, code, "%r" % (args,))
        continue
    raise AssertionError("%r accepted as %r" % (args, value))
try:
    protocol.parse_settings(["amp=2.0005mA"])
except StimError as e:
    check("resolution of 1 uA" in e.message, "resolution message: %r" % e.message)

values = {"step_ua": 100, "cathodes": (0, 2), "amp_ua": 2500, "pw_us": 210}
eq(protocol.format_settings(values), "amp=2500uA pw=210us cathodes=0,2 step=100uA", "format in STATUS order")
eq(protocol.format_settings({}), "", "format nothing")
values = Stimulator(BOARD, FakeEngine()).settings()
name, args = protocol.split("SET " + protocol.format_settings(values))
eq(protocol.parse_settings(args), values, "format_settings parses back")

# ---- Commands over a Stimulator over a FakeEngine -----------------------------

engine, stim, cmds = fresh()
eq(cmds.answer("STATUS"), DEFAULT_STATUS, "initial STATUS")
eq(cmds.answer("HELLO"), "OK " + HELLO, "HELLO")
eq(cmds.answer("hello"), "OK " + HELLO, "command names are case-insensitive")
eq(cmds.answer("DIAG"), "OK", "DIAG without diagnostics")
eq(fresh(lambda: "commands=3")[2].answer("DIAG"), "OK commands=3", "DIAG with diagnostics")
eq(engine.calls, [], "no engine call yet")

# SET while off: applied, engine untouched
a = cmds.answer("SET amp=2.5mA")
eq(a, DEFAULT_STATUS.replace("amp=0uA", "amp=2500uA"), "SET amp while off")
eq(engine.calls, [], "SET while off calls no engine")

# ON: start with the exact timing
a = cmds.answer("ON")
eq(field(a, "state"), "on", "ON")
p = stim.program
eq(len(engine.calls), 1, "ON starts the engine once")
eq(engine.calls[0][0], "start", "ON calls start")
eq(engine.calls[0][1], Timing(26250, 2500, 26250, 2083333, 0b0110), "start timing")
eq(engine.calls[0][2], Program(amp_ua=2500), "start program")
eq(field(cmds.answer("ON"), "state"), "on", "ON while on")
eq(len(engine.calls), 1, "ON while on starts nothing")

# pending
eq(field(cmds.answer("STATUS"), "pending"), "0", "nothing pending")
engine.has_pending = True
eq(field(cmds.answer("STATUS"), "pending"), "1", "engine pending while on")

# SET while on: update with the new timing
a = cmds.answer("SET pw=100us rate=130Hz cathodes=0,2 anodes=1,3")
eq(engine.calls[-1][0], "update", "SET while on calls update")
eq(engine.calls[-1][1], Timing(12500, 2500, 12500, 961538, 0b01100110), "update timing")
eq(engine.calls[-1][1], timing(stim.program, SYS_HZ), "update timing matches the program")
eq(engine.calls[-1][2], stim.program, "update program")
eq(
    a,
    "OK state=on pending=1 amp=2500uA pw=100us ipg=20us rate=130Hz asym=1 cathodes=0,2 anodes=1,3 step=100uA",
    "STATUS after SET while on",
)
eq(len(engine.calls), 2, "one update per SET")

# every error code, while on: no engine call, STATUS identical
BAD_LINES = (
    ("FOO", "UNKNOWN"),
    ("SETT amp=1mA", "UNKNOWN"),
    ("HELLO there", "SYNTAX"),  # args to HELLO
    ("STATUS now", "SYNTAX"),
    ("ON 1", "SYNTAX"),
    ("OFF now", "SYNTAX"),
    ("STOP all", "SYNTAX"),
    ("DIAG x", "SYNTAX"),
    ("SET", "SYNTAX"),
    ("SET amp", "SYNTAX"),  # bare value without '='
    ("SET amp=1mA amp=1mA", "SYNTAX"),  # duplicate key
    ("AMP", "SYNTAX"),
    ("AMP SIDEWAYS", "SYNTAX"),
    ("AMP UP UP", "SYNTAX"),
    ("SET volts=3", "KEY"),  # unknown key
    ("SET amp=3mA foo=1", "KEY"),
    ("SET amp=2.5", "UNIT"),  # missing unit
    ("SET amp=2.5A", "UNIT"),  # bad unit
    ("SET rate=60ms", "UNIT"),
    ("SET amp=2.5 mA", "UNIT"),  # a space before the unit
    ("SET amp=2.0005mA", "VALUE"),  # finer than 1 uA
    ("SET amp=1234567890uA", "VALUE"),  # too many digits
    ("SET cathodes=0,,2", "VALUE"),  # bad contacts list
    ("SET amp=30mA", "RANGE"),  # out of range
    ("SET amp=3mA pw=5us", "RANGE"),  # first change fine, second not: neither applied
    ("SET pw=1001us", "RANGE"),
    ("SET rate=1Hz", "RANGE"),
    ("SET rate=20kHz", "RANGE"),
    ("SET asym=9", "RANGE"),
    ("SET asym=0", "RANGE"),
    ("SET step=0uA", "RANGE"),
    ("SET step=26mA", "RANGE"),
    ("SET step=1mA amp=99mA", "RANGE"),
    ("SET pw=1000us rate=1kHz", "FIT"),  # does not fit
    ("SET rate=10kHz", "FIT"),
    ("SET asym=8 rate=2kHz", "FIT"),
    ("SET cathodes=8", "CONTACTS"),  # contacts 0..7
    ("SET cathodes=1", "CONTACTS"),  # contact 1 is an anode
    ("SET cathodes=0,0", "CONTACTS"),
    ("SET anodes=0 cathodes=0", "CONTACTS"),
)
seen_codes = {}
for line, code in BAD_LINES:
    refused(cmds, engine, line, code)
    seen_codes[code] = True
for code in ("UNKNOWN", "SYNTAX", "KEY", "UNIT", "VALUE", "RANGE", "FIT", "CONTACTS"):
    check(code in seen_codes, "no bad line for " + code)
eq(field(cmds.answer("STATUS"), "state"), "on", "still on after the refusals")

# SET a step only: setting kept, step changed
a = cmds.answer("set STEP=0.25MA")
eq(field(a, "step"), "250uA", "SET step (lower-case command, upper-case key and unit)")

# AMP UP/DOWN while on: update each time
n = len(engine.calls)
a = cmds.answer("AMP UP")
eq(field(a, "amp"), "2750uA", "AMP UP")
eq(engine.calls[-1][0], "update", "AMP UP while on calls update")
eq(engine.calls[-1][2].amp_ua, 2750, "AMP UP updates the amplitude")
a = cmds.answer("amp down")
eq(field(a, "amp"), "2500uA", "AMP DOWN (lower case)")
eq(len(engine.calls), n + 2, "one update per AMP")

# AMP limits: refused steps change nothing and call nothing
cmds.answer("SET amp=0uA step=100uA")
refused(cmds, engine, "AMP DOWN", E_RANGE)
cmds.answer("SET amp=25.5mA")
refused(cmds, engine, "AMP UP", E_RANGE)
cmds.answer("SET amp=25499uA step=1uA")
eq(field(cmds.answer("AMP UP"), "amp"), "25500uA", "AMP UP onto the limit")
refused(cmds, engine, "AMP UP", E_RANGE)
cmds.answer("SET amp=500uA step=1mA")
refused(cmds, engine, "AMP DOWN", E_RANGE)  # no clamping to 0
eq(field(cmds.answer("AMP UP"), "amp"), "1500uA", "AMP UP by a 1 mA step")

# OFF: stop, state stopping until the engine finishes the pulse
a = cmds.answer("OFF")
eq(engine.calls[-1], ("stop",), "OFF calls stop")
eq(field(a, "state"), "stopping", "OFF answers stopping")
eq(field(a, "pending"), "0", "nothing pending once off")
eq(stim.poll(), None, "first poll: still stopping")
eq(stim.poll(), "off", "poll reports the change to off")
eq(stim.poll(), None, "no further change")
eq(field(cmds.answer("STATUS"), "state"), "off", "STATUS off")

# SET while off after being on: no update
n = len(engine.calls)
cmds.answer("SET amp=1mA")
eq(len(engine.calls), n, "SET while off calls nothing")
refused(cmds, engine, "SET amp=1mA rate=20kHz", E_RANGE)

# ON right after STOP: start waits for the stopping engine, then starts again
cmds.answer("ON")
cmds.answer("STOP")
eq(engine.state, "stopping", "STOP leaves the engine stopping")
polls = engine.polls
a = cmds.answer("ON")
eq(field(a, "state"), "on", "ON while stopping")
check(engine.polls > polls and engine.calls[-2] == ("stop",), "ON polled the engine idle first")
eq(engine.calls[-1][0], "start", "then started")
eq(engine.calls[-1][2], stim.program, "with the current program")
eq(field(cmds.answer("STOP"), "state"), "stopping", "STOP answers stopping")

# a whole exchange: bytes in, answers out
engine, stim, cmds = fresh()
r = LineReader(MAX_LEN)
answers = []
for kind, text in r.feed(b"HELLO\r\nset amp=1mA\r\n\r\nbogus\x00\nAMP UP\n"):
    answers.append(cmds.answer(text) if kind == LINE else protocol.err(kind, text))
eq(len(answers), 5, "five answers")
eq(answers[0], "OK " + HELLO, "exchange HELLO")
eq(field(answers[1], "amp"), "1000uA", "exchange SET")
eq(answers[2], "ERR EMPTY empty line", "exchange empty line")
eq(code_of(answers[3]), "ENCODING", "exchange bad byte")
eq(field(answers[4], "amp"), "1100uA", "exchange AMP UP")
for a in answers:
    check("\r" not in a and "\n" not in a, "answer is one line: %r" % a)

print("OK", checks)
