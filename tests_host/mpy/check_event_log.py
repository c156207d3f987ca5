# The event log (event_log.py) under MicroPython (and CPython): run as a
# script from firmware/lib. Prints "OK <count>" when every check passes;
# raises otherwise.
import sys

sys.path.insert(0, ".")  # run from firmware/lib
import binascii
import gc

from memory_fs import MemoryFS  # noqa: E402  (tests_host/mpy, the script's own folder)
from picostim import event_log
from picostim.event_log import (
    DETAIL,
    E_LOG_OPEN,
    E_LOG_READ,
    E_LOG_WRITE,
    RECORD,
    EventLog,
    LogError,
)

PATH = "/events.log"
checks = 0


def ok(condition, what):
    global checks
    if not condition:
        raise AssertionError(what)
    checks += 1


def eq(got, want, what):
    ok(got == want, "%s: got %r, want %r" % (what, got, want))


def raises(code, fn, *args):
    """fn(*args) raises LogError(code); returns its message."""
    global checks
    try:
        fn(*args)
    except LogError as e:
        got = e
    else:
        raise AssertionError("%r: no LogError %s" % (args, code))
    if got.code != code:
        raise AssertionError("%r: expected %s, got %s %s" % (args, code, got.code, got.message))
    checks += 1
    return got.message


def fill(log, count, start_ms=0):
    """Append `count` records; returns what each should read back as."""
    out = []
    for i in range(count):
        role = ("patient", "clinician", "device")[i % 3]
        detail = "amp=%duA" % (100 * i)
        seq = log.append("AMP", role, detail, start_ms + i)
        out.append((seq, log.boot, start_ms + i, "AMP", role, detail))
    return out


# ---- a fresh log: one preallocated file ---------------------------------------

fs = MemoryFS()
log = EventLog(fs, PATH)
eq(log.capacity, 256, "default capacity")
eq(len(fs.files[PATH]), 256 * RECORD, "the file is preallocated")
eq(log.last_seq, 0, "no record yet")
eq(log.boot, 1, "first boot")
eq(log.page(1, 16), ([], 1), "empty page")
eq(log.records(), [], "no records")

eq(log.append("BOOT", "device", "fw=0.4.0", 0), 1, "first seq")
eq(log.append("ON", "patient", "", 1234), 2, "second seq")
eq(log.append("SET", "clinician", "amp=2500uA rate=60Hz cathodes=1,2", 2**40), 3, "third seq")
eq(len(fs.files[PATH]), 256 * RECORD, "appending never grows the file")
want = [
    (1, 1, 0, "BOOT", "device", "fw=0.4.0"),
    (2, 1, 1234, "ON", "patient", ""),
    (3, 1, 2**40, "SET", "clinician", "amp=2500uA rate=60Hz cathodes=1,2"),
]
eq(log.records(), want, "records read back")
eq(log.page(2, 1), ([want[1]], 3), "a page of one: next is the following seq")
eq(log.page(2, 16), (want[1:], 4), "to the end: next is last + 1")
eq(log.page(9, 16), ([], 9), "past the end: next is where it was asked")
eq(log.page(0, 16)[0], want, "since 0 reads from the oldest")
eq(log.records(2, 1), [want[1]], "records with a limit")

# ---- restarts: seq carries on, the boot number grows ------------------------------

log = EventLog(fs, PATH)
eq(log.last_seq, 3, "re-open finds the highest seq")
eq(log.boot, 2, "re-open: next boot")
eq(log.append("BOOT", "device", "", 5), 4, "seq carries on across a restart")
eq(log.records(4)[0][1], 2, "the record carries the new boot number")
log = EventLog(fs, PATH)
eq(log.boot, 3, "third boot")
log = EventLog(fs, PATH)
eq(log.boot, 3, "a boot that logged nothing leaves no number behind")
eq(len(log.records()), 4, "all records survive restarts")

# ---- the ring: the oldest record goes -------------------------------------------

fs = MemoryFS()
log = EventLog(fs, PATH, capacity=8)
eq(len(fs.files[PATH]), 8 * RECORD, "capacity 8")
written = fill(log, 20)
eq(log.last_seq, 20, "20 appended")
eq(log.records(), written[12:], "a full ring holds the newest 8")
eq(len(fs.files[PATH]), 8 * RECORD, "the ring never grows")
eq(log.page(1, 3), (written[12:15], 16), "reading from before the oldest starts at the oldest")
log = EventLog(fs, PATH, capacity=8)
eq(log.last_seq, 20, "re-open after wrapping")
written += fill(log, 3, 100)
eq(log.records(), written[15:], "wrapping carries on after a restart")
eq([r[1] for r in log.records()], [1] * 5 + [2] * 3, "boot numbers across the restart")

big = EventLog(fs, PATH, capacity=4)
eq(big.capacity, 8, "a file larger than asked keeps its size")
eq(big.records(), written[15:], "and its records")

# ---- CRC: a damaged record is skipped, never returned ---------------------------------

