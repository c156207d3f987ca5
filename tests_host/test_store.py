"""Settings on flash (store.Store + settings_record): the check script under
MicroPython with a Pico-sized heap and under CPython; then, under CPython, a
power cut after every single byte and step of a save, damaged files at the
therapy level, every kind of invalid record, property tests, and the real
`os` module on a temporary directory (CPython and the MicroPython unix port,
which also shows both write the same bytes)."""

import json
import os
import subprocess

import pytest
from fakes import FakeFlash, PowerCut
from hypothesis import given, settings
from hypothesis import strategies as st
from mpy_checks import INTERPRETERS, LIB, ROOT, interpreter, run_checks
from picostim_fw import safety
from picostim_fw.settings_record import E_INVALID, E_VERSION, SCHEMA, apply, encode, encode_parts, restore, save
from picostim_fw.stim_program import StimError
from picostim_fw.store import E_CORRUPT, HEADER_SIZE, MAX_BODY, Store, pack, unpack
from picostim_fw.therapy import CLINICIAN, PATIENT, SLOTS, Therapy

BOARD = json.loads((ROOT / "boards" / "pico.json").read_text())
SAFETY = BOARD["safety"]
PATH = "/settings"
MIN_CHECKS = 450


@pytest.mark.parametrize("where", INTERPRETERS)
def test_store_checks(where):
    assert run_checks("check_store.py", where) >= MIN_CHECKS


def fresh():
    return Therapy(BOARD, lambda program: safety.check(program, SAFETY))


def old_therapy():
    t = fresh()
    t.change({"amp_ua": 2500, "pw_us": 300, "rate_hz": 40, "cathodes": (2, 4), "anodes": (3,)}, CLINICIAN)
    t.change({"ramp_ms": 1000, "amp_ua_min": 1000, "amp_ua_max": 4000, "patient_keys": ("amp", "pw")}, CLINICIAN)
    t.change({"amp_ua": 2700}, PATIENT)
    t.select(2)
    t.change({"amp_ua": 3000, "burst_count": 5, "burst_rate_hz": 500, "name": "walk"}, CLINICIAN)
    t.define_group("walking", 2)
    t.select_group("walking")
    return t


def new_therapy():
    """old_therapy after a clinician's visit: other values, programs, group and trigger."""
    t = old_therapy()
    t.change({"amp_ua": 2900}, PATIENT)  # program 2 away from its clinic setting
    t.select(1)
    t.change({"amp_ua": 3300, "trigger": "edge", "trigger_pulses": 3}, CLINICIAN)
    t.select(5)
    t.change({"amp_ua": 1200, "pw_us": 30, "ipg_us": 0, "rate_hz": 10000, "ramp_ms": 0, "name": "hf"}, CLINICIAN)
    t.define_group("sleep", 5)
    t.select_group("sleep")
    return t


def third_therapy():
    t = fresh()
    t.select(8)
    t.change({"amp_ua": 800, "cycle_on_ms": 60000, "cycle_off_ms": 60000}, CLINICIAN)
    return t


DEFAULTS = encode(fresh())
OLD = encode(old_therapy())
NEW = encode(new_therapy())
THIRD = encode(third_therapy())


def restart(fs):
    """What a board booting on these files ends up with: (record, fault)."""
    fs.budget = None
    therapy = fresh()
    fault = restore(therapy, Store(fs, PATH, fs.open))
    return encode(therapy), fault


def booted(fs, seen):
    """restart(fs), once per distinct result of Store.load: the rest of a
    restart is a function of that result alone (keeps the sweeps fast)."""
    fs.budget = None
    key = Store(fs, PATH, fs.open).load()
    if key not in seen:
        seen[key] = restart(fs.copy())
    return seen[key]


def saved(*bodies):
    fs = FakeFlash()
    for body in bodies:
        Store(fs, PATH, fs.open).save(body, SCHEMA)
    return fs


def sweep(before, record_parts):
    """Save record_parts over a copy of `before`, the power cut after 0, 1, 2, ...
    steps (each byte written, each open, rename and remove) up to an uncut
    save; yields (cut, total, files after the cut)."""
    probe = before.copy()
    Store(probe, PATH, probe.open).save(record_parts, SCHEMA)
    total = probe.steps
    for cut in range(total + 1):
        fs = before.copy(budget=cut)
        if cut < total:
            with pytest.raises(PowerCut):
                Store(fs, PATH, fs.open).save(record_parts, SCHEMA)
        else:
            Store(fs, PATH, fs.open).save(record_parts, SCHEMA)
        yield cut, total, fs


