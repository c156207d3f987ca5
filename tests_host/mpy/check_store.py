# The settings store (store.Store on a FakeFlash) and the therapy record
# (settings_record): round trips, migration from schema 1, refusal of a newer
# schema, damaged and missing files, invalid contents, under MicroPython (and
# CPython): run as a script from firmware/lib. Prints "OK <count>" when every
# check passes; raises otherwise. A check's label is the comment on its line.
import gc
import json
import struct
import sys

sys.path.insert(0, ".")  # run from firmware/lib
from fakes import FakeFlash  # noqa: E402  (tests_host/mpy, the script's own folder)
from picostim import safety, settings_record, store
from picostim.settings_record import E_INVALID, E_VERSION, E_WRITE, SCHEMA, apply, encode, restore, save
from picostim.stim_program import Program, StimError
from picostim.store import E_CORRUPT, HEADER_SIZE, MAX_BODY, Store, crc32, crc32_pure
from picostim.therapy import CLINICIAN, PATIENT, Therapy

with open("../../boards/pico.json") as f:
    BOARD = json.load(f)
SAFETY = BOARD["safety"]
PATH = "/settings"

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


def refused(code, fn, *args):
    """fn(*args) raises StimError(code, message); returns the message."""
    global checks
    try:
        fn(*args)
    except StimError as err:
        eq(err.code, code, "%r" % (err,))
        check(err.message != "", "no message")
        return err.message
    raise AssertionError("no StimError %s" % code)


def rec(therapy):
    """The record in pieces: comparable without a block of its whole size."""
    return settings_record.encode_parts(therapy)


def fresh():
    return Therapy(BOARD, lambda program: safety.check(program, SAFETY))


def configured(trigger=True):
    """A therapy far from the defaults: three programs changed, one by the
    patient too (program != clinic), two groups, the second group selected."""
    t = fresh()
    t.change({"amp_ua": 2500, "pw_us": 300, "rate_hz": 40, "cathodes": (2, 4), "anodes": (3,)}, CLINICIAN)
    t.change({"ramp_ms": 1000, "cycle_on_ms": 60000, "cycle_off_ms": 120000, "train_ms": 0, "step_ua": 200}, CLINICIAN)
    t.change({"amp_ua_min": 1000, "amp_ua_max": 4000, "patient_keys": ("amp", "pw"), "name": "day"}, CLINICIAN)
    t.select(2)
    t.change({"amp_ua": 3000, "rate_hz": 40, "burst_count": 5, "burst_rate_hz": 500, "asym": 4}, CLINICIAN)
    t.change({"pw_us_min": 100, "pw_us_max": 400, "rate_hz_min": 20, "rate_hz_max": 100}, CLINICIAN)
    t.change({"patient_keys": ("amp", "rate"), "name": "walk-2"}, CLINICIAN)
    t.change({"amp_ua": 2800, "rate_hz": 50}, PATIENT)  # the patient moves away from the clinic setting
    t.select(3)
    t.change({"amp_ua": 1200, "pw_us": 30, "ipg_us": 0, "rate_hz": 10000, "ramp_ms": 0}, CLINICIAN)
    if trigger:
        t.select(4)
        t.change({"amp_ua": 1500, "trigger": "edge", "trigger_pulses": 4}, CLINICIAN)
    t.define_group("walking", 2)
    t.define_group("sleep", 3)
    t.select_group("walking")
    return t


def store_large():
    """Bodies at and over the size limit: run first, while the heap has 8 KB blocks."""
    fs = FakeFlash()
    s = Store(fs, PATH, fs.open)
    s.save(b"small", 2)
    big = b"x" * MAX_BODY
    eq(s.save(big, 2), 2)  # the largest body
    check(s.load()[0] is big or s.load()[0] == big)  # largest body read back
    try:
        s.save([big, b"x"], 2)
        check(False, "oversize body saved")
    except ValueError:
        check(True)  # oversize body refused
    eq(s.load()[1:], (2, None))  # and nothing changed
    head = struct.pack("<4sHII", b"PSTR", 2, 9, MAX_BODY + 1)
    crc = crc32(b"x", crc32(big, crc32(head)))
    fs.files[PATH] = [head, struct.pack("<I", crc), big, b"x"]
    eq(s.load(), (b"small", 2, E_CORRUPT))  # over the size limit though its crc is right


