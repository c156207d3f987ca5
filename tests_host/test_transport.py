"""The firmware's stream transport (USB CDC or UART) on real file descriptors:
what arrives is read in bounded chunks, silence returns nothing, a closed
input is an error rather than a busy loop."""

import io
import os

import pytest
from picostim_fw.transport import StreamTransport, open_transport


@pytest.fixture
def pipe():
    read_fd, write_fd = os.pipe()
    source = os.fdopen(read_fd, "rb", buffering=0)
    yield source, write_fd
    source.close()
    try:
        os.close(write_fd)
    except OSError:
        pass


def test_reads_what_arrived_in_chunks_no_larger_than_the_limit(pipe):
    source, write_fd = pipe
    link = StreamTransport(source, io.BytesIO(), source)
    os.write(write_fd, b"HELLO\nSTATUS\n")
    got = b""
    while len(got) < 13:
        chunk = link.read(100, limit=4)
        assert 0 < len(chunk) <= 4
        got += chunk
    assert got == b"HELLO\nSTATUS\n"


def test_silence_returns_nothing_after_the_timeout(pipe):
    source, _ = pipe
    assert StreamTransport(source, io.BytesIO(), source).read(5) == b""


def test_closed_input_raises(pipe):
    source, write_fd = pipe
    os.close(write_fd)
    with pytest.raises(OSError, match="closed"):
        StreamTransport(source, io.BytesIO(), source).read(5)


def test_answers_are_lines_of_bytes(pipe):
    source, _ = pipe
    sink = io.BytesIO()
    StreamTransport(source, sink, source).write_line("OK state=off")
    assert sink.getvalue() == b"OK state=off\n"


def test_a_uart_profile_moves_the_protocol_to_that_uart(pipe, monkeypatch):
    import machine

    source, write_fd = pipe
    made = {}

    class FakeUart:  # machine.UART's stream interface, over a pipe
        def __init__(self, uart_id, baudrate, tx, rx, timeout):
            made.update(id=uart_id, baudrate=baudrate, tx=tx.id, rx=rx.id, timeout=timeout)
            self.sent = b""

        def fileno(self):
            return source.fileno()

        def read(self, n):
            return source.read(n)

        def write(self, data):
            self.sent += data

    monkeypatch.setattr(machine, "UART", FakeUart, raising=False)
    monkeypatch.setattr(machine.Pin, "__init__", lambda self, n, *a, **k: setattr(self, "id", n))
    link = open_transport({"uart": {"id": 1, "tx": 4, "rx": 5, "baudrate": 57600}})
    assert made == {"id": 1, "baudrate": 57600, "tx": 4, "rx": 5, "timeout": 0}
    os.write(write_fd, b"ON\n")
    assert link.read(100) == b"ON\n"
    link.write_line("OK")
    assert link._sink.sent == b"OK\n"
