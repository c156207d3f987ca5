# Protocol modules (line_reader, protocol, commands over therapy, stimulator and
# auth) under MicroPython (and CPython): run as a script from firmware/lib.
# Prints "OK <count>" when every check passes; raises otherwise.
# Roles, ramps, cycling and the absolute limits in depth: check_therapy.py.
import json
import sys

sys.path.insert(0, ".")  # run from firmware/lib
from binascii import hexlify, unhexlify

from fakes import FakeEngine, Randomness  # noqa: E402  (tests_host/mpy, the script's own folder)
from picostim import protocol, safety
from picostim.auth import DEV_KEY, Auth, hmac_sha256
from picostim.commands import Commands
from picostim.line_reader import E_EMPTY, E_ENCODING, E_LONG, E_TIMEOUT, LINE, LineReader
from picostim.stim_program import E_RANGE, Program, StimError, Timing, timing
from picostim.stimulator import Stimulator
from picostim.therapy import Therapy

with open("../../boards/pico.json") as f:
    BOARD = json.load(f)
SYS_HZ = BOARD["sys_clock_hz"]
MAX_LEN = BOARD["serial"]["line_max"]
SAFETY = BOARD["safety"]
HELLO = "picostim fw=test proto=1 board=pico contacts=8"
# STATUS of a fresh board, key by key (safety figures: 60 Hz x 210 us x 2 = 25 permille)
DEFAULT_STATUS = {
    "state": "off",
    "pending": "0",
    "amp": "0uA",
    "pw": "210us",
    "ipg": "20us",
    "rate": "60Hz",
    "asym": "1",
    "cathodes": "0",
    "anodes": "1",
    "step": "100uA",
    "ramp": "2000ms",
    "cycle_on": "0ms",
    "cycle_off": "0ms",
    "train": "0ms",
    "program": "1",
    "name": "P1",
    "group": "-",
    "role": "patient",
    "phase": "-",
    "out_amp": "0uA",
    "stop": "-",
    "charge": "0nC",
    "density": "0nC/cm2",
    "k": "none",
    "duty": "25permille",
}
SAFETY_FIELDS = ("charge", "density", "k", "duty")

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


def fresh(diag=None):
    """engine, stim, commands wired like service.build, on a fake engine."""
    therapy = Therapy(BOARD, lambda program: safety.check(program, SAFETY))
    engine = FakeEngine()
    stim = Stimulator(BOARD, engine, therapy)
    cmds = Commands(therapy, stim, Auth(DEV_KEY, Randomness()), HELLO, diag, safety.describe)
    return engine, stim, cmds


def mac(nonce_hex, key=DEV_KEY):
    return hexlify(hmac_sha256(key, unhexlify(nonce_hex))).decode()


def login(cmds, now=0):
    nonce = field(cmds.answer("LOGIN", now), "nonce")
    eq(cmds.answer("AUTH " + mac(nonce), now), "OK role=clinician", "clinician login")


def code_of(answer):
    parts = answer.split(" ", 2)
    return parts[1] if parts[0] == "ERR" else None


def snapshot(cmds, now=0):
    return [cmds.answer(line, now) for line in ("STATUS", "LIMITS", "PROGRAMS", "GROUPS")]


def refused(cmds, engine, line, code, now=0):
    """The line is answered with ERR <code>, and nothing changed."""
    before = snapshot(cmds, now)
    calls = len(engine.calls)
    answer = cmds.answer(line, now)
    eq(code_of(answer), code, "%r -> %r" % (line, answer))
    check(len(answer.split(" ", 2)) == 3 and answer.split(" ", 2)[2], "ERR without a message: %r" % answer)
    check(snapshot(cmds, now) == before and len(engine.calls) == calls, "%r changed something" % line)


def fields(answer):
    """{key: value} of the key=value words of an answer."""
    out = {}
    for part in answer.split()[1:]:
        key, sep, value = part.partition("=")
        if sep:
            out[key] = value
    return out


def field(answer, key):
    got = fields(answer)
    if key not in got:
        raise AssertionError("no %s in %r" % (key, answer))
    return got[key]


