"""Measure every stimulation pulse in a VCD capture.

Works on the virtual board's trace and on a logic-analyzer capture exported
as VCD (PulseView/sigrok): channels are found by the names gp<N>; a capture
with other names maps them with aliases, e.g. {"D0": "gp18"}.

A pulse runs from a rising to a falling edge of the sync pin. Within it the
cathodic phase is the time the cathodic phase pin is high and the anodic
phase the time the anodic phase pin is high. Contacts are read from the
select pins at the pulse start. Charge uses the DAC duty channels
(gp<N>_duty_u16) when the capture has them.

The DAC is a PWM with TOP + 1 counts per period (625 at 200 kHz from
125 MHz), so its levels are whole counts: one step is full_scale / counts
(40.8 uA on the Pico profile). A pulse is balanced when the anodic charge is
within one such step (over the anodic phase) of the cathodic charge: the
firmware keeps the anodic count within half a count of cathodic / asym, and
the recorded duty (u16) adds at most 1/65535 of full scale per level.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from vcd.reader import TokenKind, tokenize

from picostim.boards import contact_select_pins

_UNIT_NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1, "ps": 10**-3, "fs": 10**-6}


class CaptureError(Exception):
    pass


@dataclass
class Pulse:
    start_ns: int
    cathodic_ns: int
    interphase_ns: int
    anodic_ns: int
    period_ns: int | None
    cathodes: list[int]
    anodes: list[int]
    cathodic_ua: float | None = None
    anodic_ua: float | None = None
    charge_cathodic_nc: float | None = None
    charge_anodic_nc: float | None = None
    balanced: bool | None = None
    problems: list[str] = field(default_factory=list)


def read_vcd(path, aliases=None):
    """{signal name: [(time_ns, value), ...]} with values as ints (x/z read as 0)."""
    aliases = aliases or {}
    names: dict[str, list[str]] = {}
    changes: dict[str, list[tuple[int, int]]] = {}
    scale = 1.0
    now = 0
    with open(path, "rb") as f:
        for token in tokenize(f):
            kind = token.kind
            if kind is TokenKind.TIMESCALE:
                ts = token.timescale
                scale = int(ts.magnitude) * _UNIT_NS[ts.unit.value]
            elif kind is TokenKind.VAR:
                ref = token.var.reference
                name = aliases.get(ref, ref)
                names.setdefault(token.var.id_code, []).append(name)
                changes.setdefault(name, [])
            elif kind is TokenKind.CHANGE_TIME:
                now = round(token.time_change * scale)
            elif kind in (TokenKind.CHANGE_SCALAR, TokenKind.CHANGE_VECTOR):
                change = token.scalar_change if kind is TokenKind.CHANGE_SCALAR else token.vector_change
                value = change.value
                if isinstance(value, str):
                    value = 1 if value == "1" else 0
                for name in names.get(change.id_code, ()):
                    series = changes[name]
                    if series and series[-1][0] == now:
                        series[-1] = (now, value)
                    elif not series or series[-1][1] != value:
                        series.append((now, value))
    return changes


def _value_at(series, t):
    value = 0
    for when, v in series:
        if when > t:
            break
        value = v
    return value


def _high_intervals(series):
    out = []
    start = None
    for when, value in series:
        if value and start is None:
            start = when
        elif not value and start is not None:
            out.append((start, when))
            start = None
    return out


def dac_counts(board):
    """PWM counts per DAC period (TOP + 1), as MicroPython's PWM.freq() sets
    them for the board's dac.pwm_freq_hz (the largest TOP the frequency allows)."""
    sys_hz, freq = board["sys_clock_hz"], board["dac"]["pwm_freq_hz"]
    counts = (sys_hz + freq // 2) // freq
    if counts >= 65534:  # needs a clock divider
        div16 = -(-16 * sys_hz // (65534 * freq))
        counts = (16 * sys_hz + div16 * freq // 2) // (div16 * freq)
    return counts


def dac_step_ua(board):
    """One DAC count in uA."""
    return board["dac"]["full_scale_ua"] / dac_counts(board)


def dac_levels_ua(board, amp_ua, asym=1):
    """(cathodic, anodic) uA the DAC puts out for a setting: the cathodic
    level to the nearest count, the anodic one that count / asym to the
    nearest count (firmware pulse_engine.dac_counts)."""
    counts = dac_counts(board)
    full_scale = board["dac"]["full_scale_ua"]
    cathodic = (2 * amp_ua * counts + full_scale) // (2 * full_scale)
    anodic = (2 * cathodic + asym) // (2 * asym)
    return cathodic * full_scale / counts, anodic * full_scale / counts


def _signal(changes, gpio):
    return changes.get(f"gp{gpio}")


def measure(changes, board):
    """List of Pulse, one per complete sync pulse in the capture."""
    phase = board["phase_pins"]
    sync = _signal(changes, phase["sync"])
    cath = _signal(changes, phase["cathodic"])
    anod = _signal(changes, phase["anodic"])
    missing = [n for n, s in (("sync", sync), ("cathodic", cath), ("anodic", anod)) if s is None]
    if missing:
        raise CaptureError("capture has no channel for: " + ", ".join(missing))
    dac = board["dac"]
    duty_c = changes.get(f"gp{dac['cathodic_pin']}_duty_u16")
    duty_a = changes.get(f"gp{dac['anodic_pin']}_duty_u16")
    full_scale = dac["full_scale_ua"]
    step_ua = dac_step_ua(board)
    selects = contact_select_pins(board)
    windows = _high_intervals(sync)
    cath_phases = _high_intervals(cath)
    anod_phases = _high_intervals(anod)
    pulses = []
    for i, (start, end) in enumerate(windows):
        c = [p for p in cath_phases if start <= p[0] < end]
        a = [p for p in anod_phases if start <= p[0] < end]
        problems = []
        if len(c) != 1 or len(a) != 1:
            problems.append(f"expected one cathodic and one anodic phase, got {len(c)} and {len(a)}")
            c = c or [(start, start)]
            a = a or [(end, end)]
        (c0, c1), (a0, a1) = c[0], a[0]
        if c0 != start:
            problems.append("cathodic phase does not start with sync")
        if a1 != end:
            problems.append("anodic phase does not end with sync")
        if c1 > a0:
            problems.append("phases overlap")
        cathodes = [k for k, (_, pin) in selects.items() if _value_at(changes.get(f"gp{pin}", []), start)]
        anodes = [k for k, (pin, _) in selects.items() if _value_at(changes.get(f"gp{pin}", []), start)]
        pulse = Pulse(
            start_ns=start,
            cathodic_ns=c1 - c0,
            interphase_ns=a0 - c1,
            anodic_ns=a1 - a0,
            period_ns=windows[i + 1][0] - start if i + 1 < len(windows) else None,
            cathodes=cathodes,
            anodes=anodes,
            problems=problems,
        )
        if duty_c is not None and duty_a is not None:
            pulse.cathodic_ua = _value_at(duty_c, c0) * full_scale / 65535
            pulse.anodic_ua = _value_at(duty_a, a0) * full_scale / 65535
            pulse.charge_cathodic_nc = pulse.cathodic_ua * pulse.cathodic_ns / 1e6
            pulse.charge_anodic_nc = pulse.anodic_ua * pulse.anodic_ns / 1e6
            # Balanced within one DAC step (one PWM count) over the anodic phase.
            tolerance = step_ua * pulse.anodic_ns / 1e6
            pulse.balanced = abs(pulse.charge_cathodic_nc - pulse.charge_anodic_nc) <= tolerance
        if not cathodes or not anodes:
            problems.append("no cathode or no anode selected")
        pulses.append(pulse)
    return pulses


def summary(pulses):
    if not pulses:
        return {"pulses": 0}
    periods = [p.period_ns for p in pulses if p.period_ns is not None]
    return {
        "pulses": len(pulses),
        "malformed": sum(1 for p in pulses if p.problems),
        "unbalanced": sum(1 for p in pulses if p.balanced is False),
        "cathodic_ns": sorted({p.cathodic_ns for p in pulses}),
        "interphase_ns": sorted({p.interphase_ns for p in pulses}),
        "anodic_ns": sorted({p.anodic_ns for p in pulses}),
        "period_ns": sorted(set(periods)),
    }


def as_dicts(pulses):
    return [asdict(p) for p in pulses]


_BALANCED = {True: "yes", False: "NO", None: "n/a"}


def format_table(pulses, ns_per_cycle=8):
    lines = [
        f"{'#':>5} {'start_us':>12} {'cath_us':>9} {'ipg_us':>8} {'anod_us':>9} {'period_us':>10} "
        f"{'cathodes':>9} {'anodes':>7} {'charge_nC':>10} balanced"
    ]
    for i, p in enumerate(pulses):
        period = f"{p.period_ns / 1000:.3f}" if p.period_ns is not None else "-"
        charge = f"{p.charge_cathodic_nc:.3f}" if p.charge_cathodic_nc is not None else "-"
        balanced = _BALANCED[p.balanced]
        lines.append(
            f"{i:>5} {p.start_ns / 1000:>12.3f} {p.cathodic_ns / 1000:>9.3f} {p.interphase_ns / 1000:>8.3f} "
            f"{p.anodic_ns / 1000:>9.3f} {period:>10} {','.join(map(str, p.cathodes)):>9} "
            f"{','.join(map(str, p.anodes)):>7} {charge:>10} {balanced}"
            + ("  " + "; ".join(p.problems) if p.problems else "")
        )
    return "\n".join(lines)


def runs(pulses):
    """Consecutive pulses with the same shape, period, contacts and amplitude:
    [(index of the first, count, that pulse)]."""

    def key(p):
        amp = round(p.cathodic_ua) if p.cathodic_ua is not None else None
        return (p.cathodic_ns, p.interphase_ns, p.anodic_ns, p.period_ns, tuple(p.cathodes), tuple(p.anodes), amp)

    out: list[tuple[int, int, Pulse]] = []
    for i, p in enumerate(pulses):
        if out and key(out[-1][2]) == key(p):
            first, count, head = out[-1]
            out[-1] = (first, count + 1, head)
        else:
            out.append((i, 1, p))
    return out


def format_runs(pulses):
    lines = [
        f"{'pulses':>13} {'count':>6} {'cath_us':>8} {'ipg_us':>7} {'anod_us':>8} {'period_us':>10} "
        f"{'cathodes':>8} {'anodes':>6} {'amp_uA':>7} balanced"
    ]
    for first, count, p in runs(pulses):
        period = f"{p.period_ns / 1000:.3f}" if p.period_ns is not None else "(last)"
        amp = f"{p.cathodic_ua:.0f}" if p.cathodic_ua is not None else "-"
        balanced = _BALANCED[p.balanced]
        lines.append(
            f"{f'{first}-{first + count - 1}':>13} {count:>6} {p.cathodic_ns / 1000:>8.3f} "
            f"{p.interphase_ns / 1000:>7.3f} {p.anodic_ns / 1000:>8.3f} {period:>10} "
            f"{','.join(map(str, p.cathodes)):>8} {','.join(map(str, p.anodes)):>6} {amp:>7} {balanced}"
        )
    return "\n".join(lines)
