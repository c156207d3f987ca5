"""Therapy model: stored programs, named groups, the clinician's limits for
the patient, and clinic settings to restore (pure; MicroPython and CPython).

    therapy = Therapy(board)
    therapy.change({"amp_ua": 2500}, CLINICIAN)   # checked as a whole, or StimError
    therapy.change({"amp_ua": 2600}, PATIENT)     # only within the patient's window
    therapy.select(2); therapy.define_group("walking", 2); therapy.select_group("walking")
    therapy.define_group("mix", (1, 2, 3)); therapy.select_group("mix")  # interleaved
    therapy.members()                             # the slots that run: 1, 2 and 3
    therapy.focus(2); therapy.change({"amp_ua": 1800}, PATIENT)  # one member of the group
    therapy.step_group(1, PATIENT)                # every member, ratios kept (GroupAdjust)
    therapy.restore()                             # back to what the clinician set

A slot holds a full stimulation Program plus its therapy settings (ramp,
cycling, train duration, amplitude step) and the patient's permissions: the
keys the patient may change and a min/max window for amp, pw and rate.
Every change is validated against the board's ranges and absolute safety
limits (safety.py) before anything is stored.

A group names 1 to 4 programs. A group of several runs them together,
interleaved (group_schedule): each keeps its own settings and limits, the
group must fit its schedule and keep the combined limits (group_check), and
any change to a member is checked with the rest of the group. The active slot
is then the member that SET, AMP and LIMITS address (focus); ramps, cycling
and train duration are the first member's.
"""

from .adaptive import Adaptive
from .stim_program import E_RANGE, E_VALUE, Program, StimError, timing

MAX_MEMBERS = 4  # programs in a group (group_schedule.MAX_PROGRAMS; imported only for groups of several)

PATIENT = "patient"
CLINICIAN = "clinician"
E_LOCKED = "LOCKED"  # the clinician has not given this setting to the patient
E_PATIENT_RANGE = "PATIENT_RANGE"  # outside the clinician's window for the patient
E_ROLE = "ROLE"  # needs the clinician role
E_NOT_FOUND = "NOT_FOUND"  # no such program or group

SLOTS = 8
MAX_GROUPS = 8
# Program fields and the protocol names the patient permissions use
PROGRAM_FIELDS = (
    "amp_ua",
    "pw_us",
    "ipg_us",
    "rate_hz",
    "asym",
    "cathodes",
    "anodes",
    "burst_count",
    "burst_rate_hz",
    "trigger",
    "trigger_pulses",
)
PATIENT_KEYS = {"amp": "amp_ua", "pw": "pw_us", "rate": "rate_hz", "cathodes": "cathodes", "anodes": "anodes"}
WINDOWS = {"amp_ua": "amp", "pw_us": "pw", "rate_hz": "rate"}  # field -> protocol name
_UNITS = {"amp_ua": "uA", "pw_us": "us", "rate_hz": "Hz"}
# Slot settings besides the program, with defaults. Times in ms.
SLOT_DEFAULTS = {
    "step_ua": 100,
    "ramp_ms": 2000,  # soft start / soft stop, on by default
    "cycle_on_ms": 0,  # 0: no cycling
    "cycle_off_ms": 0,
    "train_ms": 0,  # 0: until OFF
}
SLOT_LIMITS = {"ramp_ms": 60000, "cycle_on_ms": 3600000, "cycle_off_ms": 3600000, "train_ms": 86400000}
DEFAULT_PROGRAM = {"amp_ua": 0, "pw_us": 210, "ipg_us": 20, "rate_hz": 60, "cathodes": (0,), "anodes": (1,), "asym": 1}


class Slot:
    def __init__(self, number, limits):
        self.number = number
        self.name = "P%d" % number
        self.program = Program(**DEFAULT_PROGRAM)
        self.clinic = self.program  # what RESTORE returns to
        self.settings = dict(SLOT_DEFAULTS)
        self.patient_keys = ("amp",)
        self.window = {}  # field -> (low, high) for the patient
        for field, key in (("amp_ua", "amplitude_ua"), ("pw_us", "pulse_width_us"), ("rate_hz", "rate_hz")):
            self.window[field] = (limits[key][0], limits[key][1])