fs = MemoryFS()
log = EventLog(fs, PATH, capacity=8)
written = fill(log, 5)
fs.files[PATH][2 * RECORD + 40] ^= 0x01  # a bit of seq 3's detail
log = EventLog(fs, PATH, capacity=8)
eq(log.records(), written[:2] + written[3:], "the damaged record is skipped")
eq(log.last_seq, 5, "a damaged older record does not change the last seq")
fs.files[PATH][4 * RECORD] ^= 0x80  # seq 5 itself
log = EventLog(fs, PATH, capacity=8)
eq(log.last_seq, 4, "the newest record damaged: the seq before it is the last")
eq(log.append("ON", "patient", "", 9), 5, "its seq is used again")
for i in range(RECORD):
    fs.files[PATH][7 * RECORD + i] = 0xFF  # erased flash
eq(EventLog(fs, PATH, capacity=8).last_seq, 5, "an erased (0xFF) slot is no record")

# ---- a write cut at every byte: re-open recovers -----------------------------------

for keep in range(RECORD + 1):
    fs = MemoryFS()
    log = EventLog(fs, PATH, capacity=4)
    written = fill(log, 6)  # seq 3..6 in the ring; seq 7 goes where seq 3 is
    fs.cut_next_write(keep)
    raises(E_LOG_WRITE, log.append, "STOP", "patient", "reason=command", 99)
    ok(log.last_seq == 6, "cut at %d: the failed record is not counted" % keep)
    after = EventLog(fs, PATH, capacity=4)
    if keep == RECORD:  # the whole record reached the flash before the failure
        expect = written[3:] + [(7, 1, 99, "STOP", "patient", "reason=command")]
    elif keep == 0:  # nothing reached it: the oldest record is still whole
        expect = written[2:]
    else:  # the oldest record is half overwritten: gone, and no garbage
        expect = written[3:]
    got = after.records()
    ok(got == expect, "cut at %d: %r, want %r" % (keep, got, expect))
    ok(after.last_seq == expect[-1][0], "cut at %d: last seq %d" % (keep, after.last_seq))
    ok(after.boot == 2, "cut at %d: next boot" % keep)
    seq = after.append("ON", "patient", "", 5)
    ok(seq == expect[-1][0] + 1, "cut at %d: seq carries on" % keep)
    ok(after.records()[-1] == (seq, 2, 5, "ON", "patient", ""), "cut at %d: the next record" % keep)
    ok(log.append("OFF", "patient", "", 100) == 7, "cut at %d: the same log writes again" % keep)

# ---- flash full: a clear error, the log stays usable ------------------------------------

fs = MemoryFS()
log = EventLog(fs, PATH, capacity=8)
fill(log, 2)
fs.fail_writes = 28
message = raises(E_LOG_WRITE, log.append, "AMP", "patient", "amp=100uA", 7)
ok("no space" in message and "28" in message, "ENOSPC named: %r" % message)
eq(log.last_seq, 2, "nothing counted")
raises(E_LOG_WRITE, log.append, "AMP", "patient", "amp=100uA", 8)
fs.fail_writes = None
eq(log.append("AMP", "patient", "amp=200uA", 9), 3, "writes again once there is room")
eq(len(log.records()), 3, "no record lost before the failure")
fs.fail_writes = 5
ok("errno 5" in raises(E_LOG_WRITE, log.append, "AMP", "patient", "", 10), "the errno named")

fs = MemoryFS(limit=1000)
message = raises(E_LOG_OPEN, EventLog, fs, PATH, 32)
ok(PATH in message and "no space" in message, "open refused: %r" % message)
fs.limit = None
log = EventLog(fs, PATH, 32)
eq(len(fs.files[PATH]), 32 * RECORD, "preallocation finished at the next open")
eq(log.last_seq, 0, "and the log is empty")


class Unreadable(MemoryFS):
    def open(self, path, mode):
        f = MemoryFS.open(self, path, mode)
        if self.broken:
            f.readinto = self._fail
        return f

    def _fail(self, buf):
        raise OSError(5)


fs = Unreadable()
fs.broken = False
log = EventLog(fs, PATH, capacity=8)
fill(log, 2)
log.close()
fs.broken = True
raises(E_LOG_READ, log.page, 1, 16)
fs.broken = False
eq(len(log.records()), 2, "reads again")
fs.broken = True
raises(E_LOG_OPEN, EventLog, fs, PATH, 8)

# ---- text fields -----------------------------------------------------------------

