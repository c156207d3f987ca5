# Absolute safety limits (safety.py) and clinician authentication (auth.py)
# under MicroPython (and CPython): run as a script from firmware/lib.
# Prints "OK <count>" when every check passes; raises otherwise.
import sys

sys.path.insert(0, ".")  # run from firmware/lib
import hashlib
from binascii import hexlify, unhexlify

from fakes import Randomness  # noqa: E402  (tests_host/mpy, the script's own folder)
from picostim import safety
from picostim.auth import CLINICIAN, DEV_KEY, E_AUTH, E_LOCKOUT, PATIENT, Auth, equal, hmac_sha256
from picostim.stim_program import E_CONTACTS, E_VALUE, Program, StimError

checks = 0


def ok(condition, what):
    global checks
    if not condition:
        raise AssertionError(what)
    checks += 1


def raises(code, fn, *args):
    """fn(*args) raises StimError(code); returns its message."""
    global checks
    try:
        fn(*args)
    except StimError as e:
        got = e
    else:
        raise AssertionError("%r: no StimError %s" % (args, code))
    if got.code != code:
        raise AssertionError("%r: expected %s, got %s %s" % (args, code, got.code, got.message))
    checks += 1
    return got.message


# ---- safety -------------------------------------------------------------------

SAFE = {
    "max_amplitude_ua": 20000,
    "max_charge_nc": 4000,
    "electrode_area_mm2": 6,
    "max_density_uc_cm2": 30,
    "max_shannon_k_x100": 185,
    "max_rate_hz": 10000,
    "max_duty_permille": 600,
    "max_contact_uc_s": None,  # derived: max_amplitude_ua x max_duty_permille / 2000
}


def table(**changes):
    t = dict(SAFE)
    for key in changes:
        t[key] = changes[key]
    return t


def prog(**fields):
    base = {"amp_ua": 100, "pw_us": 100, "ipg_us": 20, "rate_hz": 50, "cathodes": (0,), "anodes": (1,), "asym": 1}
    for key in fields:
        base[key] = fields[key]
    return Program(**base)


def refused(name, limits, **fields):
    """Refused with LIMIT, the limit's name in the message; returns the message."""
    message = raises(safety.E_LIMIT, safety.check, prog(**fields), limits)
    ok(message.startswith(name), "%r does not name %r" % (message, name))
    return message


def accepted(limits, **fields):
    global checks
    report = safety.check(prog(**fields), limits)
    checks += 1
    return report


ok(safety.DEFAULTS == SAFE, "defaults changed: update docs/SAFETY.md and this table")

