"""Bounded line assembly for the serial protocol (pure; MicroPython and CPython).

    reader = LineReader(max_len=128)
    for kind, text in reader.feed(b"HELLO\r\n"):
        ...  # kind is LINE (text: the command) or an error code (text: message)
    reader.echo = True          # for a person at a serial terminal (ECHO ON)
    link.write(reader.take_echo())

A line ends at CR, LF or CRLF. At most `max_len` bytes are kept: the rest of
an overlong line is dropped as it arrives, so memory never grows. Backspace
(0x08) and DEL (0x7f, what most terminals send for the Backspace key) erase
the line's last byte, so typing errors can be corrected before Enter. Any
other byte that is not printable ASCII makes the whole line an ENCODING
error. With `echo` on, what the line takes is echoed back for take_echo():
one column per byte (printable ASCII as it is, TAB as a blank, any other
byte as "?"), an erase as "\\b \\b", a line end as CRLF.
The caller owns time: `discard()` drops a partial line (after an inter-byte
timeout).
"""

LINE = "LINE"  # kind of a complete, clean line
E_LONG = "LONG"  # line longer than max_len
E_ENCODING = "ENCODING"  # a byte outside printable ASCII (and TAB)
E_EMPTY = "EMPTY"  # nothing but spaces before the terminator
E_TIMEOUT = "TIMEOUT"  # partial line discarded

_CR = 13
_LF = 10
_TAB = 9
_BS = 8
_DEL = 127
_ERASED = b"\x08 \x08"  # back, blank, back: the terminal's cursor over the erased character
_NEWLINE = b"\r\n"
_SHOWN_BAD = 63  # "?": the echo of a byte that will make the line an ENCODING error


class LineReader:
    def __init__(self, max_len=128):
        self.max_len = max_len
        self._buf = bytearray(max_len)
        self._len = 0  # bytes kept in _buf
        self._seen = 0  # bytes received for the current line, kept or not
        self._bad = -1  # first non-printable byte of the line, or -1
        self._bad_at = 0
        self._after_cr = False  # a LF right after CR ends nothing
        self.echo = False  # echo what the line takes (a person typing)
        self._echoed = bytearray()  # echo not yet taken

    def partial(self):
        """True while part of a line has arrived without its terminator."""
        return self._seen > 0

    def discard(self):
        """Drop a partial line; return the (code, message) to answer with."""
        seen = self._seen
        self._reset()
        return (E_TIMEOUT, "partial line of %d bytes discarded" % seen)

    def take_echo(self):
        """The echo of the bytes fed since the last call (b"" with echo off)."""
        if not self._echoed:
            return b""
        out = bytes(self._echoed)
        self._echoed = bytearray()
        return out

    def feed(self, data):
        """Take received bytes; return a list of (kind, text), one per ended line."""
        out = []
        echo = self._echoed if self.echo else None
        for byte in data:
            if byte == _LF and self._after_cr:
                self._after_cr = False
                continue
            self._after_cr = byte == _CR
            if byte == _CR or byte == _LF:
                out.append(self._end())
                if echo is not None:
                    echo.extend(_NEWLINE)
                continue
            if byte == _BS or byte == _DEL:
                if self._erase() and echo is not None:
                    echo.extend(_ERASED)
                continue
            if self._bad < 0 and (byte < 32 or byte > 126) and byte != _TAB:
                self._bad = byte
                self._bad_at = self._seen
            if self._len < self.max_len:
                self._buf[self._len] = byte
                self._len += 1
            self._seen += 1
            if echo is not None:  # one column per byte, so an erase always takes back one
                echo.append(byte if 31 < byte < 127 else (32 if byte == _TAB else _SHOWN_BAD))
        return out

    def _erase(self):
        """Drop the line's last byte (one dropped past max_len, else a kept one); False if none."""
        if not self._seen:
            return False
        self._seen -= 1
        if self._len > self._seen:
            self._len = self._seen
        if self._bad_at == self._seen:
            self._bad = -1  # the first bad byte was the last one: the line is clean again
        return True

    def _end(self):
        seen, length, bad, bad_at = self._seen, self._len, self._bad, self._bad_at
        self._reset()
        if seen > self.max_len:
            return (E_LONG, "line of %d bytes is longer than %d" % (seen, self.max_len))
        if bad >= 0:
            return (E_ENCODING, "byte 0x%02x at column %d is not printable ASCII" % (bad, bad_at + 1))
        text = bytes(self._buf[:length]).decode().strip()
        if not text:
            return (E_EMPTY, "empty line")
        return (LINE, text)

    def _reset(self):
        self._len = 0
        self._seen = 0
        self._bad = -1
