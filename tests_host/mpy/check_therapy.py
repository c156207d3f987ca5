# Therapy (programs, groups, the patient's permissions, RESTORE), the
# absolute limits, clinician authentication and the Stimulator's timing
# (ramps, cycling, train, emergency stop), all through Commands as the
# service wires them, under MicroPython (and CPython): run as a script from
# firmware/lib. Prints "OK <count>" when every check passes; raises otherwise.
# A check's label is the comment on its line (a failure gives the line number):
# a string constant per check would scatter over the 180K heap, and the exact
# Shannon arithmetic of safety.check needs free blocks of 1-3 KB.
import gc
import json
import math
import sys

sys.path.insert(0, ".")  # run from firmware/lib
import hashlib
from binascii import hexlify, unhexlify

from fakes import FakeEngine, Randomness  # noqa: E402  (tests_host/mpy, the script's own folder)
from picostim import protocol, safety
from picostim.auth import DEV_KEY, Auth, hmac_sha256
from picostim.commands import Commands
from picostim.stim_program import Program, timing
from picostim.stimulator import RAMP_STEP_MS, Stimulator
from picostim.therapy import PROGRAM_FIELDS, SLOTS, Therapy

with open("../../boards/pico.json") as f:
    BOARD = json.load(f)
SAFETY = BOARD["safety"]
RANGES = BOARD["limits"]
SYS_HZ = BOARD["sys_clock_hz"]
OTHER_KEY = hashlib.sha256(b"not this board's key").digest()

checks = 0


def check(cond, what=""):
    global checks
    if not cond:
        raise AssertionError(what)
    checks += 1


def eq(got, want, what=""):
    global checks
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))
    checks += 1


def build(limits=SAFETY):
    """engine, commands wired like service.build (safety limits `limits`)."""
    therapy = Therapy(BOARD, lambda program: safety.check(program, limits))
    engine = FakeEngine()
    stim = Stimulator(BOARD, engine, therapy)
    auth = Auth(DEV_KEY, Randomness("therapy nonce"))
    return engine, Commands(therapy, stim, auth, "picostim test", describe_safety=safety.describe)


def fields(answer):
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


def code_of(answer):
    parts = answer.split(" ", 2)
    return parts[1] if parts[0] == "ERR" else None


def mac(nonce_hex, key=DEV_KEY):
    return hexlify(hmac_sha256(key, unhexlify(nonce_hex))).decode()


def login(cmds, now):
    nonce = field(cmds.answer("LOGIN", now), "nonce")
    eq(cmds.answer("AUTH " + mac(nonce), now), "OK role=clinician")  # clinician login


def accepted(cmds, line, now=0):
    answer = cmds.answer(line, now)
    check(answer == "OK" or answer.startswith("OK "), "%r -> %r" % (line, answer))
    return answer


def snapshot(cmds, now):
    return [cmds.answer(line, now) for line in ("STATUS", "LIMITS", "PROGRAMS", "GROUPS")]


def refused(cmds, line, code, now=0):
    """ERR <code> with a message; STATUS, LIMITS, PROGRAMS, GROUPS and the
    engine untouched. Returns the message."""
    engine = cmds.stim.engine
    before = snapshot(cmds, now)
    calls = len(engine.calls)
    answer = cmds.answer(line, now)
    eq(code_of(answer), code, "%r -> %r" % (line, answer))
    message = answer.split(" ", 2)[2] if len(answer.split(" ", 2)) == 3 else ""
    check(message != "", "ERR without a message: %r" % answer)
    check(snapshot(cmds, now) == before and len(engine.calls) == calls, "%r changed something" % line)
    return message


def run(cmds, t0, t1, step=10):
    """Poll at t0, t0 + step, ... t1: ([(t, kind, amp_ua)], [(t, event)])."""
    engine = cmds.stim.engine
    calls, events = [], []
    t = t0
    while t <= t1:
        n = len(engine.calls)
        event = cmds.stim.poll(t)
        for call in engine.calls[n:]:
            calls.append((t, call[0], call[2].amp_ua if len(call) > 1 else None))
        if event:
            events.append((t, event))
        del engine.calls[:-1]  # the heap is Pico-sized: keep only the last call
        t += step
    return calls, events


def do(cmds, line, now):
    """Answer a line; (answer, [(now, kind, amp_ua)]) of the engine calls it made."""
    engine = cmds.stim.engine
    n = len(engine.calls)
    answer = accepted(cmds, line, now)
    got = [(now, c[0], c[2].amp_ua if len(c) > 1 else None) for c in engine.calls[n:]]
    del engine.calls[:-1]
    return answer, got


