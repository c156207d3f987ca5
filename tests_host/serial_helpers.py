"""Shared pieces of the serial integration suites (virtual or real board)."""

from picostim.boards import load_board
from picostim.programmer import Programmer
from picostim.pytest_plugin import answer_timeout
from picostim_fw import service

BOARD = load_board("pico")
# A known setting for program 1: no ramp, no cycling, no train, the patient may
# change the amplitude over the whole board range.
BASE = (
    "SET amp=1mA pw=210us ipg=20us rate=100Hz asym=1 cathodes=2 anodes=3 burst=1 step=100uA "
    "ramp=0ms cycle_on=0ms cycle_off=0ms train=0ms patient=amp "
    "amp_min=0uA amp_max=25500uA pw_min=10us pw_max=1000us rate_min=2Hz rate_max=10kHz"
)


# Changes reach the flash once the host has been quiet this long: a test that cuts the
# power after a change waits that, and a little more, of the board's time first.
PERSIST_S = service._PERSIST_QUIET_MS / 1000 + 0.2


def connect(port):
    return Programmer(port, timeout=answer_timeout())


def reset(board, key=None):
    """Clinician role, stimulation off, program 1 with the BASE setting."""
    board.login(key)
    board.stop()
    board.wait_settled()
    assert board.send("PROGRAM 1").startswith("OK "), "PROGRAM 1 refused"
    answer = board.send(BASE)
    assert answer.startswith("OK "), answer
    return board.status()