# amplitude
m = refused("amplitude", SAFE, amp_ua=20001, pw_us=10)
ok(m == "amplitude 20001uA > limit 20000uA", m)
accepted(SAFE, amp_ua=20000, pw_us=10)
# rate (checked here even though the board's range would also stop it)
m = refused("rate", SAFE, rate_hz=10001, pw_us=10)
ok(m == "rate 10001Hz > limit 10000Hz", m)
accepted(SAFE, rate_hz=10000, pw_us=10, asym=1)
# charge per phase: the brief's example, and the exact edge (big contacts so only charge binds)
m = refused("charge", table(max_amplitude_ua=25500), amp_ua=25000, pw_us=210)
ok(m == "charge 5250nC per phase > limit 4000nC", m)
BIG = table(electrode_area_mm2=1000)
r = accepted(BIG, amp_ua=4000, pw_us=1000)
ok(r["charge_nc"] == 4000, r)
m = refused("charge", BIG, amp_ua=4001, pw_us=1000)
m = refused("charge", BIG, amp_ua=3999, pw_us=1001)  # 4002.999 nC: shown rounded up
ok(m == "charge 4003nC per phase > limit 4000nC", m)
accepted(BIG, amp_ua=4001, pw_us=999)  # 3996.999 nC
# charge density: 30 uC/cm2 on 6 mm2 = 1800 nC per contact, exactly at the edge
r = accepted(SAFE, amp_ua=9000, pw_us=200)
ok(r["density_nc_cm2"] == 30000 and r["charge_nc"] == 1800, r)
m = refused("charge density", SAFE, amp_ua=9001, pw_us=200)
ok("> limit 30000nC/cm2" in m and "30004nC/cm2" in m, m)
# two cathodes and two anodes share the current: twice the charge at the same density
r = accepted(SAFE, amp_ua=18000, pw_us=200, cathodes=(0, 1), anodes=(2, 3))
ok(r["density_nc_cm2"] == 30000 and r["charge_nc"] == 3600, r)
m = refused("charge density", SAFE, amp_ua=18001, pw_us=200, cathodes=(0, 1), anodes=(2, 3))
ok("each of 2 contacts" in m, m)
# two cathodes but one anode: the anode carries it all
refused("charge density", SAFE, amp_ua=9001, pw_us=200, cathodes=(0, 1), anodes=(2,))
refused("charge density", SAFE, amp_ua=9001, pw_us=200, cathodes=(0,), anodes=(1, 2, 3))
# Shannon k = 2.00 exactly: Q = 1 uC on 1 mm2 (D = 100 uC/cm2, Q x D = 100)
K2 = table(electrode_area_mm2=1, max_density_uc_cm2=1000, max_shannon_k_x100=200)
r = accepted(K2, amp_ua=5000, pw_us=200)
ok(r["shannon_k_x100"] == 200 and r["density_nc_cm2"] == 100000, r)
m = refused("Shannon", K2, amp_ua=5001, pw_us=200)
ok(m.startswith("Shannon k=2.01 > limit 2.00"), m)
# Shannon k = 1.85 on 6 mm2 (density limit lifted): q^2 <= 6e10 x 10^1.85 pC^2, q <= 2060988.77 pC
K185 = table(max_amplitude_ua=10**6, max_density_uc_cm2=1000, max_charge_nc=10000)
r = accepted(K185, amp_ua=171749, pw_us=12)  # 2060988 pC
ok(r["shannon_k_x100"] == 185, r)
m = refused("Shannon", K185, amp_ua=294427, pw_us=7)  # 2060989 pC
ok(m.startswith("Shannon k=1.86 > limit 1.85 (per contact: charge 2061nC"), m)
# ... and with two contacts per group each carries half
accepted(K185, amp_ua=171749 * 2, pw_us=12, cathodes=(0, 1), anodes=(2, 3))
refused("Shannon", K185, amp_ua=294427 * 2, pw_us=7, cathodes=(0, 1), anodes=(2, 3))
# default limits, 6 mm2: the density limit binds before Shannon (k = 1.73 at 30 uC/cm2)
r = safety.check(prog(amp_ua=9000, pw_us=200), None)
ok(r["shannon_k_x100"] == 173, r)
# duty = rate x pw x (1 + asym)
r = accepted(SAFE, rate_hz=1000, pw_us=300, asym=1)
ok(r["duty_permille"] == 600, r)
m = refused("duty", SAFE, rate_hz=1001, pw_us=300, asym=1)
ok(m.startswith("duty 601permille > limit 600permille"), m)
accepted(SAFE, rate_hz=100, pw_us=1000, asym=5)
refused("duty", SAFE, rate_hz=100, pw_us=1000, asym=6)
r = accepted(SAFE, rate_hz=10000, pw_us=30, asym=1)  # 10 kHz, 30 us biphasic
ok(r["duty_permille"] == 600, r)
refused("duty", SAFE, rate_hz=10000, pw_us=31, asym=1)