store_large()
gc.collect()


# The records the checks apply, made while the heap is still in one piece (the
# checks run in 180K; a therapy takes about 6 KB of it, a parsed record 9 KB).
DEFAULT = encode(fresh())
CONFIGURED = encode(configured())
# schema 1: every trigger off (all it could hold) and the program fields without the trigger keys
V1 = encode(configured(trigger=False)).replace(b',"trigger":"off","trigger_pulses":1', b"")
gc.collect()


def same_record(therapy, body):
    """encode(therapy) == body, compared piece by piece."""
    pos = 0
    for part in settings_record.encode_parts(therapy):
        eq(body[pos : pos + len(part)], part, "record at %d" % pos)
        pos += len(part)
    eq(pos, len(body), "record length")


def same_slots(a, b, what):
    for n in range(len(a.slots)):
        x, y = a.slots[n], b.slots[n]
        eq(
            (x.name, x.program, x.clinic, x.settings, x.patient_keys, x.window),
            (y.name, y.program, y.clinic, y.settings, y.patient_keys, y.window),
            "%s: slot %d" % (what, x.number),
        )
    eq((a.active.number, a.group, a.groups), (b.active.number, b.group, b.groups), what)


# ==== CRC-32 ==========================================================================


def crc():
    eq(crc32(b"123456789"), 0xCBF43926)  # the CRC-32 check value
    eq(crc32_pure(b"123456789"), 0xCBF43926)  # the fallback's check value
    eq(crc32_pure(b""), 0)  # empty input
    data = bytes(range(256)) * 3
    eq(crc32_pure(data), crc32(data))  # fallback = native on every byte value
    eq(crc32_pure(data[100:], crc32_pure(data[:100])), crc32(data))  # incremental
    eq(crc32(b"\xff" * 32), 0xFF6CAB0B)  # a known vector
    # a port without binascii.crc32: the same files
    fs = FakeFlash()
    Store(fs, PATH, fs.open).save(b"written natively", 2)
    native = store._native_crc32
    store._native_crc32 = None
    try:
        eq(Store(fs, PATH, fs.open).load(), (b"written natively", 2, None))  # the fallback reads it
        Store(fs, PATH, fs.open).save(b"written by the fallback", 2)
    finally:
        store._native_crc32 = native
    eq(Store(fs, PATH, fs.open).load(), (b"written by the fallback", 2, None))  # and natively read back


# ==== the store ========================================================================


def store_round_trips():
    fs = FakeFlash()
    s = Store(fs, PATH, fs.open)
    eq(s.load(), (None, 0, None))  # first boot: nothing, no fault
    eq(s.generation, 0)  # no generation yet
    eq(s.save(b"first", 2), 1)  # generation 1
    eq(s.load(), (b"first", 2, None))  # read back
    eq(sorted(fs.files), [PATH])  # no .tmp left, no .bak yet
    eq(s.save(b"second", 2), 2)  # generation 2
    eq(sorted(fs.files), [PATH, PATH + ".bak"])  # the previous one kept as .bak
    eq(Store(fs, PATH, fs.open).load(), (b"second", 2, None))  # a new Store reads it
    eq(store.unpack(fs.data(PATH + ".bak")), (1, 2, b"first"))  # .bak holds generation 1
    eq(s.save(b"", 7), 3)  # an empty body, another version
    eq(s.load(), (b"", 7, None))  # empty body read back
    eq(store.unpack(fs.data(PATH + ".bak"))[0], 2)  # .bak moved on to generation 2
    check(fs.syncs >= 6)  # sync after the tmp file and after the renames
    eq(len(store.pack(b"abc", 2, 9)), HEADER_SIZE + 3)  # header size
    eq(store.pack(b"abc", 2, 9)[:4], b"PSTR")  # magic
    eq(store.unpack(store.pack(b"abc", 65535, 4294967295)), (4294967295, 65535, b"abc"))  # field widths
    eq(s.save([b"in ", b"three ", b"parts"], 2), 4)  # a body in parts
    eq(s.load(), (b"in three parts", 2, None))  # read back as one


def two_generations():
    """(fs, main bytes) with generation 1 (b"good old") in .bak and 2 (b"new body") in main."""
    fs = FakeFlash()
    s = Store(fs, PATH, fs.open)
    s.save(b"good old", 2)
    s.save(b"new body", 2)
    return fs, fs.data(PATH)


