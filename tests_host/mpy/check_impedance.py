# Lead impedance, the pure parts, under MicroPython (and CPython): lead.py
# (what a check measures, ohms from ADC codes, verdicts, the answer, the
# lead status) with the shipped board profile, and the IMPEDANCE command and
# the lead rule through Commands with a stand-in for the measuring hardware.
# Run as a script from firmware/lib. Prints "OK <count>" when every check
# passes; raises otherwise.
import json
import sys

sys.path.insert(0, ".")  # run from firmware/lib
from binascii import hexlify, unhexlify

from fakes import FakeEngine, Randomness  # noqa: E402  (tests_host/mpy, the script's own folder)
from picostim import lead, safety
from picostim.auth import DEV_KEY, Auth, hmac_sha256
from picostim.commands import Commands
from picostim.stim_program import Program, StimError
from picostim.stimulator import Stimulator
from picostim.therapy import CLINICIAN, Therapy

with open("../../boards/pico.json") as f:
    BOARD = json.load(f)
IMP = BOARD["impedance"]
CURRENT_NA = 489600  # 12 PWM counts of 25.5 mA / 625: the DAC's nearest to 500 uA

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


def code_of(answer):
    parts = answer.split(" ", 2)
    return parts[1] if parts[0] == "ERR" else None


def raw_for(ohms, current_na=CURRENT_NA):
    """read_u16 of the load voltage ohms x current through the sense amplifier,
    as the chip converts it (12-bit floor, clipped, scaled to 16 bits)."""
    num, den = IMP["sense_gain"]
    code = ohms * current_na * num * 4096 // (den * IMP["adc_vref_mv"] * 1000000)
    code = min(code, 4095)
    return code << 4 | code >> 8


config = lead.Config(BOARD)

# -- what a check measures ---------------------------------------------------------------
eq(config.expect, (1143, 2000), "expected ohms: 1000 + 1000/7 against the other seven; 2 x 1000 a pair")
items = config.plan()
eq(len(items), 15, "8 contacts and 7 adjacent pairs")
eq([item[0] for item in items[:8]], ["c%d" % k for k in range(8)])
eq([item[0] for item in items[8:]], ["pair%d-%d" % (k, k + 1) for k in range(7)])
eq(items[3], ("c3", 3, (0, 1, 2, 4, 5, 6, 7), 1143, 3), "contact 3 against the others")
eq(items[11], ("pair3-4", 3, (4,), 2000, None), "the pair 3-4")
eq([item[0] for item in config.plan(0)], ["c0", "pair0-1"])
eq([item[0] for item in config.plan(3)], ["c3", "pair2-3", "pair3-4"])
eq([item[0] for item in config.plan(7)], ["c7", "pair6-7"])
for bad in (-1, 8):
    try:
        config.plan(bad)
        check(False, "plan(%d) accepted" % bad)
    except StimError as e:
        eq(e.code, "CONTACTS")

# -- the measuring pulse: balanced, within the board's ranges, far inside the safety limits
for item in items:
    program = config.program(item)
    program.validate(BOARD["limits"], 8)
    eq((program.asym, program.pw_us, program.amp_ua), (1, IMP["pulse_width_us"], IMP["current_ua"]))
    eq((program.cathodes, program.anodes), ((item[1],), item[2]))
