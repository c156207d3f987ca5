"""Absolute safety limits: no role, no board range and no setting can pass them.

Pure logic (no hardware imports); runs under MicroPython and CPython.

    from picostim import safety
    report = safety.check(program, board["safety"])   # or StimError("LIMIT", ...)
    safety.describe(report)  # "charge=525nC density=8750nC/cm2 k=0.66 duty=25permille"

Units and exactness. Charge per phase Q = amp_ua * pw_us in pC (uA x us);
the anodic (recovery) phase carries the same charge (asym x pw at amp/asym).
Every comparison against a limit is done in integers, exactly; a float only
guesses where a search starts, or gives a reported figure (Shannon k) where it
is far from a rounding boundary (MicroPython floats are single precision).

Charge per contact. Both phases drive the same current through the cathodes
and, with the opposite sign, through the anodes; the current is shared
equally by the contacts of each group. The most loaded contact is therefore
one of the smaller group: n = min(len(cathodes), len(anodes)) contacts carry
Q / n each. Density and the Shannon criterion are evaluated at that contact
(with one cathode and one anode, as usual, n = 1).

Sources and the reasons for the defaults: docs/SAFETY.md.
"""

import math

from .stim_program import E_CONTACTS, E_VALUE, StimError

E_LIMIT = "LIMIT"  # stable error code: an absolute safety limit stopped the program

# Defaults for boards/*.json "safety"; a key missing there takes its default.
DEFAULTS = {  # type: dict
    "max_amplitude_ua": 20000,  # backstop below the 25.5 mA DAC full scale
    "max_charge_nc": 4000,  # per phase, all contacts together
    "electrode_area_mm2": 6,  # geometric area of one contact (1.27 mm x 1.5 mm ring: 5.98 mm2)
    "max_density_uc_cm2": 30,  # per phase, per contact
    "max_shannon_k_x100": 185,  # Shannon k = log10(D) + log10(Q) <= 1.85
    "max_rate_hz": 10000,
    "max_duty_permille": 600,  # rate x pw x (1 + asym): 10 kHz, 30 us biphasic = 600
    # Charge per second through one contact (one phase), summed over every
    # program of a group that uses it. None: what amplitude and duty already
    # bound for one program (max_amplitude_ua x max_duty_permille / 2000, 6000
    # with these defaults); a profile may set it lower.
    "max_contact_uc_s": None,
}
# Order of the checks (and of the keys in messages about a bad safety table)
KEYS = (
    "max_amplitude_ua",
    "max_rate_hz",
    "max_charge_nc",
    "electrode_area_mm2",
    "max_density_uc_cm2",
    "max_shannon_k_x100",
    "max_duty_permille",
    "max_contact_uc_s",
)


def limits(safety=None):
    """The effective limits: DEFAULTS overridden by `safety`, checked."""
    table = dict(DEFAULTS)
    if safety:
        for key in KEYS:
            if key in safety:
                table[key] = safety[key]
    if table["max_contact_uc_s"] is None and _is_int(table["max_amplitude_ua"]) and _is_int(table["max_duty_permille"]):
        table["max_contact_uc_s"] = (table["max_amplitude_ua"] * table["max_duty_permille"] + 1999) // 2000
    for key in KEYS:
        value = table[key]
        if not _is_int(value) or (value <= 0 and key != "max_shannon_k_x100"):
            raise StimError(E_VALUE, "safety %s must be a positive integer, got %r" % (key, value))
    return table