def store_damage():
    fs, main = two_generations()
    bad = []
    for i in range(len(main)):  # a flipped bit in every byte: magic, version, generation, length, crc, body
        bad.append(main[:i] + bytes([main[i] ^ (1 << (i % 8))]) + main[i + 1 :])
    for n in range(len(main)):  # cut short at every length
        bad.append(main[:n])
    head = main[: HEADER_SIZE - 4]
    crc = main[HEADER_SIZE - 4 : HEADER_SIZE]
    bad.append(head + bytes([crc[0] ^ 1]) + crc[1:] + main[HEADER_SIZE:])  # wrong crc
    bad.append(main + b"\x00")  # a byte too many
    bad.append(b"\x00" * 40)
    bad.append(b"\xff" * 40)  # erased flash
    bad.append(b"PSTR" + b"\x02\x00" + b"\x09\x00\x00\x00" + b"\xff\xff\xff\x7f" + b"\x00" * 8)  # huge length
    bad.append(b"garbage that is not a record at all")
    for data in bad:
        fs.put(PATH, data)
        eq(Store(fs, PATH, fs.open).load(), (b"good old", 2, E_CORRUPT), "damaged %r" % (data,))  # falls back to .bak
    fs.put(PATH, main)
    eq(Store(fs, PATH, fs.open).load(), (b"new body", 2, None))  # the undamaged file again
    # without a backup: nothing, and the fault
    fs2 = FakeFlash({PATH: bad[3]})
    eq(Store(fs2, PATH, fs2.open).load(), (None, 0, E_CORRUPT))  # corrupt, no .bak
    # a damaged .bak beside a good main is no fault (the next save replaces it)
    fs3 = FakeFlash({PATH: main, PATH + ".bak": b"junk"})
    eq(Store(fs3, PATH, fs3.open).load(), (b"new body", 2, None))  # damaged .bak only
    fs4 = FakeFlash({PATH: b"junk", PATH + ".bak": b"junk"})
    eq(Store(fs4, PATH, fs4.open).load(), (None, 0, E_CORRUPT))  # both damaged
    fs5 = FakeFlash({PATH + ".bak": b"junk"})
    eq(Store(fs5, PATH, fs5.open).load(), (None, 0, E_CORRUPT))  # only a damaged .bak
    # the state a save cut before its last rename leaves: no main, .bak current
    fs6 = FakeFlash({PATH + ".bak": main, PATH + ".tmp": b"PSTR\x02"})
    eq(Store(fs6, PATH, fs6.open).load(), (b"new body", 2, None))  # .bak, no fault
    fs7 = FakeFlash({PATH + ".tmp": store.pack(b"unfinished", 2, 1)})
    eq(Store(fs7, PATH, fs7.open).load(), (None, 0, None))  # a complete .tmp alone is not a candidate
    fs8 = FakeFlash({PATH: store.pack(b"older", 2, 3), PATH + ".bak": store.pack(b"newer", 2, 4)})
    eq(Store(fs8, PATH, fs8.open).load(), (b"newer", 2, None))  # the newest generation wins
    fs9 = FakeFlash({PATH: main, PATH + ".bak": main})
    fs9.fail = 5
    eq(Store(fs9, PATH, fs9.open).load(), (None, 0, E_CORRUPT))  # unreadable (EIO)


