"""Serial transports for the protocol (hardware adapter).

USB CDC is the default: the protocol shares stdin/stdout with the REPL
(while the service runs, Ctrl-C is turned off: the REPL command leaves the
loop for the REPL, for mpremote). A board
profile with a "uart" entry, e.g. {"id": 0, "tx": 0, "rx": 1, "baudrate":
115200}, moves the protocol to that UART instead.
"""

import select
import sys


class StreamTransport:
    """Byte source + sink with a poll object; lines out end with LF."""

    def __init__(self, source, sink, pollable):
        self._source = source
        self._sink = sink
        self._poll = select.poll()
        self._poll.register(pollable, select.POLLIN)

    def read(self, timeout_ms, limit=64):
        """Bytes that arrive within timeout_ms (b"" if none), at most `limit`."""
        if not self._poll.poll(timeout_ms):
            return b""
        data = b""
        while len(data) < limit:
            byte = self._source.read(1)
            if not byte:
                if not data:
                    raise OSError("serial input closed")
                break
            data += byte
            if not self._poll.poll(0):
                break
        return data

    def write(self, data):
        self._sink.write(data)

    def write_line(self, text):
        self._sink.write(text.encode())  # and the newline on its own: no copy of a long line to add it
        self._sink.write(b"\n")

    def write_parts(self, parts):
        """One line from its parts, each written as it is: a long answer
        needs no block of its whole length (CPython streams take bytes only)."""
        for part in parts:
            self._sink.write(part.encode())
        self._sink.write(b"\n")


def open_transport(board):
    uart = board.get("uart")
    if not uart:
        return StreamTransport(sys.stdin.buffer, sys.stdout.buffer, sys.stdin)
    import machine

    port = machine.UART(
        uart["id"],
        baudrate=uart.get("baudrate", 115200),
        tx=machine.Pin(uart["tx"]),
        rx=machine.Pin(uart["rx"]),
        timeout=0,
    )
    return StreamTransport(port, port, port)
