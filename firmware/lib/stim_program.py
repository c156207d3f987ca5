"""Stimulation program: validation and exact PIO timing, in integer units.

Pure logic (no hardware imports); runs under MicroPython and CPython.

    from stim_program import Program, timing
    p = Program(amp_ua=2500, pw_us=210, ipg_us=20, rate_hz=60,
                cathodes=(2,), anodes=(3,))
    p.validate(limits, contact_count)      # raises StimError(code, message)
    t = timing(p, sys_hz)                  # cycle counts, exact

Charge balance is structural: the anodic (recovery) phase lasts
`asym` times the cathodic phase at 1/`asym` of its amplitude, so the
charge of the two phases is equal by construction.
"""

# Stable error codes (also used by the serial protocol).
E_RANGE = "RANGE"  # a value outside its allowed range
E_FIT = "FIT"  # the pulse does not fit in the period
E_CONTACTS = "CONTACTS"  # bad contact selection
E_VALUE = "VALUE"  # not a value of the right kind


class StimError(Exception):
    """An error with a stable code, e.g. StimError("RANGE", "pw_us=5 ...")."""

    def __init__(self, code, message):
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self):
        return self.code + " " + self.message


class Program:
    """One stimulation setting. Contacts are 0-based contact indexes."""

    def __init__(self, amp_ua=0, pw_us=210, ipg_us=20, rate_hz=60, cathodes=(0,), anodes=(1,), asym=1):
        self.amp_ua = amp_ua
        self.pw_us = pw_us
        self.ipg_us = ipg_us
        self.rate_hz = rate_hz
        self.cathodes = tuple(cathodes)
        self.anodes = tuple(anodes)
        self.asym = asym

    def copy(self, **changes):
        fields = self.as_dict()
        for key in changes:
            if key not in fields:
                raise StimError(E_VALUE, "unknown setting " + key)
            fields[key] = changes[key]
        return Program(**fields)

    def as_dict(self):
        return {
            "amp_ua": self.amp_ua,
            "pw_us": self.pw_us,
            "ipg_us": self.ipg_us,
            "rate_hz": self.rate_hz,
            "cathodes": self.cathodes,
            "anodes": self.anodes,
            "asym": self.asym,
        }

    def __eq__(self, other):
        return isinstance(other, Program) and self.as_dict() == other.as_dict()

    def __repr__(self):
        return "Program(%r)" % (self.as_dict(),)

    def anodic_amp_ua(self):
        """Recovery amplitude in nA (exact: amp_ua * 1000 / asym, rounded)."""
        return (self.amp_ua * 1000 + self.asym // 2) // self.asym

    def validate(self, limits, contact_count):
        """Raise StimError unless every field is in range and the pulse fits."""
        # (field, limits key, protocol name, unit): messages speak the protocol's terms
        for name, key, label, unit in (
            ("amp_ua", "amplitude_ua", "amp", "uA"),
            ("pw_us", "pulse_width_us", "pw", "us"),
            ("ipg_us", "interphase_us", "ipg", "us"),
            ("rate_hz", "rate_hz", "rate", "Hz"),
            ("asym", "asymmetry", "asym", ""),
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise StimError(E_VALUE, "%s must be an integer, got %r" % (label, value))
            low, high = limits[key]
            if not low <= value <= high:
                raise StimError(E_RANGE, "%s=%d%s outside %d..%d%s" % (label, value, unit, low, high, unit))
        _check_contacts(self.cathodes, self.anodes, contact_count)
        period_ns = (1000000000 + self.rate_hz // 2) // self.rate_hz
        busy_ns = 1000 * (self.pw_us * (1 + self.asym) + self.ipg_us + limits["min_rest_us"])
        if busy_ns > period_ns:
            raise StimError(
                E_FIT,
                "pulse %dus + rest %dus does not fit in the %dns period at %dHz"
                % (
                    self.pw_us * (1 + self.asym) + self.ipg_us,
                    limits["min_rest_us"],
                    period_ns,
                    self.rate_hz,
                ),
            )


def _check_contacts(cathodes, anodes, contact_count):
    if not cathodes or not anodes:
        raise StimError(E_CONTACTS, "need at least one cathode and one anode")
    for c in cathodes + anodes:
        if not isinstance(c, int) or isinstance(c, bool) or not 0 <= c < contact_count:
            raise StimError(E_CONTACTS, "contact %r outside 0..%d" % (c, contact_count - 1))
    for c in cathodes:
        if c in anodes:
            raise StimError(E_CONTACTS, "contact %d cannot be both cathode and anode" % c)
    if len(set(cathodes)) != len(cathodes) or len(set(anodes)) != len(anodes):
        raise StimError(E_CONTACTS, "a contact is listed twice")


class Timing:
    """Exact pulse timing in system-clock cycles."""

    def __init__(self, cathodic, interphase, anodic, period, select_mask):
        self.cathodic = cathodic
        self.interphase = interphase
        self.anodic = anodic
        self.period = period
        self.select_mask = select_mask

    def pulse(self):
        return self.cathodic + self.interphase + self.anodic

    def as_tuple(self):
        return (self.cathodic, self.interphase, self.anodic, self.period, self.select_mask)

    def __eq__(self, other):
        return isinstance(other, Timing) and self.as_tuple() == other.as_tuple()

    def __repr__(self):
        return "Timing(cathodic=%d, interphase=%d, anodic=%d, period=%d, select_mask=0x%x)" % self.as_tuple()


def select_mask(cathodes, anodes):
    """Contact-select pin word: bit 2k routes contact k to the anode bus,
    bit 2k+1 to the cathode bus (see boards/*.json "contacts")."""
    mask = 0
    for c in anodes:
        mask |= 1 << (2 * c)
    for c in cathodes:
        mask |= 1 << (2 * c + 1)
    return mask


def timing(program, sys_hz):
    """Cycle counts for a validated program. The period is the nearest whole
    number of cycles to sys_hz / rate_hz; widths are exact (sys_hz is a whole
    number of MHz)."""
    per_us = sys_hz // 1000000
    pw = program.pw_us * per_us
    return Timing(
        pw,
        program.ipg_us * per_us,
        pw * program.asym,
        (sys_hz + program.rate_hz // 2) // program.rate_hz,
        select_mask(program.cathodes, program.anodes),
    )