# ---- power cuts: every byte ---------------------------------------------------------------


def test_power_cut_at_every_byte_gives_old_or_new():
    """A save of NEW over OLD (with DEFAULTS as .bak): whatever step the power
    fails at, the board restarts with exactly OLD (every cut before the final
    rename) or exactly NEW, never a mix, never an exception, no fault; and
    the next save after such a restart works (tried at the first and last
    cuts and every 97th)."""
    before = saved(DEFAULTS, OLD)
    parts = encode_parts(new_therapy())
    outcomes = {}
    for cut, total, fs in sweep(before, parts):
        record, fault = restart(fs)
        assert fault is None, cut
        assert record == (NEW if cut == total else OLD), cut
        outcomes[record] = outcomes.get(record, 0) + 1
        if cut < 20 or cut % 97 == 0 or cut > total - 30:  # and the board goes on saving from such states
            Store(fs, PATH, fs.open).save(THIRD, SCHEMA)
            assert restart(fs) == (THIRD, None), cut
    assert outcomes == {OLD: total, NEW: 1}
    assert total == 1 + HEADER_SIZE + len(NEW) + 3  # open, bytes, remove .bak, two renames: all cut


def test_power_cut_during_the_first_save():
    """Nothing saved yet: every cut boots with the defaults, no fault (first boot), or NEW."""
    seen = {}
    for cut, total, fs in sweep(FakeFlash(), encode_parts(new_therapy())):
        assert booted(fs, seen) == ((NEW, None) if cut == total else (DEFAULTS, None)), cut


def test_power_cut_while_replacing_a_damaged_file():
    """Main damaged, .bak = OLD: every cut before the last rename boots with OLD
    (and the fault, until the damaged file is removed, the step before that
    rename); the finished save with NEW and no fault; .bak keeps OLD."""
    before = saved(OLD, DEFAULTS)
    before.flip(PATH, HEADER_SIZE + 100, 0x04)
    assert restart(before.copy()) == (OLD, E_CORRUPT)
    seen = {}
    for cut, total, fs in sweep(before, encode_parts(new_therapy())):
        want = (NEW, None) if cut == total else (OLD, None) if cut == total - 1 else (OLD, E_CORRUPT)
        assert booted(fs, seen) == want, cut
    assert unpack(fs.data(PATH + ".bak"))[2] == OLD


def test_power_cut_after_an_interrupted_save():
    """A save cut between its two renames (no main file, .bak current, a
    complete .tmp), then another save cut anywhere: OLD or the newest."""
    before = saved(DEFAULTS, OLD)
    parts = encode_parts(new_therapy())
    probe = before.copy()
    Store(probe, PATH, probe.open).save(parts, SCHEMA)
    half = before.copy(budget=probe.steps - 1)  # all but the final rename
    with pytest.raises(PowerCut):
        Store(half, PATH, half.open).save(parts, SCHEMA)
    assert sorted(half.files) == [PATH + ".bak", PATH + ".tmp"]
    assert restart(half.copy()) == (OLD, None)
    seen = {}
    for cut, total, fs in sweep(half, THIRD):
        assert booted(fs, seen) == ((THIRD, None) if cut == total else (OLD, None)), cut
    assert unpack(fs.data(PATH + ".bak"))[2] == OLD  # the last good one stays the backup


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([DEFAULTS, OLD, NEW, THIRD]), st.none() | st.floats(0, 1)), max_size=8))
def test_power_cuts_in_a_row(saves):
    """Saves one after the other, some cut short (at a random step), each
    followed by a restart: the board always has the last completed save,
    never a fault."""
    fs = FakeFlash()
    have = DEFAULTS  # defaults
    for body, cut_at in saves:
        probe = fs.copy()
        Store(probe, PATH, probe.open).save(body, SCHEMA)
        total = probe.steps
        cut = total if cut_at is None else int(cut_at * total)
        fs.budget = fs.steps + cut
        try:
            Store(fs, PATH, fs.open).save(body, SCHEMA)
        except PowerCut:
            pass
        record, fault = restart(fs)
        assert fault is None
        assert record == (body if cut == total else have)
        have = record
        fs.steps = 0


# ---- damaged files -----------------------------------------------------------------------------