def status_is(answer, what, **changes):
    """answer is an OK STATUS: DEFAULT_STATUS with `changes` (safety figures only if named)."""
    check(answer.startswith("OK "), "%s: %r" % (what, answer))
    got = fields(answer)
    for key in DEFAULT_STATUS:
        if key in SAFETY_FIELDS and key not in changes:
            check(key in got, "%s: no %s in %r" % (what, key, answer))
            continue
        want = changes.get(key, DEFAULT_STATUS[key])
        if got.get(key) != want:
            raise AssertionError("%s: %s=%r, want %r in %r" % (what, key, got.get(key), want, answer))


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
for bad in (0x00, 0x01, 0x07, 0x1B, 0x1F, 0x80, 0xC3, 0xFF):  # 0x08 and 0x7F erase
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
eq(protocol.evt("STATE off"), "EVT STATE off", "evt()")

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
    ("ramp=2000ms", "ramp_ms", 2000),
    ("ramp=2s", "ramp_ms", 2000),
    ("ramp=0.25s", "ramp_ms", 250),
    ("RAMP=1S", "ramp_ms", 1000),
    ("ramp=0ms", "ramp_ms", 0),
    ("cycle_on=1min", "cycle_on_ms", 60000),
    ("cycle_on=0.5min", "cycle_on_ms", 30000),
    ("cycle_off=90s", "cycle_off_ms", 90000),
    ("cycle_off=1.5MIN", "cycle_off_ms", 90000),
    ("train=10min", "train_ms", 600000),
    ("train=0.001s", "train_ms", 1),
    ("amp_min=1mA", "amp_ua_min", 1000),
    ("amp_max=3500uA", "amp_ua_max", 3500),
    ("pw_min=0.1ms", "pw_us_min", 100),
    ("pw_max=300us", "pw_us_max", 300),
    ("rate_min=20Hz", "rate_hz_min", 20),
    ("rate_max=1.2kHz", "rate_hz_max", 1200),
    ("patient=amp,pw", "patient_keys", ("amp", "pw")),
    ("patient=AMP,Rate", "patient_keys", ("amp", "rate")),
    ("patient=none", "patient_keys", ()),
    ("patient=NONE", "patient_keys", ()),
    ("name=Walk_1", "name", "Walk_1"),
    ("name=a-b", "name", "a-b"),
    ("name=twelve_chars", "name", "twelve_chars"),
)
for text, name, value in GOOD:
    eq(protocol.parse_settings([text]), {name: value}, text)
