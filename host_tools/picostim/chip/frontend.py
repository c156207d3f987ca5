"""The analog side of the board behind the emulated chip: the current source,
the contact switches, the dummy lead and the impedance sense amplifier, as
docs/WIRING.md ("Lead impedance") draws them. It gives the voltage on the
ADC pin at the moment of a read, from what the chip drives then:

* the phase pins: cathodic (current from the anode bus through the leads
  into the cathode bus) or anodic (reversed); neither: no current;
* the contact-select pins: contact k on the anode bus (GP base+2k), on the
  cathode bus (GP base+2k+1), or on neither;
* the DAC levels: the PWM slice's CC over TOP + 1 (`chip.dac_fraction`),
  times full scale (the RC filter is taken as settled);
* the dummy lead (board "dummy_load"): each contact's resistor to a common
  tissue node, the tissue node to ground; per-contact faults.

The current source floats between the two buses and holds its current up
to its compliance voltage (board "impedance" compliance_mv): with no path
between the buses (a broken lead) it sits at the compliance. The sense
amplifier gives (anode bus - cathode bus) x sense_gain, clipped to
0..ADC_VREF (rail-to-rail on 3.3 V): the load voltage in the cathodic phase,
0 V otherwise. A track-and-hold follows it while the cathodic phase pin is
high and holds the value it had when the pin fell (the end of the cathodic
phase) until the next cathodic phase: the ADC pin. The hold is taken as
ideal (no droop).

Faults (`set_fault`, the sim's `contact <k> break|short|ok`):
  break  contact k's lead is open: its resistor is infinite;
  short  contact k is joined to its neighbour (k+1; the last contact to the
         one before it) ahead of both resistors, as two wires touching in
         the lead body.
"""

from __future__ import annotations

from picostim.chip.model import ADC_VREF

FAULTS = ("break", "short", "ok")
_LEAK_S = 1e-12  # siemens from every node to ground: keeps an open network solvable
_OPEN_OHMS = 1e9  # an effective resistance above this is no path at all


