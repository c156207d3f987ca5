"""What the handheld screens show, worked out from the board's answers (pure: no UI, no I/O)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from picostim.programmer import ProgrammerError, Status

POSTURES = ("upright", "supine", "prone", "left", "right", "moving")
PATIENT_KEYS = ("amp", "pw", "rate", "cathodes", "anodes")  # what `patient=` may list
CONTACT_ROLES = ("off", "cathode", "anode")  # the order a contact cycles through in the editor

FAULT_TEXT = {
    "LOOP": "service loop error: stimulation stopped",
    "HOST_LOST": "no programmer for too long: stimulation stopped",
    "WATCHDOG": "the board was reset by its watchdog",
    "SETTINGS_CORRUPT": "stored settings damaged: the last good ones (or the defaults) in use",
    "SETTINGS_INVALID": "stored settings refused: the defaults in use",
    "SETTINGS_VERSION": "settings from a newer firmware: the defaults in use, nothing stored",
    "SETTINGS_MEMORY": "no heap to check the stored settings: the defaults in use",
    "SETTINGS_WRITE": "a change could not be stored",
    "SAVE": "a change could not be stored",
    "LOG_OPEN": "the event log could not be opened",
    "LOG_WRITE": "the event log could not be written: stimulation stops",
    "LOG_READ": "the event log could not be read",
    "MEMORY": "out of heap writing the log: stimulation stops",
    "ACCEL": "accelerometer failed: no posture",
}


@dataclass(frozen=True)
class Snapshot:
    """Everything the screens show, read in one pass over the serial port."""

    status: Status
    limits: dict[str, str] = field(default_factory=dict)  # LIMITS
    programs: dict[str, str] = field(default_factory=dict)  # PROGRAMS
    groups: dict[str, str] = field(default_factory=dict)  # GROUPS
    adaptive: dict[str, str] = field(default_factory=dict)  # ADAPTIVE


def format_ua(ua: int) -> str:
    """2500 -> "2.5 mA"; 50 -> "50 uA"."""
    if ua < 1000:
        return f"{ua} uA"
    return f"{ua / 1000:.3f}".rstrip("0").rstrip(".") + " mA"


def _ua(text: str | None) -> int | None:
    if not text or not text.endswith("uA"):
        return None
    try:
        return int(text[:-2])
    except ValueError:
        return None


def amp_window(snap: Snapshot) -> tuple[int, int]:
    """The patient's amplitude window in uA: the program's amp_min..amp_max, capped by the
    clinician's AdaptiveStim limit for the current posture."""
    low = _ua(snap.limits.get("amp_min")) or 0
    high = _ua(snap.limits.get("amp_max"))
    high = 25500 if high is None else high
    cap = _ua(snap.adaptive.get("max_" + snap.status.posture))
    return low, high if cap is None else min(high, cap)


