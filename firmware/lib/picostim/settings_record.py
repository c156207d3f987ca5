"""The therapy's settings as a record for store.Store (pure; MicroPython and CPython).

    fault = settings_record.restore(therapy, store)   # at boot; never raises
    fault = settings_record.save(therapy, store)      # after each accepted change; never raises
    body = settings_record.encode(therapy)            # bytes (JSON, canonical); encode_parts: a list of them
    settings_record.apply(therapy, body, version)     # all or nothing, or StimError (body: bytes or parsed)

Persisted: per slot its program, clinic setting (null when equal to the
program), settings, the patient's keys and windows, and name; the groups,
the active program and the selected group. Not persisted: whether
stimulation is on (the board always boots with its outputs off), the role.

The record is JSON (module `json` in MicroPython and CPython), written with
sorted keys and no spaces so the same therapy gives the same bytes under
both. Every value is stored, defaults too: a later firmware with other
defaults must not change a patient's settings.

Schema versions: 1 lacks the program fields "trigger" and
"trigger_pulses"; 2 has them; 3 adds "adaptive" (AdaptiveStim: on/off, the
per-posture memory and limits); 4 lets a group name several programs (a
list; a group of one is still its number), and AdaptiveStim remember such a
group per posture ([name, [amp, ...]]). A record is brought up to SCHEMA by one
function per version in MIGRATIONS, then checked in full by the therapy's
own checks on a scratch Therapy: each slot as a clinician's change
(therapy.change: settings, windows, patient keys, and its program and clinic
setting through Program.validate and the safety limits), names as the
protocol takes them, groups through define_group and select_group. Only a
record that passes all of them replaces the therapy's settings.

Faults (stable codes): store.E_CORRUPT, E_INVALID (a readable record the
firmware refuses; the board keeps its defaults), E_VERSION (written by a
newer firmware, or an unknown version), E_WRITE (the filesystem refused a save).
"""

import gc
import json

from . import protocol
from . import store as store_module
from .stim_program import Program, StimError
from .therapy import CLINICIAN, SLOT_DEFAULTS, Therapy

SCHEMA = 4
E_INVALID = "SETTINGS_INVALID"
E_VERSION = "SETTINGS_VERSION"
E_WRITE = "SETTINGS_WRITE"
E_MEMORY = "SETTINGS_MEMORY"  # no heap to check the record: defaults now, the record kept for the next boot

_KEYS = ("active", "adaptive", "group", "groups", "slots")
_ADAPTIVE_KEYS = ("enabled", "max", "memory")
_SLOT_KEYS = ("clinic", "name", "patient", "program", "settings", "window")
_SLOT_PIECES = (_SLOT_KEYS[:4], _SLOT_KEYS[4:])  # a slot's record in two pieces of a few hundred bytes


def _to_v2(record):
    # Fixed values, not Program's defaults: a v1 record means what "off" meant then.
    for slot in record["slots"]:
        for key in ("program", "clinic"):
            program = slot[key]
            if program is not None:
                program.setdefault("trigger", "off")
                program.setdefault("trigger_pulses", 1)
    return record


def _to_v3(record):
    record["adaptive"] = {"enabled": False, "max": {}, "memory": {}}
    return record


def _to_v4(record):
    return record  # a v3 group is one program's number, which v4 still reads


MIGRATIONS = {1: _to_v2, 2: _to_v3, 3: _to_v4}  # version n -> a function from an n record to an n + 1 record


def migrate(record, version):
    if not 1 <= version <= SCHEMA:
        raise StimError(E_VERSION, "settings schema %d; this firmware reads 1..%d" % (version, SCHEMA))
    while version < SCHEMA:
        record = MIGRATIONS[version](record)
        version += 1
    return record


# -- encoding ---------------------------------------------------------------------------


def encode(therapy):
    """The record as one bytes object."""
    return b"".join(encode_parts(therapy))


