"""Measure every stimulation pulse in a capture.

Works on the virtual board's trace and on a logic-analyser capture (VCD, CSV
or a sigrok .sr file: see capture.py): channels are found by the names gp<N>;
a capture with other names maps them with aliases, e.g. {"D0": "gp20"}.

A partial capture (only sync and the two phase pins, or some of the contacts,
as an 8-channel analyser records) is measured as far as it goes: coverage()
names the channels that are missing and what could therefore not be checked,
and nothing that was not captured counts as a fault.

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

import re
from bisect import bisect_right
from dataclasses import asdict, dataclass, field

from picostim.boards import contact_select_pins
from picostim.capture import CaptureError, read_capture, read_vcd

__all__ = ["CaptureError", "Pulse", "coverage", "measure", "read_capture", "read_vcd", "summary"]

_GPIO_NAME = re.compile(r"gp\d+(_duty_u16)?")


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


class _Level:
    """A series' value at any time, by bisection."""

    def __init__(self, series):
        self.times = [t for t, _ in series]
        self.values = [v for _, v in series]

    def at(self, t):
        i = bisect_right(self.times, t)
        return self.values[i - 1] if i else 0


def _value_at(series, t):
    return _Level(series).at(t)


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


def _within(phases, windows):
    """For each (start, end) window, the phases starting inside it (both sorted)."""
    out = []
    j = 0
    for start, end in windows:
        while j < len(phases) and phases[j][0] < start:
            j += 1
        k = j
        while k < len(phases) and phases[k][0] < end:
            k += 1
        out.append(phases[j:k])
        j = k
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


def _missing_channel_error(changes, missing):
    """CHANNELS error naming the missing lines and the --alias form with the
    capture's own channel names."""
    own = [name for name in changes if not _GPIO_NAME.fullmatch(name)]
    example = " ".join(f"--alias {name}=gp{gpio}" for name, (_, gpio) in zip(own, missing, strict=False))
    text = "capture has no channel for: " + ", ".join(role for role, _ in missing)
    text += " (" + ", ".join(f"{role} is gp{gpio}" for role, gpio in missing) + ")"
    if own:
        text += f"; its channels are {', '.join(own)}: map them to the board's GPIOs, e.g. {example}"
    else:
        text += "; map the capture's channel names to them with --alias NAME=gpN"
    return CaptureError("CHANNELS", text)


def measure(changes, board):
    """List of Pulse, one per complete sync pulse in the capture."""
    phase = board["phase_pins"]
    sync = _signal(changes, phase["sync"])
    cath = _signal(changes, phase["cathodic"])
    anod = _signal(changes, phase["anodic"])
    roles = (("sync", sync, phase["sync"]), ("cathodic", cath, phase["cathodic"]), ("anodic", anod, phase["anodic"]))
    missing = [(role, gpio) for role, series, gpio in roles if series is None]
    if missing:
        raise _missing_channel_error(changes, missing)
    assert sync is not None and cath is not None and anod is not None
    dac = board["dac"]
    duty_c = changes.get(f"gp{dac['cathodic_pin']}_duty_u16")
    duty_a = changes.get(f"gp{dac['anodic_pin']}_duty_u16")
    level_c = _Level(duty_c) if duty_c is not None else None
    level_a = _Level(duty_a) if duty_a is not None else None
    full_scale = dac["full_scale_ua"]
    step_ua = dac_step_ua(board)
    selects = contact_select_pins(board)
    # Only the select lines the capture has: a missing one is unknown, not off.
    anode_lines = {k: _Level(changes[f"gp{a}"]) for k, (a, _) in selects.items() if f"gp{a}" in changes}
    cathode_lines = {k: _Level(changes[f"gp{c}"]) for k, (_, c) in selects.items() if f"gp{c}" in changes}
    all_anodes_seen = len(anode_lines) == len(selects)
    all_cathodes_seen = len(cathode_lines) == len(selects)
    windows = _high_intervals(sync)
    cath_in = _within(_high_intervals(cath), windows)
    anod_in = _within(_high_intervals(anod), windows)
    pulses = []
    for i, (start, end) in enumerate(windows):
        c, a = cath_in[i], anod_in[i]
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
        cathodes = [k for k, line in cathode_lines.items() if line.at(start)]
        anodes = [k for k, line in anode_lines.items() if line.at(start)]
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
        if level_c is not None and level_a is not None:
            pulse.cathodic_ua = level_c.at(c0) * full_scale / 65535
            pulse.anodic_ua = level_a.at(a0) * full_scale / 65535
            pulse.charge_cathodic_nc = pulse.cathodic_ua * pulse.cathodic_ns / 1e6
            pulse.charge_anodic_nc = pulse.anodic_ua * pulse.anodic_ns / 1e6
            # Balanced within one DAC step (one PWM count) over the anodic phase.
            tolerance = step_ua * pulse.anodic_ns / 1e6
            pulse.balanced = abs(pulse.charge_cathodic_nc - pulse.charge_anodic_nc) <= tolerance
        # No cathode (anode) seen is a fault only when every cathode (anode) line was captured.
        if (not cathodes and all_cathodes_seen) or (not anodes and all_anodes_seen):
            problems.append("no cathode or no anode selected")
        pulses.append(pulse)
    return pulses


