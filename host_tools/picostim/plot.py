"""`picostim plot`: pictures of a capture (matplotlib, Agg: no display needed).

- Scope view: one pulse as a scope across the dummy load would show it. The
  lead current is rebuilt from the phase pins and the DAC levels (cathodic
  phase negative: current leaves through the cathodes), with the voltage across
  the load from the board profile's resistor values; below it the sync line
  and the contacts' roles, with the widths, period, amplitude and charge.
- Session view: amplitude and pulse rate against time over the whole capture,
  so ramps, cycling, bursts, trains and AdaptiveStim glides show at a glance.

scope_data() and session_data() compute what is drawn; the drawing functions
only draw it.
"""

from __future__ import annotations

import re

from picostim.measure import CaptureError, Pulse, interleaved

_TIME_UNITS_NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_CATHODE, _ANODE, _OFF = "#1f5fbf", "#c0392b", "#b0b0b0"


def parse_time_ns(text):
    """'1.5s', '200ms', '10us', '800ns' or plain seconds, as ns; CaptureError TIME if not."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(s|ms|us|ns)?\s*", str(text))
    if not match:
        raise CaptureError("TIME", f"{text!r} is not a time (e.g. 1.5s, 200ms, 10us)")
    return round(float(match.group(1)) * _TIME_UNITS_NS[match.group(2) or "s"])


def load_ohms(board, pulse):
    """Resistance the current source sees: the cathodes' contact resistors in
    parallel in series with the anodes' (the tissue resistor carries none of it,
    docs/WIRING.md). None when the contacts are not known."""
    if not pulse.cathodes or not pulse.anodes:
        return None
    r = board["dummy_load"]["contact_ohms"]
    return r / len(pulse.cathodes) + r / len(pulse.anodes)


def pick_pulse(pulses, index=None):
    """The pulse to draw: `index`, else the first well-formed one at the
    highest amplitude (the setting after a soft start)."""
    if not pulses:
        raise CaptureError("PULSES", "no pulse in the capture (or in the chosen time window)")
    if index is not None:
        if not 0 <= index < len(pulses):
            raise CaptureError("PULSES", f"pulse {index} does not exist: the capture has pulses 0..{len(pulses) - 1}")
        return pulses[index]
    good = [p for p in pulses if not p.problems] or pulses
    return max(good, key=lambda p: p.cathodic_ua or 0)


def scope_data(pulse: Pulse, board, unknown_contacts=()):
    """What the scope view draws for one pulse: step waveforms (steps-post) of
    the lead current in uA, the load voltage in V and the sync line, against
    time in us from the pulse start, and the figures written on it.
    `unknown_contacts`: contacts whose select lines were not captured."""
    width = pulse.cathodic_ns + pulse.interphase_ns + pulse.anodic_ns
    margin = max(width // 4, 1000)
    c1 = pulse.cathodic_ns
    a0 = c1 + pulse.interphase_ns
    known = pulse.cathodic_ua is not None and pulse.anodic_ua is not None
    if pulse.cathodic_ua is not None and pulse.anodic_ua is not None:
        cathodic, anodic = pulse.cathodic_ua, pulse.anodic_ua
    else:  # the shape only: the anodic phase as long as asym times the cathodic, 1/asym as high
        cathodic, anodic = 1.0, 1.0 / max(1, round(pulse.anodic_ns / max(1, pulse.cathodic_ns)))
    times_ns = [-margin, 0, c1, a0, width, width + margin]
    current = [0.0, -cathodic, 0.0, anodic, 0.0, 0.0]
    ohms = load_ohms(board, pulse)
    return {
        "t_us": [t / 1000 for t in times_ns],
        "current_ua": current if known else None,
        "shape": current,  # relative when the DAC levels were not captured
        "voltage_v": [i * ohms / 1e6 for i in current] if known and ohms else None,
        "sync": [0, 1, 1, 1, 0, 0],
        "load_ohms": ohms,
        "cathodic_us": pulse.cathodic_ns / 1000,
        "interphase_us": pulse.interphase_ns / 1000,
        "anodic_us": pulse.anodic_ns / 1000,
        "period_us": pulse.period_ns / 1000 if pulse.period_ns is not None else None,
        "cathodic_ua": pulse.cathodic_ua,
        "anodic_ua": pulse.anodic_ua,
        "charge_cathodic_nc": pulse.charge_cathodic_nc,
        "charge_anodic_nc": pulse.charge_anodic_nc,
        "cathodes": list(pulse.cathodes),
        "anodes": list(pulse.anodes),
        "unknown": [k for k in unknown_contacts if k not in pulse.cathodes and k not in pulse.anodes],
    }


def session_data(pulses):
    """What the session view draws: for each pulse its start in s, cathodic
    amplitude in uA (None without DAC channels), rate in Hz (1 / the time to
    the next pulse; None for the last) and its lane: the index of its program
    (its contacts) when a group's programs interleave, else 0. With lanes the
    rate is each program's own (1 / the time to its next pulse)."""
    lanes = [0] * len(pulses)
    rates = [1e9 / p.period_ns if p.period_ns else None for p in pulses]
    names = ["pulses"]
    if interleaved(pulses):
        keys: dict[tuple, int] = {}
        following: dict[tuple, int] = {}
        for i in range(len(pulses) - 1, -1, -1):  # backwards: each pulse's next of its own program
            p = pulses[i]
            key = (tuple(p.cathodes), tuple(p.anodes))
            after = following.get(key)
            rates[i] = 1e9 / (pulses[after].start_ns - p.start_ns) if after is not None else None
            following[key] = i
        for i, p in enumerate(pulses):
            key = (tuple(p.cathodes), tuple(p.anodes))
            lanes[i] = keys.setdefault(key, len(keys))
        names = [" ".join([f"E{c}-" for c in k[0]] + [f"E{a}+" for a in k[1]]) for k in keys]
    return {
        "t_s": [p.start_ns / 1e9 for p in pulses],
        "amp_ua": [p.cathodic_ua for p in pulses],
        "rate_hz": rates,
        "lane": lanes,
        "lanes": names,
    }