fs = MemoryFS()
log = EventLog(fs, PATH, capacity=8)
log.append("SET", "clinician", "x" * 100, 0)
detail = log.records()[-1][5]
eq(len(detail), DETAIL, "a long detail is cut to fit")
eq(detail, "x" * (DETAIL - 1) + "~", "and marked")
log.append("SET", "clinician", "y" * DETAIL, 0)
eq(log.records()[-1][5], "y" * DETAIL, "a detail that fits exactly is whole")
log.append("GROUP", "clinician", "a|b\tc\x7fd\u00e9\x00", 0)
eq(log.records()[-1][5], "a?b?c?d???", "'|', control and non-ASCII bytes become '?'")
log.append("OFF", "patient", "  -  ", 0)
eq(log.records()[-1][5], "  -", "trailing blanks dropped")
log.append("login_fail", "nobody", None, 0)
eq(log.records()[-1][3:], ("LOGIN_FAIL", "device", ""), "kind upper-cased, unknown role, no detail")
log.append("A,B C|DEFGHIJKLMNOP", "patient", "", 0)
eq(log.records()[-1][3], "A_B_C_DEFGHI", "kind: 12 of [A-Z0-9_]")
log.append("", "patient", "", -5)
eq(log.records()[-1][2:4], (0, "_"), "no kind, a negative time")

# ---- the CRC without binascii.crc32 ------------------------------------------------

for data in (b"", b"123456789", bytes(range(92)), b"\xff" * 92):
    eq(event_log.crc32_bits(data), binascii.crc32(data) & 0xFFFFFFFF, "crc32 of %d bytes" % len(data))
eq(event_log.crc32_bits(b"123456789"), 0xCBF43926, "the CRC-32 check value")
fs = MemoryFS()
native = event_log._crc32
event_log._crc32 = event_log.crc32_bits
log = EventLog(fs, PATH, capacity=8)
written = fill(log, 3)
event_log._crc32 = native
eq(EventLog(fs, PATH, capacity=8).records(), written, "records written with either CRC read back with the other")

# ---- allocation per record (MicroPython) ------------------------------------------------


# ---- held records (hold=n): one write for many, read like written ones ---------------
fs = MemoryFS()
log = EventLog(fs, PATH, capacity=8, hold=3)
writes = fs.writes
eq([log.append("AMP", "patient", "amp=%duA" % (1000 + i), i) for i in range(3)], [1, 2, 3], "held seqs")
eq((fs.writes, log.pending), (writes, 3), "held: nothing written yet")
eq([r[5] for r in log.records()], ["amp=1000uA", "amp=1001uA", "amp=1002uA"], "held records read back")
eq(EventLog(fs, PATH, capacity=8).last_seq, 0, "a power cut loses the held records")
log.append("ON", "patient", "x", 3)  # no room: the three go first, in one write
eq((fs.writes - writes, log.pending), (1, 1), "three held records in one write")
log.flush()
eq(log.pending, 0, "flushed")
eq([r[0] for r in EventLog(fs, PATH, capacity=8).records()], [1, 2, 3, 4], "on flash after flush")
for i in range(5):  # seq 5..9: the ring wraps inside one flush (slots 5, 6, 7, then 0, 1)
    log.append("AMP", "patient", "wrap %d" % i, 10 + i)
    if log.pending == 3:
        log.flush()
log.flush()
after = EventLog(fs, PATH, capacity=8)
eq([(r[0], r[5]) for r in after.records()][-5:], [(5 + i, "wrap %d" % i) for i in range(5)], "wrapped flush")
eq(len(fs.files[PATH]), 8 * RECORD, "the file never grows")
log.append("OFF", "patient", "", 20)
fs.fail_writes = 28
raises(E_LOG_WRITE, log.flush)
eq((log.dropped, log.last_seq, log.pending), (1, 9, 0), "a failed flush drops the held, counts nothing")
for i in range(3):
    log.append("AMP", "patient", "lost %d" % i, 30 + i)
raises(E_LOG_WRITE, log.append, "ON", "patient", "", 40)
eq((log.dropped, log.last_seq), (4, 9), "no room, write failed: the held and the new one dropped")
fs.fail_writes = None
eq(log.append("ON", "patient", "", 41), 10, "writes again after the fault")
log.flush()
eq(EventLog(fs, PATH, capacity=8).last_seq, 10, "and reaches flash")
eq(len(EventLog(fs, PATH, capacity=4, hold=16)._held), 8 * RECORD, "hold: at most the capacity (the file's 8)")


class NullFile:
    def seek(self, offset):
        return offset

    def write(self, buf):
        return len(buf)

    def flush(self):
        pass

    def readinto(self, buf):
        return 0

    def close(self):
        pass


class NullFS:
    def __init__(self):
        self.file = NullFile()

    def stat(self, path):
        return (0, 0, 0, 0, 0, 0, 256 * RECORD, 0, 0, 0)

    def open(self, path, mode):
        return self.file


if hasattr(gc, "mem_alloc"):
    log = EventLog(NullFS(), PATH)
    detail = "amp=2500uA rate=60Hz"
    log.append("AMP", "patient", detail, 1)
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    for i in range(50):
        log.append("AMP", "patient", detail, 1000 + i)
    used = gc.mem_alloc() - before
    gc.enable()
    ok(used <= 50 * 96, "%d bytes allocated for 50 records" % used)

print("OK %d" % checks)
