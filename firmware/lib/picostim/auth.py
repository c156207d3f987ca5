"""Clinician authentication: challenge-response with HMAC-SHA256 over a
per-device key.

Pure logic except the injected random source; runs under MicroPython and
CPython. The caller supplies now_ms, a non-wrapping integer millisecond clock.

    auth = Auth(key, os.urandom)
    nonce_hex = auth.challenge(now_ms)        # LOGIN -> "nonce=<32 hex digits>"
    auth.respond(mac_hex, now_ms)             # AUTH <hex HMAC-SHA256(key, nonce bytes)>
    auth.role(now_ms)                         # "patient" or "clinician"
    auth.touch(now_ms)                        # on each clinician command
    auth.logout()

A challenge is good for one answer: the nonce is consumed by any attempt,
right or wrong, so an answer cannot be replayed; a new challenge replaces the
previous one. After max_failures wrong answers in a row, LOGIN and AUTH are
refused for lockout_ms. A clinician session ends session_ms after the last
clinician command. The key never appears in a message or a repr.

A board without a usable key (None, or shorter than 16 bytes) grants no
clinician role: LOGIN is refused.
"""

import hashlib
from binascii import hexlify, unhexlify

from .stim_program import StimError

E_AUTH = "AUTH"  # wrong answer, no challenge, no key
E_LOCKOUT = "LOCKOUT"  # too many wrong answers: wait

PATIENT = "patient"
CLINICIAN = "clinician"
NONCE_BYTES = 16
MIN_KEY_BYTES = 16

# The development key of the virtual board: the 32 bytes of
# sha256(b"picostim development key - not secret"). It is public (it is in
# this file); every real board gets its own random key at deploy
# (/device.key, 64 hex digits), which the clinic's programmer keeps. A board
# without /device.key grants no clinician role.
DEV_KEY = hashlib.sha256(b"picostim development key - not secret").digest()

_BLOCK = 64  # SHA-256 block size in bytes


def hmac_sha256(key, message):
    """HMAC-SHA256 (RFC 2104): H((K ^ opad) || H((K ^ ipad) || message)).
    MicroPython has hashlib.sha256 but no hmac module."""
    key = bytes(key)
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    inner_pad = bytearray(_BLOCK)
    outer_pad = bytearray(_BLOCK)
    for i in range(_BLOCK):
        b = key[i] if i < len(key) else 0
        inner_pad[i] = b ^ 0x36
        outer_pad[i] = b ^ 0x5C
    inner = hashlib.sha256(bytes(inner_pad))
    inner.update(bytes(message))
    outer = hashlib.sha256(bytes(outer_pad))
    outer.update(inner.digest())
    return outer.digest()


def equal(a, b):
    """Compare two byte strings in time that depends only on their lengths."""
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0


_HEX = "0123456789abcdefABCDEF"


def _parse_mac(text):
    """64 hex digits -> 32 bytes, or None."""
    if not isinstance(text, str) or len(text) != 64:
        return None
    for c in text:
        if c not in _HEX:
            return None
    return unhexlify(text)


class Auth:
    def __init__(self, key, random_bytes, max_failures=5, lockout_ms=60000, session_ms=900000):
        if key is None:
            self._key = None
            self._no_key = "no device key: clinician login is disabled until one is deployed"
        elif len(key) < MIN_KEY_BYTES:
            self._key = None
            self._no_key = "device key shorter than %d bytes: clinician login is disabled" % MIN_KEY_BYTES
        else:
            self._key = bytes(key)
            self._no_key = ""
        self._random = random_bytes
        self.max_failures = max_failures
        self.lockout_ms = lockout_ms
        self.session_ms = session_ms
        self._nonce = None  # pending challenge (bytes), single use
        self._failures = 0  # consecutive wrong answers
        self._locked_until = None  # ms
        self._session_until = None  # ms; None: no clinician session

    def __repr__(self):
        return "Auth(key=%s, failures=%d, locked_until=%r, session_until=%r)" % (
            "<hidden>" if self._key is not None else "none",
            self._failures,
            self._locked_until,
            self._session_until,
        )

    # -- login -------------------------------------------------------------------

    def challenge(self, now_ms):
        """A fresh nonce as 32 hex digits; replaces any pending one."""
        self._check_lockout(now_ms)
        if self._key is None:
            raise StimError(E_AUTH, self._no_key)
        nonce = bytes(self._random(NONCE_BYTES))
        if len(nonce) != NONCE_BYTES:
            raise StimError(E_AUTH, "random source gave %d bytes, not %d" % (len(nonce), NONCE_BYTES))
        self._nonce = nonce
        return hexlify(nonce).decode()

    def respond(self, mac_hex, now_ms):
        """Grant the clinician role if mac_hex is HMAC-SHA256(key, nonce) of the
        pending challenge; returns the role. The challenge is used up either way."""
        self._check_lockout(now_ms)
        nonce = self._nonce
        if nonce is None or self._key is None:
            raise StimError(E_AUTH, "no challenge: send LOGIN first")
        self._nonce = None
        answer = _parse_mac(mac_hex)
        expected = hmac_sha256(self._key, nonce)
        if answer is not None and equal(answer, expected):
            self._failures = 0
            self._session_until = now_ms + self.session_ms
            return CLINICIAN
        self._failures += 1
        what = "wrong answer" if answer is not None else "wrong answer: expected 64 hex digits"
        if self._failures >= self.max_failures:
            failures = self._failures
            self._failures = 0
            self._locked_until = now_ms + self.lockout_ms
            raise StimError(
                E_LOCKOUT,
                "%s (%d of %d failures): locked out for %ds"
                % (what, failures, self.max_failures, _seconds(self.lockout_ms)),
            )
        raise StimError(E_AUTH, "%s (%d of %d failures)" % (what, self._failures, self.max_failures))

    def _check_lockout(self, now_ms):
        if self._locked_until is None:
            return
        left = self._locked_until - now_ms
        if left > 0:
            raise StimError(E_LOCKOUT, "too many wrong answers: try again in %ds" % _seconds(left))
        self._locked_until = None

    # -- session -----------------------------------------------------------------

    def has_key(self):
        """True when a usable device key is provisioned."""
        return self._key is not None

    def role(self, now_ms):
        if self._session_until is not None and now_ms < self._session_until:
            return CLINICIAN
        self._session_until = None
        return PATIENT

    def touch(self, now_ms):
        """Extend a live clinician session (call on each clinician command)."""
        if self.role(now_ms) == CLINICIAN:
            self._session_until = now_ms + self.session_ms

    def logout(self):
        """Back to the patient role; a pending challenge is dropped. The count of
        wrong answers stays, so logging out does not reset the lockout."""
        self._session_until = None
        self._nonce = None

    def failures(self):
        return self._failures


def _seconds(ms):
    return (ms + 999) // 1000