def check(program, safety=None):
    """Raise StimError("LIMIT", ...) naming the first limit the program passes;
    else return {"charge_nc", "density_nc_cm2", "shannon_k_x100", "duty_permille"}.

    shannon_k_x100 is None when the program injects no charge (amp 0)."""
    lim = limits(safety)
    for name in ("amp_ua", "pw_us", "rate_hz", "asym"):
        value = getattr(program, name)
        if not _is_int(value) or value < 0:
            raise StimError(E_VALUE, "%s must be a non-negative integer, got %r" % (name, value))
    amp, pw, rate, asym = program.amp_ua, program.pw_us, program.rate_hz, program.asym
    n = min(len(program.cathodes), len(program.anodes))
    if n < 1:
        raise StimError(E_CONTACTS, "need at least one cathode and one anode")
    area = lim["electrode_area_mm2"]

    if amp > lim["max_amplitude_ua"]:
        raise StimError(E_LIMIT, "amplitude %duA > limit %duA" % (amp, lim["max_amplitude_ua"]))
    if rate > lim["max_rate_hz"]:
        raise StimError(E_LIMIT, "rate %dHz > limit %dHz" % (rate, lim["max_rate_hz"]))

    # Charge per phase, all contacts: q_pc = amp_ua * pw_us pC; nC = q_pc / 1000.
    q_pc = amp * pw
    if q_pc > 1000 * lim["max_charge_nc"]:
        raise StimError(E_LIMIT, "charge %dnC per phase > limit %dnC" % (_ceil_div(q_pc, 1000), lim["max_charge_nc"]))

    # Density at the most loaded contact, nC/cm2:
    #   D = (q_pc / n / 1000 nC) / (area / 100 cm2) = q_pc / (10 n area)
    # D > 1000 * max_uC  <=>  q_pc > 10000 * max_uC * n * area  (integers, exact)
    per_10 = 10 * n * area
    max_d = lim["max_density_uc_cm2"]
    if q_pc > 10000 * max_d * n * area:
        raise StimError(
            E_LIMIT,
            "charge density %dnC/cm2 per phase > limit %dnC/cm2 (%s of %dmm2)"
            % (_ceil_div(q_pc, per_10), 1000 * max_d, _contacts(n), area),
        )

    # Shannon (1992): k = log10(D) + log10(Q), D in uC/cm2 and Q in uC, both
    # per phase at one contact. With Q = q_pc / (n 1e6) uC and A = area / 100 cm2:
    #   D * Q = Q^2 / A = q_pc^2 / (n^2 area 1e10) = num / den
    # and k <= K/100 (K = max_shannon_k_x100) <=> (num / den)^100 <= 10^K.
    # Reduce K/100 to lowest terms e/p (g = gcd(K, 100), e = K/g, p = 100/g):
    #   num^p <= den^p * 10^e         (e >= 0)
    #   num^p * 10^-e <= den^p        (e < 0)
    # all integers, so the test is exact (K = 185: p = 20, e = 37).
    num = q_pc * q_pc
    den = n * n * area * 10**10
    k_max = lim["max_shannon_k_x100"]
    if num and not _at_most_pow10(num, den, k_max):
        raise StimError(
            E_LIMIT,
            "Shannon k=%s > limit %s (per contact: charge %dnC, density %dnC/cm2)"
            % (
                _x100(-_floor_log10(den, num, 100)),  # ceil(100 k): never shows the limit itself
                _x100(k_max),
                _ceil_div(q_pc, 1000 * n),
                _ceil_div(q_pc, per_10),
            ),
        )

    # Duty: the fraction of time current flows, pulses/s x pw x (1 + asym) (the
    # interphase gap carries none; a burst has burst_count pulses per period).
    pulses = rate * getattr(program, "burst_count", 1)
    busy = pulses * pw * (1 + asym)
    if busy > 1000 * lim["max_duty_permille"]:
        raise StimError(
            E_LIMIT,
            "duty %dpermille > limit %dpermille (%d pulses/s x %dus x (1+%d))"
            % (_ceil_div(busy, 1000), lim["max_duty_permille"], pulses, pw, asym),
        )

    _check_contacts((program,), lim, "")

    return {
        "charge_nc": _round_div(q_pc, 1000),
        "density_nc_cm2": _round_div(q_pc, per_10),
        # round(100 k) = floor((floor(200 k) + 1) / 2), ties up
        "shannon_k_x100": (_floor_log10(num, den, 200) + 1) // 2 if num else None,
        "duty_permille": _round_div(busy, 1000),
    }