def uncaptured_contacts(changes, board):
    """Contacts with a select line the capture lacks: their roles are unknown."""
    selects = contact_select_pins(board)
    return [k for k in sorted(selects) if any(f"gp{pin}" not in changes for pin in selects[k])]


def coverage(changes, board):
    """What the capture lacks: {"missing_channels": [gp names of the board's
    stimulation lines not in it], "unchecked": [what could not be checked]}."""
    selects = contact_select_pins(board)
    dac = board["dac"]
    duty = [f"gp{dac['cathodic_pin']}_duty_u16", f"gp{dac['anodic_pin']}_duty_u16"]
    lines = [f"gp{pin}" for k in sorted(selects) for pin in selects[k]]
    missing = [name for name in lines + duty if name not in changes]
    unchecked = []
    partial = uncaptured_contacts(changes, board)
    if partial:
        unchecked.append("contacts " + ",".join(map(str, partial)) + " (select lines not captured)")
    if any(name not in changes for name in duty):
        unchecked.append("amplitude and charge balance (no DAC duty channels " + ", ".join(duty) + ")")
    return {"missing_channels": missing, "unchecked": unchecked}


def summary(pulses, cover=None):
    """Totals and the distinct values of each timing; with cover (coverage()),
    the missing channels and what was not checked."""
    out: dict = {"pulses": len(pulses)}
    if pulses:
        periods = [p.period_ns for p in pulses if p.period_ns is not None]
        out.update(
            {
                "malformed": sum(1 for p in pulses if p.problems),
                "unbalanced": sum(1 for p in pulses if p.balanced is False),
                "cathodic_ns": sorted({p.cathodic_ns for p in pulses}),
                "interphase_ns": sorted({p.interphase_ns for p in pulses}),
                "anodic_ns": sorted({p.anodic_ns for p in pulses}),
                "period_ns": sorted(set(periods)),
            }
        )
    if cover is not None:
        out.update(cover)
    return out


def _shape(p):
    return (p.cathodic_ns, p.interphase_ns, p.anodic_ns, tuple(p.cathodes), tuple(p.anodes))


def groups(pulses):
    """One dict per distinct pulse shape (widths and contacts), in order of
    first appearance: count, amplitude range, period min/mean/max, malformed
    and unbalanced counts."""
    found: dict[tuple, dict] = {}
    for i, p in enumerate(pulses):
        g = found.get(_shape(p))
        if g is None:
            g = found[_shape(p)] = {
                "first": i,
                "count": 0,
                "cathodic_ns": p.cathodic_ns,
                "interphase_ns": p.interphase_ns,
                "anodic_ns": p.anodic_ns,
                "cathodes": p.cathodes,
                "anodes": p.anodes,
                "amp_ua": [],
                "period_ns": [],
                "malformed": 0,
                "unbalanced": 0,
            }
        g["count"] += 1
        if p.cathodic_ua is not None:
            g["amp_ua"].append(p.cathodic_ua)
        if p.period_ns is not None:
            g["period_ns"].append(p.period_ns)
        g["malformed"] += bool(p.problems)
        g["unbalanced"] += p.balanced is False
    return list(found.values())


