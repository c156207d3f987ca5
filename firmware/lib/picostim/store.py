"""An atomic, checked record file on flash (pure; MicroPython and CPython).

    store = Store(os, "/settings")          # os: rename, remove, stat (and sync if present)
    generation = store.save(body, version)  # body: bytes; version: the body's schema version
    body, version, fault = store.load()     # newest valid generation, or (None, 0, fault)
    value, version, fault = store.load(json.load)  # the body parsed as it is read from the file

Files: `path` (the current generation), `path.bak` (the one before it) and
`path.tmp` (a save in progress, never read back). Each holds a header

    magic b"PSTR" | version u16 | generation u32 | length u32 | crc u32   (little-endian, 18 bytes)

then `length` bytes of body; crc is the CRC-32 of the header's first 14
bytes and the body, so a flipped bit anywhere, a short or over-long file
is refused.

A save writes the new generation to path.tmp and reads it back, then moves
the current file to path.bak (only if it is valid: a corrupt file must not
push out the last good one), then renames path.tmp to path. No rename has an
existing target (each target is removed first), so only the rename itself
has to be atomic (littlefs, POSIX). A power cut at any point leaves the old
generation or the new one as the newest valid file among path and path.bak;
path.tmp only ever holds a save that has not finished and is not a candidate.

Faults (load): None when the newest generation is intact, or when nothing
was ever saved (first boot: the caller keeps its defaults), or when a save
was cut before its last rename (path.bak is the current generation then).
E_CORRUPT when path is present but unreadable or invalid (load then falls
back to path.bak), or when no valid generation is left although a file is.
"""

import binascii
import io
import struct

E_CORRUPT = "SETTINGS_CORRUPT"  # stable code: a record file is present but damaged

MAGIC = b"PSTR"
_HEAD = "<4sHII"  # magic, version, generation, length: covered by the crc
_HEADER = _HEAD + "I"
HEADER_SIZE = 18
MAX_BODY = 8192  # above the largest therapy record (about 5.5 KB)
_PIECE = 256  # bytes read at a time when only checking a file

_native_crc32 = getattr(binascii, "crc32", None)  # a build option on MicroPython ports
# CRC-32 (IEEE, reflected) of a nibble, for the fallback: 16 words, not 256
_NIBBLE = (
    0x00000000,
    0x1DB71064,
    0x3B6E20C8,
    0x26D930AC,
    0x76DC4190,
    0x6B6B51F4,
    0x4DB26158,
    0x5005713C,
    0xEDB88320,
    0xF00F9344,
    0xD6D6A3E8,
    0xCB61B38C,
    0x9B64C2B0,
    0x86D3D2D4,
    0xA00AE278,
    0xBDBDF21C,
)


def crc32_pure(data, crc=0):
    """binascii.crc32 for ports built without it."""
    crc ^= 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        crc = (crc >> 4) ^ _NIBBLE[crc & 15]
        crc = (crc >> 4) ^ _NIBBLE[crc & 15]
    return crc ^ 0xFFFFFFFF


def crc32(data, crc=0):
    if _native_crc32 is not None:
        return _native_crc32(data, crc) & 0xFFFFFFFF
    return crc32_pure(data, crc)


def pack(body, version, generation):
    """Header + body as one file's bytes."""
    head = struct.pack(_HEAD, MAGIC, version, generation, len(body))
    return head + struct.pack("<I", crc32(body, crc32(head))) + body


def unpack(data):
    """(generation, version, body) of a file's bytes, or None unless intact."""
    return _check(io.BytesIO(data), len(data), True)


def _check(f, size, keep, piece=None):
    """(generation, version, body) of an open record file of `size` bytes, or
    None unless intact. Without `keep` the body is checked in small pieces
    (of `piece`, a memoryview of a buffer kept for that) and not kept (body
    None): a save needs no large block of the heap."""
    head = f.read(HEADER_SIZE)
    if len(head) != HEADER_SIZE:
        return None
    magic, version, generation, length, crc = struct.unpack(_HEADER, head)
    if magic != MAGIC or length > MAX_BODY or size != HEADER_SIZE + length:
        return None
    check = crc32(memoryview(head)[: HEADER_SIZE - 4])
    body = None
    if keep:
        body = f.read(length)
        if len(body) != length:
            return None
        check = crc32(body, check)
    else:
        buf = piece if piece is not None else memoryview(bytearray(_PIECE))
        left = length
        while left:
            n = f.readinto(buf[: min(left, _PIECE)])
            if not n:
                return None
            check = crc32(buf[:n], check)
            left -= n
    return (generation, version, body) if check == crc else None


