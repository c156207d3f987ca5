# LineReader's terminal editing and echo under MicroPython (and CPython): run
# as a script from firmware/lib. Prints "OK <count>" when every check passes;
# raises otherwise. Framing, lengths and encoding: check_protocol.py.
import sys

sys.path.insert(0, ".")  # run from firmware/lib
from picostim.line_reader import E_EMPTY, E_ENCODING, E_LONG, LINE, LineReader

checks = 0


def eq(got, want, what):
    global checks
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))
    checks += 1


BS, DEL = b"\x08", b"\x7f"
ERASED = b"\x08 \x08"

# ---- erasing ----------------------------------------------------------------------
r = LineReader(16)
for erase in (BS, DEL):
    eq(r.feed(b"STATZ" + erase + b"US\r\n"), [(LINE, "STATUS")], "one byte erased")
    eq(r.feed(b"AB" + erase * 2 + b"HI\n"), [(LINE, "HI")], "every byte erased, then typed")
    eq(r.feed(erase * 5 + b"OK\n"), [(LINE, "OK")], "erase on an empty line does nothing")
    eq(r.feed(b"ON" + erase * 2 + b"\n"), [(E_EMPTY, "empty line")], "all erased: empty")
    eq(r.feed(b"ON\x1b" + erase + b"\n"), [(LINE, "ON")], "an erased bad byte spoils nothing")
    out = r.feed(b"O\x1bN" + erase + b"\n")
    eq(out, [(E_ENCODING, "byte 0x1b at column 2 is not printable ASCII")], "a bad byte left in the line")
    out = r.feed(b"\x00\x01" + erase + b"A\n")
    eq(out, [(E_ENCODING, "byte 0x00 at column 1 is not printable ASCII")], "the first bad byte stays")
    eq(r.feed(b"X" * 18 + erase * 2 + b"\n"), [(LINE, "X" * 16)], "an overlong line erased back to max_len")
    eq(r.feed(b"X" * 18 + erase + b"\n")[0][0], E_LONG, "one byte over max_len is still LONG")
    eq(r.feed(b"X" * 20 + erase * 6 + b"Y\n"), [(LINE, "X" * 14 + "Y")], "erased below max_len, typed again")
    r.feed(b"S" + erase)
    eq(r.partial(), False, "a line erased to nothing is not partial")
    eq(len(r._buf), 16, "the buffer is never grown")

# ---- echo ------------------------------------------------------------------------------
r = LineReader(16)
r.feed(b"STATUS\n")
eq(r.take_echo(), b"", "no echo by default")
r.echo = True
eq(r.feed(b"ST"), [], "partial line, echo on")
eq(r.take_echo(), b"ST", "typed bytes echoed at once")
eq(r.take_echo(), b"", "echo taken once")
eq(r.feed(b"AX" + DEL + b"T" + BS + b"TUS\r"), [(LINE, "STATUS")], "typed with corrections")
eq(r.take_echo(), b"AX" + ERASED + b"T" + ERASED + b"TUS\r\n", "each erase echoed as back, blank, back")
eq(r.feed(b"\n"), [], "the LF of CRLF")
eq(r.take_echo(), b"", "the LF of CRLF is no second newline")
r.feed(DEL * 3 + b"\n")
eq(r.take_echo(), b"\r\n", "an erase of nothing echoes nothing")
r.feed(b"A\tB\x1b[A\xc2\xb5\n")
eq(r.take_echo(), b"A B?[A??\r\n", "one column per byte: TAB a blank, ESC and UTF-8 bytes ?")
r.feed(b"\x03" + BS + b"\n")
eq(r.take_echo(), b"?" + ERASED + b"\r\n", "a bad byte shown as ? and erased")
r.echo = False
r.feed(b"HELLO\n")
eq(r.take_echo(), b"", "echo off again")

print("OK", checks)