limits = BOARD["safety"]
report = safety.check(config.program(items[0]), limits)
eq(report["charge_nc"], 100, "500 uA x 200 us per phase")
check(20 * report["charge_nc"] <= limits["max_charge_nc"], "charge per phase a 20th of the limit at most")
check(10 * report["density_nc_cm2"] <= 1000 * limits["max_density_uc_cm2"], "density a 10th of the limit at most")
check(report["shannon_k_x100"] <= limits["max_shannon_k_x100"] - 200, "Shannon k 2.0 below the limit at least")
check(5 * report["duty_permille"] <= limits["max_duty_permille"], "duty at one pulse per settle interval")
eq(config.program(items[0]).rate_hz, 1000000 // IMP["settle_us"])

# -- ohms from ADC codes: within one code of the truth (3.22 mV at the load / 0.49 mA = 6.6 ohm)
step = (IMP["adc_vref_mv"] * 1000 * IMP["sense_gain"][1] // IMP["sense_gain"][0]) * 1000 // 4096 // CURRENT_NA + 1
for ohms in (0, 5, 100, 249, 250, 914, 1000, 1143, 1371, 2000, 7999, 8000, 20000):
    got = config.ohms(raw_for(ohms), CURRENT_NA)
    check(abs(got - ohms) <= step, "%d ohm read as %d" % (ohms, got))
eq(raw_for(10**6), 0xFFFF, "a clipped code")
check(config.ohms(0xFFFF, CURRENT_NA) >= IMP["open_ohms"], "the rail reads open")
check(config.ohms(0, CURRENT_NA) < IMP["short_ohms"], "zero reads short")
eq(config.ohms(raw_for(1143), CURRENT_NA), 1142, "the healthy contact, exactly as the chip model gives it")
eq(config.ohms(raw_for(24509), CURRENT_NA), 24509, "an open lead at the 12 V compliance")

# -- verdicts --------------------------------------------------------------------------------
for ohms, expected, verdict in (
    (1143, 1143, "ok"),
    (1371, 1143, "ok"),  # + 19.9 %
    (1372, 1143, "high"),
    (915, 1143, "ok"),
    (914, 1143, "low"),
    (1497, 2000, "low"),  # a pair next to a short
    (7999, 1143, "high"),
    (8000, 1143, "open"),
    (24509, 2000, "open"),
    (250, 1143, "low"),
    (249, 1143, "short"),
    (3, 2000, "short"),
):
    eq(config.verdict(ohms, expected), verdict, "%d ohm against %d" % (ohms, expected))

# -- the answer and the log summary -------------------------------------------------------------
results = [
    (items[0], 1142, "ok"),
    (items[3], 24509, "open"),
    (items[5], 3, "short"),
    (items[11], 24509, "open"),
]
eq(
    config.answer(results, CURRENT_NA),
    "current=490uA pw=200us tolerance=20% expect_c=1143ohm expect_pair=2000ohm "
    "c0=1142ohm:ok c3=24509ohm:open c5=3ohm:short pair3-4=24509ohm:open",
)
eq(lead.summary(results), "checked=4 ok=1 open=3 short=5")
eq(lead.summary(results[:1]), "checked=1 ok=1 open=- short=-")

# -- the lead status ----------------------------------------------------------------------------
status = lead.LeadStatus()
status.refuse(Program(cathodes=(3,), anodes=(5,)))  # nothing checked yet: nothing refused
checks += 1
status.record(results)
eq(status.failed, {3: "open", 5: "short"}, "per-contact verdicts only (pairs say nothing of one contact)")
for cathodes, anodes, message in (
    ((3,), (4,), "contact 3 is open (impedance check)"),
    ((0,), (6, 5), "contact 5 is shorted (impedance check)"),
    ((1, 2), (3,), "contact 3 is open (impedance check)"),
):
    try:
        status.refuse(Program(cathodes=cathodes, anodes=anodes))
        check(False, "refuse() let %r %r through" % (cathodes, anodes))
    except StimError as e:
        eq((e.code, e.message), ("LEAD", message))
status.refuse(Program(cathodes=(0,), anodes=(1, 2)))
checks += 1
status.record([(items[3], 1150, "ok"), (items[11], 1990, "ok")])
eq(status.failed, {5: "short"}, "a passing check of contact 3 clears it")
status.record([(items[5], 1300, "high")])
eq(status.failed, {}, "high or low is no reason to refuse")


# -- IMPEDANCE and the lead rule through Commands --------------------------------------------------
class FakeCheck:
    """impedance.LeadCheck without hardware: each item measures its expected
    value, or what `ohms` says for it."""

    def __init__(self):
        self.config = lead.Config(BOARD)
        self.current_na = CURRENT_NA
        self.ohms = {}
        self.runs = 0

    def measure(self, items):
        self.runs += 1
        out = []
        for item in items:
            ohms = self.ohms.get(item[0], item[3])
            out.append((item, ohms, self.config.verdict(ohms, item[3])))
        return out


def build():
    therapy = Therapy(BOARD, lambda program: safety.check(program, BOARD["safety"]))
    engine = FakeEngine()
    stim = Stimulator(BOARD, engine, therapy)
    auth = Auth(DEV_KEY, Randomness("impedance nonce"))
    return engine, Commands(therapy, stim, auth, "picostim test", describe_safety=safety.describe)


def login(cmds, now):
    nonce = cmds.answer("LOGIN", now).split("nonce=")[1]
    eq(cmds.answer("AUTH " + hexlify(hmac_sha256(DEV_KEY, unhexlify(nonce))).decode(), now), "OK role=clinician")


def settle(cmds, t):
    for _ in range(10):
        cmds.stim.poll(t)


engine, cmds = build()
eq(code_of(cmds.answer("IMPEDANCE")), "MEASURE", "no lead check on this board")
fake = FakeCheck()
cmds.lead_check = fake
for line, code in (("IMPEDANCE x", "SYNTAX"), ("IMPEDANCE 1 2", "SYNTAX"), ("IMPEDANCE 123", "SYNTAX")):
    eq(code_of(cmds.answer(line)), code, line)
eq(code_of(cmds.answer("IMPEDANCE 8")), "CONTACTS")
answer = cmds.answer("IMPEDANCE")  # the patient may check the lead
check(answer.startswith("OK current=490uA pw=200us ") and "c7=1143ohm:ok" in answer and "pair6-7=2000ohm:ok" in answer)
eq(len(answer.split()), 1 + 5 + 15, "the conditions, then 15 items")
eq(cmds.lead.failed, {})

fake.ohms = {"c3": 24509, "pair2-3": 24509, "pair3-4": 24509}
answer = cmds.answer("IMPEDANCE 3")
eq(answer.split()[6:], ["c3=24509ohm:open", "pair2-3=24509ohm:open", "pair3-4=24509ohm:open"])
eq(cmds.lead.failed, {3: "open"})
eq(engine.calls, [], "the fake measures without the stimulation engine")

t = 0
login(cmds, t)
cmds.therapy.change({"cathodes": (3,), "anodes": (4,), "ramp_ms": 0}, CLINICIAN)
answer = cmds.answer("ON", t)
eq(answer, "ERR LEAD contact 3 is open (impedance check)", "ON refused on a broken contact")
eq((cmds.stim.on, engine.calls), (False, []), "nothing started")
cmds.therapy.change({"cathodes": (1,), "anodes": (2,)}, CLINICIAN)  # off: any contacts may be set
check(cmds.answer("ON", t).startswith("OK state=on"))
settle(cmds, t)
eq(code_of(cmds.answer("IMPEDANCE", t)), "BUSY", "no lead check while stimulating")
eq(fake.runs, 2)
for line in ("SET anodes=3", "SET cathodes=1,3", "SET cathodes=4 anodes=3"):
    answer = cmds.answer(line, t)
    eq(answer, "ERR LEAD contact 3 is open (impedance check)", line)
program = cmds.therapy.program()
eq((program.cathodes, program.anodes), ((1,), (2,)), "a refused SET changes nothing")
check(cmds.answer("SET anodes=4", t).startswith("OK "), "healthy contacts may be set while on")
eq(cmds.therapy.program().anodes, (4,))
cmds.therapy.slots[1].program = Program(cathodes=(3,), anodes=(0,))
eq(code_of(cmds.answer("PROGRAM 2", t)), "LEAD", "no other program through a broken contact while on")
eq(cmds.therapy.active.number, 1)
eq(code_of(cmds.answer("TRAIN ADD 10ms", t)), None)
eq(cmds.answer("OFF", t).split()[:2], ["OK", "state=stopping"])
settle(cmds, t)
eq(cmds.stim.state(), "off")
cmds.therapy.change({"cathodes": (3,)}, CLINICIAN)
eq(code_of(cmds.answer("TRAIN PLAY", t)), "LEAD", "a custom train on a broken contact")
eq(cmds.stim.state(), "off")

fake.ohms = {"c3": 1, "c4": 1, "pair3-4": 1, "pair2-3": 1500}
answer = cmds.answer("IMPEDANCE", t)
check("c3=1ohm:short" in answer and "c4=1ohm:short" in answer and "pair2-3=1500ohm:low" in answer, answer)
eq(cmds.lead.failed, {3: "short", 4: "short"})
eq(cmds.answer("ON", t), "ERR LEAD contact 3 is shorted (impedance check)")

fake.ohms = {}
check(cmds.answer("IMPEDANCE", t).startswith("OK "))
eq(cmds.lead.failed, {}, "the repaired lead passes")
check(cmds.answer("ON", t).startswith("OK state=on"), "ON once a new check passes")
eq(engine.calls[-1][2].cathodes, (3,))
cmds.answer("STOP", t)

print("OK", checks)