class Store:
    def __init__(self, fs, path, open_file=open):
        # Files open with `open_file`: the builtin open goes with the os module
        # (which has no open of its kind); a fake filesystem passes its own.
        self.fs = fs
        self.open = open_file
        self.path = path
        self.bak = path + ".bak"
        self.tmp = path + ".tmp"
        self.generation = 0  # of the last load or save; 0: none
        self._piece = memoryview(bytearray(_PIECE))  # once: every save checks files through it

    def load(self, parse=None):
        """(body, version, fault) of the newest valid generation; (None, 0, fault) if none.
        With `parse`, body is parse(file) of the file positioned at the body,
        once its crc has been checked in small pieces: the body is never held
        whole, so loading needs no block of its size (see _parse)."""
        keep = parse is None
        main = self._read(self.path, keep)
        bak = self._read(self.bak, keep)
        best = _newest(main, bak)
        fault = None
        if main is False or (best is None and bak is False):
            fault = E_CORRUPT
        if best is None:
            self.generation = 0
            return None, 0, fault
        self.generation = best[0]
        body = best[2] if keep else self._parse(self.path if best is main else self.bak, parse)
        return body, best[1], fault

    def _parse(self, path, parse):
        f = self.open(path, "rb")
        try:
            f.read(HEADER_SIZE)  # checked by _read
            if self.open is not open:  # a test's fake file, which MicroPython's json cannot read from
                return parse(io.BytesIO(f.read()))
            return parse(f)
        finally:
            f.close()

    def save(self, body, version):
        """Write `body` (bytes, or a list of bytes written one after the
        other: no large block of the heap needed) as the next generation;
        returns its number. OSError from the filesystem passes through (the
        previous generation stays)."""
        parts = (body,) if isinstance(body, (bytes, bytearray)) else body
        length = 0
        for part in parts:
            length += len(part)
        if length > MAX_BODY:
            raise ValueError("record of %d bytes, at most %d" % (length, MAX_BODY))
        main = self._read(self.path, False)
        bak = self._read(self.bak, False)
        best = _newest(main, bak)
        generation = best[0] + 1 if best else 1
        head = struct.pack(_HEAD, MAGIC, version, generation, length)
        crc = crc32(head)
        for part in parts:
            crc = crc32(part, crc)
        f = self.open(self.tmp, "wb")
        try:
            f.write(head)
            f.write(struct.pack("<I", crc))
            for part in parts:
                f.write(part)
        finally:
            f.close()
        self._sync()
        if not self._read(self.tmp, False):  # read back: a short or failed write must not replace anything
            raise OSError(5)
        if main:
            if bak is not None:
                self.fs.remove(self.bak)
            self.fs.rename(self.path, self.bak)
        elif main is False:
            self.fs.remove(self.path)  # corrupt: path.bak keeps the last good generation
        self.fs.rename(self.tmp, self.path)
        self._sync()
        self.generation = generation
        return generation

    def _read(self, path, keep=True):
        """None: no such file; False: present but unreadable or invalid; else _check's tuple."""
        try:
            size = self.fs.stat(path)[6]
        except OSError as err:
            return None if err.args and err.args[0] == 2 else False  # ENOENT: no such file
        try:
            f = self.open(path, "rb")
            try:
                return _check(f, size, keep, self._piece) or False
            finally:
                f.close()
        except OSError:
            return False

    def _sync(self):
        sync = getattr(self.fs, "sync", None)
        if sync is not None:
            sync()


def _newest(*entries):
    best = None
    for entry in entries:
        if entry and (best is None or entry[0] > best[0]):
            best = entry
    return best
