"""Therapy and event log: a bounded ring of fixed-size records in one
preallocated file on flash that survives restarts (pure; MicroPython and
CPython; the filesystem is passed in).

    log = EventLog(None, "/events.log")      # None: the board's own filesystem
    seq = log.append("AMP", "patient", "amp=2600uA", now_ms)
    records, next_seq = log.page(since=1, limit=16)
    for seq, boot, uptime_ms, kind, role, detail in records: ...
    log.last_seq, log.boot, log.capacity

There is no real-time clock: a record carries the number of the boot that
wrote it and the ms since that boot, so two records compare by (boot,
uptime_ms), and across boots by seq. The sequence number grows by one per
record and carries on across restarts (the highest valid one found at open).
The boot number is one more than the highest found at open; a boot that
logged nothing leaves no number behind.

File: `capacity` records of RECORD bytes, written zero-filled when the log is
first opened (so the log never grows). The record with sequence number s
lives in slot (s - 1) % capacity: when the ring is full, each new record
replaces the oldest. A record (little-endian):

    offset size
     0     4    seq        1, 2, ...
     4     4    boot       the boot that wrote it, 1, 2, ...
     8     8    uptime_ms  ms since that boot
    16     1    format     1
    17     1    role       'p' patient, 'c' clinician, 'd' device
    18     1    n          bytes of detail used, 0..DETAIL
    19     1    0
    20    12    kind       ASCII, NUL-padded: ON, OFF, AMP, ...
    32    92    detail     ASCII, n bytes used, NUL-padded
   124     4    crc32      of bytes 0..123 (CRC-32 as zlib and binascii compute it)

A write cut short (power lost mid-record) leaves a record whose CRC does not
match: it is skipped when read, and the next record goes to the same slot
with the same sequence number. A write that fails (flash full, I/O error)
raises LogError(E_LOG_WRITE): the caller decides what it means; the log stays
usable and the next append tries again.

With `hold=n`, append keeps up to n records in RAM (packed, in one buffer
allocated at open) and writes them together at `flush()`, or when the next
record does not fit: one flash write for many records, off the answer path
of the commands that made them. Held records read like written ones; a power
cut loses them. A failed flush drops them (`dropped` says how many).
"""

import binascii
import os
import struct

from .stim_program import StimError

E_LOG_OPEN = "LOG_OPEN"  # the log file cannot be opened or preallocated
E_LOG_WRITE = "LOG_WRITE"  # a record could not be written (e.g. flash full)
E_LOG_READ = "LOG_READ"  # the log file cannot be read

RECORD = 128
KIND = 12
DETAIL = 92
FORMAT = 1
ROLES = ("patient", "clinician", "device")  # stored as their first letter; any other role as device
_HEADER = "<IIQBBBB"  # seq, boot, uptime_ms, format, role, n, 0
_KIND_AT = 20
_DETAIL_AT = 32
_CRC_AT = 124
_BLANK = bytes(RECORD)  # a record's fields start NUL-padded


def crc32_bits(data):
    """CRC-32 as binascii.crc32, for ports built without it."""
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0xEDB88320 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


_crc32 = getattr(binascii, "crc32", None) or crc32_bits


class LogError(StimError):
    """A flash operation of the log failed; code is E_LOG_OPEN/WRITE/READ."""


def _why(error):
    number = error.args[0] if error.args else "?"
    return "errno %s%s" % (number, ", no space left on the flash" if number == 28 else "")