def programs(pulses):
    """Pulses told apart by their contacts, as a group's interleaved programs
    are (each has its own): per contact set, in order of first appearance,
    its count and its own period (start to start of its own pulses)."""
    found: dict[tuple, dict] = {}
    for p in pulses:
        key = (tuple(p.cathodes), tuple(p.anodes))
        g = found.get(key)
        if g is None:
            g = found[key] = {"cathodes": p.cathodes, "anodes": p.anodes, "count": 0, "period_ns": [], "last": None}
        if g["last"] is not None:
            g["period_ns"].append(p.start_ns - g["last"])
        g["last"] = p.start_ns
        g["count"] += 1
    for g in found.values():
        del g["last"]
    return list(found.values())


def interleaved(pulses):
    """True when pulses of different contact sets alternate (a group runs), not just follow one another."""
    keys = [(tuple(p.cathodes), tuple(p.anodes)) for p in pulses]
    changes = sum(1 for a, b in zip(keys, keys[1:], strict=False) if a != b)
    return changes > 2 * len(set(keys))  # a live change or two is no group


def _us(ns):
    return f"{ns / 1000:.3f}"


def _period_text(periods):
    return "-" if not periods else f"{_us(min(periods))}/{_us(sum(periods) / len(periods))}/{_us(max(periods))}"


def format_summary(pulses, cover=None):
    """The grouped summary `picostim measure` prints by default."""
    lines = [
        f"{'count':>7} {'cath_us':>8} {'ipg_us':>7} {'anod_us':>8} {'cathodes':>8} {'anodes':>6} "
        f"{'amp_uA':>11} {'period_us min/mean/max':>32} {'malformed':>9} {'unbalanced':>10}"
    ]
    for g in groups(pulses):
        amps = g["amp_ua"]
        amp = (
            "-"
            if not amps
            else f"{min(amps):.0f}"
            if max(amps) - min(amps) < 0.5
            else f"{min(amps):.0f}-{max(amps):.0f}"
        )
        period = _period_text(g["period_ns"])
        unbalanced = g["unbalanced"] if amps else "n/a"
        lines.append(
            f"{g['count']:>7} {_us(g['cathodic_ns']):>8} {_us(g['interphase_ns']):>7} {_us(g['anodic_ns']):>8} "
            f"{','.join(map(str, g['cathodes'])) or '-':>8} {','.join(map(str, g['anodes'])) or '-':>6} "
            f"{amp:>11} {period:>32} {g['malformed']:>9} {unbalanced:>10}"
        )
    if interleaved(pulses):  # a group of programs: each one's own period
        head = f"{'cathodes':>8} {'anodes':>6} {'count':>7} {'period_us min/mean/max':>32}"
        lines.append("per program (by contacts): " + head)
        for g in programs(pulses):
            lines.append(
                f"{'':>26} {','.join(map(str, g['cathodes'])) or '-':>8} {','.join(map(str, g['anodes'])) or '-':>6} "
                f"{g['count']:>7} {_period_text(g['period_ns']):>32}"
            )
    total = summary(pulses)
    lines.append(
        f"{total['pulses']} pulses, {total.get('malformed', 0)} malformed, {total.get('unbalanced', 0)} unbalanced"
    )
    if cover and cover["missing_channels"]:
        lines.append("missing channels: " + ", ".join(cover["missing_channels"]))
    if cover and cover["unchecked"]:
        lines.append("not checked: " + "; ".join(cover["unchecked"]))
    for p in pulses:
        if p.problems:
            lines.append(f"first malformed pulse at {_us(p.start_ns)} us: " + "; ".join(p.problems))
            break
    return "\n".join(lines)


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
