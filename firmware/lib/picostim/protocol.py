"""Protocol v1 text layer: split a command line, parse values with units,
format answers (pure; MicroPython and CPython). See docs/PROTOCOL.md.

    name, args = split("SET amp=2.5mA pw=210us")   # "SET", ["amp=2.5mA", "pw=210us"]
    parse_settings(args)    # {"amp_ua": 2500, "pw_us": 210}
    ok("state=on")          # "OK state=on"
    ok(("count=2", " | 1,...", " | 2,..."))  # ("OK ", "count=2", ...): one line, in parts

Values are exact integers (no floats: the RP2040 port has single precision).
"""

from .stim_program import TRIGGER_MODES, StimError

PROTOCOL_VERSION = 2

E_UNKNOWN = "UNKNOWN"  # unknown command
E_SYNTAX = "SYNTAX"  # arguments not in the command's form
E_KEY = "KEY"  # unknown setting name
E_UNIT = "UNIT"  # missing or wrong unit
E_VALUE = "VALUE"  # not a number of the right kind
E_EMPTY = "EMPTY"  # nothing but blanks (also line_reader.E_EMPTY)

# unit (lower case) -> multiplier to the base unit; the first entry is the base
_CURRENT = (("ua", 1), ("ma", 1000))
_TIME = (("us", 1), ("ms", 1000))
TIME_UNITS = _TIME
CURRENT_UNITS = _CURRENT
_RATE = (("hz", 1), ("khz", 1000))
_DURATION = (("ms", 1), ("s", 1000), ("min", 60000))
_MAX_DIGITS = 9

# protocol key -> (Program field or local setting, unit table or None, base unit name)
SETTINGS = {
    "amp": ("amp_ua", _CURRENT, "uA"),
    "pw": ("pw_us", _TIME, "us"),
    "ipg": ("ipg_us", _TIME, "us"),
    "rate": ("rate_hz", _RATE, "Hz"),
    "asym": ("asym", None, ""),
    "cathodes": ("cathodes", None, ""),
    "anodes": ("anodes", None, ""),
    "burst": ("burst_count", None, ""),
    "burst_rate": ("burst_rate_hz", _RATE, "Hz"),
    "trigger": ("trigger", None, ""),
    "trigger_pulses": ("trigger_pulses", None, ""),
    "step": ("step_ua", _CURRENT, "uA"),
    "ramp": ("ramp_ms", _DURATION, "ms"),
    "cycle_on": ("cycle_on_ms", _DURATION, "ms"),
    "cycle_off": ("cycle_off_ms", _DURATION, "ms"),
    "train": ("train_ms", _DURATION, "ms"),
    "amp_min": ("amp_ua_min", _CURRENT, "uA"),
    "amp_max": ("amp_ua_max", _CURRENT, "uA"),
    "pw_min": ("pw_us_min", _TIME, "us"),
    "pw_max": ("pw_us_max", _TIME, "us"),
    "rate_min": ("rate_hz_min", _RATE, "Hz"),
    "rate_max": ("rate_hz_max", _RATE, "Hz"),
    "patient": ("patient_keys", None, ""),
    "name": ("name", None, ""),
}
# Order of the setting fields in STATUS and LIMITS answers.
STATUS_KEYS = (
    "amp",
    "pw",
    "ipg",
    "rate",
    "asym",
    "cathodes",
    "anodes",
    "burst",
    "burst_rate",
    "trigger",
    "trigger_pulses",
    "step",
    "ramp",
    "cycle_on",
    "cycle_off",
    "train",
)
LIMIT_KEYS = ("amp_min", "amp_max", "pw_min", "pw_max", "rate_min", "rate_max", "patient")
_NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"


def split(line):
    """('NAME', [arg, ...]) with the command name upper-cased."""
    parts = line.split()
    return parts[0].upper(), parts[1:]


def ok(text=""):
    """'OK <text>'; a long answer comes as a tuple of parts and stays one:
    ("OK ", part, ...), written part by part and never joined (a heap that
    long use has fragmented may have no block of the whole answer's size)."""
    if isinstance(text, tuple):
        return ("OK ",) + text
    return "OK " + text if text else "OK"


def err(code, message):
    return "ERR " + code + " " + message


def evt(text):
    return "EVT " + text