# the report and its STATUS text
r = safety.check(prog(amp_ua=2500, pw_us=210, rate_hz=60), SAFE)
ok(r == {"charge_nc": 525, "density_nc_cm2": 8750, "shannon_k_x100": 66, "duty_permille": 25}, r)
ok(safety.describe(r) == "charge=525nC density=8750nC/cm2 k=0.66 duty=25permille", safety.describe(r))
r = safety.check(prog(amp_ua=0), SAFE)
ok(r["charge_nc"] == 0 and r["shannon_k_x100"] is None, r)
ok(safety.describe(r) == "charge=0nC density=0nC/cm2 k=none duty=10permille", safety.describe(r))
r = safety.check(prog(amp_ua=1, pw_us=10, cathodes=(0, 1, 2, 3), anodes=(4, 5, 6, 7)), SAFE)
ok(r["shannon_k_x100"] == -998 and "k=-9.98" in safety.describe(r), r)  # k = log10((2.5e-6)^2 / 0.06)
ok(
    safety.describe({"charge_nc": 1, "density_nc_cm2": 2, "shannon_k_x100": -5, "duty_permille": 3}).find("k=-0.05")
    > 0,
    "",
)
ok(safety._x100(185) == "1.85" and safety._x100(-66) == "-0.66" and safety._x100(0) == "0.00", "x100")
# exact helpers
ok(safety._at_most_pow10(1, 10, -100) and not safety._at_most_pow10(1, 10, -101), "10^-1")
ok(safety._at_most_pow10(100, 1, 200) and not safety._at_most_pow10(101, 1, 200), "10^2")
ok(safety._floor_log10(10**6, 1, 100) == 600 and safety._floor_log10(10**6 - 1, 1, 100) == 599, "floor log")
ok(safety._floor_log10(1, 1000, 1) == -3 and safety._floor_log10(1, 1001, 1) == -4, "floor log <1")
ok(safety._floor_log10(2, 1, 100) == 30, "log10 2 = 0.30103")
# missing keys take the defaults; bad tables and programs are refused
ok(safety.limits({"max_rate_hz": 50})["max_charge_nc"] == 4000, "defaults")
ok(safety.limits(None) == dict(SAFE, max_contact_uc_s=6000), "defaults for None (the contact limit derived)")
raises(E_VALUE, safety.check, prog(), table(max_charge_nc=True))
raises(E_VALUE, safety.check, prog(), table(electrode_area_mm2=0))
raises(E_VALUE, safety.check, prog(), table(max_duty_permille="500"))
raises(E_VALUE, safety.check, prog(amp_ua=2.5), SAFE)
raises(E_CONTACTS, safety.check, prog(cathodes=()), SAFE)

# ---- HMAC-SHA256: RFC 4231 test cases 1, 2, 3, 4, 6, 7 -----------------------