def encode_parts(therapy):
    """The record as a list of small bytes pieces (two per slot and a head):
    what Store.save writes one after the other, so a save never needs a
    block of the heap larger than half a program's record (a few hundred
    bytes), whatever the record's size. Keys sorted: "slots" comes last, and
    a slot's fields in _SLOT_KEYS order."""
    adaptive = therapy.adaptive
    memory = {}
    for posture in adaptive.memory:
        memory[posture] = list(adaptive.memory[posture])
    head = _text(
        {
            "active": therapy.active.number,
            "adaptive": {"enabled": adaptive.enabled, "max": adaptive.max_ua, "memory": memory},
            "group": therapy.group,
            "groups": _groups(therapy.groups),
        }
    )
    parts = [(head[:-1] + ',"slots":[').encode()]
    for slot in therapy.slots:
        sep = "{" if len(parts) == 1 else ",{"
        for keys in _SLOT_PIECES:
            text = []
            for key in keys:
                text.append('%s"%s":%s' % (sep, key, _text(_slot_field(slot, key))))
                sep = ","
            parts.append("".join(text).encode())
        parts[-1] += b"}"
    parts.append(b"]}")
    return parts


def _slot_field(slot, key):
    if key == "clinic":
        return None if slot.clinic == slot.program else slot.clinic.as_dict()
    if key == "name":
        return slot.name
    if key == "patient":
        return slot.patient_keys
    if key == "program":
        return slot.program.as_dict()
    if key == "settings":
        return slot.settings
    return slot.window


def _groups(groups):
    """A group of one program as its number (the bytes a v3 record had), several as a list."""
    out = {}
    for name in groups:
        numbers = groups[name]
        out[name] = numbers[0] if len(numbers) == 1 else list(numbers)
    return out


def _text(value):
    out = []  # type: list
    _dump(value, out)
    return "".join(out)


def _dump(value, out):
    kind = type(value)  # not isinstance: a bool is no int here
    if kind is int:
        out.append("%d" % value)
    elif kind is str:
        out.append(json.dumps(value))
    elif kind is dict:
        sep = "{"
        for key in sorted(value):
            item = value[key]
            if type(item) is int:  # most values: no call
                out.append("%s%s:%d" % (sep, json.dumps(key), item))
            else:
                out.append(sep + json.dumps(key) + ":")
                _dump(item, out)
            sep = ","
        out.append("}" if sep == "," else "{}")
    elif kind is list or kind is tuple:
        sep = "["
        for item in value:
            out.append(sep)
            _dump(item, out)
            sep = ","
        out.append("]" if sep == "," else "[]")
    elif value is None:
        out.append("null")
    elif kind is bool:
        out.append("true" if value else "false")
    else:
        raise StimError(E_INVALID, "cannot store %r" % (value,))


# -- applying ---------------------------------------------------------------------------


def apply(therapy, body, version):
    """Replace the therapy's settings by the record's (its JSON bytes, or
    that JSON already parsed), or raise StimError (E_VERSION, E_INVALID) and
    leave the therapy as it was."""
    if not 1 <= version <= SCHEMA:
        raise StimError(E_VERSION, "settings schema %d; this firmware reads 1..%d" % (version, SCHEMA))
    try:
        record = body if isinstance(body, dict) else json.loads(body)
        scratch = _build(therapy, migrate(record, version))
    except StimError as err:  # the check's own code stays in the message: "RANGE amp=..."
        raise StimError(E_INVALID, err.message if err.code == E_INVALID else str(err)) from None
    except MemoryError:
        raise  # not the record's fault
    except Exception as err:  # malformed: a missing key, a wrong type, not JSON
        raise StimError(E_INVALID, "malformed record (%s %s)" % (type(err).__name__, err)) from None
    for n in range(len(therapy.slots)):
        slot, new = therapy.slots[n], scratch.slots[n]
        slot.name = new.name
        slot.program = new.program
        slot.clinic = new.clinic
        slot.settings = new.settings
        slot.patient_keys = new.patient_keys
        slot.window = new.window
    therapy.groups = scratch.groups
    therapy.active = therapy.slots[scratch.active.number - 1]
    therapy.group = scratch.group
    posture = therapy.adaptive.posture  # what the accelerometer says, not the record
    therapy.adaptive = scratch.adaptive
    therapy.adaptive.posture = posture


