"""Stimulation program: validation and exact PIO timing, in integer units.

Pure logic (no hardware imports); runs under MicroPython and CPython.

    from picostim.stim_program import Program, timing
    p = Program(amp_ua=2500, pw_us=210, ipg_us=20, rate_hz=60,
                cathodes=(2,), anodes=(3,))
    p.validate(limits, contact_count)      # raises StimError(code, message)
    t = timing(p, sys_hz)                  # cycle counts, exact

    # burst (BurstDR-like): 5 pulses at 500 Hz, bursts repeating at 40 Hz
    b = p.copy(rate_hz=40, burst_count=5, burst_rate_hz=500)

    # custom train (Pulse Pal-like): inter-pulse intervals in us
    cycles = train_cycles(p, [1000, 250, 4000], limits, sys_hz)

Charge balance is structural: the anodic (recovery) phase lasts
`asym` times the cathodic phase at 1/`asym` of its amplitude, so the
charge of the two phases is equal by construction. Bursts and trains are
made of such pulses, each balanced on its own.

`burst_count` 1 is tonic stimulation at `rate_hz`; 2..16 pulses per burst
at `burst_rate_hz` within the burst, bursts starting at `rate_hz`.
"""

# Stable error codes (also used by the serial protocol).
E_RANGE = "RANGE"  # a value outside its allowed range
E_FIT = "FIT"  # the pulse does not fit in the period
E_CONTACTS = "CONTACTS"  # bad contact selection
E_VALUE = "VALUE"  # not a value of the right kind

# Ranges used when a board profile's "limits" lacks the key.
DEFAULT_LIMITS = {
    "burst_count": [1, 16],
    "burst_rate_hz": [2, 1000],
    "train_length": [1, 1024],
    "trigger_pulses": [1, 1024],
}
# External trigger input: "off" (free running), "edge" (each rising edge starts
# trigger_pulses pulses at rate_hz), "gate" (pulses at rate_hz while it is high).
TRIGGER_MODES = ("off", "edge", "gate")