def steps_of(ramp_ms):
    return max(1, ramp_ms // RAMP_STEP_MS)


def rise_ms(ramp_ms):
    """From a soft start to the target (and from the first step down to the
    engine stop): level k of `steps` is sent k - 1 steps after the start."""
    return (steps_of(ramp_ms) - 1) * RAMP_STEP_MS


def level_at(elapsed_ms, ramp_ms):
    """The level of a soft start `elapsed_ms` after it began (see rise_ms)."""
    return min(steps_of(ramp_ms), elapsed_ms // RAMP_STEP_MS + 1)


def ramp_up(t0, target, ramp_ms, first=2):
    """Updates of a soft start begun at t0: target * k // steps, level k at t0 + (k - 1) steps."""
    steps = steps_of(ramp_ms)
    return [(t0 + (k - 1) * RAMP_STEP_MS, "update", target * k // steps) for k in range(first, steps + 1)]


def ramp_down(t0, target, ramp_ms, level=None):
    """Updates of a soft stop begun at t0 from `level` (the target: all steps):
    one level down at once, one more every step, then the engine stop at level 0."""
    steps = steps_of(ramp_ms)
    level = steps if level is None else level
    out = [(t0 + d * RAMP_STEP_MS, "update", target * (level - 1 - d) // steps) for d in range(level - 1)]
    return out + [(t0 + (level - 1) * RAMP_STEP_MS, "stop", None)]


CLINICIAN_SAMPLES = {
    "step": ("200uA", "100uA"),
    "ramp": ("1s", "0ms"),
    "cycle_on": ("1s", "0ms"),
    "cycle_off": ("1s", "0ms"),
    "train": ("1min", "0ms"),
    "amp_min": ("1.5mA", "1mA"),
    "amp_max": ("2.5mA", "3mA"),
    "pw_min": ("100us", "10us"),
    "pw_max": ("300us", "1000us"),
    "rate_min": ("20Hz", "2Hz"),
    "rate_max": ("100Hz", "10000Hz"),
    "patient": ("amp,pw", "amp"),
    "name": ("mine", "P1"),
}


# ==== roles: what the patient may change, and nothing else ========================


def roles_patient():
    engine, cmds = build()
    therapy = cmds.therapy
    t = 1000
    eq(field(cmds.answer("STATUS", t), "role"), "patient")  # a fresh board answers the patient
    login(cmds, t)
    accepted(cmds, "SET amp=2mA pw=200us rate=50Hz amp_min=1mA amp_max=3mA ramp=0ms", t)
    eq(cmds.answer("LOGOUT", t), "OK role=patient")  # LOGOUT
    eq(field(accepted(cmds, "ON", t), "state"), "on")  # the patient may turn stimulation on
    eq(engine.calls[-1][0], "start")  # ON started the engine
    eq(cmds.stim.poll(t), None)  # ramp 0: steady at the first poll
    eq(cmds.stim.phase, "steady")
    calls = len(engine.calls)

    # settings of the program the clinician has not given to the patient: LOCKED
    for line in (
        "SET pw=300us",
        "SET rate=40Hz",
        "SET ipg=30us",
        "SET asym=2",
        "SET cathodes=2",
        "SET anodes=3",
        "SET cathodes=0,2",
        "SET amp=2.5mA pw=300us",  # one locked change spoils the whole line
    ):
        refused(cmds, line, "LOCKED", t)
    # restating a locked value is no change: accepted
    eq(field(accepted(cmds, "SET pw=200us rate=50Hz", t), "pw"), "200us")  # restating a locked value
    eq(len(engine.calls), calls)  # restating changes nothing on the engine

    # clinician-only keys: LOCKED for the patient, even restating the current value
    for key in sorted(protocol.SETTINGS):
        if protocol.SETTINGS[key][0] in PROGRAM_FIELDS:
            continue
        check(key in CLINICIAN_SAMPLES, "no sample value for the clinician setting %r" % key)
        new, current = CLINICIAN_SAMPLES[key]
        message = refused(cmds, "SET %s=%s" % (key, new), "LOCKED", t)
        # (the protocol key, or at least its field: see test_therapy_pure's xfail on amp_max/patient)
        check(key in message or protocol.SETTINGS[key][0] in message, "LOCKED names %s: %r" % (key, message))
        refused(cmds, "SET %s=%s" % (key, current), "LOCKED", t)
        refused(cmds, "SET amp=2.5mA %s=%s" % (key, new), "LOCKED", t)

    # out of the clinician's window: PATIENT_RANGE
    for line in ("SET amp=3.001mA", "SET amp=0.999mA", "SET amp=0uA", "SET amp=25.5mA"):
        message = refused(cmds, line, "PATIENT_RANGE", t)
    check("1000..3000uA" in message, "PATIENT_RANGE names the window: %r" % message)
    eq(field(accepted(cmds, "SET amp=3mA", t), "amp"), "3000uA")  # the top of the window
    eq(engine.calls[-1][2].amp_ua, 3000)  # the engine follows the patient's change
    refused(cmds, "AMP UP", "PATIENT_RANGE", t)
    eq(field(accepted(cmds, "SET amp=1mA", t), "amp"), "1000uA")  # the bottom of the window
    refused(cmds, "AMP DOWN", "PATIENT_RANGE", t)
    eq(field(accepted(cmds, "AMP UP", t), "amp"), "1100uA")  # AMP UP inside the window
    eq(field(accepted(cmds, "AMP DOWN", t), "amp"), "1000uA")  # AMP DOWN inside the window

    # defining a group needs the clinician: ROLE (before the name is even looked at)
    refused(cmds, "GROUP walk 1", "ROLE", t)
    refused(cmds, "GROUP a.b 1", "ROLE", t)
    refused(cmds, "GROUP walk 9", "ROLE", t)

    # the clinician gives pw and rate, each with a window
    login(cmds, t)
    accepted(cmds, "SET patient=amp,pw,rate pw_min=100us pw_max=300us rate_min=20Hz rate_max=100Hz amp=2mA", t)
    # LIMITS shows the windows and the patient's keys
    eq(
        cmds.answer("LIMITS", t),
        "OK program=1 amp_min=1000uA amp_max=3000uA pw_min=100us pw_max=300us rate_min=20Hz rate_max=100Hz "
        "patient=amp,pw,rate",
    )
    cmds.answer("LOGOUT", t)
    eq(field(accepted(cmds, "SET pw=300us", t), "pw"), "300us")  # pw at the window's top
    eq(field(accepted(cmds, "SET rate=100Hz", t), "rate"), "100Hz")  # rate at the window's top
    eq(field(accepted(cmds, "SET rate=20Hz pw=100us", t), "pw"), "100us")  # pw and rate at the bottom
    for line in ("SET pw=301us", "SET pw=99us", "SET rate=101Hz", "SET rate=19Hz", "SET amp=2mA pw=350us"):
        refused(cmds, line, "PATIENT_RANGE", t)
    refused(cmds, "SET pw=250us cathodes=3", "LOCKED", t)
    a = accepted(cmds, "SET pw=250us rate=80Hz amp=2.5mA", t)
    # three patient changes at once
    eq(
        (field(a, "pw"), field(a, "rate"), field(a, "amp")),
        ("250us", "80Hz", "2500uA"),
    )
    eq(engine.calls[-1][2], therapy.program())  # the engine runs the patient's program

    # patient=none: amp locked too, AMP UP/DOWN as well
    login(cmds, t)
    accepted(cmds, "SET patient=none", t)
    cmds.answer("LOGOUT", t)
    for line in ("SET amp=2.6mA", "AMP UP", "AMP DOWN", "SET pw=200us"):
        refused(cmds, line, "LOCKED", t)
    return engine, cmds, therapy, t


def roles_clinician(engine, cmds, therapy, t):
    # the clinician changes everything, in one line
    login(cmds, t)
    a = accepted(
        cmds,
        "SET amp=1.5mA pw=150us ipg=30us rate=40Hz asym=2 cathodes=2 anodes=3,4 step=50uA ramp=1s "
        "cycle_on=0ms cycle_off=0ms train=0ms amp_min=1mA amp_max=2mA pw_min=100us pw_max=200us "
        "rate_min=30Hz rate_max=50Hz patient=amp,pw name=tonic",
        t,
    )
    want = {
        "amp": "1500uA",
        "pw": "150us",
        "ipg": "30us",
        "rate": "40Hz",
        "asym": "2",
        "cathodes": "2",
        "anodes": "3,4",
        "step": "50uA",
        "ramp": "1000ms",
        "train": "0ms",
        "name": "tonic",
        "role": "clinician",
    }
    got = fields(a)
    for key in want:
        eq(got.get(key), want[key], "clinician SET " + key)
    # LIMITS after the clinician's SET
    eq(
        cmds.answer("LIMITS", t),
        "OK program=1 amp_min=1000uA amp_max=2000uA pw_min=100us pw_max=200us rate_min=30Hz rate_max=50Hz "
        "patient=amp,pw",
    )
    check(cmds.answer("PROGRAMS", t).startswith("OK active=1 1=tonic 2=P2"))  # PROGRAMS shows the name
    eq(engine.calls[-1][2], therapy.program())  # the engine follows the clinician (asym change included)
    eq(engine.state, "restarting")  # an asym change restarts the train
    # the clinician may leave the patient's window and set values the patient may not
    eq(field(accepted(cmds, "SET amp=5mA", t), "amp"), "5000uA")  # the clinician is not bound by the window

    # RESTORE: the patient's changes go back to the clinician's setting
    accepted(cmds, "SET amp=1.5mA pw=150us", t)
    clinic = therapy.program()
    cmds.answer("LOGOUT", t)
    accepted(cmds, "SET amp=1.9mA pw=190us", t)
    eq(engine.calls[-1][2].amp_ua, 1900)  # the patient's amp on the engine
    a = accepted(cmds, "RESTORE", t)
    eq((field(a, "amp"), field(a, "pw")), ("1500uA", "150us"))  # RESTORE
    eq(therapy.program(), clinic)  # RESTORE: the clinician's program
    eq(engine.calls[-1][0:1] + (engine.calls[-1][2],), ("update", clinic))  # RESTORE while on updates the engine
    calls = len(engine.calls)
    accepted(cmds, "RESTORE", t)
    eq(len(engine.calls), calls)  # RESTORE with nothing to restore calls nothing
    accepted(cmds, "AMP UP", t)
    login(cmds, t)
    accepted(cmds, "SET amp=1.8mA", t)  # the clinician's own change is the new clinic setting
    accepted(cmds, "LOGOUT", t)
    accepted(cmds, "AMP UP", t)
    eq(field(accepted(cmds, "RESTORE", t), "amp"), "1800uA")  # RESTORE returns to the clinician's latest amp

    # programs: 8 slots, each with its own setting and permissions
    a = accepted(cmds, "PROGRAMS", t)
    eq(len(a.split()) - 2, SLOTS)  # PROGRAMS lists every slot
    for line in ("PROGRAM 0", "PROGRAM 9", "PROGRAM 10", "PROGRAM 99"):
        message = refused(cmds, line, "NOT_FOUND", t)
    check("1..8" in message, "NOT_FOUND names the programs: %r" % message)
    for line in ("PROGRAM", "PROGRAM x", "PROGRAM 100", "PROGRAM -1", "PROGRAM 1 2"):
        refused(cmds, line, "SYNTAX", t)
    a = accepted(cmds, "PROGRAM 2", t)
    # slot 2
    eq(
        (field(a, "program"), field(a, "name"), field(a, "amp"), field(a, "ramp")),
        ("2", "P2", "0uA", "2000ms"),
    )
    eq(field(cmds.answer("LIMITS", t), "amp_max"), "25500uA")  # slot 2 has its own window
    eq(field(cmds.answer("LIMITS", t), "patient"), "amp")  # slot 2 has its own patient keys
    accepted(cmds, "SET amp=700uA", t)
    a = accepted(cmds, "PROGRAM 1", t)
    eq((field(a, "name"), field(a, "amp")), ("tonic", "1800uA"))  # slot 1 kept its setting
    eq(field(accepted(cmds, "PROGRAM 2", t), "amp"), "700uA")  # slot 2 kept the patient's amp
    for n in range(1, SLOTS + 1):
        eq(field(accepted(cmds, "PROGRAM %d" % n, t), "program"), str(n), "PROGRAM %d" % n)

    # groups: defined by the clinician, selected by anyone
    login(cmds, t)
    eq(cmds.answer("GROUP walking 2", t), "OK active=- walking=2")  # GROUP defines
    eq(cmds.answer("GROUP sleep 3", t), "OK active=- sleep=3 walking=2")  # GROUP defines another
    refused(cmds, "GROUP g 9", "NOT_FOUND", t)
    refused(cmds, "GROUP g 0", "NOT_FOUND", t)
    cmds.answer("LOGOUT", t)
    a = accepted(cmds, "GROUP walking", t)
    eq((field(a, "program"), field(a, "group")), ("2", "walking"))  # the patient selects a group
    eq(cmds.answer("GROUPS", t), "OK active=walking sleep=3 walking=2")  # GROUPS
    eq(field(accepted(cmds, "PROGRAM 1", t), "group"), "-")  # PROGRAM leaves the group
    message = refused(cmds, "GROUP nosuch", "NOT_FOUND", t)
    check("sleep,walking" in message, "NOT_FOUND lists the groups: %r" % message)
    login(cmds, t)
    cmds.answer("GROUP walking 4", t)
    eq(field(accepted(cmds, "GROUP walking", t), "program"), "4")  # a group redefined
    for n in range(6):
        cmds.answer("GROUP g%d 1" % n, t)
    eq(len(therapy.groups), 8)  # eight groups
    refused(cmds, "GROUP ninth 1", "RANGE", t)
    eq(cmds.answer("GROUP g0 5", t).split()[0], "OK")  # redefining one of eight is fine
    cmds.answer("LOGOUT", t)


# ==== absolute limits: LIMIT from both roles, every limit of the board's table =======

LIMIT_KEYS = (
    "max_amplitude_ua",
    "max_rate_hz",
    "max_charge_nc",
    "max_density_uc_cm2",
    "max_shannon_k_x100",
    "max_duty_permille",
    "max_contact_uc_s",
)
# every limit of boards/pico.json has a case below
eq(
    sorted([key for key in SAFETY if key.startswith("max_")]),
    sorted(LIMIT_KEYS),
)


def tighter(**changes):
    table = dict(SAFETY)
    for key in changes:
        table[key] = changes[key]
    return table


def limit_cases():
    """(limit, table, setting, at, over, message start); `at` is accepted, `over`
    refused. Where the board's own range ends before a limit (or a stricter
    limit comes first), a tighter copy of the board's table reaches it."""
    s = SAFETY
    out = []
    amp = s["max_amplitude_ua"]
    table = s
    if amp + 1 > RANGES["amplitude_ua"][1]:
        amp = RANGES["amplitude_ua"][1] - 1000
        table = tighter(max_amplitude_ua=amp)
    out.append(("max_amplitude_ua", table, "pw=10us", "amp=%duA" % amp, "amp=%duA" % (amp + 1), "amplitude"))
    rate = s["max_rate_hz"]
    table = s
    if rate + 1 > RANGES["rate_hz"][1]:
        rate = RANGES["rate_hz"][1] // 2
        table = tighter(max_rate_hz=rate)
    out.append(("max_rate_hz", table, "pw=10us", "rate=%dHz" % rate, "rate=%dHz" % (rate + 1), "rate"))
    # charge, all contacts: 3 cathodes and 3 anodes keep density and Shannon well clear;
    # at 200 us, `at` is the largest amplitude within the limit and `over` the smallest past it
    amp = s["max_charge_nc"] * 1000 // 200
    out.append(
        (
            "max_charge_nc",
            s,
            "pw=200us cathodes=0,1,2 anodes=3,4,5",
            "amp=%duA" % amp,
            "amp=%duA" % (amp + 1),
            "charge ",
        )
    )
    # density at one contact: q = 10000 * max * area pC
    amp = 10000 * s["max_density_uc_cm2"] * s["electrode_area_mm2"] // 200
    out.append(("max_density_uc_cm2", s, "pw=200us", "amp=%duA" % amp, "amp=%duA" % (amp + 1), "charge density"))
    # Shannon: k = log10(Q^2 / A) at one contact (Q in uC, A in cm2)
    area_cm2 = s["electrode_area_mm2"] / 100
    q_density = s["max_density_uc_cm2"] * area_cm2  # uC where the density limit is
    k = s["max_shannon_k_x100"]
    table = s
    if math.sqrt(10 ** (k / 100) * area_cm2) >= q_density:  # density comes first: make Shannon stricter
        k = int(100 * math.log10((0.75 * q_density) ** 2 / area_cm2))
        table = tighter(max_shannon_k_x100=k)
    amp = math.sqrt(10 ** (k / 100) * area_cm2) * 1000000 / 200  # uA at 200 us
    out.append(
        (
            "max_shannon_k_x100",
            table,
            "pw=200us",
            "amp=%duA" % int(amp * 0.99),
            "amp=%duA" % int(amp * 1.01 + 1),
            "Shannon",
        )
    )
    # duty: rate x pw x (1 + asym) at 1 kHz, asym 1
    pw = s["max_duty_permille"] // 2
    out.append(("max_duty_permille", s, "rate=1kHz asym=1", "pw=%dus" % pw, "pw=%dus" % (pw + 1), "duty"))
    # charge per second through one contact: 5 mA x 100 us x 1 kHz = 500 uC/s, under a tighter table
    out.append(
        (
            "max_contact_uc_s",
            tighter(max_contact_uc_s=500),
            "pw=100us asym=1 cathodes=0 anodes=1 rate=1kHz",
            "amp=5000uA",
            "amp=5001uA",
            "contact",
        )
    )
    return out


def absolute_limits():
    engine = cmds = None
    for limit, table, setting, at, over, word in limit_cases():
        engine = cmds = None
        gc.collect()  # the exact Shannon arithmetic wants ~1 KB blocks: free the last bench first
        engine, cmds = build(table)
        t = 50000
        login(cmds, t)
        accepted(cmds, "SET ramp=0ms amp=0uA patient=amp,pw,rate " + setting, t)
        accepted(cmds, "SET " + at, t)
        if over.startswith("amp="):  # one AMP UP from `at` gives `over`
            accepted(cmds, "SET step=%duA" % (int(over[4:-2]) - int(at[4:-2])), t)
        accepted(cmds, "ON", t)
        at_program = cmds.therapy.program()
        eq(engine.calls[-1][2], at_program, limit + ": the program at the limit runs")
        message = refused(cmds, "SET " + over, "LIMIT", t)
        check(message.startswith(word), "%s: %r does not name the limit" % (limit, message))
        if over.startswith("amp="):
            refused(cmds, "AMP UP", "LIMIT", t)
        cmds.answer("LOGOUT", t)
        message = refused(cmds, "SET " + over, "LIMIT", t)  # inside the patient's window, past the limit
        check(message.startswith(word), "%s (patient): %r" % (limit, message))
        if over.startswith("amp="):
            refused(cmds, "AMP UP", "LIMIT", t)
        eq(cmds.therapy.program(), at_program, limit + ": the program is still the one at the limit")
        check(safety.check(engine.calls[-1][2], table) is not None, limit + ": the engine's program is safe")

    # the board's ranges themselves end at (or before) the amplitude and rate limits
    engine, cmds = build()
    login(cmds, 0)
    refused(cmds, "SET amp=%duA pw=10us" % (RANGES["amplitude_ua"][1] + 1), "RANGE")
    refused(cmds, "SET rate=%dHz pw=10us" % (RANGES["rate_hz"][1] + 1), "RANGE")


# ==== authentication through Commands ============================================


def authentication():
    engine, cmds = build()
    t = 100000
    nonce = field(accepted(cmds, "LOGIN", t), "nonce")
    check(len(nonce) == 32 and protocol.all_in(nonce, "0123456789abcdef"), "nonce: 32 hex digits: %r" % nonce)
    refused(cmds, "AUTH " + mac(nonce, OTHER_KEY), "AUTH", t)  # the wrong key
    eq(cmds.auth.failures(), 1)  # a wrong key is a failure
    refused(cmds, "AUTH " + mac(nonce), "AUTH", t)  # the nonce is used up
    refused(cmds, "SET ramp=1s", "LOCKED", t)
    nonce = field(accepted(cmds, "LOGIN", t), "nonce")
    good = "AUTH " + mac(nonce)
    eq(cmds.answer(good, t), "OK role=clinician")  # the right answer
    eq(cmds.auth.failures(), 0)  # a login clears the failures
    accepted(cmds, "SET ramp=1s", t)
    eq(cmds.answer("LOGOUT", t), "OK role=patient")  # LOGOUT
    refused(cmds, "SET ramp=2s", "LOCKED", t)
    refused(cmds, good, "AUTH", t)  # replayed
    accepted(cmds, "LOGIN", t)
    refused(cmds, good, "AUTH", t)  # replayed against a fresh nonce
    eq(field(cmds.answer("STATUS", t), "role"), "patient")  # a replay gets no session
    # malformed answers are failures too; SYNTAX is not
    accepted(cmds, "LOGIN", t)
    refused(cmds, "AUTH xyz", "AUTH", t)
    refused(cmds, "AUTH", "SYNTAX", t)
    eq(cmds.auth.failures(), 2)  # two failures so far (a replay without a challenge is none)
    # lockout at the fifth failure in a row
    for n in (3, 4):
        accepted(cmds, "LOGIN", t)
        message = refused(cmds, "AUTH " + "00" * 32, "AUTH", t)
        check("%d of 5" % n in message, message)
    nonce = field(accepted(cmds, "LOGIN", t), "nonce")
    message = refused(cmds, "AUTH " + "11" * 32, "LOCKOUT", t)
    check("5 of 5" in message and "60s" in message, message)
    refused(cmds, "LOGIN", "LOCKOUT", t + 1)
    refused(cmds, "AUTH " + mac(nonce), "LOCKOUT", t + 2)  # the right answer, during the lockout
    refused(cmds, "LOGIN", "LOCKOUT", t + 59999)
    eq(field(cmds.answer("STATUS", t + 59999), "role"), "patient")  # still the patient during the lockout
    refused(cmds, "SET ramp=2s", "LOCKED", t + 59999)
    nonce = field(accepted(cmds, "LOGIN", t + 60000), "nonce")
    eq(cmds.answer("AUTH " + mac(nonce), t + 60000), "OK role=clinician")  # login after the lockout
    # the session: session_ms after the last clinician command
    t = 200000
    session = cmds.auth.session_ms
    login(cmds, t)
    eq(field(cmds.answer("STATUS", t + session - 1), "role"), "clinician")  # session on just before its end
    t += session - 1  # that STATUS was a clinician command: the session runs from there
    eq(field(cmds.answer("STATUS", t + session - 1), "role"), "clinician")  # each command extends the session
    t += session - 1
    eq(field(cmds.answer("STATUS", t + session), "role"), "patient")  # session over after session_ms idle
    refused(cmds, "SET ramp=2s", "LOCKED", t + session)
    login(cmds, t + session)
    eq(cmds.answer("HELLO", t + session), "OK picostim test")  # HELLO
    eq(field(cmds.answer("STATUS", t + session), "role"), "patient")  # HELLO ends the session
    refused(cmds, "SET ramp=2s", "LOCKED", t + session)
    nonce = field(accepted(cmds, "LOGIN", t + session), "nonce")
    cmds.answer("HELLO", t + session)
    refused(cmds, "AUTH " + mac(nonce), "AUTH", t + session)  # HELLO dropped the challenge


# ==== Stimulator timing on a fake clock ===========================================


def timing_ramps():
    engine, cmds = build()
    stim = cmds.stim
    login(cmds, 0)
    check(rise_ms(2000) in (2000 - RAMP_STEP_MS, 2000))  # a ramp lasts about ramp_ms

    # soft start: target * k // steps every RAMP_STEP_MS, monotonic, up to exactly the target
    T = 10000
    accepted(cmds, "SET amp=4321uA ramp=2s", T)
    a, got = do(cmds, "ON", T)
    eq(got, [(T, "start", 4321 // 40)])  # ON starts at the first of 40 steps
    eq((field(a, "phase"), field(a, "out_amp")), ("ramp_up", "108uA"))  # STATUS during the ramp
    calls, events = run(cmds, T + 10, T + 3000)
    eq(calls, ramp_up(T, 4321, 2000))  # soft start over 2 s in 50 ms steps
    eq(events, [])  # no state change while ramping up
    amps = [4321 // 40] + [c[2] for c in calls]
    check(all([amps[i] < amps[i + 1] for i in range(len(amps) - 1)]))  # the ramp rises monotonically
    eq((calls[-1][0] - T, calls[-1][2]), (rise_ms(2000), 4321))  # exactly the target at the end of the ramp
    eq((stim.phase, stim.output_amp_ua()), ("steady", 4321))  # steady at the target
    eq(field(cmds.answer("STATUS", T + 3000), "out_amp"), "4321uA")  # STATUS out_amp at the target

    # soft stop on OFF: down in the same steps, then the engine stops
    T = 20000
    a, got = do(cmds, "OFF", T)
    eq(got, ramp_down(T, 4321, 2000)[:1])  # OFF: the first step down at once
    eq((field(a, "state"), field(a, "phase"), field(a, "stop")), ("stopping", "ramp_down", "off"))  # OFF answers
    calls, events = run(cmds, T + 10, T + 3000)
    eq(calls, ramp_down(T, 4321, 2000)[1:])  # soft stop in 50 ms steps, then engine stop
    amps = [c[2] for c in got + calls if c[1] == "update"]
    check(all([amps[i] > amps[i + 1] for i in range(len(amps) - 1)]))  # the ramp falls monotonically
    off = T + rise_ms(2000) + 2 * 10  # the engine takes two polls to finish its pulse
    eq(events, [(off, "STATE off")])  # off once the engine finished its pulse
    eq(stim.stop_reason, "off")  # stop reason

    # ramp 0: at once
    accepted(cmds, "SET ramp=0ms", T)
    T = 30000
    eq(do(cmds, "ON", T)[1], [(T, "start", 4321)])  # ramp 0: full amplitude at once
    calls, events = run(cmds, T + 10, T + 500)
    eq(calls, [])  # ramp 0: nothing to ramp
    a, got = do(cmds, "OFF", T + 500)
    eq(got, [(T + 500, "stop", None)])  # ramp 0: OFF stops at once
    eq(field(a, "state"), "stopping")  # stopping until the pulse ends
    run(cmds, T + 510, T + 600)

    # OFF during a ramp up continues down from where it was; ON during the ramp down goes back up
    accepted(cmds, "SET amp=4mA ramp=1s", T)
    T = 40000
    do(cmds, "ON", T)
    calls, events = run(cmds, T + 10, T + 500)
    level = level_at(500, 1000)
    eq(calls[-1], (T + 500, "update", 4000 * level // 20))  # half way up
    down = ramp_down(T + 500, 4000, 1000, level)
    a, got = do(cmds, "OFF", T + 500)
    calls, events = run(cmds, T + 510, T + 700)
    eq(got + calls, [c for c in down if c[0] <= T + 700])  # OFF mid ramp: down from where it was
    top = got[0][2] if got else 4000 * level // 20
    check(all([c[2] < top for c in calls]))  # no step up after OFF
    now_level = calls[-1][2] * 20 // 4000
    a, got = do(cmds, "ON", T + 700)
    eq((got, field(a, "state")), ([], "on"))  # ON mid ramp down: no jump
    calls, events = run(cmds, T + 710, T + 1500)
    t0 = T + 700 - (now_level - 1) * RAMP_STEP_MS  # as if that ramp up had begun at t0
    eq(calls, ramp_up(t0, 4000, 1000, now_level + 1))  # up again from where it was
    return cmds


def timing_stops(cmds):
    T = 50000
    # emergency STOP mid ramp: at once, no ramp, and it stays off
    accepted(cmds, "SET cycle_on=1s cycle_off=1s", T)
    T = 50000
    do(cmds, "ON", T)
    run(cmds, T + 10, T + 500)
    a, got = do(cmds, "STOP", T + 500)
    eq(got, [(T + 500, "stop", None)])  # STOP calls engine.stop at once
    eq((field(a, "state"), field(a, "phase"), field(a, "stop")), ("stopping", "-", "command"))  # STOP answers
    calls, events = run(cmds, T + 510, T + 10000, 50)
    eq(calls, [])  # after STOP: no ramp down, no cycle restarts
    eq(events, [(T + 560, "STATE off")])  # off once the pulse ended (two polls)
    eq(field(cmds.answer("STATUS", T + 10000), "stop"), "command")  # stop reason stays
    a, got = do(cmds, "ON", T + 10000)
    eq(got, [(T + 10000, "start", 200)])  # ON after STOP: a fresh soft start from the first step
    eq(field(a, "stop"), "-")  # ON clears the stop reason
    run(cmds, T + 10010, T + 12000)  # up, steady, ramp down begins
    a, got = do(cmds, "STOP", T + 12300)
    eq(got[-1], (T + 12300, "stop", None))  # STOP during a cycle's ramp down
    eq(run(cmds, T + 12310, T + 20000, 50)[0], [])  # stays off: no cycle restarts
    do(cmds, "ON", T + 20000)
    calls = run(cmds, T + 20010, T + 23000)[0]
    check([c for c in calls if c[1] == "stop"] != [])  # cycling again after ON
    pause = T + 20000 + 2 * (2 * rise_ms(1000) + 2000) + 2 * rise_ms(1000) + 1000 + 500  # mid third pause
    calls = run(cmds, T + 23010, pause)[0]
    eq(field(cmds.answer("STATUS", pause), "phase"), "pause")  # in a pause
    a, got = do(cmds, "STOP", pause)
    eq((field(a, "phase"), field(a, "state")), ("-", "off"))  # STOP in a pause: off
    eq(run(cmds, pause + 10, pause + 10000, 50)[0], [])  # stays off after STOP in a pause
    accepted(cmds, "SET cycle_on=0ms cycle_off=0ms", T)

    # STOP during an OFF ramp down: no more steps
    T = 70000
    do(cmds, "ON", T)
    run(cmds, T + 10, T + 1200)
    do(cmds, "OFF", T + 1200)
    run(cmds, T + 1210, T + 1500)
    eq(do(cmds, "STOP", T + 1500)[1], [(T + 1500, "stop", None)])  # STOP cuts the soft stop short
    eq(run(cmds, T + 1510, T + 3000)[0], [])  # no step after STOP


def timing_amp_and_programs(cmds):
    engine, T = cmds.stim.engine, 80000
    # AMP UP during the ramp: the ramp follows the new target
    accepted(cmds, "SET step=1mA", T)
    T = 80000
    do(cmds, "ON", T)
    calls = run(cmds, T + 10, T + 500)[0]
    level = calls[-1][2] * 20 // 4000
    a, got = do(cmds, "AMP UP", T + 500)
    eq(got, [(T + 500, "update", 5000 * level // 20)])  # AMP UP mid ramp: the same step of the new target at once
    eq(field(a, "amp"), "5000uA")  # AMP UP sets the target
    calls, events = run(cmds, T + 510, T + 1500)
    eq(calls, ramp_up(T, 5000, 1000, level + 1))  # the ramp goes on to the new target
    cmds.answer("LOGOUT", T + 1500)
    a, got = do(cmds, "AMP DOWN", T + 1500)
    eq(got, [(T + 1500, "update", 4000)])  # the patient's AMP DOWN while steady
    login(cmds, T + 1500)
    do(cmds, "OFF", T + 1500)
    run(cmds, T + 1510, T + 3000)

    # a program switch while on: stop, then a soft start of the other program with its own ramp
    accepted(cmds, "SET amp=4mA ramp=1s", T)
    accepted(cmds, "PROGRAM 2", T)
    accepted(cmds, "SET amp=2mA pw=300us rate=40Hz ramp=500ms", T)
    accepted(cmds, "GROUP two 2", T)
    accepted(cmds, "PROGRAM 1", T)
    T = 90000
    do(cmds, "ON", T)
    run(cmds, T + 10, T + 1500)
    polls = engine.polls
    a, got = do(cmds, "PROGRAM 2", T + 1500)
    eq(got, [(T + 1500, "stop", None), (T + 1500, "start", 200)])  # PROGRAM 2 while on: stop, start at 1/10 of 2 mA
    eq(engine.calls[-1][1], timing(Program(amp_ua=200, pw_us=300, rate_hz=40), SYS_HZ))  # the new program's timing
    check(engine.polls > polls)  # the engine was polled idle in between
    eq((field(a, "state"), field(a, "phase")), ("on", "ramp_up"))  # on, ramping up
    calls, events = run(cmds, T + 1510, T + 2500)
    eq(calls, ramp_up(T + 1500, 2000, 500))  # program 2's own 500 ms ramp
    a, got = do(cmds, "PROGRAM 1", T + 2500)
    eq(got, [(T + 2500, "stop", None), (T + 2500, "start", 200)])  # and back: 1/20 of 4 mA
    a, got = do(cmds, "GROUP two", T + 2600)
    eq(got, [(T + 2600, "stop", None), (T + 2600, "start", 200)])  # a group switch restarts the same way
    do(cmds, "OFF", T + 2600)
    run(cmds, T + 2610, T + 4000)
    eq(do(cmds, "PROGRAM 1", T + 4000)[1], [])  # PROGRAM while off: no engine call


def timing_cycles(cmds):
    stim, T = cmds.stim, 100000
    # cycling: ramp up, on, ramp down, cycle_off with the engine stopped, again
    accepted(cmds, "SET amp=4mA ramp=500ms cycle_on=2s cycle_off=3s", T)
    do(cmds, "ON", T)
    rise = rise_ms(500)
    end = T + 3 * (2 * rise + 5000)
    calls, events = run(cmds, T + 10, end)
    # where the first ramp down begins: cycle_on counts from the start of the ramp up
    d0 = [c[0] for c in calls if c[0] > T + rise and c[1] == "update"][0] - T
    check(d0 in (2000, rise + 2000), "the first ramp down begins at %d ms" % d0)
    period = d0 + rise + 3000
    one = ramp_up(T, 4000, 500) + ramp_down(T + d0, 4000, 500)
    want = list(one)
    for n in (1, 2, 3):
        want.append((T + n * period, "start", 400))
        want += [(c[0] + n * period, c[1], c[2]) for c in one if c[0] + n * period <= end]
    want = [c for c in want if c[0] <= end]
    eq(calls, want)  # three cycles: ramps at every transition, on and off times exact
    starts = [c[0] - T for c in calls if c[1] == "start"]
    stops = [c[0] - T for c in calls if c[1] == "stop"]
    eq(starts[:2], [period, 2 * period])  # engine starts: every on + ramp down + off
    eq(stops[:3], [d0 + rise + n * period for n in range(3)])  # engine stops: after each ramp down
    eq(starts[0] - stops[0], 3000)  # the engine stays stopped exactly cycle_off
    eq(events, [])  # the state stays on while cycling
    n = 0
    while T + n * period + d0 + rise + 1500 <= end:
        n += 1
    pause = T + n * period + d0 + rise + 1500  # half way through the next pause
    run(cmds, end + 10, pause)
    a = cmds.answer("STATUS", pause)
    eq((field(a, "state"), field(a, "phase"), field(a, "out_amp")), ("on", "pause", "0uA"))  # STATUS in a pause
    a, got = do(cmds, "OFF", pause)
    eq((got, field(a, "state")), ([], "off"))  # OFF in a pause: off at once
    eq(run(cmds, pause, pause + 20000, 50)[0], [])  # no cycle after OFF

    # cycling without ramps: alternating start/stop with the full amplitude
    accepted(cmds, "SET ramp=0ms cycle_on=1s cycle_off=2s", T)
    T = 140000
    do(cmds, "ON", T)
    calls, events = run(cmds, T + 10, T + 9990)
    eq([c[1] for c in calls], ["stop", "start"] * 3)  # on/off without ramps
    check(all([c[2] == 4000 for c in calls if c[1] == "start"]))  # full amplitude at each start
    times = [T] + [c[0] for c in calls]
    for i in range(len(times) - 1):
        want = 1000 if i % 2 == 0 else 2000
        check(want <= times[i + 1] - times[i] <= want + 20, "cycle part %d lasted %d ms" % (i, times[i + 1] - times[i]))
    do(cmds, "OFF", T + 10000)
    run(cmds, T + 10010, T + 10100)

    # train: the therapy stops itself after train_ms, with a soft stop, and stays off
    accepted(cmds, "SET ramp=500ms cycle_on=0ms cycle_off=0ms train=3s", T)
    T = 160000
    do(cmds, "ON", T)
    calls, events = run(cmds, T + 10, T + 6000)
    eq(calls, ramp_up(T, 4000, 500) + ramp_down(T + 3000, 4000, 500))  # train: up, 3 s in all, down
    eq(events, [(T + 3000, "STATE stopping"), (T + 3000 + rise + 20, "STATE off")])  # train events
    eq((stim.stop_reason, field(cmds.answer("STATUS", T + 6000), "stop")), ("train", "train"))  # stop reason train
    a, got = do(cmds, "ON", T + 6000)
    eq((got, field(a, "stop")), ([(T + 6000, "start", 400)], "-"))  # ON starts a new train
    do(cmds, "STOP", T + 6000)
    run(cmds, T + 6000, T + 6100)
    # a train with cycling: over at 3.4 s (inside the second steady part, whether cycle_on
    # counts from the start or the end of the ramp up) and off for good
    accepted(cmds, "SET cycle_on=1s cycle_off=1s train=3400ms", T)
    T = 170000
    do(cmds, "ON", T)
    calls, events = run(cmds, T + 10, T + 12000)
    kinds = [c[1] for c in calls if c[1] != "update"]
    eq(kinds, ["stop", "start"] * (len(kinds) // 2) + ["stop"])  # cycles, then the train's stop
    check(len(kinds) == 3)  # one full cycle before the train ends
    eq([c for c in calls if c[0] > T + 3400 and c[1] == "start"], [])  # no start after the train
    eq(events, [(T + 3400, "STATE stopping"), (T + 3400 + rise + 20, "STATE off")])  # the train ends at 3.4 s
    eq(calls[-1], (T + 3400 + rise, "stop", None))  # with a soft stop
    eq(stim.stop_reason, "train")  # stop reason train


roles_clinician(*roles_patient())
absolute_limits()
authentication()
cmds = timing_ramps()
timing_stops(cmds)
timing_amp_and_programs(cmds)
timing_cycles(cmds)
print("OK", checks)