def damaged(data):
    body = data[HEADER_SIZE:]
    half = HEADER_SIZE + len(body) // 2
    return {
        "bit flip in the body": data[:half] + bytes([data[half] ^ 0x20]) + data[half + 1 :],
        "bit flip in the last byte": data[:-1] + bytes([data[-1] ^ 0x01]),
        "bit flip in the generation": data[:6] + bytes([data[6] ^ 0x80]) + data[7:],
        "bit flip in the version": data[:4] + bytes([data[4] ^ 0x01]) + data[5:],
        "wrong magic": b"PSTX" + data[4:],
        "wrong crc": data[: HEADER_SIZE - 4] + bytes(4) + body,
        "truncated in the header": data[:10],
        "truncated in the body": data[:half],
        "one byte short": data[:-1],
        "a byte too many": data + b"\n",
        "two bytes swapped": data[:half] + data[half + 1 : half + 2] + data[half : half + 1] + data[half + 2 :],
        "empty": b"",
        "garbage": bytes(range(256)) * 4,
        "erased flash": b"\xff" * 4096,
        "zeros": bytes(4096),
        "another file": b'{"active":1}\n',
    }


@pytest.mark.parametrize("kind", sorted(damaged(b"x" * 100)))
def test_damaged_main_file_falls_back_to_the_last_good(kind):
    fs = saved(OLD, NEW)
    fs.put(PATH, damaged(fs.data(PATH))[kind])
    assert Store(fs, PATH, fs.open).load() == (OLD, SCHEMA, E_CORRUPT)
    assert restart(fs) == (OLD, E_CORRUPT)
    # the next save leaves the damage behind and keeps OLD as the backup
    assert save(third_therapy(), Store(fs, PATH, fs.open)) is None
    assert restart(fs) == (THIRD, None)
    assert unpack(fs.data(PATH + ".bak"))[2] == OLD


@pytest.mark.parametrize("kind", sorted(damaged(b"x" * 100)))
def test_damaged_main_file_without_a_backup_gives_defaults(kind):
    fs = saved(NEW)
    fs.put(PATH, damaged(fs.data(PATH))[kind])
    assert restart(fs) == (DEFAULTS, E_CORRUPT)


def test_nothing_saved_is_no_fault():
    empty = FakeFlash()
    assert Store(empty, PATH, empty.open).load() == (None, 0, None)
    assert restart(FakeFlash()) == (DEFAULTS, None)


# ---- invalid records -----------------------------------------------------------------------