def store_saves_after_damage():
    fs, main = two_generations()
    fs.put(PATH, b"junk")
    s = Store(fs, PATH, fs.open)
    eq(s.load(), (b"good old", 2, E_CORRUPT))  # damaged main
    eq(s.save(b"third", 2), 2)  # the next generation after the last good one
    eq(s.load(), (b"third", 2, None))  # saved over the damage
    eq(store.unpack(fs.data(PATH + ".bak")), (1, 2, b"good old"))  # .bak keeps the last good
    fs.fail = 28
    try:
        s.save(b"fourth", 2)
        check(False, "saved on a full filesystem")
    except OSError:
        check(True)  # ENOSPC passes through
    fs.fail = None
    eq(s.load(), (b"third", 2, None))  # nothing lost
    fs.lossy = True
    try:
        s.save(b"fourth", 2)
        check(False, "saved though the write was lost")
    except OSError:
        check(True)  # a write that lost bytes is caught by the read back
    fs.lossy = False
    eq(s.load(), (b"third", 2, None))  # nothing replaced
    eq(store.unpack(fs.data(PATH + ".bak")), (1, 2, b"good old"))  # nor moved
    fs.fail_stat = 5
    eq(s.load(), (None, 0, E_CORRUPT))  # files that cannot be looked at (EIO) are no first boot
    fs.fail_stat = None
    fs2 = FakeFlash({PATH + ".bak": main, PATH + ".tmp": b"half a sa"})
    s2 = Store(fs2, PATH, fs2.open)
    eq(s2.save(b"after a cut", 2), 3)  # after an interrupted save
    eq(sorted(fs2.files), [PATH, PATH + ".bak"])  # .tmp consumed
    eq(store.unpack(fs2.data(PATH + ".bak"))[2], b"new body")  # .bak untouched


# ==== the record ========================================================================


def record_round_trips():
    body = DEFAULT
    check(isinstance(body, bytes))  # bytes
    check(b" " not in body)  # compact: no spaces
    eq(body[:11], b'{"active":1')  # sorted keys
    eq(sorted(json.loads(body)), ["active", "adaptive", "group", "groups", "slots"])  # nothing about on/off
    u = fresh()
    apply(u, body, SCHEMA)
    same_record(u, DEFAULT)  # defaults round trip
    u = None
    gc.collect()
    u = fresh()
    apply(u, CONFIGURED, SCHEMA)
    same_record(u, CONFIGURED)  # a changed therapy round trips byte for byte
    c = configured()
    same_slots(u, c, "configured")
    eq((u.active.number, u.group, u.program().amp_ua), (2, "walking", 2800))  # active program and group
    check(u.slots[1].program != u.slots[1].clinic)  # the patient's change and the clinic setting both kept
    eq(u.slots[1].clinic.amp_ua, 3000)  # clinic setting
    eq((u.slots[3].program.trigger, u.slots[3].program.trigger_pulses), ("edge", 4))  # trigger fields
    eq(u.slots[0].clinic, u.slots[0].program)  # clinic null in the record: the program
    u.restore()
    eq(u.program().amp_ua, 3000)  # RESTORE after a restart returns to the clinic setting
    # a group that is not selected
    u = None
    gc.collect()
    c.select(3)
    u = fresh()
    apply(u, CONFIGURED.replace(b'"active":2,', b'"active":3,').replace(b'"group":"walking"', b'"group":null'), SCHEMA)
    eq((u.active.number, u.group), (3, None))  # no group selected
    eq(rec(u), rec(c))  # otherwise the same
    c = u = None
    gc.collect()


def record_through_store():
    fs = FakeFlash()
    eq(save(configured(), Store(fs, PATH, fs.open)), None)  # save helper
    gc.collect()
    u = fresh()
    eq(restore(u, Store(fs, PATH, fs.open)), None)  # restore helper
    same_record(u, CONFIGURED)  # restored
    u = None
    empty = FakeFlash()
    eq(restore(fresh(), Store(empty, PATH, empty.open)), None)  # nothing saved: no fault