class Therapy:
    def __init__(self, board, safety_check=None, group_check=None):
        self.limits = board["limits"]
        self.contact_count = board["contacts"]["count"]
        self.safety_check = safety_check  # callable(program) -> report, raises StimError
        self.group_check = group_check  # callable(programs): the combined limits, raises StimError
        self.sys_hz = board.get("sys_clock_hz", 125000000)
        self.dac = board.get("dac")  # a group's slots leave the DAC time to latch (group_schedule)
        self.slots = [Slot(n + 1, self.limits) for n in range(SLOTS)]
        self.active = self.slots[0]
        self.groups = {}  # name -> tuple of program numbers
        self.group = None
        self.adaptive = Adaptive()  # AdaptiveStim: per-posture settings and limits

    # -- reading --------------------------------------------------------------------
    def program(self):
        return self.active.program

    def setting(self, field):
        return self.active.settings[field]

    def numbers(self):
        """The selected group's program numbers when it has several, else None."""
        numbers = self.groups.get(self.group) if self.group is not None else None
        return numbers if numbers is not None and len(numbers) > 1 else None

    def members(self):
        """The slots that run: the selected group's when it has several programs, else the active one."""
        numbers = self.numbers()
        if numbers is None:
            return [self.active]
        return [self.slots[n - 1] for n in numbers]

    def lead_settings(self):
        """Ramp, cycling and train duration of what runs: the first member's."""
        return self.members()[0].settings

    # -- changes ----------------------------------------------------------------------
    def check(self, program):
        """Board ranges, then the absolute safety limits; returns the safety report."""
        program.validate(self.limits, self.contact_count)
        return self.safety_check(program) if self.safety_check else None

    def change(self, changes, role):
        """Apply {field: value} to the active slot, all or nothing.

        Fields: Program fields, slot settings (step_ua, ramp_ms, ...), the
        patient's windows (amp_ua_min, ..., rate_hz_max), patient_keys, name.
        In a group of several programs the group must still run (check_group)."""
        slot = self.active
        change = self._prepare(slot, changes, role)
        numbers = self.numbers()
        if numbers is not None:
            self.check_group(numbers, {slot.number: change[0]})
        return self._commit(slot, change)

    def _prepare(self, slot, changes, role):
        """The slot's state after `changes`, checked; nothing stored yet."""
        program_changes = {}
        settings = dict(slot.settings)
        window = dict(slot.window)
        patient_keys = slot.patient_keys
        name = slot.name
        for field in changes:
            value = changes[field]
            if field in PROGRAM_FIELDS:
                program_changes[field] = value
                continue
            if role != CLINICIAN:
                raise StimError(E_LOCKED, "%s is a clinician setting" % _label(field))
            if field in settings:
                settings[field] = self._slot_value(field, value)
            elif field.endswith("_min") or field.endswith("_max"):
                base = field[:-4]
                if base not in window:
                    raise StimError(E_VALUE, "no patient window for " + field)
                low, high = window[base]
                window[base] = (value, high) if field.endswith("_min") else (low, value)
            elif field == "patient_keys":
                for key in value:
                    if key not in PATIENT_KEYS:
                        raise StimError(E_VALUE, "patient may change only %s" % ",".join(sorted(PATIENT_KEYS)))
                patient_keys = tuple(value)
            elif field == "name":
                name = value
            else:
                raise StimError(E_VALUE, "unknown setting " + field)
        step = settings["step_ua"]
        if not 1 <= step <= self.limits["amplitude_ua"][1]:
            raise StimError(E_RANGE, "step=%duA outside 1..%duA" % (step, self.limits["amplitude_ua"][1]))
        self._check_windows(window)
        program = slot.program.copy(**program_changes)
        if role != CLINICIAN:
            self._check_patient(program_changes, program, slot)
        report = self.check(program)
        clinic = slot.clinic
        if role == CLINICIAN:
            # The clinic setting takes what the clinician changed, nothing the patient did.
            clinic = slot.clinic.copy(**program_changes)
            self.check(clinic)
        return program, settings, window, patient_keys, name, clinic, report

    def _commit(self, slot, change):
        slot.program, slot.settings, slot.window, slot.patient_keys, slot.name, slot.clinic, report = change
        return report

    def members_of(self, name):
        """A group's program numbers, or None (AdaptiveStim's memory names groups)."""
        return self.groups.get(name)

    def amp_window(self, number):
        """The patient's amplitude window (low, high) of program `number`."""
        return self.slots[number - 1].window["amp_ua"]

    def step_amplitude(self, direction, role):
        amp = self.active.program.amp_ua + direction * self.active.settings["step_ua"]
        low, high = self.limits["amplitude_ua"]
        if not low <= amp <= high:
            raise StimError(E_RANGE, "amp=%duA outside %d..%duA" % (amp, low, high))
        return self.change({"amp_ua": amp}, role)

    def step_group(self, direction, role):
        """GroupAdjust: every member of the group one step up or down together,
        their ratios kept (each scaled as the active member moves by its step;
        from 0, each by its own step), each within its own window; all or none."""
        numbers = self.numbers()
        if numbers is None:
            return self.step_amplitude(direction, role)
        base = self.active.program.amp_ua
        to = base + direction * self.active.settings["step_ua"]
        amps = []
        for n in numbers:
            slot = self.slots[n - 1]
            amp = slot.program.amp_ua
            amps.append((amp * to + base // 2) // base if base else amp + direction * slot.settings["step_ua"])
        return self.set_amps(amps, role)

    def set_amps(self, amps, role):
        """Every member of the running group to its amplitude in `amps`, each
        checked as its own SET amp= by `role`; all or none."""
        numbers = self.numbers()
        if numbers is None or len(amps) != len(numbers):
            raise StimError(E_VALUE, "no group of %d programs is selected" % len(amps))
        changes = {}
        low, high = self.limits["amplitude_ua"]
        for i in range(len(numbers)):
            n, amp = numbers[i], amps[i]
            if not low <= amp <= high:
                raise StimError(E_RANGE, "program %d: amp=%duA outside %d..%duA" % (n, amp, low, high))
            try:
                changes[n] = self._prepare(self.slots[n - 1], {"amp_ua": amp}, role)
            except StimError as e:
                raise StimError(e.code, "program %d: %s" % (n, e.message)) from None
        self.check_group(numbers, dict((n, changes[n][0]) for n in changes))
        for n in numbers:
            self._commit(self.slots[n - 1], changes[n])
        return changes[self.active.number][6] if self.active.number in changes else None

    def restore(self):
        """The active program (every member of a running group) back to the clinician's setting."""
        numbers = self.numbers()
        if numbers is not None:
            for n in numbers:
                self.check(self.slots[n - 1].clinic)
            self.check_group(numbers, dict((n, self.slots[n - 1].clinic) for n in numbers))
            for n in numbers:
                self.slots[n - 1].program = self.slots[n - 1].clinic
        report = self.check(self.active.clinic)
        self.active.program = self.active.clinic
        return report

    def select(self, number):
        if not 1 <= number <= SLOTS:
            raise StimError(E_NOT_FOUND, "program %d: programs are 1..%d" % (number, SLOTS))
        slot = self.slots[number - 1]
        report = self.check(slot.program)
        self.active = slot
        self.group = None
        return report

    def define_group(self, name, numbers):
        """A group of 1..4 programs (a number or a tuple of them), all or nothing:
        several must interleave and keep the combined limits (check_group)."""
        if isinstance(numbers, int):
            numbers = (numbers,)
        numbers = tuple(numbers)
        if not 1 <= len(numbers) <= MAX_MEMBERS:
            raise StimError(E_RANGE, "a group has 1..%d programs" % MAX_MEMBERS)
        for number in numbers:
            if not 1 <= number <= SLOTS:
                raise StimError(E_NOT_FOUND, "program %d: programs are 1..%d" % (number, SLOTS))
        if len(set(numbers)) != len(numbers):
            raise StimError(E_VALUE, "a program is listed twice in the group")
        if name not in self.groups and len(self.groups) >= MAX_GROUPS:
            raise StimError(E_RANGE, "at most %d groups" % MAX_GROUPS)
        self.check_group(numbers)
        self.groups[name] = numbers
        if self.group == name and self.active.number not in numbers:
            self.group = None  # the active program is no longer that group's

    def select_group(self, name):
        if name not in self.groups:
            raise StimError(E_NOT_FOUND, "no group %r (groups: %s)" % (name, ",".join(sorted(self.groups)) or "none"))
        numbers = self.groups[name]
        self.check_group(numbers)
        for n in numbers[1:]:
            self.check(self.slots[n - 1].program)
        report = self.select(numbers[0])
        self.group = name
        return report

    def focus(self, number):
        """The member of the running group that SET, AMP and LIMITS address
        (the group keeps running); False when `number` is not a member."""
        numbers = self.numbers()
        if numbers is None or number not in numbers:
            return False
        self.active = self.slots[number - 1]
        return True

    def check_group(self, numbers, replace=None):
        """Several programs must interleave (group_schedule: FIT, RANGE, VALUE)
        and keep the combined limits; `replace`: {number: program} to check
        instead of what is stored."""
        if len(numbers) < 2:
            return
        from . import group_schedule  # only for groups of several: a heap that never sees one keeps its bytes

        programs = []
        for n in numbers:
            programs.append(replace[n] if replace and n in replace else self.slots[n - 1].program)
        board = {"limits": self.limits, "dac": self.dac}
        guard = group_schedule.guard_cycles(board, self.sys_hz)
        group_schedule.build([timing(p, self.sys_hz) for p in programs], guard, self.sys_hz)
        if self.group_check is not None:
            self.group_check(programs)

    # -- checks -------------------------------------------------------------------------
    def _slot_value(self, field, value):
        high = SLOT_LIMITS.get(field)
        if high is not None and not 0 <= value <= high:
            raise StimError(E_RANGE, "%s=%dms outside 0..%dms" % (_label(field), value, high))
        return value

    def _check_windows(self, window):
        for field in window:
            low, high = window[field]
            key = {"amp_ua": "amplitude_ua", "pw_us": "pulse_width_us", "rate_hz": "rate_hz"}[field]
            board_low, board_high = self.limits[key]
            if not board_low <= low <= high <= board_high:
                raise StimError(
                    E_RANGE, "%s window %d..%d must lie in %d..%d" % (WINDOWS[field], low, high, board_low, board_high)
                )

    def _check_patient(self, changes, program, slot):
        for field in changes:
            if getattr(program, field) == getattr(slot.program, field):
                continue  # restating a value is no change
            key = _label(field)
            if key not in slot.patient_keys:
                raise StimError(E_LOCKED, "%s is locked by the clinician" % key)
            if field in slot.window:
                low, high = slot.window[field]
                value = getattr(program, field)
                unit = _UNITS[field]
                where = ""
                lowering = value < slot.program.amp_ua  # toward a posture limit: always allowed
                if field == "amp_ua" and not lowering and self.adaptive.limit(self.adaptive.posture, high) < high:
                    high = self.adaptive.limit(self.adaptive.posture, high)
                    where = " for %s" % self.adaptive.posture
                if not low <= value <= high:
                    raise StimError(
                        E_PATIENT_RANGE,
                        "%s=%d%s outside the clinician's window %d..%d%s%s"
                        % (key, value, unit, low, high, unit, where),
                    )


def _label(field):
    """Protocol name of a field: amp_ua -> amp, ramp_ms -> ramp, amp_ua_min -> amp_min."""
    if field == "patient_keys":
        return "patient"
    if field == "burst_count":
        return "burst"
    if field.endswith("_min") or field.endswith("_max"):
        return _label(field[:-4]) + field[-4:]
    for suffix in ("_ua", "_us", "_hz", "_ms"):
        if field.endswith(suffix):
            return field[: -len(suffix)]
    return field