DROP = object()
P0 = ("slots", 0, "program")
S0 = ("slots", 0)
# (what, [(path, value)]) edits of the record of new_therapy(): slot 0 is program 1 (amp 3300uA,
# trigger edge), slot 1 program 2 (a burst, clinic differs), slot 4 program 5 (10 kHz)
INVALID = [
    ("amp over the board range", [(P0 + ("amp_ua",), 30000)]),
    ("charge over the safety limit", [(P0 + ("amp_ua",), 20000)]),
    ("a pulse that does not fit the period", [(("slots", 4, "program", "pw_us"), 1000)]),
    ("a contact both cathode and anode", [(P0 + ("anodes",), [2])]),
    ("contact 8", [(P0 + ("cathodes",), [8])]),
    ("contact -1", [(P0 + ("cathodes",), [-1])]),
    ("no cathode", [(P0 + ("cathodes",), [])]),
    ("a contact twice", [(P0 + ("cathodes",), [2, 2])]),
    ("cathodes not a list", [(P0 + ("cathodes",), 2)]),
    ("a contact a string", [(P0 + ("cathodes",), ["2"])]),
    ("unknown program key", [(P0 + ("foo",), 1)]),
    ("missing program key", [(P0 + ("asym",), DROP)]),
    ("missing trigger key (a v1 program in a v2 record)", [(P0 + ("trigger",), DROP)]),
    ("amp a string", [(P0 + ("amp_ua",), "2500")]),
    ("amp a float", [(P0 + ("amp_ua",), 2500.0)]),
    ("amp a bool", [(P0 + ("amp_ua",), True)]),
    ("amp null", [(P0 + ("amp_ua",), None)]),
    ("amp a list", [(P0 + ("amp_ua",), [2500])]),
    ("unknown trigger mode", [(P0 + ("trigger",), "sometimes")]),
    ("trigger a number", [(P0 + ("trigger",), 1)]),
    ("a trigger with a burst", [(("slots", 1, "program", "trigger"), "gate")]),
    ("trigger_pulses 0", [(P0 + ("trigger_pulses",), 0)]),
    ("trigger_pulses over its range", [(P0 + ("trigger_pulses",), 5000)]),
    ("an invalid clinic setting", [(("slots", 1, "clinic", "amp_ua"), 30000)]),
    ("clinic not an object", [(("slots", 1, "clinic"), 5)]),
    ("program not an object", [(P0, [1, 2])]),
    ("program null", [(P0, None)]),
    ("ramp over its limit", [(S0 + ("settings", "ramp_ms"), 70000)]),
    ("a negative cycle", [(S0 + ("settings", "cycle_on_ms"), -1)]),
    ("train over a day", [(S0 + ("settings", "train_ms"), 86400001)]),
    ("step 0", [(S0 + ("settings", "step_ua"), 0)]),
    ("step over the board's amplitude", [(S0 + ("settings", "step_ua"), 25501)]),
    ("step a float", [(S0 + ("settings", "step_ua"), 100.5)]),
    ("ramp a string", [(S0 + ("settings", "ramp_ms"), "1s")]),
    ("a settings key missing", [(S0 + ("settings", "train_ms"), DROP)]),
    ("an unknown settings key", [(S0 + ("settings", "speed"), 1)]),
    ("settings not an object", [(S0 + ("settings",), [])]),
    ("window low over high", [(S0 + ("window", "amp_ua"), [3000, 1000])]),
    ("window over the board range", [(S0 + ("window", "amp_ua"), [0, 30000])]),
    ("window under the board range", [(S0 + ("window", "pw_us"), [5, 100])]),
    ("window of three", [(S0 + ("window", "amp_ua"), [0, 1, 2])]),
    ("window of floats", [(S0 + ("window", "amp_ua"), [0.5, 100])]),
    ("window not a list", [(S0 + ("window", "pw_us"), 10)]),
    ("a window missing", [(S0 + ("window", "rate_hz"), DROP)]),
    ("a window for a field without one", [(S0 + ("window", "ipg_us"), [0, 10])]),
    ("a patient key the patient may not have", [(S0 + ("patient",), ["amp", "ramp"])]),
    ("a patient key twice", [(S0 + ("patient",), ["amp", "amp"])]),
    ("patient keys not a list", [(S0 + ("patient",), "amp")]),
    ("a patient key a number", [(S0 + ("patient",), [1])]),
    ("a patient key a list", [(S0 + ("patient",), [["amp"]])]),
    ("a name with a space", [(S0 + ("name",), "my day")]),
    ("a name too long", [(S0 + ("name",), "abcdefghijklm")]),
    ("an empty name", [(S0 + ("name",), "")]),
    ("a name a number", [(S0 + ("name",), 5)]),
    ("a name with a quote", [(S0 + ("name",), 'a"b')]),
    ("a slot key missing", [(S0 + ("window",), DROP)]),
    ("an unknown slot key", [(S0 + ("state",), "on")]),
    ("a slot not an object", [(S0, 3)]),
    ("seven slots", [(("slots", 7), DROP)]),
    ("nine slots", [(("slots",), "append")]),
    ("slots not a list", [(("slots",), {})]),
    ("a group of program 9", [(("groups", "far"), 9)]),
    ("a group of program 0", [(("groups", "far"), 0)]),
    ("a group's program a string", [(("groups", "far"), "2")]),
    ("a group name with a space", [(("groups", "a b"), 2)]),
    ("a group name too long", [(("groups", "abcdefghijklm"), 2)]),
    ("nine groups", [(("groups",), {f"g{n}": 1 for n in range(9)})]),
    ("groups not an object", [(("groups",), [])]),
    ("active 0", [(("active",), 0)]),
    ("active 9", [(("active",), 9)]),
    ("active a string", [(("active",), "2")]),
    ("active null", [(("active",), None)]),
    ("an unknown selected group", [(("group",), "nosuch")]),
    ("the selected group a number", [(("group",), 5)]),
    ("a record key missing", [(("groups",), DROP)]),
    ("an unknown record key", [(("on",), True)]),
    ("stimulation state in the record", [(("state",), "on")]),
]


def edited(body, edits):
    record = json.loads(body)
    for path, value in edits:
        where = record
        for key in path[:-1]:
            where = where[key]
        if value is DROP:
            del where[path[-1]]
        elif value == "append":
            where[path[-1]].append(where[path[-1]][0])
        else:
            where[path[-1]] = value
    return json.dumps(record).encode()