def record_longest():
    # every field at its widest (set directly: only the size counts)
    t = fresh()
    for slot in t.slots:
        slot.program = Program(25500, 1000, 1000, 10000, (0, 1, 2, 3), (4, 5, 6, 7), 8, 16, 1000, "gate", 1024)
        slot.clinic = slot.program.copy(amp_ua=25499)
        slot.name = "abcdefghijkl"
        slot.patient_keys = ("amp", "pw", "rate", "cathodes", "anodes")
        for key in slot.settings:
            slot.settings[key] = 86400000
        for key in slot.window:
            slot.window[key] = (25500, 25500)
    for n in range(8):
        t.groups["abcdefghijk%d" % n] = (5, 6, 7, 8)  # the widest group: 4 programs
    t.group = "abcdefghijk1"
    parts = settings_record.encode_parts(t)
    check(sum([len(part) for part in parts]) < MAX_BODY * 3 // 4)  # the longest record fits with room to spare
    check(max([len(part) for part in parts]) < 1024)  # in pieces of under 1 KB


def record_versions():
    check(b"trigger" not in V1)  # a v1 record
    u = fresh()
    apply(u, V1, 1)
    eq((u.slots[0].program.trigger, u.slots[0].program.trigger_pulses), ("off", 1))  # defaults filled
    c = configured(trigger=False)
    eq(rec(u), rec(c))  # v1 -> v2: the same therapy, triggers off
    u = None
    check(1 in settings_record.MIGRATIONS)  # one step per version
    record = settings_record.migrate({"slots": [{"program": {}, "clinic": None}]}, 1)
    eq(record["slots"][0]["program"], {"trigger": "off", "trigger_pulses": 1})  # the step itself
    eq(settings_record.migrate({"x": 1}, SCHEMA), {"x": 1})  # current: untouched
    v3 = settings_record.migrate({"x": 1}, 2)  # v2 -> v3: AdaptiveStim off, nothing remembered
    eq(v3["adaptive"], {"enabled": False, "max": {}, "memory": {}})
    fs = FakeFlash()
    Store(fs, PATH, fs.open).save(V1, 1)
    gc.collect()
    u = fresh()
    eq(restore(u, Store(fs, PATH, fs.open)), None)  # a v1 file restores
    eq(rec(u), rec(c))  # to the same therapy
    c = u = None
    gc.collect()
    # newer or unknown versions are refused; the therapy keeps what it had
    other = configured()
    before = rec(other)
    for version in (SCHEMA + 1, 65535, 0):
        refused(E_VERSION, apply, other, DEFAULT, version)  # refused version
        eq(rec(other), before)  # unchanged
    other = before = None
    fs = FakeFlash()
    Store(fs, PATH, fs.open).save(DEFAULT, SCHEMA + 1)
    u = fresh()
    eq(restore(u, Store(fs, PATH, fs.open)), E_VERSION)  # restore reports the newer schema
    same_record(u, DEFAULT)  # and keeps the defaults
    # a v1 record with a damaged layout is invalid, not a crash
    refused(E_INVALID, apply, u, b'{"slots": 3}', 1)  # v1 layout broken
    refused(E_INVALID, apply, u, b'{"slots": [{"program": 1, "clinic": null}]}', 1)  # v1 program broken


# Edits (old, new) of CONFIGURED that make it invalid (the full table, by path, is in
# tests_host/test_store.py; these few cover each kind of check under MicroPython)
INVALID = (
    (b'"amp_ua":2500', b'"amp_ua":30000'),  # amp over the board range
    (b'"amp_ua":2500', b'"amp_ua":20000'),  # charge over the safety limit (pw 300us)
    (b'"pw_us":30,', b'"pw_us":1000,'),  # the pulse does not fit the period (10 kHz)
    (b'"anodes":[3]', b'"anodes":[2]'),  # a contact both cathode and anode
    (b'"anodes":[3]', b'"anodes":[8]'),  # contact 8
    (b'"amp_ua":2500', b'"amp_ua":2500.0'),  # amp a float
    (b'"amp_ua":2500', b'"amp_ua":true'),  # amp a bool
    (b'"amp_ua":2500', b'"amp_ua":"2500"'),  # amp a string
    (b'"amp_ua":2500', b'"amp":2500'),  # an unknown program key (and amp_ua missing)
    (b'"trigger":"edge"', b'"trigger":"sometimes"'),  # an unknown trigger mode
    (b'"trigger_pulses":4', b'"trigger_pulses":0'),  # trigger_pulses 0
    (b'"amp_ua":3000', b'"amp_ua":30000'),  # an invalid clinic setting
    (b'"ramp_ms":1000', b'"ramp_ms":70000'),  # ramp over its limit
    (b'"step_ua":200', b'"step_ua":0'),  # step 0
    (b'"amp_ua":[1000,4000]', b'"amp_ua":[4000,1000]'),  # window low over high
    (b'"amp_ua":[1000,4000]', b'"amp_ua":[1000]'),  # a window of one
    (b'"patient":["amp","pw"]', b'"patient":["amp","ramp"]'),  # a patient key the patient may not have
    (b'"patient":["amp","pw"]', b'"patient":["amp","amp"]'),  # a patient key twice
    (b'"name":"day"', b'"name":"my day"'),  # a name with a space
    (b'"name":"day"', b'"name":5'),  # a name a number
    (b'"walking":2', b'"walking":9'),  # a group of program 9
    (b'"active":2', b'"active":9'),  # active 9
    (b'"group":"walking"', b'"group":"nosuch"'),  # an unknown selected group
    (b'"slots":[', b'"on":true,"slots":['),  # an unknown record key
    (b'{"clinic":null,"name":"day"', b'{"name":"day"'),  # a slot key missing
)


def record_invalid():
    other = configured(trigger=False)
    other.select(5)
    other.change({"amp_ua": 700, "name": "other"}, CLINICIAN)
    before = rec(other)
    for old, new in INVALID:
        check(CONFIGURED.count(old) == 1, old)  # the edit is where it is meant
        body = CONFIGURED.replace(old, new)
        message = refused(E_INVALID, apply, other, body, SCHEMA)
        body = None
        check(len(message) < 200, new)  # a message of reasonable length
        eq(rec(other), before, new)  # nothing changed
        gc.collect()
    for body in (b"", b"{", b"null", b"[]", b"3", b'"x"', b"\xff\xfe\x00", b'{"active": 1} trailing'):
        refused(E_INVALID, apply, other, body, SCHEMA)  # not a record
        eq(rec(other), before)  # nothing changed
    message = refused(E_INVALID, apply, other, CONFIGURED.replace(b'"amp_ua":3000', b'"amp_ua":30000'), SCHEMA)
    check("program 2" in message and "RANGE" in message, message)  # the message names the program and the check


class BrokenStore:
    def load(self):
        raise RuntimeError("broken")

    def save(self, body, version):
        raise OSError(5)


def helpers_never_raise():
    # damaged main: the last good generation, and the fault
    fs = FakeFlash()
    s = Store(fs, PATH, fs.open)
    s.save(CONFIGURED, SCHEMA)
    s.save(DEFAULT, SCHEMA)
    fs.flip(PATH, HEADER_SIZE - 2, 0x10)  # in the crc (the body's flips: store_damage)
    u = fresh()
    eq(restore(u, Store(fs, PATH, fs.open)), E_CORRUPT)  # damaged main reported
    same_record(u, CONFIGURED)  # with the previous generation's settings
    # both damaged: defaults and the fault
    fs.flip(PATH + ".bak", 3, 1)
    u = fresh()
    eq(restore(u, Store(fs, PATH, fs.open)), E_CORRUPT)  # both damaged
    same_record(u, DEFAULT)  # defaults
    # intact file, invalid content: defaults and E_INVALID
    fs = FakeFlash()
    Store(fs, PATH, fs.open).save(CONFIGURED.replace(b'"amp_ua":2800', b'"amp_ua":99999'), SCHEMA)
    gc.collect()
    u = fresh()
    eq(restore(u, Store(fs, PATH, fs.open)), E_INVALID)  # invalid content reported
    same_record(u, DEFAULT)  # defaults
    fs = FakeFlash()
    Store(fs, PATH, fs.open).save(CONFIGURED, SCHEMA)
    fs.fail = 5
    u = fresh()
    eq(restore(u, Store(fs, PATH, fs.open)), E_CORRUPT)  # unreadable flash
    eq(restore(u, BrokenStore()), E_CORRUPT)  # a store that raises
    same_record(u, DEFAULT)  # defaults
    # save: the filesystem's refusal is a fault code, the old record stays
    fs.fail = 28
    eq(save(u, Store(fs, PATH, fs.open)), E_WRITE)  # full filesystem
    eq(save(u, BrokenStore()), E_WRITE)  # failing filesystem
    fs.fail = None
    eq(Store(fs, PATH, fs.open).load(), (CONFIGURED, SCHEMA, None))  # the old record intact
    u.slots[0].window["amp_ua"] = (0.5, 1)  # not something the record can hold
    eq(save(u, Store(fs, PATH, fs.open)), E_INVALID)  # refused before writing
    eq(Store(fs, PATH, fs.open).load(), (CONFIGURED, SCHEMA, None))  # nothing written


crc()
gc.collect()
store_round_trips()
gc.collect()
store_damage()
gc.collect()
store_saves_after_damage()
gc.collect()
record_round_trips()
gc.collect()
record_through_store()
gc.collect()
record_longest()
gc.collect()
record_versions()
gc.collect()
record_invalid()
gc.collect()
helpers_never_raise()
gc.collect()
print("OK", checks)
