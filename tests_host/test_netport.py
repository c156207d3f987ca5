"""Ports as URLs: socket:// and rfc2217:// get the flags their transport
needs, a TCP port acknowledges at once, and a Programmer works through one
(the virtual board's pty served over TCP, as ser2net or a labgrid place does)."""

import socket
import time

import pytest
from picostim import netport
from picostim.lab.bridge import TcpBridge
from picostim.programmer import Programmer, ProgrammerError, open_port

pytestmark = pytest.mark.serial


@pytest.mark.parametrize(
    "given, expected",
    [
        ("rfc2217://lab:4000", "rfc2217://lab:4000?ign_set_control"),
        ("rfc2217://lab:4000?logging=debug", "rfc2217://lab:4000?logging=debug&ign_set_control"),
        ("rfc2217://lab:4000?ign_set_control", "rfc2217://lab:4000?ign_set_control"),
        ("socket://lab:4000", "socket://lab:4000"),
        ("/dev/ttyACM0", "/dev/ttyACM0"),
    ],
)
def test_each_transport_gets_its_flags(given, expected):
    assert netport.url_for(given) == expected


def test_a_labgrid_network_port_becomes_a_url():
    assert netport.network_url("raw", "h", 1) == "socket://h:1"
    assert netport.network_url("rfc2217", "h", 2) == "rfc2217://h:2?ign_set_control"
    with pytest.raises(ValueError, match="unknown network serial protocol"):
        netport.network_url("ssh", "h", 3)


@pytest.fixture
def tcp_board(board_port, vboard_only):
    bridge = TcpBridge(board_port)
    yield f"socket://{bridge.host}:{bridge.port}"
    bridge.close()


def test_a_programmer_talks_through_tcp_with_quick_acks(tcp_board):
    with Programmer(tcp_board, timeout=10) as board:
        sock = board._serial._socket
        assert isinstance(sock, netport.QuickAckSocket)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assert board.status().state in ("off", "on", "ramping")
        assert board.send("HELLO").startswith("OK picostim ")


def test_reconnect_opens_the_port_again_and_says_hello(tcp_board):
    with Programmer(tcp_board, timeout=10) as board:
        board._serial.close()  # as when a reset board's port goes away
        hello = board.reconnect(within=10)
        assert hello.protocol == 2
        assert board.status().state in ("off", "on", "ramping")


def test_a_port_nobody_serves_is_a_port_error_after_the_wait():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    with pytest.raises(ProgrammerError) as raised:
        Programmer.when_ready(f"socket://127.0.0.1:{free}", within=0.5)
    assert raised.value.code == "PORT"
    with pytest.raises(ProgrammerError, match="PORT cannot open rfc2217://"):
        open_port(f"rfc2217://127.0.0.1:{free}")


class SlowBoard:
    """A board behind socket:// that answers HELLO `delay` s late and drops
    the first `lost` HELLOs (sent while it was still resetting)."""

    HELLO = b"OK picostim fw=0.0.0 proto=2 board=fake contacts=8\n"

    def __init__(self, delay, lost=0):
        import threading

        self.delay, self.lost, self.hellos = delay, lost, 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"socket://127.0.0.1:{self.server.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        import threading

        conn, _ = self.server.accept()
        buffer = b""
        while data := conn.recv(1024):
            buffer += data
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                if line == b"HELLO":
                    self.hellos += 1
                    if self.hellos > self.lost:
                        threading.Timer(self.delay, conn.sendall, [self.HELLO]).start()
                elif line.startswith(b"\x18"):
                    conn.sendall(b"ERR ENCODING byte 0x18\n")
                else:
                    conn.sendall(b"OK echo=" + line + b"\n")


@pytest.mark.parametrize("delay, lost, hellos", [(0.3, 0, 1), (0.3, 2, 3), (0.7, 0, 2)])
def test_a_board_that_starts_slowly_leaves_no_hello_answer_for_the_next_command(delay, lost, hellos):
    board = SlowBoard(delay, lost)
    with Programmer.when_ready(board.url, within=10, timeout=0.5) as programmer:
        assert programmer.hello.board == "fake"
        assert board.hellos == hellos
        time.sleep(1.0)  # any answer still owed would have come by now
        assert programmer.send("PING") == "OK echo=PING"