def _fmt(value, unit, digits=1):
    return "-" if value is None else f"{value:.{digits}f} {unit}"


def draw_scope(fig, spec, data, board, title):
    """The scope view in three rows of the GridSpec slice `spec`."""
    grid = spec.subgridspec(3, 1, height_ratios=[5, 1, 1.2], hspace=0.08)
    ax = fig.add_subplot(grid[0])
    known = data["current_ua"] is not None
    ax.plot(data["t_us"], data["shape"], drawstyle="steps-post", color="black", lw=1.6)
    ax.axhline(0, color="0.6", lw=0.6)
    ax.set_ylabel("lead current (uA)" if known else "phase (relative: no DAC channels)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    if data["voltage_v"] is not None:
        ohms = data["load_ohms"]
        right = ax.twinx()
        low, high = ax.get_ylim()
        right.set_ylim(low * ohms / 1e6, high * ohms / 1e6)
        right.set_ylabel(f"load voltage (V) across {ohms:.0f} ohm")
    c1 = data["cathodic_us"]
    a0 = c1 + data["interphase_us"]
    a1 = a0 + data["anodic_us"]
    peak = max(abs(v) for v in data["shape"]) or 1.0
    y = 1.12 * peak
    for x0, x1, label in (
        (0, c1, f"cathodic {c1:.3f} us"),
        (c1, a0, f"gap {data['interphase_us']:.3f} us"),
        (a0, a1, f"anodic {data['anodic_us']:.3f} us"),
    ):
        ax.annotate("", xy=(x0, y), xytext=(x1, y), arrowprops={"arrowstyle": "<->", "lw": 0.8})
        ax.text((x0 + x1) / 2, y * 1.04, label, ha="center", va="bottom", fontsize=8)
    ax.set_ylim(-1.35 * peak, 1.45 * peak)
    lines = [
        f"amplitude {_fmt(data['cathodic_ua'], 'uA', 0)} / {_fmt(data['anodic_ua'], 'uA', 0)}"
        if known
        else "amplitude, charge: no DAC channels",
        f"charge {_fmt(data['charge_cathodic_nc'], 'nC', 2)} / {_fmt(data['charge_anodic_nc'], 'nC', 2)}"
        if known
        else "",
        f"period {_fmt(data['period_us'], 'us', 3)}"
        + (f" ({1e6 / data['period_us']:.1f} Hz)" if data["period_us"] else ""),
    ]
    ax.text(
        0.99,
        0.04,
        "\n".join(line for line in lines if line),
        transform=ax.transAxes,
        ha="right",
        va="bottom",
        fontsize=8,
        family="monospace",
    )
    ax.tick_params(labelbottom=False)

    sync = fig.add_subplot(grid[1], sharex=ax)
    sync.plot(data["t_us"], data["sync"], drawstyle="steps-post", color="#2e8b57")
    sync.set_ylim(-0.2, 1.3)
    sync.set_yticks([])
    sync.set_ylabel(f"sync\nGP{board['phase_pins']['sync']}", rotation=0, ha="right", va="center", fontsize=8)
    sync.tick_params(labelbottom=False)

    roles = fig.add_subplot(grid[2])
    count = board["contacts"]["count"]
    for k in range(count):
        if k in data["cathodes"]:
            color, mark = _CATHODE, "-"
        elif k in data["anodes"]:
            color, mark = _ANODE, "+"
        elif k in data["unknown"]:
            color, mark = "white", "?"
        else:
            color, mark = _OFF, ""
        roles.add_patch(_contact_patch(k, color))
        white = mark in ("-", "+")
        roles.text(k, 0, f"E{k}{mark}", ha="center", va="center", fontsize=8, color="white" if white else "black")
    roles.set_xlim(-0.7, count - 0.3)
    roles.set_ylim(-0.6, 0.6)
    roles.axis("off")
    legend = "contacts (- cathode, + anode, ? not captured)" if data["unknown"] else "contacts (- cathode, + anode)"
    roles.set_title(legend, fontsize=8, pad=2)
    sync.set_xlabel("time from the pulse start (us)")
    sync.tick_params(labelbottom=True)


def _contact_patch(k, color):
    from matplotlib.patches import FancyBboxPatch

    return FancyBboxPatch((k - 0.4, -0.35), 0.8, 0.7, boxstyle="round,pad=0.02", facecolor=color, edgecolor=_OFF)


def draw_session(fig, spec, data, title):
    """The session view: amplitude (one lane per program of a group) and rate against time."""
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    names = data["lanes"]
    grid = spec.subgridspec(len(names) + 1, 1, height_ratios=[3 / len(names)] * len(names) + [2], hspace=0.08)
    first = None
    colors = [_CATHODE, "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink"]
    for lane, name in enumerate(names):
        amp = fig.add_subplot(grid[lane], sharex=first)
        first = first or amp
        known = [
            (t, a)
            for t, a, n in zip(data["t_s"], data["amp_ua"], data["lane"], strict=True)
            if a is not None and n == lane
        ]
        if known:
            amp.plot([t for t, _ in known], [a for _, a in known], ".", ms=3, color=colors[lane % len(colors)])
            amp.set_ylabel(
                "amplitude (uA)" if len(names) == 1 else f"{name}\n(uA)", fontsize=None if len(names) == 1 else 8
            )
        else:
            amp.text(0.5, 0.5, "no DAC channels: amplitude not captured", transform=amp.transAxes, ha="center")
        if lane == 0:
            amp.set_title(title, fontsize=10)
        amp.grid(alpha=0.3)
        amp.tick_params(labelbottom=False)
    rate = fig.add_subplot(grid[len(names)], sharex=first)
    for lane in range(len(names)):
        rated = [
            (t, r)
            for t, r, n in zip(data["t_s"], data["rate_hz"], data["lane"], strict=True)
            if r is not None and n == lane
        ]
        color = "0.2" if len(names) == 1 else colors[lane % len(colors)]
        rate.plot([t for t, _ in rated], [r for _, r in rated], ".", ms=3, color=color)
    rate.set_ylabel("rate (Hz)")
    rate.set_yscale("log")
    rate.yaxis.set_major_formatter(ScalarFormatter())  # 100, 200: not 10^2, 2x10^2
    rate.yaxis.set_minor_formatter(NullFormatter())
    rate.set_xlabel("time (s)")
    rate.grid(alpha=0.3, which="both")


def plot(
    pulses, board, out, view="both", pulse_index=None, name="capture", start_ns=None, end_ns=None, unknown_contacts=()
):
    """Draw `view` ("scope", "session" or "both") of `pulses` into `out`
    (.png or .svg): the pulses starting within [start_ns, end_ns]; the scope
    view shows capture pulse `pulse_index` if given. Returns the scope data
    drawn (or None). `unknown_contacts`: see scope_data()."""
    from matplotlib.figure import Figure

    window = in_window(pulses, start_ns, end_ns)
    rows: list[float] = {"scope": [1.0], "session": [1.0], "both": [1.5, 1.0]}[view]
    fig = Figure(figsize=(10, 11 if view == "both" else 5.5), layout="constrained")
    grid = fig.add_gridspec(len(rows), 1, height_ratios=rows)
    data = None
    if view in ("scope", "both"):
        if pulse_index is not None:
            pulse = pick_pulse(pulses, pulse_index)
        else:
            pulse = pick_pulse(window)
        data = scope_data(pulse, board, unknown_contacts)
        index = next(i for i, p in enumerate(pulses) if p is pulse)
        draw_scope(fig, grid[0], data, board, f"{name}: pulse {index} at {pulse.start_ns / 1e6:.3f} ms (scope view)")
    if view in ("session", "both"):
        if not window:
            raise CaptureError("PULSES", "no pulse in the capture (or in the chosen time window)")
        draw_session(fig, grid[-1], session_data(window), f"{name}: {len(window)} pulses (session view)")
    if str(out).lower().endswith(".svg"):
        from matplotlib import rc_context

        # text as text and no date or random ids: small files that only change when the picture does
        with rc_context({"svg.fonttype": "none", "svg.hashsalt": "picostim"}):
            fig.savefig(out, metadata={"Date": None})
    else:
        fig.savefig(out, dpi=110)
    return data


def in_window(pulses, start_ns=None, end_ns=None):
    """The pulses starting within [start_ns, end_ns]."""
    return [
        p for p in pulses if (start_ns is None or p.start_ns >= start_ns) and (end_ns is None or p.start_ns <= end_ns)
    ]
