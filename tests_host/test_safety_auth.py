"""Absolute safety limits (firmware/lib/picostim/safety.py) and clinician
authentication (firmware/lib/picostim/auth.py, host_tools/picostim/auth.py): the check
script under MicroPython with a Pico-sized heap and under CPython, then
property tests under CPython against float and standard-library references."""

import hashlib
import hmac
import math
from pathlib import Path

import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from mpy_checks import INTERPRETERS, run_checks
from picostim import auth as host_auth
from picostim_fw import auth as fw_auth
from picostim_fw import safety
from picostim_fw.stim_program import Program, StimError

ROOT = Path(__file__).resolve().parents[1]
MIN_CHECKS = 60


@pytest.mark.parametrize("where", INTERPRETERS)
def test_safety_auth_checks(where):
    assert run_checks("check_safety_auth.py", where) >= MIN_CHECKS


# ---- safety.check against a float reference --------------------------------------

EPS = 1e-7  # relative distance from any boundary the reference must keep


def _reference(p, lim):
    """("LIMIT", name) or the report, computed in floats straight from the formulas."""
    n = min(len(p.cathodes), len(p.anodes))
    area_cm2 = lim["electrode_area_mm2"] / 100.0
    q_nc = p.amp_ua * p.pw_us / 1000.0  # per phase, all contacts
    d_nc_cm2 = q_nc / n / area_cm2  # at the most loaded contact
    q_uc, d_uc = q_nc / n / 1000.0, d_nc_cm2 / 1000.0
    k = math.log10(q_uc) + math.log10(d_uc)
    duty = p.rate_hz * p.pw_us * (1 + p.asym) / 1000.0
    tests = (
        ("amplitude", p.amp_ua, lim["max_amplitude_ua"]),
        ("rate", p.rate_hz, lim["max_rate_hz"]),
        ("charge", q_nc, lim["max_charge_nc"]),
        ("density", d_nc_cm2, 1000.0 * lim["max_density_uc_cm2"]),
        ("Shannon", k, lim["max_shannon_k_x100"] / 100.0),
        ("duty", duty, lim["max_duty_permille"]),
    )
    for name, value, limit in tests:
        assume(abs(value - limit) > EPS * max(1.0, abs(limit)))  # away from the boundary
        if value > limit:
            return ("LIMIT", name)
    for value in (q_nc, d_nc_cm2, 100 * k, duty):
        assume(abs(value - math.floor(value) - 0.5) > 1e-6)  # away from rounding ties
    return {
        "charge_nc": math.floor(q_nc + 0.5),
        "density_nc_cm2": math.floor(d_nc_cm2 + 0.5),
        "shannon_k_x100": math.floor(100 * k + 0.5),
        "duty_permille": math.floor(duty + 0.5),
    }


def _limit_name(message):
    if message.startswith("charge density"):
        return "density"
    return message.split()[0]


@st.composite
def programs(draw):
    contacts = draw(st.permutations(range(8)))
    n_c = draw(st.integers(1, 4))
    n_a = draw(st.integers(1, 4))
    return Program(
        amp_ua=draw(st.integers(1, 30000)),
        pw_us=draw(st.integers(1, 1000)),
        ipg_us=20,
        rate_hz=draw(st.integers(1, 12000)),
        cathodes=tuple(contacts[:n_c]),
        anodes=tuple(contacts[n_c : n_c + n_a]),
        asym=draw(st.integers(1, 8)),
    )


safety_tables = st.fixed_dictionaries(
    {
        "max_amplitude_ua": st.integers(1000, 30000),
        "max_charge_nc": st.integers(100, 20000),
        "electrode_area_mm2": st.integers(1, 30),
        "max_density_uc_cm2": st.integers(5, 200),
        "max_shannon_k_x100": st.integers(100, 250),
        "max_rate_hz": st.integers(50, 12000),
        "max_duty_permille": st.integers(50, 1000),
    }
)


def _compare(p, lim):
    expected = _reference(p, lim)
    try:
        got = safety.check(p, lim)
    except StimError as e:
        assert e.code == "LIMIT", e
        assert expected == ("LIMIT", _limit_name(e.message)), (expected, e.message)
        event("refused: " + _limit_name(e.message))
        return
    assert got == expected
    event("accepted")


@settings(max_examples=800, deadline=None)
@given(programs(), safety_tables)
def test_check_agrees_with_float_reference(p, lim):
    _compare(p, lim)