def check_group(programs, safety=None):
    """The combined limits of programs run together, interleaved (each has
    passed check() on its own): duty over all their pulses, and the charge
    per second at each contact summed over every program that uses it
    (max_contact_uc_s). StimError LIMIT."""
    lim = limits(safety)
    busy = 0
    for p in programs:
        busy += p.rate_hz * p.pw_us * (1 + p.asym) * getattr(p, "burst_count", 1)
    if busy > 1000 * lim["max_duty_permille"]:
        raise StimError(
            E_LIMIT,
            "group duty %dpermille > limit %dpermille (all programs' pulses)"
            % (_ceil_div(busy, 1000), lim["max_duty_permille"]),
        )
    _check_contacts(programs, lim, " from the group's programs")


def _check_contacts(programs, lim, where):
    """Charge per second of one phase through each contact (the current
    shared among a phase's contacts), summed over `programs`."""
    per_contact = {}  # type: dict  # contact -> pC/s (uA x us x Hz)
    for p in programs:
        pulses = p.rate_hz * getattr(p, "burst_count", 1)
        for contacts in (p.cathodes, p.anodes):
            share = p.amp_ua * p.pw_us * pulses // len(contacts)
            for c in contacts:
                per_contact[c] = per_contact.get(c, 0) + share
    most = lim["max_contact_uc_s"] * 1000000
    for c in sorted(per_contact):
        if per_contact[c] > most:
            raise StimError(
                E_LIMIT,
                "contact %d: %duC/s%s > limit %duC/s" % (c, _ceil_div(per_contact[c], 1000000), where, most // 1000000),
            )


def describe(report):
    """One line of key=value words for STATUS, e.g.
    "charge=525nC density=8750nC/cm2 k=0.66 duty=25permille"."""
    k = report["shannon_k_x100"]
    return "charge=%dnC density=%dnC/cm2 k=%s duty=%dpermille" % (
        report["charge_nc"],
        report["density_nc_cm2"],
        "none" if k is None else _x100(k),
        report["duty_permille"],
    )


# -- exact integer helpers ---------------------------------------------------------


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _ceil_div(a, b):
    return -(-a // b)


def _round_div(a, b):
    """a / b rounded half up (a >= 0, b > 0)."""
    return (2 * a + b) // (2 * b)


def _contacts(n):
    return "1 contact" if n == 1 else "each of %d contacts" % n


def _x100(value):
    """An integer in hundredths as a decimal: 185 -> "1.85", -66 -> "-0.66"."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    return "%s%d.%02d" % (sign, value // 100, value % 100)


def _gcd(a, b):
    a, b = abs(a), abs(b)
    while b:
        a, b = b, a % b
    return a


def _at_most_pow10(num, den, k_x100):
    """num / den <= 10^(k_x100 / 100), exactly (num, den > 0)."""
    g = _gcd(k_x100, 100)
    p = 100 // g
    e = k_x100 // g
    if e >= 0:
        return num**p <= den**p * 10**e
    return num**p * 10 ** (-e) <= den**p


# The error of a float p * log10(num / den) here stays far below this margin
# (single precision, as on a Pico: under 1e-3); within it of an integer, integers decide.
_MARGIN = 0.01 if 1.0 + 1e-9 == 1.0 else 1e-6


def _floor_log10(num, den, p):
    """floor(p * log10(num / den)), exactly (num, den > 0): the largest j with
    10^j <= (num / den)^p. A float decides unless it lies within _MARGIN of an
    integer; there integer comparisons do, each with its exponents in lowest
    terms (num^p itself, thousands of bits, would need a large free block)."""
    try:
        guess = p * (math.log10(num) - math.log10(den))
        j = int(guess)
        if j > guess:
            j -= 1
        if _MARGIN < guess - j < 1 - _MARGIN:
            return j
    except (OverflowError, ValueError):
        j = 0
    while not _pow10_at_most(j, p, num, den):
        j -= 1
    while _pow10_at_most(j + 1, p, num, den):
        j += 1
    return j


def _pow10_at_most(j, p, num, den):
    """10^(j / p) <= num / den, exactly: with j / p = e / q in lowest terms,
    10^e * den^q <= num^q."""
    g = _gcd(j, p)
    q, e = p // g, j // g
    if e >= 0:
        return den**q * 10**e <= num**q
    return den**q <= num**q * 10 ** (-e)
