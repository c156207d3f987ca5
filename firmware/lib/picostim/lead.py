"""Lead impedance, the pure part: what a check measures, ohms from an ADC
reading, the verdict, the answer text, and the lead status that keeps
stimulation off a contact the last check found open or shorted (no
hardware imports; runs under MicroPython and CPython).

    config = Config(board)               # board "impedance", "dummy_load", "contacts"
    items = config.plan()                # every contact, then every adjacent pair
    items = config.plan(3)               # contact 3 and the pairs it is in
    program = config.program(items[0])   # the measuring pulse of one item
    ohms = config.ohms(raw_u16, current_na)
    config.verdict(ohms, item[3])        # "ok", "open", "short", "high" or "low"
    config.answer(results, current_na)   # "current=490uA ... c0=1142ohm:ok ..."
    status = LeadStatus()
    status.record(results)               # the per-contact verdicts of a check
    status.refuse(program)               # StimError LEAD for a contact found open or shorted

An item is (name, cathode, anodes, expected ohms, contact or None for a
pair); a result is (item, ohms, verdict). What is measured (docs/WIRING.md,
"Lead impedance"): contact k on the cathode bus against every other contact
on the anode bus (the common return), expected contact_ohms x count /
(count - 1); the pair k, k+1 with k on the cathode bus and k+1 on the anode
bus, expected 2 x contact_ohms. The ADC (12 bits, scaled to 16 by read_u16)
sees the anode bus minus the cathode bus through a difference amplifier of
gain sense_gain[0] / sense_gain[1] during the cathodic phase; ohms = volts
over the current the DAC really makes (whole PWM counts). Integers only.
"""

from .stim_program import E_CONTACTS, Program, StimError

E_LEAD = "LEAD"  # stimulation refused: a contact of the program failed the last lead check
E_BUSY = "BUSY"  # the lead check needs the pulse engine: stimulation must be off
E_MEASURE = "MEASURE"  # no lead check on the board, or no ADC sample inside a measuring pulse
OPEN = "open"  # at or above open_ohms: a broken lead (the source at its compliance)
SHORT = "short"  # below short_ohms: contacts joined ahead of their lead resistance
# otherwise "high" / "low": outside expected +- tolerance_pct; "ok" within it


class Config:
    def __init__(self, board):
        n = board["contacts"]["count"]
        if n < 2:
            raise ValueError("a lead check needs 2 contacts")
        r = board["dummy_load"]["contact_ohms"]
        self.imp = board["impedance"]
        self.count = n
        # contact k against the other n - 1 in parallel; a pair: two in series
        self.expect = ((r * n + (n - 1) // 2) // (n - 1), 2 * r)

    def plan(self, contact=None):
        """Every contact, then every adjacent pair; or one contact and the pairs it is in."""
        n = self.count
        if contact is not None and not 0 <= contact < n:
            raise StimError(E_CONTACTS, "contact %d outside 0..%d" % (contact, n - 1))
        items = []
        for k in range(n) if contact is None else (contact,):
            items.append(("c%d" % k, k, tuple([j for j in range(n) if j != k]), self.expect[0], k))
        for k in range(n - 1):
            if contact is None or contact in (k, k + 1):
                items.append(("pair%d-%d" % (k, k + 1), k, (k + 1,), self.expect[1], None))
        return items

    def program(self, item):
        """The measuring pulse: biphasic, asym 1 (charge balanced), the profile's
        current and widths; its rate is one pulse per settle interval, the
        fastest measurements can follow each other."""
        imp = self.imp
        return Program(
            amp_ua=imp["current_ua"],
            pw_us=imp["pulse_width_us"],
            ipg_us=imp["interphase_us"],
            rate_hz=1000000 // imp["settle_us"],
            cathodes=(item[1],),
            anodes=item[2],
        )

    def ohms(self, raw, current_na):
        """Load volts over amps, to the nearest ohm: the 12-bit code's mid-step
        voltage (uV) over the sense gain, x 1000 / nA."""
        imp = self.imp
        num, den = imp["sense_gain"]
        code = (raw & 0xFFFF) >> 4
        load_uv = (2 * code + 1) * imp["adc_vref_mv"] * 1000 // 8192 * den // num
        return (load_uv * 1000 + current_na // 2) // current_na

    def verdict(self, ohms, expected):
        imp = self.imp
        tolerance = imp["tolerance_pct"]
        if ohms >= imp["open_ohms"]:
            return OPEN
        if ohms < imp["short_ohms"]:
            return SHORT
        if 100 * ohms > expected * (100 + tolerance):
            return "high"
        if 100 * ohms < expected * (100 - tolerance):
            return "low"
        return "ok"

    def answer(self, results, current_na):
        """The IMPEDANCE answer (after "OK "): the conditions and expected
        values, then <name>=<ohms>ohm:<verdict> per item."""
        imp = self.imp
        parts = [
            "current=%duA pw=%dus tolerance=%d%% expect_c=%dohm expect_pair=%dohm"
            % ((current_na + 500) // 1000, imp["pulse_width_us"], imp["tolerance_pct"], self.expect[0], self.expect[1])
        ]
        for item, ohms, verdict in results:
            parts.append("%s=%dohm:%s" % (item[0], ohms, verdict))
        return " ".join(parts)


def summary(results):
    """For the event log: items checked, how many passed, contacts found open, shorted."""
    opened = []  # type: list
    shorted = []  # type: list
    good = 0
    for item, _ohms, verdict in results:
        good += verdict == "ok"
        if item[4] is not None and verdict in (OPEN, SHORT):
            (opened if verdict == OPEN else shorted).append(str(item[4]))
    return "checked=%d ok=%d open=%s short=%s" % (len(results), good, ",".join(opened) or "-", ",".join(shorted) or "-")


class LeadStatus:
    """The verdict of the last check of each contact: an open or shorted one
    may not be stimulated until a later check of it passes. Kept in RAM: a
    restart forgets it (check again after one)."""

    def __init__(self):
        self.failed = {}  # contact -> OPEN or SHORT

    def record(self, results):
        for item, _ohms, verdict in results:
            k = item[4]
            if k is None:
                continue
            if verdict in (OPEN, SHORT):
                self.failed[k] = verdict
            elif k in self.failed:
                del self.failed[k]

    def refuse(self, program):
        """StimError LEAD if the program routes current through a flagged contact."""
        for k in program.cathodes + program.anodes:
            verdict = self.failed.get(k)
            if verdict is not None:
                raise StimError(
                    E_LEAD, "contact %d is %s (impedance check)" % (k, "open" if verdict == OPEN else "shorted")
                )