def parse_settings(args):
    """{field: value} from ["key=value", ...]; raises StimError, changes nothing."""
    if not args:
        raise StimError(E_SYNTAX, "SET needs key=value pairs, e.g. SET amp=2.5mA")
    out = {}
    for arg in args:
        key, sep, text = arg.partition("=")
        if not sep or not key or not text:
            raise StimError(E_SYNTAX, "expected key=value, got %r" % arg)
        key = key.lower()
        if key not in SETTINGS:
            raise StimError(
                E_KEY, "unknown setting %r (known: %s)" % (key, " ".join(STATUS_KEYS + LIMIT_KEYS + ("name",)))
            )
        field, units, _ = SETTINGS[key]
        if field in out:
            raise StimError(E_SYNTAX, "%s given twice" % key)
        if key in ("cathodes", "anodes"):
            out[field] = parse_contacts(key, text)
        elif key == "patient":
            out[field] = parse_names(key, text)
        elif key == "name":
            out[field] = parse_name(key, text)
        elif key == "trigger":
            out[field] = parse_choice(key, text, TRIGGER_MODES)
        elif units is None:
            out[field] = parse_decimal(key, text, 0)
        else:
            out[field] = parse_quantity(key, text, units)
    return out


def parse_contacts(key, text):
    """'2' or '1,2,5' -> (1, 2, 5); range checks belong to the program."""
    contacts = []
    for part in text.split(","):
        if not part or not _all_digits(part) or len(part) > 3:
            raise StimError(E_VALUE, "%s: %r is not a list of contact numbers like 1,2" % (key, text))
        contacts.append(int(part))
    return tuple(contacts)


def parse_names(key, text):
    """'amp,pw' -> ('amp', 'pw'); 'none' -> ()."""
    if text.lower() == "none":
        return ()
    names = []
    for part in text.lower().split(","):
        if not part or part in names:
            raise StimError(E_VALUE, "%s: %r is not a list of setting names like amp,pw" % (key, text))
        names.append(part)
    return tuple(names)


def parse_choice(key, text, choices):
    """'Edge' -> 'edge' when it is one of `choices`."""
    value = text.lower()
    if value not in choices:
        raise StimError(E_VALUE, "%s: %r is not one of %s" % (key, text, "/".join(choices)))
    return value


def parse_name(key, text):
    if len(text) > 12 or not text or not all_in(text, _NAME_CHARS):
        raise StimError(E_VALUE, "%s: up to 12 letters, digits, _ or -" % key)
    return text


def is_number(text, digits):
    """A plain decimal number of 1..digits digits (a program, contact or sequence number)."""
    return 0 < len(text) <= digits and _all_digits(text)


def all_in(text, chars):
    for ch in text:
        if ch not in chars:
            return False
    return True


def parse_quantity(key, text, units):
    """'2.5mA' -> 2500 (in the table's base unit); exact or an error."""
    i = len(text)
    while i > 0 and text[i - 1].isalpha():
        i -= 1
    number, unit = text[:i], text[i:].lower()
    if not unit:
        raise StimError(E_UNIT, "%s=%s needs a unit: %s" % (key, text, _unit_names(units)))
    for name, scale in units:
        if unit == name:
            return parse_decimal(key, number, scale, _unit_names(units[:1]))
    raise StimError(E_UNIT, "%s: unit %r is not one of %s" % (key, text[i:], _unit_names(units)))


def parse_decimal(key, number, scale, base=""):
    """'2.5' at scale 1000 -> 2500 (in `base`, the table's base unit); scale 0
    means a bare integer."""
    whole, dot, frac = number.partition(".")
    if not whole or not _all_digits(whole) or (dot and (scale == 0 or not frac or not _all_digits(frac))):
        raise StimError(E_VALUE, "%s: %r is not a plain %s" % (key, number, "number" if scale else "integer"))
    if len(whole) + len(frac) > _MAX_DIGITS:
        raise StimError(E_VALUE, "%s: %r has too many digits" % (key, number))
    if scale == 0:
        return int(whole)
    value = int(whole + frac) * scale
    divisor = 10 ** len(frac)
    if value % divisor:
        raise StimError(E_VALUE, "%s: %r is finer than the resolution of 1 %s" % (key, number, base))
    return value // divisor


def format_settings(values, keys=STATUS_KEYS):
    """'amp=2500uA pw=210us ...' from {field: value}, in STATUS order."""
    parts = []
    for key in keys:
        field, _, unit = SETTINGS[key]
        if field in values:
            value = values[field]
            if key == "patient":
                value = ",".join(value) if value else "none"
            elif isinstance(value, tuple):
                value = ",".join([str(c) for c in value])
            parts.append("%s=%s%s" % (key, value, unit))  # one string per key: this runs for every STATUS
    return " ".join(parts)


def _unit_names(units):
    names = {"ua": "uA", "ma": "mA", "us": "us", "ms": "ms", "hz": "Hz", "khz": "kHz", "s": "s", "min": "min"}
    return "/".join([names[name] for name, _ in units])


def _all_digits(text):
    for ch in text:
        if not "0" <= ch <= "9":
            return False
    return True