class EventLog:
    def __init__(self, fs, path, capacity=256, hold=0):
        self.fs = fs  # open(path, mode) and stat(path); None: the board's own (open, os.stat)
        self.path = path
        self.capacity = capacity
        self.last_seq = 0  # 0: no record yet
        self.boot = 1
        self.pending = 0  # records held in RAM, not yet on flash
        self.dropped = 0  # records the last failed write lost
        self._buf = bytearray(RECORD)
        self._body = memoryview(self._buf)[:_CRC_AT]
        self._file = None
        try:
            self._prepare()
            self._scan()
        except OSError as e:
            self.close()
            raise LogError(E_LOG_OPEN, "cannot open the event log %s (%s)" % (path, _why(e))) from None
        # allocated once, at boot: no block of this size to find on a fragmented heap later
        self._held = memoryview(bytearray(min(hold, self.capacity) * RECORD))

    # -- file ----------------------------------------------------------------------------
    def _open(self, mode):
        return self.fs.open(self.path, mode) if self.fs else open(self.path, mode)

    def _prepare(self):
        """Make the file hold at least `capacity` records; a larger one keeps its size."""
        try:
            size = (self.fs or os).stat(self.path)[6]
        except OSError:
            size = -1
        have = size // RECORD if size > 0 else 0
        if have >= self.capacity:
            self.capacity = have
            return
        f = self._open("wb" if size < 0 else "r+b")
        try:
            f.seek(have * RECORD)  # a partial record at the end is overwritten
            buf = self._buf
            for i in range(RECORD):
                buf[i] = 0
            for _ in range(have, self.capacity):
                _put(f, buf)
            f.flush()
        finally:
            f.close()

    def _handle(self):
        if self._file is None:
            self._file = self._open("r+b")
        return self._file

    def close(self):
        f = self._file
        self._file = None
        if f is not None:
            try:
                f.close()
            except OSError:
                pass

    def _scan(self):
        """The highest valid sequence number and boot number in the file."""
        f = self._handle()
        f.seek(0)
        last = 0
        boot = 0
        for _ in range(self.capacity):
            if f.readinto(self._buf) != RECORD:
                break
            if self._valid():
                seq, rec_boot = struct.unpack_from("<II", self._buf, 0)
                last = max(last, seq)
                boot = max(boot, rec_boot)
        self.last_seq = last
        self.boot = boot + 1

    def _valid(self):
        buf = self._buf
        crc = _crc32(self._body) & 0xFFFFFFFF
        return buf[16] == FORMAT and buf[18] <= DETAIL and struct.unpack_from("<I", buf, _CRC_AT)[0] == crc

    # -- writing -------------------------------------------------------------------------
    def append(self, kind, role, detail, now_ms):
        """Add one record; returns its sequence number. Without room to hold
        it, it is written at once, with the held ones: raises LogError
        (E_LOG_WRITE) when that write fails; nothing is counted then."""
        if (self.pending + 1) * RECORD > len(self._held):
            try:
                self.flush()
            except LogError:
                self.dropped += 1  # this record too
                raise
        seq = self.last_seq + 1
        buf = self._buf
        buf[:] = _BLANK
        n = _text(buf, _DETAIL_AT, DETAIL, detail, False)
        _text(buf, _KIND_AT, KIND, kind or "_", True)
        code = ord(role[0]) if role in ROLES else 0x64
        struct.pack_into(_HEADER, buf, 0, seq, self.boot, max(0, now_ms), FORMAT, code, n, 0)
        struct.pack_into("<I", buf, _CRC_AT, _crc32(self._body) & 0xFFFFFFFF)
        self.last_seq = seq
        if len(self._held):
            self._held[self.pending * RECORD : (self.pending + 1) * RECORD] = buf
            self.pending += 1
            return seq
        self._write(seq, (buf,))
        return seq

    def flush(self):
        """Write the held records (one flush of the file). Raises LogError
        (E_LOG_WRITE) when it fails: they are dropped and not counted."""
        count = self.pending
        if not count:
            return
        self.pending = 0
        first = self.last_seq - count + 1
        held = self._held
        # the records up to the ring's end, then the rest from its start: at most two writes
        split = min(count, self.capacity - (first - 1) % self.capacity)
        self._write(first, (held[: split * RECORD], held[split * RECORD : count * RECORD]))

    def _write(self, first, parts):
        try:
            f = self._handle()
            f.seek(((first - 1) % self.capacity) * RECORD)
            for part in parts:
                if len(part):
                    _put(f, part)
                    f.seek(0)  # a second part starts the ring again
            f.flush()
        except OSError as e:
            self.close()  # the next write opens the file again
            self.dropped = self.last_seq - first + 1
            self.last_seq = first - 1
            raise LogError(E_LOG_WRITE, "event log record %d not written (%s)" % (first, _why(e))) from None
        self.dropped = 0

    # -- reading -------------------------------------------------------------------------
    def page(self, since=1, limit=16):
        """([(seq, boot, uptime_ms, kind, role, detail), ...], next_seq): the
        valid records with seq >= since, oldest first, at most `limit`;
        next_seq is where the following page starts."""
        last = self.last_seq
        seq = max(since, last - self.capacity + 1, 1)
        out = []  # type: list
        try:
            while seq <= last and len(out) < limit:
                record = self._read(seq)
                if record is not None:
                    out.append(record)
                seq += 1
        except OSError as e:
            self.close()
            raise LogError(E_LOG_READ, "cannot read the event log (%s)" % _why(e)) from None
        if len(out) < limit:
            seq = max(since, last + 1)
        return out, seq

    def records(self, since=1, limit=None):
        """Every valid record from `since` (at most `limit`), oldest first."""
        out = []  # type: list
        while limit is None or len(out) < limit:
            want = 16 if limit is None else min(16, limit - len(out))
            got, since = self.page(since, want)
            out.extend(got)
            if len(got) < want:
                break
        return out

    def _read(self, seq):
        buf = self._buf
        held = seq - (self.last_seq - self.pending) - 1  # its place among the held records, or < 0
        if held >= 0:
            buf[:] = self._held[held * RECORD : (held + 1) * RECORD]
        else:
            f = self._handle()
            f.seek(((seq - 1) % self.capacity) * RECORD)
            if f.readinto(buf) != RECORD:
                return None
        if not self._valid():
            return None
        got, boot, ms, _, code, n, _ = struct.unpack_from(_HEADER, buf, 0)
        if got != seq:
            return None
        end = _KIND_AT
        while end < _DETAIL_AT and buf[end]:
            end += 1
        role = ROLES[2]
        for name in ROLES:
            if ord(name[0]) == code:
                role = name
        kind = bytes(buf[_KIND_AT:end]).decode()
        return (seq, boot, ms, kind, role, bytes(buf[_DETAIL_AT : _DETAIL_AT + n]).decode())


def _put(f, data):
    n = f.write(data)
    if n is not None and n != len(data):
        raise OSError(28)


def _text(buf, start, size, text, kind):
    """ASCII of `text` into buf[start:start+size], which holds NULs; returns the
    bytes used. A detail: non-printable bytes and '|' become '?', a text too
    long ends in '~', trailing blanks go. A kind: upper case, A-Z 0-9 and '_'
    (any other byte becomes '_'), cut to size. Copied by a slice and checked
    byte by byte up to its length only: a record is made on the answer path,
    and a Python loop over the whole field costs a Pico milliseconds."""
    data = (text.upper() if kind else text).encode() if text else b""
    n = min(len(data), size)
    end = start + n
    buf[start:end] = data if n == len(data) else memoryview(data)[:n]
    for i in range(start, end):
        b = buf[i]
        if kind:
            if not (0x41 <= b <= 0x5A or 0x30 <= b <= 0x39):
                buf[i] = 0x5F
        elif b < 0x20 or b > 0x7E or b == 0x7C:
            buf[i] = 0x3F
    if len(data) > size and not kind:
        buf[start + size - 1] = 0x7E
    while n and buf[start + n - 1] == 0x20 and not kind:
        n -= 1
        buf[start + n] = 0
    return n