@pytest.mark.parametrize("what, edits", INVALID, ids=[what for what, _ in INVALID])
def test_invalid_record_changes_nothing(what, edits):
    therapy = old_therapy()
    body = edited(NEW, edits)
    with pytest.raises(StimError) as err:
        apply(therapy, body, SCHEMA)
    assert err.value.code == E_INVALID
    assert err.value.message and len(err.value.message) < 200
    assert encode(therapy) == OLD
    # from the store: defaults and the fault
    fs = FakeFlash()
    Store(fs, PATH, fs.open).save(body, SCHEMA)
    assert restart(fs) == (DEFAULTS, E_INVALID)


def test_the_unedited_record_is_valid():
    therapy = old_therapy()
    apply(therapy, edited(NEW, []), SCHEMA)
    assert encode(therapy) == NEW


@pytest.mark.parametrize("version", [0, SCHEMA + 1, 65535])
def test_unknown_versions_are_refused(version):
    therapy = old_therapy()
    with pytest.raises(StimError) as err:
        apply(therapy, NEW, version)
    assert err.value.code == E_VERSION
    assert encode(therapy) == OLD
    assert restart(saved_as(NEW, version)) == (DEFAULTS, E_VERSION)


def saved_as(body, version):
    fs = FakeFlash()
    Store(fs, PATH, fs.open).save(body, version)
    return fs


# ---- property tests ----------------------------------------------------------------------------

amps = st.integers(0, 25500)
program_changes = st.fixed_dictionaries(
    {},
    optional={
        "amp_ua": amps,
        "pw_us": st.integers(10, 1000),
        "ipg_us": st.integers(0, 1000),
        "rate_hz": st.integers(2, 10000),
        "asym": st.integers(1, 8),
        "cathodes": st.lists(st.integers(0, 3), min_size=1, max_size=3, unique=True),
        "anodes": st.lists(st.integers(4, 7), min_size=1, max_size=3, unique=True),
        "burst_count": st.integers(1, 16),
        "burst_rate_hz": st.integers(2, 1000),
        "trigger": st.sampled_from(["off", "edge", "gate"]),
        "trigger_pulses": st.integers(1, 1024),
    },
)
slot_changes = st.fixed_dictionaries(
    {},
    optional={
        "step_ua": st.integers(1, 25500),
        "ramp_ms": st.integers(0, 60000),
        "cycle_on_ms": st.integers(0, 3600000),
        "cycle_off_ms": st.integers(0, 3600000),
        "train_ms": st.integers(0, 86400000),
        "amp_ua_min": amps,
        "amp_ua_max": amps,
        "pw_us_min": st.integers(10, 1000),
        "rate_hz_max": st.integers(2, 10000),
        "patient_keys": st.lists(st.sampled_from(["amp", "pw", "rate", "cathodes", "anodes"]), unique=True),
        "name": st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True),
    },
)
group_names = st.sampled_from(["walking", "sleep", "sitting", "a", "b-2", "C_3", "night", "day", "x", "yy"])
actions = st.one_of(
    st.tuples(st.just("clinician"), program_changes),
    st.tuples(st.just("patient"), program_changes),
    st.tuples(st.just("settings"), slot_changes),
    st.tuples(st.just("select"), st.integers(1, SLOTS)),
    st.tuples(st.just("define"), group_names, st.integers(1, SLOTS)),
    st.tuples(st.just("group"), group_names),
    st.tuples(st.just("restore")),
)


def play(steps):
    """A therapy after these actions (the refused ones change nothing)."""
    therapy = fresh()
    for step in steps:
        try:
            if step[0] == "clinician" or step[0] == "settings":
                therapy.change(step[1], CLINICIAN)
            elif step[0] == "patient":
                therapy.change(step[1], PATIENT)
            elif step[0] == "select":
                therapy.select(step[1])
            elif step[0] == "define":
                therapy.define_group(step[1], step[2])
            elif step[0] == "group":
                therapy.select_group(step[1])
            else:
                therapy.restore()
        except StimError:
            pass
    return therapy


def slots_of(therapy):
    return [(s.number, s.name, s.program, s.clinic, s.settings, s.patient_keys, s.window) for s in therapy.slots], (
        therapy.active.number,
        therapy.group,
        therapy.groups,
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(actions, max_size=30))
def test_any_therapy_round_trips_exactly(steps):
    therapy = play(steps)
    body = encode(therapy)
    assert len(body) < MAX_BODY
    assert json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode() == body  # canonical
    assert b"".join(encode_parts(therapy)) == body
    restored = fresh()
    apply(restored, body, SCHEMA)
    assert encode(restored) == body
    assert slots_of(restored) == slots_of(therapy)
    # and through the store
    fs = FakeFlash()
    assert save(therapy, Store(fs, PATH, fs.open)) is None
    assert restart(fs) == (body, None)


