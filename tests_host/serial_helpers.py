"""Shared pieces of the serial integration suites (virtual or real board)."""

from picostim.boards import load_board
from picostim.programmer import Programmer

BOARD = load_board("pico")
BASE = "SET amp=1mA pw=210us ipg=20us rate=100Hz asym=1 cathodes=2 anodes=3 step=100uA"


def connect(port):
    return Programmer(port, timeout=10)


def reset(board):
    """Stimulation off and a known setting, whatever the last test left."""
    board.stop()
    board.wait_settled()
    assert board.send(BASE).startswith("OK ")
    return board.status()