def ramp_percent(status: Status) -> int | None:
    """How far a soft start or soft stop has come (0..100), or None outside a ramp."""
    if status.phase not in ("ramp_up", "ramp_down") or status.amp_ua <= 0:
        return None
    done = status.out_amp_ua if status.phase == "ramp_up" else status.amp_ua - status.out_amp_ua
    return max(0, min(100, done * 100 // status.amp_ua))


def bar(fraction: float, width: int) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * filled + "░" * (width - filled)


def program_list(snap: Snapshot) -> list[tuple[int, str, bool]]:
    """[(number, name, active)] for the stored programs."""
    active = snap.status.program
    return sorted((int(k), v, int(k) == active) for k, v in snap.programs.items() if k.isdigit())


def group_list(snap: Snapshot) -> list[tuple[str, tuple[int, ...], bool]]:
    """[(name, programs, selected)] for the groups, by name (several programs run interleaved)."""
    out = []
    for name, programs in sorted(snap.groups.items()):
        numbers = programs.split(",")
        if name != "active" and all(n.isdigit() for n in numbers):
            out.append((name, tuple(int(n) for n in numbers), name == snap.status.group))
    return out


def next_group(snap: Snapshot) -> str | None:
    """The group after the selected one (the first when none is), or None without groups."""
    names = [name for name, _, _ in group_list(snap)]
    if not names:
        return None
    if snap.status.group in names:
        return names[(names.index(snap.status.group) + 1) % len(names)]
    return names[0]


def posture_memory(snap: Snapshot) -> list[tuple[str, str, str]]:
    """[(posture, remembered "program n · amp" or "-", clinician limit or "")] for the six postures."""
    out = []
    for posture in POSTURES:
        memory = snap.adaptive.get(posture, "-")
        if ":" in memory:
            program, amp = memory.split(":", 1)
            ua = _ua(amp)
            memory = f"P{program} {format_ua(ua) if ua is not None else amp}"
        cap = _ua(snap.adaptive.get("max_" + posture))
        out.append((posture, memory, "" if cap is None else f"max {format_ua(cap)}"))
    return out


LEAD_REFUSAL = re.compile(r"contact (\d+) is (open|shorted)")


def lead_fault_from_refusal(message: str) -> tuple[int, str] | None:
    """ERR LEAD's message ("contact 3 is open (impedance check)") as (3, "open")."""
    found = LEAD_REFUSAL.search(message)
    if not found:
        return None
    return int(found.group(1)), "short" if found.group(2) == "shorted" else "open"


# -- the clinician's program editor ------------------------------------------------------

# (key, label); each is sent as `key=<text>` exactly as typed, the board checks it.
EDITOR_FIELDS = (
    ("name", "name"),
    ("amp", "amplitude"),
    ("step", "step"),
    ("pw", "pulse width"),
    ("ipg", "interphase gap"),
    ("rate", "rate"),
    ("asym", "asymmetry"),
    ("burst", "burst pulses"),
    ("burst_rate", "burst rate"),
    ("ramp", "ramp"),
    ("cycle_on", "cycle on"),
    ("cycle_off", "cycle off"),
    ("amp_min", "patient amp min"),
    ("amp_max", "patient amp max"),
    ("pw_min", "patient pw min"),
    ("pw_max", "patient pw max"),
    ("rate_min", "patient rate min"),
    ("rate_max", "patient rate max"),
)
_VALUE = re.compile(r"^[A-Za-z0-9._-]{1,16}$")


@dataclass(frozen=True)
class ProgramForm:
    """The editable setting of the active program, as text the board accepts back."""

    values: dict[str, str]  # EDITOR_FIELDS key -> text
    contacts: tuple[str, ...]  # per contact: off, cathode or anode
    patient: frozenset[str]  # keys the patient may change


def form_from(snap: Snapshot, contact_count: int) -> ProgramForm:
    raw = dict(snap.status.raw)
    raw.update(snap.limits)
    values = {key: raw.get(key, "") for key, _ in EDITOR_FIELDS}
    roles = ["off"] * contact_count
    for k in snap.status.cathodes:
        roles[k] = "cathode"
    for k in snap.status.anodes:
        roles[k] = "anode"
    patient = snap.limits.get("patient", "")
    keys = frozenset() if patient in ("", "none") else frozenset(patient.split(","))
    return ProgramForm(values, tuple(roles), keys)


def next_role(role: str) -> str:
    return CONTACT_ROLES[(CONTACT_ROLES.index(role) + 1) % len(CONTACT_ROLES)]


def set_arguments(loaded: ProgramForm, edited: ProgramForm) -> list[str]:
    """The `key=value` words of one SET that turns `loaded` into `edited` (only what changed).
    Text the protocol cannot carry is refused here (VALUE, CONTACTS), before anything is sent."""
    words = []
    for key, label in EDITOR_FIELDS:
        text = edited.values.get(key, "").strip()
        if text == loaded.values.get(key, "").strip():
            continue
        if not _VALUE.match(text):
            raise ProgrammerError("VALUE", f"{label}: {text!r} is not a value (e.g. 210us, 60Hz, 2.5mA, 3)")
        words.append(f"{key}={text}")
    if edited.contacts != loaded.contacts:
        cathodes = [str(k) for k, role in enumerate(edited.contacts) if role == "cathode"]
        anodes = [str(k) for k, role in enumerate(edited.contacts) if role == "anode"]
        if not cathodes or not anodes:
            raise ProgrammerError("CONTACTS", "the lead needs at least one cathode and one anode")
        words += ["cathodes=" + ",".join(cathodes), "anodes=" + ",".join(anodes)]
    if edited.patient != loaded.patient:
        words.append("patient=" + (",".join(k for k in PATIENT_KEYS if k in edited.patient) or "none"))
    return words