@settings(max_examples=300, deadline=None)
@given(programs())
def test_default_limits_agree_with_float_reference(p):
    _compare(p, dict(safety.DEFAULTS))


@settings(max_examples=500, deadline=None)
@given(
    programs(),
    st.integers(1, 30),
    st.integers(5, 200),
    st.integers(100, 250),
    st.integers(100, 12000),
)
def test_density_and_shannon_agree_with_float_reference(p, area, density, k_x100, q_nc):
    """Only the density and Shannon limits in play: charge per phase 0.1-12 uC."""
    lim = {
        "max_amplitude_ua": 10**7,
        "max_charge_nc": 10**6,
        "electrode_area_mm2": area,
        "max_density_uc_cm2": density,
        "max_shannon_k_x100": k_x100,
        "max_rate_hz": 10**6,
        "max_duty_permille": 10**6,
    }
    _compare(p.copy(amp_ua=max(1, q_nc * 1000 // p.pw_us)), lim)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10**7), st.integers(1, 10**8), st.integers(-400, 400))
def test_exact_power_comparison(num, den, k_x100):
    x = math.log10(num) - math.log10(den)
    assume(abs(100 * x - k_x100) > 1e-6)
    assert safety._at_most_pow10(num, den, k_x100) == (100 * x < k_x100)
    assume(abs(100 * x - round(100 * x)) > 1e-6)
    assert safety._floor_log10(num, den, 100) == math.floor(100 * x)


def test_defaults_are_the_documented_ones():
    text = (ROOT / "docs" / "SAFETY.md").read_text(encoding="utf-8")
    for key, value in safety.DEFAULTS.items():
        assert f"`{key}` | {value} " in text, key


# ---- HMAC-SHA256 ---------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.binary(max_size=300))
def test_hmac_matches_cpython(key, message):
    assert fw_auth.hmac_sha256(key, message) == hmac.new(key, message, hashlib.sha256).digest()


@given(st.binary(min_size=65, max_size=300), st.binary(max_size=100))
def test_hmac_long_keys_match_cpython(key, message):
    assert fw_auth.hmac_sha256(key, message) == hmac.new(key, message, hashlib.sha256).digest()


@given(st.binary(min_size=16, max_size=64), st.binary(min_size=16, max_size=16))
def test_host_response_matches_firmware(key, nonce):
    assert host_auth.response(key, nonce.hex()) == fw_auth.hmac_sha256(key, nonce).hex()


@given(st.binary(min_size=32, max_size=32), st.text("0123456789abcdef", min_size=64, max_size=64))
def test_only_the_right_answer_logs_in(key, guess):
    a = fw_auth.Auth(key, lambda n: bytes(range(n)))
    nonce = a.challenge(0)
    right = host_auth.response(key, nonce)
    assume(guess != right)
    with pytest.raises(StimError) as e:
        a.respond(guess, 1)
    assert e.value.code == "AUTH" and a.role(1) == "patient"


# ---- host side -----------------------------------------------------------------------


def test_host_dev_key_is_the_firmware_dev_key():
    assert host_auth.DEV_KEY == fw_auth.DEV_KEY
    assert host_auth.load_key(None) == fw_auth.DEV_KEY
    assert len(fw_auth.DEV_KEY) == 32


def test_login_round_trip_with_host_response():
    a = fw_auth.Auth(fw_auth.DEV_KEY, lambda n: b"\x5a" * n)
    nonce = a.challenge(0)
    assert nonce == "5a" * 16
    assert a.respond(host_auth.response(host_auth.load_key(None), nonce), 10) == "clinician"
    assert a.role(11) == "clinician"


def test_key_files(tmp_path):
    text = host_auth.new_key()
    assert len(text) == 64 and int(text, 16) >= 0 and text != host_auth.new_key()
    path = tmp_path / "board.key"
    path.write_text(text + "\n")
    assert host_auth.load_key(path) == bytes.fromhex(text)
    assert host_auth.load_key(str(path)) == bytes.fromhex(text)
    bad = tmp_path / "bad.key"
    bad.write_text(text[:-2] + "zz")
    with pytest.raises(ValueError) as e:
        host_auth.load_key(bad)
    assert text[:10] not in str(e.value) and "64 hex digits" in str(e.value)
    bad.write_text(text + "00")
    with pytest.raises(ValueError):
        host_auth.load_key(bad)


def test_response_rejects_bad_nonce():
    with pytest.raises(ValueError):
        host_auth.response(fw_auth.DEV_KEY, "not hex")