class FrontEnd:
    def __init__(self, chip, board):
        self.chip = chip
        contacts = board["contacts"]
        self.count = contacts["count"]
        self.select_base = contacts["select_base_pin"]
        phase = board["phase_pins"]
        self.cathodic_pin, self.anodic_pin = phase["cathodic"], phase["anodic"]
        dac = board["dac"]
        self.dac_pins = (dac["cathodic_pin"], dac["anodic_pin"])
        self.full_scale_ua = dac["full_scale_ua"]
        load = board["dummy_load"]
        self.contact_ohms = float(load["contact_ohms"])
        self.tissue_ohms = float(load["tissue_ohms"])
        imp = board["impedance"]
        self.adc_pin = board["impedance_adc_pin"]
        num, den = imp["sense_gain"]
        self.gain = num / den
        self.compliance_v = imp["compliance_mv"] / 1000
        self.faults: dict[int, str] = {}  # contact -> "break" | "short"
        self.held = 0.0  # the track-and-hold's output (volts) since the last cathodic phase ended
        self._ohms: dict[tuple[frozenset[int], frozenset[int]], float | None] = {}  # bus_ohms, until a fault changes

    # `chip` gives levels() (the GPIO outputs as a bit mask) and dac_fraction(pin);
    # the fast board's ChipModel, or the full-chip board's view of its pins
    # (picostim.fullchip.frontend_link).
    @classmethod
    def attach(cls, chip, board) -> FrontEnd:
        """A front end for `board`, wired to the chip's ADC pins and phase pins."""
        front = cls(chip, board)
        chip.adc_source = front
        chip.listeners.append(front)
        return front

    # -- chip listener: the track-and-hold takes its value when the cathodic phase ends
    def pins_changed(self, cycle, levels, changed):
        if changed >> self.cathodic_pin & 1 and not levels >> self.cathodic_pin & 1:
            self.held = self._sensed(self.load_volts(levels | 1 << self.cathodic_pin))

    def pwm_changed(self, cycle, pin, duty):
        pass

    # -- faults ------------------------------------------------------------------------
    def set_fault(self, contact: int, fault: str) -> str:
        if not 0 <= contact < self.count:
            raise ValueError(f"contact {contact} outside 0..{self.count - 1}")
        if fault not in FAULTS:
            raise ValueError(f"fault {fault!r} is not one of {', '.join(FAULTS)}")
        self._ohms.clear()
        if fault == "ok":
            self.faults.pop(contact, None)
            return f"contact {contact} ok"
        self.faults[contact] = fault
        if fault == "short":
            return f"contact {contact} shorted to contact {self.neighbour(contact)}"
        return f"contact {contact} broken (open)"

    def neighbour(self, contact: int) -> int:
        return contact + 1 if contact + 1 < self.count else contact - 1

    # -- what the chip drives ------------------------------------------------------------
    def _dac_ua(self, pin: int) -> float:
        return self.chip.dac_fraction(pin) * self.full_scale_ua

    def buses(self, levels: int) -> tuple[set[int], set[int]]:
        """(contacts on the anode bus, contacts on the cathode bus)."""
        anodes, cathodes = set(), set()
        for k in range(self.count):
            if levels >> (self.select_base + 2 * k) & 1:
                anodes.add(k)
            if levels >> (self.select_base + 2 * k + 1) & 1:
                cathodes.add(k)
        return anodes, cathodes

    def bus_ohms(self, anodes, cathodes) -> float | None:
        """Effective resistance between the anode and cathode buses; None: no path.
        Solved once per pair of bus sets (every pulse of a program has the same)."""
        key = (frozenset(anodes), frozenset(cathodes))
        if key not in self._ohms:
            self._ohms[key] = self._solve_bus_ohms(anodes, cathodes)
        return self._ohms[key]

    def _solve_bus_ohms(self, anodes, cathodes) -> float | None:
        parent: dict[str, str] = {}

        def find(node: str) -> str:
            while parent.get(node, node) != node:
                node = parent[node]
            return node

        def join(a: str, b: str):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[ra] = rb

        for k in anodes:
            join(f"e{k}", "A")
        for k in cathodes:
            join(f"e{k}", "C")
        for k, fault in self.faults.items():
            if fault == "short":
                join(f"e{k}", f"e{self.neighbour(k)}")
        if find("A") == find("C"):
            return 0.0
        resistors = [(f"e{k}", "T", self.contact_ohms) for k in range(self.count) if self.faults.get(k) != "break"]
        resistors.append(("T", "G", self.tissue_ohms))
        nodes = sorted(({find(n) for a, b, _ in resistors for n in (a, b)} | {find("A"), find("C")}) - {find("G")})
        index = {n: i for i, n in enumerate(nodes)}
        size = len(nodes)
        g = [[0.0] * size for _ in range(size)]
        for i in range(size):
            g[i][i] = _LEAK_S
        for a, b, ohms in resistors:
            ra, rb = find(a), find(b)
            if ra == rb:
                continue
            s = 1.0 / ohms
            for x, y in ((ra, rb), (rb, ra)):
                if x in index:
                    g[index[x]][index[x]] += s
                    if y in index:
                        g[index[x]][index[y]] -= s
        current = [0.0] * size
        current[index[find("A")]] = 1.0  # 1 A in at the anode bus, out at the cathode bus
        current[index[find("C")]] = -1.0
        volts = _solve(g, current)
        ohms = volts[index[find("A")]] - volts[index[find("C")]]
        return None if ohms > _OPEN_OHMS else ohms

    def load_volts(self, levels: int | None = None) -> float:
        """Anode bus minus cathode bus for these pin levels (default: now); the
        source at its compliance when it cannot hold its current."""
        if levels is None:
            levels = self.chip.levels()
        cathodic = levels >> self.cathodic_pin & 1
        anodic = levels >> self.anodic_pin & 1
        if cathodic and anodic:
            anodic = 0  # the cathodic phase just ended and the anodic one began (no interphase gap)
        if cathodic == anodic:
            return 0.0  # no current
        amps = self._dac_ua(self.dac_pins[0] if cathodic else self.dac_pins[1]) / 1e6
        if amps <= 0:
            return 0.0
        ohms = self.bus_ohms(*self.buses(levels))
        volts = self.compliance_v if ohms is None else min(amps * ohms, self.compliance_v)
        return volts if cathodic else -volts

    def _sensed(self, load_volts: float) -> float:
        return min(max(load_volts * self.gain, 0.0), ADC_VREF)

    def volts(self, pin: int) -> float:
        """The voltage on an ADC pin (0 V on the others: nothing drives them):
        the sense amplifier while the cathodic phase runs (track), else the
        value held at its end."""
        if pin != self.adc_pin:
            return 0.0
        if self.chip.levels() >> self.cathodic_pin & 1:
            return self._sensed(self.load_volts())
        return self.held


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (a few nodes)."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(col + 1, n):
            f = m[r][col] / m[col][col]
            if f:
                for c in range(col, n + 1):
                    m[r][c] -= f * m[col][c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (m[r][n] - sum(m[r][c] * x[c] for c in range(r + 1, n))) / m[r][r]
    return x