eq(
    protocol.parse_settings(["amp=2.5mA", "pw=210us", "cathodes=3", "ramp=1s", "patient=amp"]),
    {"amp_ua": 2500, "pw_us": 210, "cathodes": (3,), "ramp_ms": 1000, "patient_keys": ("amp",)},
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
    (["ramp=1s", "RAMP=2s"], "SYNTAX"),
    (["patient="], "SYNTAX"),
    (["volts=1"], "KEY"),
    (["amplitude=1mA"], "KEY"),
    (["ramp_ms=1s"], "KEY"),  # fields are not protocol keys
    (["amp_ua_min=1mA"], "KEY"),
    (["amp=2.5"], "UNIT"),  # missing unit
    (["pw=210"], "UNIT"),
    (["rate=60"], "UNIT"),
    (["ramp=2"], "UNIT"),
    (["amp=2.5V"], "UNIT"),  # bad unit
    (["amp=2.5ms"], "UNIT"),
    (["pw=1s"], "UNIT"),
    (["rate=1MHz"], "UNIT"),
    (["ramp=2us"], "UNIT"),
    (["train=1h"], "UNIT"),
    (["cycle_on=1mA"], "UNIT"),
    (["amp_max=1ms"], "UNIT"),
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
    (["ramp=1.0005s"], "VALUE"),  # finer than 1 ms
    (["train=0.5ms"], "VALUE"),
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
    (["patient=amp,,pw"], "VALUE"),
    (["patient=amp,amp"], "VALUE"),
    (["patient=amp,"], "VALUE"),
    (["name=a.b"], "VALUE"),
    (["name=thirteen_char"], "VALUE"),
    (["name=a b"], "VALUE"),
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
try:
    protocol.parse_settings(["ramp=2"])
except StimError as e:
    check("ms/s/min" in e.message, "duration units named: %r" % e.message)

values = {"step_ua": 100, "cathodes": (0, 2), "amp_ua": 2500, "pw_us": 210, "train_ms": 0, "ramp_ms": 1500}
eq(
    protocol.format_settings(values),
    "amp=2500uA pw=210us cathodes=0,2 step=100uA ramp=1500ms train=0ms",
    "format in STATUS order",
)
eq(protocol.format_settings({}), "", "format nothing")
eq(
    protocol.format_settings({"patient_keys": (), "amp_ua_max": 3000}, protocol.LIMIT_KEYS),
    "amp_max=3000uA patient=none",
    "format LIMITS: no patient keys",
)
slot = Therapy(BOARD).active
values = {}
for key in protocol.STATUS_KEYS:  # every setting STATUS shows, from a fresh slot
    name = protocol.SETTINGS[key][0]
    values[name] = slot.settings[name] if name in slot.settings else getattr(slot.program, name)
name, args = protocol.split("SET " + protocol.format_settings(values))
eq(protocol.parse_settings(args), values, "format_settings parses back (a program and its settings)")
values = {"patient_keys": ("amp", "rate")}
for key in slot.window:
    values[key + "_min"], values[key + "_max"] = slot.window[key]
name, args = protocol.split("SET " + protocol.format_settings(values, protocol.LIMIT_KEYS))
eq(protocol.parse_settings(args), values, "format_settings parses back (patient limits)")

# ---- Commands over Therapy + Stimulator + Auth over a FakeEngine ---------------

engine, stim, cmds = fresh()
status_is(cmds.answer("STATUS"), "initial STATUS", charge="0nC", density="0nC/cm2", k="none", duty="25permille")
keys = [part.partition("=")[0] for part in cmds.answer("STATUS").split()[1:]]
n = 2 + len(protocol.STATUS_KEYS)
eq(keys[:n], ["state", "pending"] + list(protocol.STATUS_KEYS), "STATUS starts with state, pending, the settings")
eq(cmds.answer("HELLO"), "OK " + HELLO, "HELLO")
eq(cmds.answer("hello"), "OK " + HELLO, "command names are case-insensitive")
eq(cmds.answer("DIAG"), "OK", "DIAG without diagnostics")
eq(fresh(lambda: "commands=3")[2].answer("DIAG"), "OK commands=3", "DIAG with diagnostics")
eq(cmds.answer("PROGRAMS"), "OK active=1 1=P1 2=P2 3=P3 4=P4 5=P5 6=P6 7=P7 8=P8", "PROGRAMS")
eq(cmds.answer("GROUPS"), "OK active=-", "GROUPS with none defined")
eq(
    cmds.answer("LIMITS"),
    "OK program=1 amp_min=0uA amp_max=25500uA pw_min=10us pw_max=1000us rate_min=2Hz rate_max=10000Hz patient=amp",
    "LIMITS: the patient may change amp within the board's range",
)
eq(engine.calls, [], "no engine call yet")

# SET while off, as the patient (amp is theirs by default): applied, engine untouched
a = cmds.answer("SET amp=2.5mA")
status_is(a, "SET amp while off", amp="2500uA")
eq(engine.calls, [], "SET while off calls no engine")
eq(field(a, "charge"), "525nC", "STATUS carries the safety figures")

# the clinician's settings need a login; HELLO ends the session
refused(cmds, engine, "SET pw=100us", "LOCKED")
login(cmds)
eq(field(cmds.answer("STATUS"), "role"), "clinician", "role=clinician after AUTH")
eq(cmds.answer("HELLO"), "OK " + HELLO, "HELLO while clinician")
eq(field(cmds.answer("STATUS"), "role"), "patient", "HELLO logs the clinician out")
login(cmds)
eq(cmds.answer("LOGOUT"), "OK role=patient", "LOGOUT")
eq(field(cmds.answer("STATUS"), "role"), "patient", "LOGOUT ends the session")
login(cmds)

# ON without a ramp: start with the exact timing and the full amplitude
status_is(cmds.answer("SET amp=2.5mA ramp=0ms"), "SET amp+ramp=0", amp="2500uA", ramp="0ms", role="clinician")
a = cmds.answer("ON")
eq(field(a, "state"), "on", "ON")
eq(len(engine.calls), 1, "ON starts the engine once")
eq(engine.calls[0][0], "start", "ON calls start")
eq(engine.calls[0][1], Timing(26250, 2500, 26250, 2083333, 0b0110), "start timing")
eq(engine.calls[0][2], Program(amp_ua=2500), "start program")
eq(field(a, "out_amp"), "2500uA", "no ramp: full amplitude at once")
eq(field(cmds.answer("ON"), "state"), "on", "ON while on")
eq(len(engine.calls), 1, "ON while on starts nothing")
eq(stim.poll(10), None, "poll: no state change")
eq(field(cmds.answer("STATUS"), "phase"), "steady", "steady after the (empty) ramp")

# SET while on: update with the new timing; pending until the engine took it
eq(field(cmds.answer("STATUS"), "pending"), "0", "nothing pending")
a = cmds.answer("SET pw=100us rate=130Hz cathodes=0,2 anodes=1,3")
eq(engine.calls[-1][0], "update", "SET while on calls update")
eq(engine.calls[-1][1], Timing(12500, 2500, 12500, 961538, 0b01100110), "update timing")
eq(engine.calls[-1][1], timing(stim.therapy.program(), SYS_HZ), "update timing matches the program")
eq(engine.calls[-1][2], stim.therapy.program(), "update program")
status_is(
    a,
    "STATUS after SET while on",
    state="on",
    pending="1",
    amp="2500uA",
    pw="100us",
    rate="130Hz",
    cathodes="0,2",
    anodes="1,3",
    ramp="0ms",
    role="clinician",
    phase="steady",
    out_amp="2500uA",
    duty="26permille",
)
eq(len(engine.calls), 2, "one update per SET")
stim.poll(20)
eq(field(cmds.answer("STATUS"), "pending"), "0", "pending cleared once the engine took the update")

# every error code, while on: no engine call, STATUS/LIMITS/PROGRAMS/GROUPS identical
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
    ("PROGRAM", "SYNTAX"),
    ("PROGRAM x", "SYNTAX"),
    ("PROGRAM 100", "SYNTAX"),
    ("PROGRAM 1 2", "SYNTAX"),
    ("PROGRAMS 1", "SYNTAX"),
    ("GROUP", "SYNTAX"),
    ("GROUP a b c", "SYNTAX"),
    ("GROUP g x", "SYNTAX"),
    ("GROUP g 100", "SYNTAX"),
    ("GROUPS x", "SYNTAX"),
    ("RESTORE x", "SYNTAX"),
    ("LIMITS x", "SYNTAX"),
    ("LOGIN x", "SYNTAX"),
    ("LOGOUT x", "SYNTAX"),
    ("AUTH", "SYNTAX"),
    ("AUTH a b", "SYNTAX"),
    ("SET volts=3", "KEY"),  # unknown key
    ("SET amp=3mA foo=1", "KEY"),
    ("SET amp=2.5", "UNIT"),  # missing unit
    ("SET amp=2.5A", "UNIT"),  # bad unit
    ("SET rate=60ms", "UNIT"),
    ("SET amp=2.5 mA", "UNIT"),  # a space before the unit
    ("SET ramp=1", "UNIT"),
    ("SET amp=2.0005mA", "VALUE"),  # finer than 1 uA
    ("SET amp=1234567890uA", "VALUE"),  # too many digits
    ("SET cathodes=0,,2", "VALUE"),  # bad contacts list
    ("SET patient=volts", "VALUE"),
    ("SET patient=amp,amp", "VALUE"),
    ("SET name=a.b", "VALUE"),
    ("SET name=thirteen_char", "VALUE"),
    ("GROUP a.b 1", "VALUE"),
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
    ("SET ramp=61s", "RANGE"),
    ("SET cycle_on=61min", "RANGE"),
    ("SET cycle_off=61min", "RANGE"),
    ("SET train=1441min", "RANGE"),
    ("SET amp_min=2mA amp_max=1mA", "RANGE"),  # an empty window
    ("SET amp_max=26mA", "RANGE"),  # a window beyond the board's range
    ("SET rate_min=1Hz", "RANGE"),
    ("SET pw_max=1001us", "RANGE"),
    ("SET pw=1000us rate=1kHz", "FIT"),  # does not fit
    ("SET rate=10kHz", "FIT"),
    ("SET asym=8 rate=2kHz", "FIT"),
    ("SET cathodes=8", "CONTACTS"),  # contacts 0..7
    ("SET cathodes=1", "CONTACTS"),  # contact 1 is an anode
    ("SET cathodes=0,0", "CONTACTS"),
    ("SET anodes=0 cathodes=0", "CONTACTS"),
    ("SET amp=20mA pw=300us", "LIMIT"),  # 6000 nC per phase > 4000 nC
    ("SET rate=1kHz pw=400us", "LIMIT"),  # duty 800 permille > 600
    ("PROGRAM 0", "NOT_FOUND"),
    ("PROGRAM 9", "NOT_FOUND"),
    ("PROGRAM 99", "NOT_FOUND"),
    ("GROUP nosuch", "NOT_FOUND"),
    ("GROUP g 9", "NOT_FOUND"),
    ("GROUP g 0", "NOT_FOUND"),
    ("AUTH " + "00" * 32, "AUTH"),  # no challenge: not even a failure
)
seen_codes = {}
for line, code in BAD_LINES:
    refused(cmds, engine, line, code)
    seen_codes[code] = True
