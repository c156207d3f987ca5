"""Host side of clinician authentication (see firmware/lib/picostim/auth.py).

The board answers LOGIN with a nonce; the physician programmer proves it
holds the device key by sending AUTH <HMAC-SHA256(key, nonce bytes) in hex>.

    key = load_key("clinic/board-7.key")    # or load_key(None): the development key
    programmer.send("AUTH " + response(key, nonce_hex))

Key files hold 64 hex digits (32 bytes) and a newline; `new_key()` makes one.
The key itself is never put in an error message.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

KEY_BYTES = 32

# Same value as firmware/lib/picostim/auth.py DEV_KEY: the public development key of
# the virtual board and of boards that have not been deployed with their own.
DEV_KEY = hashlib.sha256(b"picostim development key - not secret").digest()


def response(key: bytes, nonce_hex: str) -> str:
    """The answer to a LOGIN challenge: HMAC-SHA256(key, nonce bytes) as 64 hex digits."""
    try:
        nonce = bytes.fromhex(nonce_hex.strip())
    except ValueError:
        raise ValueError(f"nonce must be hex digits, got {nonce_hex!r}") from None
    return hmac.new(key, nonce, hashlib.sha256).hexdigest()


def load_key(path: str | os.PathLike[str] | None) -> bytes:
    """The device key from a file of 64 hex digits; None -> the development key."""
    if path is None:
        return DEV_KEY
    with open(path, encoding="ascii", errors="replace") as f:
        text = f.read().strip()
    if len(text) != 2 * KEY_BYTES or any(c not in "0123456789abcdefABCDEF" for c in text):
        raise ValueError(f"key file {os.fspath(path)}: expected {2 * KEY_BYTES} hex digits")
    return bytes.fromhex(text)


def new_key() -> str:
    """A fresh random device key as 64 hex digits (for /device.key and the clinic's copy)."""
    return secrets.token_hex(KEY_BYTES)
