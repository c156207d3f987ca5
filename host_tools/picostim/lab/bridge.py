"""A pty served over raw TCP, one client at a time: what ser2net does, for a
host without ser2net (the farm then exports a NetworkSerialPort, protocol raw)."""

from __future__ import annotations

import os
import selectors
import socket
import termios
import threading
import tty


class TcpBridge:
    def __init__(self, device: str, host: str = "127.0.0.1"):
        self.device = device
        self._server = socket.create_server((host, 0))
        self.host, self.port = self._server.getsockname()[:2]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"bridge {device}", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self._server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._pump(conn)

    def _pump(self, conn: socket.socket) -> None:
        fd = os.open(self.device, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(fd, termios.TCSANOW)
        with selectors.DefaultSelector() as sel:
            sel.register(conn, selectors.EVENT_READ, fd)
            sel.register(fd, selectors.EVENT_READ, conn)
            try:
                while not self._stop.is_set():
                    for key, _ in sel.select(0.2):
                        if key.fileobj is conn:
                            data = conn.recv(4096)
                            if not data:
                                return
                            os.write(fd, data)
                        else:
                            conn.sendall(os.read(fd, 4096))
            except OSError:
                return
            finally:
                os.close(fd)

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        self._thread.join(2)
