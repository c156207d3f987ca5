"""Serial ports over TCP (a labgrid place, ser2net): pyserial URLs with the
flags each transport needs, and a socket that acknowledges at once.

    rfc2217://host:port   ser2net's telnet accepter (what labgrid's exporter runs)
    socket://host:port    a raw TCP accepter

ser2net passes an answer on as the board's USB packets arrive, in several
small TCP segments. Nagle's algorithm holds each segment after the first until
the one before is acknowledged, and Linux delays an acknowledgement by up to
40 ms: about 40 ms lost per command. TCP_QUICKACK makes the next
acknowledgement immediate; the kernel clears it again after use, so it is set
again after every receive. (The real fix is `nodelay` on ser2net's accepter;
labgrid's exporter writes that line itself, without it.)
"""

from __future__ import annotations

import socket
from urllib.parse import parse_qsl, urlsplit, urlunsplit

NETWORK_SCHEMES = ("rfc2217", "socket")


def is_network(port: str) -> bool:
    return urlsplit(port).scheme in NETWORK_SCHEMES


def url_for(port: str) -> str:
    """`port` with the flags its transport needs. ser2net's RFC 2217 server
    does not confirm SET_CONTROL (flow control), and pyserial waits for that
    confirmation and then fails: "timeout while waiting for option 'control'"."""
    parts = urlsplit(port)
    if parts.scheme != "rfc2217":
        return port
    options = [name for name, _ in parse_qsl(parts.query, keep_blank_values=True)]
    if "ign_set_control" in options:
        return port
    query = "&".join(filter(None, [parts.query, "ign_set_control"]))
    return urlunsplit(parts._replace(query=query))


def network_url(protocol: str, host: str, port: int) -> str:
    """The URL of a labgrid NetworkSerialPort ("rfc2217" or "raw")."""
    if protocol == "raw":
        return f"socket://{host}:{port}"
    if protocol == "rfc2217":
        return url_for(f"rfc2217://{host}:{port}")
    raise ValueError(f"unknown network serial protocol {protocol!r} (rfc2217 or raw)")


class QuickAckSocket:
    """A socket that acknowledges every segment at once (see the module note)."""

    def __init__(self, sock: socket.socket):
        self._sock = sock
        self._quick_ack()

    def _quick_ack(self) -> None:
        try:
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)  # type: ignore[attr-defined]
        except OSError:
            pass  # closed meanwhile: the next call on the socket reports it

    def recv(self, *args, **kwargs):
        data = self._sock.recv(*args, **kwargs)
        self._quick_ack()
        return data

    def __getattr__(self, name):
        return getattr(self._sock, name)


def speed_up(port) -> None:
    """Give an open pyserial socket:// or rfc2217:// port a socket that
    acknowledges at once and sends at once. Other ports are left alone, and so
    is every port where the OS has no TCP_QUICKACK (only Linux has it)."""
    sock = getattr(port, "_socket", None)
    if sock is None or isinstance(sock, QuickAckSocket) or not hasattr(socket, "TCP_QUICKACK"):
        return
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # rfc2217's reader thread looks the socket up on every receive, so the
    # swap takes effect from its next one.
    port._socket = QuickAckSocket(sock)