def _build(therapy, record):
    """A scratch Therapy holding the record's settings, each checked as the therapy checks a change."""
    _keys(record, _KEYS, "record")
    board = {"limits": therapy.limits, "contacts": {"count": therapy.contact_count}}
    scratch = Therapy(board, therapy.safety_check, therapy.group_check)
    scratch.sys_hz, scratch.dac = therapy.sys_hz, therapy.dac  # a group's schedule as the board runs it
    slots = record["slots"]
    if not isinstance(slots, list) or len(slots) != len(scratch.slots):
        raise StimError(E_INVALID, "need %d programs" % len(scratch.slots))
    for n in range(len(slots)):
        slot = scratch.slots[n]
        try:
            _slot(scratch, slot, slots[n])
        except StimError as err:
            raise StimError(err.code, "program %d: %s" % (slot.number, err.message)) from None
    groups = record["groups"]
    _keys(groups, None, "groups")
    for name in sorted(groups):
        scratch.define_group(_name("group", name), _members(groups[name], "group " + name))
    scratch.select(_int(record["active"], "active"))
    _adaptive(scratch, record["adaptive"])
    group = record["group"]
    if group is not None:
        # Not necessarily the active program's: redefining the selected group keeps it selected.
        if _name("group", group) not in scratch.groups:
            raise StimError(E_INVALID, "selected group %s is not defined" % group)
        scratch.group = group
    return scratch


def _adaptive(scratch, data):
    _keys(data, _ADAPTIVE_KEYS, "adaptive")
    adaptive = scratch.adaptive
    if type(data["enabled"]) is not bool:
        raise StimError(E_INVALID, "adaptive enabled must be true or false")
    adaptive.enabled = data["enabled"]
    limits = data["max"]
    _keys(limits, None, "adaptive max")
    for posture in limits:
        adaptive.set_max(posture, _int(limits[posture], "max " + posture), scratch.limits["amplitude_ua"][1])
    memory = data["memory"]
    _keys(memory, None, "adaptive memory")
    for posture in memory:
        adaptive.check_posture(posture)
        pair = memory[posture]
        if type(pair) is not list or len(pair) != 2:
            raise StimError(E_INVALID, "adaptive memory %s must be [program, amp] or [group, [amp, ...]]" % posture)
        high = scratch.limits["amplitude_ua"][1]  # target() keeps it inside today's window and limit
        if isinstance(pair[0], str):  # a group of several programs: every member's amplitude
            name = _name("group", pair[0])
            numbers = scratch.groups.get(name)
            amps = pair[1]
            if numbers is None or type(amps) is not list or len(amps) != len(numbers):
                raise StimError(E_INVALID, "adaptive memory %s: no group %s of %r programs" % (posture, name, amps))
            for amp in amps:
                if not 0 <= _int(amp, "amp") <= high:
                    raise StimError(E_INVALID, "adaptive memory %s: %duA outside 0..%duA" % (posture, amp, high))
            adaptive.memory[posture] = (name, tuple(amps))
            continue
        number, amp = _int(pair[0], "program"), _int(pair[1], "amp")
        if not 1 <= number <= len(scratch.slots):
            raise StimError(E_INVALID, "adaptive memory %s: no program %d" % (posture, number))
        if not 0 <= amp <= high:
            raise StimError(E_INVALID, "adaptive memory %s: %duA outside 0..%duA" % (posture, amp, high))
        adaptive.memory[posture] = (number, amp)