eq(cmds.auth.failures(), 0, "AUTH without a challenge is no failure")
for code in ("UNKNOWN", "SYNTAX", "KEY", "UNIT", "VALUE", "RANGE", "FIT", "CONTACTS", "LIMIT", "NOT_FOUND", "AUTH"):
    check(code in seen_codes, "no bad line for " + code)
eq(field(cmds.answer("STATUS"), "state"), "on", "still on after the refusals")

# the patient's refusals (LOCKED, PATIENT_RANGE, ROLE), while on
cmds.answer("SET amp_max=3mA")
cmds.answer("LOGOUT")
PATIENT_LINES = (
    ("SET pw=200us", "LOCKED"),
    ("SET cathodes=3", "LOCKED"),
    ("SET amp=2mA ramp=1s", "LOCKED"),
    ("SET step=200uA", "LOCKED"),
    ("SET amp_max=5mA", "LOCKED"),
    ("SET patient=amp,pw", "LOCKED"),
    ("SET name=mine", "LOCKED"),
    ("SET amp=3.1mA", "PATIENT_RANGE"),
    ("GROUP g 1", "ROLE"),
    ("AUTH " + "00" * 32, "AUTH"),
)
for line, code in PATIENT_LINES:
    refused(cmds, engine, line, code)
eq(field(cmds.answer("AMP UP"), "amp"), "2600uA", "the patient steps amp within the window")
eq(field(cmds.answer("SET amp=3mA"), "amp"), "3000uA", "the patient sets amp to the window's top")
refused(cmds, engine, "AMP UP", "PATIENT_RANGE")
eq(field(cmds.answer("RESTORE"), "amp"), "2500uA", "RESTORE: back to the clinician's amp")
login(cmds)
cmds.answer("SET amp_max=25.5mA")

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
eq(field(cmds.answer("SET amp=25.5mA"), "amp"), "25500uA", "SET amp to the top of the range")
refused(cmds, engine, "AMP UP", E_RANGE)
cmds.answer("SET amp=25499uA step=1uA")
eq(field(cmds.answer("AMP UP"), "amp"), "25500uA", "AMP UP onto the limit")
refused(cmds, engine, "AMP UP", E_RANGE)
cmds.answer("SET amp=500uA step=1mA")
refused(cmds, engine, "AMP DOWN", E_RANGE)  # no clamping to 0
eq(field(cmds.answer("AMP UP"), "amp"), "1500uA", "AMP UP by a 1 mA step")