LONG_KEY = b"\xaa" * 131
RFC4231 = (
    (b"\x0b" * 20, b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (b"Jefe", b"what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    (b"\xaa" * 20, b"\xdd" * 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
    (bytes(range(1, 26)), b"\xcd" * 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
    (
        LONG_KEY,
        b"Test Using Larger Than Block-Size Key - Hash Key First",
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ),
    (
        LONG_KEY,
        b"This is a test using a larger than block-size key and a larger than block-size data."
        b" The key needs to be hashed before being used by the HMAC algorithm.",
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ),
)
for key, data, mac in RFC4231:
    ok(hexlify(hmac_sha256(key, data)).decode() == mac, "RFC 4231 %r" % (data[:20],))
ok(hmac_sha256(LONG_KEY, b"x") == hmac_sha256(hashlib.sha256(LONG_KEY).digest(), b"x"), "long key hashed")
ok(len(hmac_sha256(b"", b"")) == 32, "empty")
ok(equal(b"abc", b"abc") and not equal(b"abc", b"abd") and not equal(b"abc", b"ab"), "equal")
ok(DEV_KEY == hashlib.sha256(b"picostim development key - not secret").digest() and len(DEV_KEY) == 32, "DEV_KEY")

# ---- challenge-response --------------------------------------------------------


KEY = hashlib.sha256(b"check_safety_auth test key").digest()
messages = []


def answer(nonce_hex, key=KEY):
    return hexlify(hmac_sha256(key, unhexlify(nonce_hex))).decode()


def fails(code, fn, *args):
    message = raises(code, fn, *args)
    messages.append(message)
    return message


rnd = Randomness()
a = Auth(KEY, rnd)
ok(a.role(0) == PATIENT, "starts as patient")
m = fails(E_AUTH, a.respond, "00" * 32, 0)
ok(m == "no challenge: send LOGIN first", m)
ok(a.failures() == 0, "no challenge is not a failure")
nonce = a.challenge(1000)
ok(len(nonce) == 32 and nonce == hexlify(rnd.given[-1]).decode(), nonce)
good = answer(nonce)
ok(a.respond(good, 1001) == CLINICIAN and a.role(1001) == CLINICIAN, "login")
m = fails(E_AUTH, a.respond, good, 1002)  # replay
ok(m == "no challenge: send LOGIN first", m)
ok(a.role(1002) == CLINICIAN, "a refused replay leaves the session")
# a new challenge invalidates the previous one
first = a.challenge(2000)
second = a.challenge(2001)
ok(first != second, "fresh nonces")
m = fails(E_AUTH, a.respond, answer(first), 2002)
ok(m == "wrong answer (1 of 5 failures)", m)
# a wrong answer consumes the nonce too
n3 = a.challenge(2003)
fails(E_AUTH, a.respond, "ff" * 32, 2004)
m = fails(E_AUTH, a.respond, answer(n3), 2005)
ok(m == "no challenge: send LOGIN first", m)
# upper-case hex is fine; success clears the count of failures
n4 = a.challenge(2006)
ok(a.respond(answer(n4).upper(), 2007) == CLINICIAN and a.failures() == 0, "upper case")
# malformed answers count as failures
a.challenge(2008)
m = fails(E_AUTH, a.respond, "xyz", 2009)
ok(m == "wrong answer: expected 64 hex digits (1 of 5 failures)", m)
a.challenge(2010)
fails(E_AUTH, a.respond, "g" * 64, 2011)
a.challenge(2012)
fails(E_AUTH, a.respond, None, 2013)
ok(a.failures() == 3, "three failures")

# lockout after 5 in a row; logout does not reset the count
a.logout()
ok(a.role(2014) == PATIENT, "logout")
a.challenge(3000)
m = fails(E_AUTH, a.respond, "00" * 32, 3001)
ok(m == "wrong answer (4 of 5 failures)", m)
a.challenge(3002)
m = fails(E_LOCKOUT, a.respond, "00" * 32, 3003)
ok(m == "wrong answer (5 of 5 failures): locked out for 60s", m)
m = fails(E_LOCKOUT, a.challenge, 3004)
ok(m == "too many wrong answers: try again in 60s", m)
m = fails(E_LOCKOUT, a.respond, good, 3003 + 59001)
ok(m == "too many wrong answers: try again in 1s", m)
nonce = a.challenge(3003 + 60000)  # lockout over, exactly on time
ok(a.failures() == 0, "count restarts after a lockout")
ok(a.respond(answer(nonce), 63004) == CLINICIAN, "login after lockout")

# session: session_ms after the last clinician command
ok(a.role(63004 + 900000 - 1) == CLINICIAN, "session still on")
a.touch(63004 + 900000 - 1)
ok(a.role(63004 + 1800000 - 2) == CLINICIAN, "touch extends")
ok(a.role(63004 + 1800000 - 1) == PATIENT, "session over")
a.touch(63004 + 1800000)
ok(a.role(63004 + 1800000) == PATIENT, "touch does not revive")
# logout drops a pending challenge
nonce = a.challenge(5000000)
a.logout()
fails(E_AUTH, a.respond, answer(nonce), 5000001)

# other settings; the wrong key never logs in
b = Auth(KEY, Randomness(), max_failures=2, lockout_ms=1500, session_ms=10)
nonce = b.challenge(0)
ok(b.respond(answer(nonce), 0) == CLINICIAN and b.role(9) == CLINICIAN and b.role(10) == PATIENT, "short session")
b.challenge(20)
fails(E_AUTH, b.respond, answer(b.challenge(21), DEV_KEY), 22)
b.challenge(23)
m = fails(E_LOCKOUT, b.respond, "00" * 32, 24)
ok(m == "wrong answer (2 of 2 failures): locked out for 2s", m)
ok(b.challenge(24 + 1500) != "", "lockout of 1500 ms")
# no key, short key, bad random source
m = fails(E_AUTH, Auth(None, rnd).challenge, 0)
ok(m.startswith("no device key"), m)
fails(E_AUTH, Auth(b"short", rnd).challenge, 0)
fails(E_AUTH, Auth(None, rnd).respond, "00" * 32, 0)
fails(E_AUTH, Auth(KEY, lambda n: b"\x00" * (n - 1)).challenge, 0)
# the development key works like any other
d = Auth(DEV_KEY, rnd)
ok(d.respond(answer(d.challenge(0), DEV_KEY), 1) == CLINICIAN, "DEV_KEY")
# the key is in no message and no repr
hidden = (hexlify(KEY).decode(), hexlify(KEY).decode().upper(), repr(KEY), "%r" % (KEY[:8],))
for text in messages + [repr(a), repr(b)]:
    for secret in hidden:
        ok(secret not in text, "key shown in %r" % text)
ok("hidden" in repr(a), repr(a))

print("OK", checks)