def _slot(scratch, slot, data):
    _keys(data, _SLOT_KEYS, "program")
    settings = data["settings"]
    _keys(settings, SLOT_DEFAULTS, "settings")
    changes = {}
    for field in settings:
        changes[field] = _int(settings[field], field)
    window = data["window"]
    _keys(window, slot.window, "window")
    for field in window:
        pair = window[field]
        if not isinstance(pair, list) or len(pair) != 2:
            raise StimError(E_INVALID, "window %s must be [low, high]" % field)
        changes[field + "_min"] = _int(pair[0], field + "_min")
        changes[field + "_max"] = _int(pair[1], field + "_max")
    patient = data["patient"]
    if not isinstance(patient, list) or len(set(patient)) != len(patient):
        raise StimError(E_INVALID, "patient keys must be a list without repeats")
    for key in patient:
        if not isinstance(key, str):
            raise StimError(E_INVALID, "patient key %r" % (key,))
    changes["patient_keys"] = tuple(patient)
    changes["name"] = _name("name", data["name"])
    program = _program(data["program"])
    slot.program = program
    slot.clinic = program if data["clinic"] is None else _program(data["clinic"])
    scratch.active = slot
    # as a clinician's change: checks the settings, windows, patient keys, and
    # the program and the clinic setting (board ranges, safety limits)
    scratch.change(changes, CLINICIAN)


def _program(data):
    """A Program of exactly the fields this firmware's Program has."""
    _keys(data, Program().as_dict(), "program fields")
    fields = {}
    for key in data:
        value = data[key]
        fields[key] = tuple(value) if isinstance(value, list) else value
    return Program(**fields)


def _keys(data, names, what):
    """data must be a dict; with `names`, of exactly those keys."""
    if not isinstance(data, dict):
        raise StimError(E_INVALID, "%s must be an object" % what)
    if names is not None:
        for key in data:
            if key not in names:
                raise StimError(E_INVALID, "%s: unknown key %s" % (what, key))
        for key in names:
            if key not in data:
                raise StimError(E_INVALID, "%s: no %s" % (what, key))


def _int(value, what):
    if not isinstance(value, int) or isinstance(value, bool):
        raise StimError(E_INVALID, "%s=%r is not an integer" % (what, value))
    return value


def _members(value, what):
    if isinstance(value, list):
        if not value:
            raise StimError(E_INVALID, "%s names no program" % what)
        return tuple(_int(n, what) for n in value)
    return _int(value, what)


def _name(key, value):
    if not isinstance(value, str):
        raise StimError(E_INVALID, "%s %r is not a name" % (key, value))
    return protocol.parse_name(key, value)


# -- one call each for the service ------------------------------------------------------


def restore(therapy, store):
    """Load and apply the newest valid record; never raises. None, or the
    fault code (the therapy then holds the last good record's settings, or
    keeps its defaults). The record is parsed as it is read from the flash
    (no block of its size needed on a fragmented heap); out of memory twice
    is E_MEMORY, never a corrupt or invalid record."""
    for _attempt in (0, 1):
        try:
            record, version, fault = store.load(_parse)
            if record is None:
                return fault
            apply(therapy, record, version)
            return fault
        except StimError as err:
            return err.code
        except MemoryError:
            gc.collect()  # once more on a collected heap, then give up without calling it invalid
        except Exception:  # the filesystem itself failing
            return store_module.E_CORRUPT
    return E_MEMORY


def _parse(stream):
    """The record's JSON, parsed from the open file as it is read."""
    try:
        return json.load(stream)
    except ValueError as err:  # an intact file (its crc is right) that is no JSON
        raise StimError(E_INVALID, "malformed record (%s %s)" % (type(err).__name__, err)) from None


def save(therapy, store):
    """Store the therapy's settings as the next generation: None, or E_WRITE / E_INVALID."""
    try:
        store.save(encode_parts(therapy), SCHEMA)
    except StimError as err:
        return err.code
    except Exception:  # OSError from the filesystem (full, failing), a record too large
        return E_WRITE
    return None