def _sets_trigger(step):
    return len(step) > 1 and isinstance(step[1], dict) and ("trigger" in step[1] or "trigger_pulses" in step[1])


@settings(max_examples=60, deadline=None)
@given(st.lists(actions, max_size=20))
def test_any_v1_record_migrates_to_the_same_therapy(steps):
    """A schema 1 record (no trigger fields) of any therapy whose triggers are off."""
    therapy = play([step for step in steps if not _sets_trigger(step)])
    body = encode(therapy)
    assert b'"trigger":"off","trigger_pulses":1' in body
    v1 = body.replace(b',"trigger":"off","trigger_pulses":1', b"")
    assert b"trigger" not in v1
    restored = fresh()
    apply(restored, v1, 1)
    assert encode(restored) == body


# ---- the real os module on a real directory -----------------------------------------------------


def test_real_filesystem(tmp_path):
    path = str(tmp_path / "settings")
    store = Store(os, path)
    assert store.load() == (None, 0, None)
    assert save(old_therapy(), store) is None
    assert save(new_therapy(), store) is None
    assert sorted(os.listdir(tmp_path)) == ["settings", "settings.bak"]
    assert restart_on(path) == (NEW, None)
    data = (tmp_path / "settings").read_bytes()
    assert unpack(data) == (2, SCHEMA, NEW)
    assert unpack((tmp_path / "settings.bak").read_bytes()) == (1, SCHEMA, OLD)
    # damaged on disk: the last good generation and the fault; the next save repairs
    (tmp_path / "settings").write_bytes(data[: len(data) // 2])
    assert restart_on(path) == (OLD, E_CORRUPT)
    assert save(third_therapy(), Store(os, path)) is None
    assert restart_on(path) == (THIRD, None)
    assert unpack((tmp_path / "settings.bak").read_bytes())[2] == OLD
    # a save cut between its renames: no main file, a complete .tmp
    os.rename(path, path + ".tmp")
    assert restart_on(path) == (OLD, None)
    assert save(new_therapy(), Store(os, path)) is None
    assert sorted(os.listdir(tmp_path)) == ["settings", "settings.bak"]
    assert restart_on(path) == (NEW, None)


def restart_on(path):
    therapy = fresh()
    fault = restore(therapy, Store(os, path))
    return encode(therapy), fault


MPY_SCRIPT = """
import json, os, sys
sys.path.insert(0, ".")
from picostim import safety, settings_record
from picostim.store import Store
from picostim.therapy import Therapy
with open("../../boards/pico.json") as f:
    BOARD = json.load(f)
def fresh():
    return Therapy(BOARD, lambda p: safety.check(p, BOARD["safety"]))
t = fresh()
t.change({"amp_ua": 2500, "pw_us": 300, "rate_hz": 40, "cathodes": (2, 4), "anodes": (3,)}, "clinician")
t.change({"ramp_ms": 1000, "amp_ua_min": 1000, "amp_ua_max": 4000, "patient_keys": ("amp", "pw")}, "clinician")
t.change({"amp_ua": 2700}, "patient")
t.select(2)
t.change({"amp_ua": 3000, "burst_count": 5, "burst_rate_hz": 500, "name": "walk"}, "clinician")
t.define_group("walking", 2)
t.select_group("walking")
print(settings_record.save(t, Store(os, %(mine)r)))
u = fresh()
print(settings_record.restore(u, Store(os, %(theirs)r)))
body = Store(os, %(theirs)r).load()[0]
print(settings_record.encode(u) == body, body == %(new)r)
"""


def test_real_filesystem_under_micropython(tmp_path):
    """The MicroPython unix port (the virtual board's flash is a real
    directory) writes old_therapy() with the real os module, byte for byte
    what CPython writes, and reads what CPython wrote."""
    mine, theirs = str(tmp_path / "mpy"), str(tmp_path / "cpython")
    assert save(new_therapy(), Store(os, theirs)) is None
    script = MPY_SCRIPT % {"mine": mine, "theirs": theirs, "new": NEW}
    result = subprocess.run(
        [*interpreter("micropython"), "-c", script], capture_output=True, text=True, timeout=60, cwd=LIB
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == ["None", "None", "True", "True"]
    assert Store(os, mine).load() == (OLD, SCHEMA, None)
    assert (tmp_path / "mpy").read_bytes() == pack(OLD, SCHEMA, 1)