def _limit(limits, key):
    return limits[key] if key in limits else DEFAULT_LIMITS[key]


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

    def __init__(
        self,
        amp_ua=0,
        pw_us=210,
        ipg_us=20,
        rate_hz=60,
        cathodes=(0,),
        anodes=(1,),
        asym=1,
        burst_count=1,
        burst_rate_hz=500,
        trigger="off",
        trigger_pulses=1,
    ):
        self.amp_ua = amp_ua
        self.pw_us = pw_us
        self.ipg_us = ipg_us
        self.rate_hz = rate_hz
        self.cathodes = tuple(cathodes)
        self.anodes = tuple(anodes)
        self.asym = asym
        self.burst_count = burst_count  # pulses per burst; 1 = tonic
        self.burst_rate_hz = burst_rate_hz  # pulse rate within a burst
        self.trigger = trigger  # one of TRIGGER_MODES
        self.trigger_pulses = trigger_pulses  # pulses per rising edge ("edge")

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
            "burst_count": self.burst_count,
            "burst_rate_hz": self.burst_rate_hz,
            "trigger": self.trigger,
            "trigger_pulses": self.trigger_pulses,
        }

    def __eq__(self, other):
        return isinstance(other, Program) and self.as_dict() == other.as_dict()

    def __repr__(self):
        return "Program(%r)" % (self.as_dict(),)

    def anodic_amp_ua(self):
        """Recovery amplitude in nA (exact: amp_ua * 1000 / asym, rounded)."""
        return (self.amp_ua * 1000 + self.asym // 2) // self.asym

    def busy_us(self, limits):
        """One pulse plus the minimum rest after it, in us."""
        return self.pw_us * (1 + self.asym) + self.ipg_us + limits["min_rest_us"]

    def validate(self, limits, contact_count):
        """Raise StimError unless every field is in range and the pulse (or
        burst) fits. Integer nanoseconds throughout: no rounding but the
        nearest ns of each period."""
        # (field, limits key, protocol name, unit): messages speak the protocol's terms
        for name, key, label, unit in (
            ("amp_ua", "amplitude_ua", "amp", "uA"),
            ("pw_us", "pulse_width_us", "pw", "us"),
            ("ipg_us", "interphase_us", "ipg", "us"),
            ("rate_hz", "rate_hz", "rate", "Hz"),
            ("asym", "asymmetry", "asym", ""),
            ("burst_count", "burst_count", "burst", ""),
            ("burst_rate_hz", "burst_rate_hz", "burst_rate", "Hz"),
            ("trigger_pulses", "trigger_pulses", "trigger_pulses", ""),
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise StimError(E_VALUE, "%s must be an integer, got %r" % (label, value))
            low, high = _limit(limits, key)
            if not low <= value <= high:
                raise StimError(E_RANGE, "%s=%d%s outside %d..%d%s" % (label, value, unit, low, high, unit))
        if self.trigger not in TRIGGER_MODES:
            raise StimError(E_VALUE, "trigger must be one of %s, got %r" % ("/".join(TRIGGER_MODES), self.trigger))
        if self.trigger != "off" and self.burst_count > 1:
            raise StimError(E_VALUE, "trigger=%s plays tonic pulses: set burst=1 first" % self.trigger)
        _check_contacts(self.cathodes, self.anodes, contact_count)
        period_ns = (1000000000 + self.rate_hz // 2) // self.rate_hz
        busy_ns = 1000 * self.busy_us(limits)
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
        if self.burst_count > 1:
            intra_ns = (1000000000 + self.burst_rate_hz // 2) // self.burst_rate_hz
            if busy_ns > intra_ns:
                raise StimError(
                    E_FIT,
                    "pulse %dus + rest %dus does not fit in the %dns intra-burst period at %dHz"
                    % (
                        self.pw_us * (1 + self.asym) + self.ipg_us,
                        limits["min_rest_us"],
                        intra_ns,
                        self.burst_rate_hz,
                    ),
                )
            span_ns = (self.burst_count - 1) * intra_ns + busy_ns
            if span_ns > period_ns:
                raise StimError(
                    E_FIT,
                    "burst of %d pulses at %dHz (%dns with the last pulse and rest) "
                    "does not fit in the %dns period at %dHz"
                    % (self.burst_count, self.burst_rate_hz, span_ns, period_ns, self.rate_hz),
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
    """Exact pulse timing in system-clock cycles. `period` is the burst
    period (the pulse period when tonic); `intra` the pulse period within a
    burst (0 when tonic)."""

    def __init__(
        self, cathodic, interphase, anodic, period, select_mask, burst_count=1, intra=0, trigger="off", trigger_pulses=1
    ):
        self.cathodic = cathodic
        self.interphase = interphase
        self.anodic = anodic
        self.period = period
        self.select_mask = select_mask
        self.burst_count = burst_count
        self.intra = intra
        self.trigger = trigger  # stim_program.TRIGGER_MODES
        self.trigger_pulses = trigger_pulses

    def pulse(self):
        return self.cathodic + self.interphase + self.anodic

    def tail(self):
        """From the start of a burst's last pulse to the start of the next burst."""
        return self.period - (self.burst_count - 1) * self.intra

    def intervals(self):
        """Pulse-start to pulse-start intervals of one period, from the first pulse of a burst."""
        return [self.intra] * (self.burst_count - 1) + [self.tail()]

    def min_interval(self):
        """The shortest time any pulse has before the next one starts."""
        return min(self.intervals())

    def rate_key(self):
        return (self.period, self.burst_count, self.intra, self.trigger, self.trigger_pulses)

    def as_tuple(self):
        return (
            self.cathodic,
            self.interphase,
            self.anodic,
            self.period,
            self.select_mask,
            self.burst_count,
            self.intra,
            self.trigger,
            self.trigger_pulses,
        )

    def __eq__(self, other):
        return isinstance(other, Timing) and self.as_tuple() == other.as_tuple()

    def __repr__(self):
        return (
            "Timing(cathodic=%d, interphase=%d, anodic=%d, period=%d, select_mask=0x%x, burst_count=%d, intra=%d, "
            "trigger=%r, trigger_pulses=%d)" % self.as_tuple()
        )


def select_mask(cathodes, anodes):
    """Contact-select pin word: bit 2k routes contact k to the anode bus,
    bit 2k+1 to the cathode bus (see boards/*.json "contacts")."""
    mask = 0
    for c in anodes:
        mask |= 1 << (2 * c)
    for c in cathodes:
        mask |= 1 << (2 * c + 1)
    return mask


def _cycles(sys_hz, hz):
    """Nearest whole number of cycles to sys_hz / hz."""
    return (sys_hz + hz // 2) // hz


def timing(program, sys_hz):
    """Cycle counts for a validated program. The period (and the
    intra-burst period) is the nearest whole number of cycles to
    sys_hz / rate; widths are exact (sys_hz is a whole number of MHz)."""
    per_us = sys_hz // 1000000
    pw = program.pw_us * per_us
    burst = program.burst_count
    return Timing(
        pw,
        program.ipg_us * per_us,
        pw * program.asym,
        _cycles(sys_hz, program.rate_hz),
        select_mask(program.cathodes, program.anodes),
        burst,
        _cycles(sys_hz, program.burst_rate_hz) if burst > 1 else 0,
        program.trigger,
        program.trigger_pulses,
    )


def train_cycles(program, intervals_us, limits, sys_hz, out=None):
    """Check a custom pulse train for a validated program and return its
    inter-pulse intervals in cycles. intervals_us[k] is the time before pulse
    k (from the train's start, then from the previous pulse's start); each
    must hold the pulse and the minimum rest, and at most the longest period
    the board allows (1 / the lowest rate). `out`: an array("I") to fill
    instead of a new list (no allocation on a fragmented heap)."""
    low, high = _limit(limits, "train_length")
    try:
        count = len(intervals_us)
    except TypeError:
        raise StimError(E_VALUE, "train must be a list of intervals in us") from None
    if not low <= count <= high:
        raise StimError(E_RANGE, "train of %d intervals outside %d..%d" % (count, low, high))
    busy = program.busy_us(limits)
    longest = 1000000 // limits["rate_hz"][0]
    per_us = sys_hz // 1000000
    fill = out is not None
    if fill and len(out) < count:
        raise StimError(E_RANGE, "train of %d intervals does not fit the buffer" % count)
    if not fill:
        out = []
    for k in range(count):
        us = intervals_us[k]
        if not isinstance(us, int) or isinstance(us, bool):
            raise StimError(E_VALUE, "interval %d must be an integer, got %r" % (k, us))
        if us < busy:
            raise StimError(E_FIT, "interval %d (%dus) does not hold the pulse and rest (%dus)" % (k, us, busy))
        if us > longest:
            raise StimError(E_RANGE, "interval %d (%dus) longer than %dus" % (k, us, longest))
        if fill:
            out[k] = us * per_us
        else:
            out.append(us * per_us)
    return memoryview(out)[:count] if fill else out