# OFF without a ramp: stop at once, state stopping until the engine finishes the pulse
stim.poll(30)
a = cmds.answer("OFF", 40)
eq(engine.calls[-1], ("stop",), "OFF calls stop")
eq(field(a, "state"), "stopping", "OFF answers stopping")
eq(field(a, "pending"), "0", "nothing pending once off")
eq(field(a, "stop"), "off", "stop reason: OFF")
eq(stim.poll(50), None, "first poll: still stopping")
eq(stim.poll(60), "STATE off", "poll reports the change to off")
eq(stim.poll(70), None, "no further change")
eq(field(cmds.answer("STATUS"), "state"), "off", "STATUS off")
eq(field(cmds.answer("STATUS"), "out_amp"), "0uA", "no output once off")

# SET while off after being on: no update
n = len(engine.calls)
cmds.answer("SET amp=1mA")
eq(len(engine.calls), n, "SET while off calls nothing")
refused(cmds, engine, "SET amp=1mA rate=20kHz", E_RANGE)

# ON right after STOP: start waits for the stopping engine, then starts again
cmds.answer("ON", 100)
a = cmds.answer("STOP", 110)
eq(engine.state, "stopping", "STOP leaves the engine stopping")
eq(field(a, "stop"), "command", "stop reason: STOP")
polls = engine.polls
a = cmds.answer("ON", 120)
eq(field(a, "state"), "on", "ON while stopping")
check(engine.polls > polls and engine.calls[-2] == ("stop",), "ON polled the engine idle first")
eq(engine.calls[-1][0], "start", "then started")
eq(engine.calls[-1][2], stim.therapy.program(), "with the current program")
eq(field(cmds.answer("STOP", 130), "state"), "stopping", "STOP answers stopping")

# PROGRAM and GROUP: answered with STATUS / GROUPS
a = cmds.answer("PROGRAM 2", 200)
eq((field(a, "program"), field(a, "name"), field(a, "amp")), ("2", "P2", "0uA"), "PROGRAM 2")
eq(cmds.answer("GROUP walk 1", 200), "OK active=- walk=1", "GROUP defines, answers GROUPS")
a = cmds.answer("GROUP walk", 200)
eq((field(a, "program"), field(a, "group"), field(a, "amp")), ("1", "walk", "1000uA"), "GROUP selects")
eq(cmds.answer("GROUPS", 200), "OK active=walk walk=1", "GROUPS")
eq(field(cmds.answer("PROGRAMS", 200), "active"), "1", "PROGRAMS active")
check(engine.calls[-1] == ("stop",), "PROGRAM and GROUP while off start nothing")

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
