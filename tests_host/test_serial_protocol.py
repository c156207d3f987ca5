"""Protocol v2 over pyserial: against the virtual board, or a real one with
`pytest --port /dev/ttyACM0`."""

import time

import pytest
from picostim.netport import is_network
from picostim.programmer import ProgrammerError, Status
from picostim.pytest_plugin import answer_timeout
from serial_helpers import BOARD, connect, reset

pytestmark = pytest.mark.serial

TIMEOUT_MS = BOARD["serial"]["line_timeout_ms"]
LINE_MAX = BOARD["serial"]["line_max"]


@pytest.fixture
def board(board_port, device_key):
    with connect(board_port) as b:
        reset(b, device_key)
        yield b
        b.stop()


def test_hello_reports_versions_and_board(board):
    answer = board.send("HELLO")
    assert answer.startswith("OK picostim fw=")
    assert board.hello.protocol == 2
    assert board.hello.board == BOARD["name"]
    assert board.hello.contacts == BOARD["contacts"]["count"]


def test_set_reports_the_setting_in_base_units(board):
    status = board.set(amp="2.5mA", pw="0.21ms", ipg="20us", rate="0.06kHz", cathodes=[1, 4], anodes=[6], asym=2)
    assert (status.amp_ua, status.pw_us, status.ipg_us, status.rate_hz) == (2500, 210, 20, 60)
    assert (status.cathodes, status.anodes, status.asym) == ((1, 4), (6,), 2)
    assert board.status() == status


def test_units_and_command_names_are_case_insensitive(board):
    assert board.send("set AMP=3MA PW=100US RATE=1KHZ").startswith("OK ")
    status = board.status()
    assert (status.amp_ua, status.pw_us, status.rate_hz) == (3000, 100, 1000)


def test_on_off_stop(board):
    assert board.on().state == "on"
    assert board.off().state in ("off", "stopping")
    assert board.wait_settled().state == "off"
    board.on()
    assert board.stop().state in ("off", "stopping")
    assert board.wait_settled().state == "off"


def test_set_while_on_lands_and_settles(board):
    board.on()
    status = board.set(pw_us=90, rate_hz=200, cathodes=[4], anodes=[5])
    assert status.state == "on"
    settled = board.wait_settled()
    assert (settled.pw_us, settled.rate_hz, settled.cathodes, settled.anodes) == (90, 200, (4,), (5,))


def test_amp_steps_up_and_down_within_limits(board):
    board.set(amp_ua=1000, step_ua=250)
    assert board.amp_up().amp_ua == 1250
    assert board.amp_down().amp_ua == 1000
    top = BOARD["limits"]["amplitude_ua"][1]
    board.set(pw_us=10)  # so that the top amplitude passes the charge limits
    board.set(amp_ua=top - 100, step_ua=100)
    assert board.amp_up().amp_ua == top
    with pytest.raises(ProgrammerError) as err:
        board.amp_up()
    assert err.value.code == "RANGE"
    assert board.status().amp_ua == top
    board.set(amp_ua=0)
    with pytest.raises(ProgrammerError):
        board.amp_down()
    assert board.status().amp_ua == 0


# (what, bytes sent, expected code). None of them may change anything.
BAD_INPUT = [
    ("unknown command", b"FROB 1\n", "UNKNOWN"),
    ("bad unit", b"SET amp=2.5V\n", "UNIT"),
    ("missing unit", b"SET pw=210\n", "UNIT"),
    ("not a number", b"SET amp=two.mA\n", "VALUE"),
    ("finer than resolution", b"SET amp=2.0005mA\n", "VALUE"),
    ("out of range", b"SET amp=30mA\n", "RANGE"),
    ("rate out of range", b"SET rate=20kHz\n", "RANGE"),
    ("pulse does not fit", b"SET pw=1000us asym=8 rate=500Hz\n", "FIT"),
    ("contact out of range", b"SET cathodes=9\n", "CONTACTS"),
    ("contact both ways", b"SET cathodes=3 anodes=3\n", "CONTACTS"),
    ("unknown key", b"SET volume=11\n", "KEY"),
    ("no value", b"SET amp\n", "SYNTAX"),
    ("duplicate key", b"SET amp=1mA amp=2mA\n", "SYNTAX"),
    ("half valid SET", b"SET amp=2mA pw=5us\n", "RANGE"),
    ("arguments to ON", b"ON now\n", "SYNTAX"),
    ("AMP without direction", b"AMP\n", "SYNTAX"),
    ("overlong line", b"SET amp=2mA " + b"x" * (LINE_MAX + 50) + b"\n", "LONG"),
    ("binary garbage", bytes(range(0x80, 0xE0)) + b"\x00\x01\x02\x1b\x7f\xff\n", "ENCODING"),
    ("NUL inside a command", b"SET amp=2\x00mA\n", "ENCODING"),
    ("empty line", b"\n", "EMPTY"),
    ("blank line", b"   \t \r\n", "EMPTY"),
]


@pytest.mark.parametrize("stim_on", [False, True], ids=["off", "on"])
@pytest.mark.parametrize("what, data, code", BAD_INPUT, ids=[row[0] for row in BAD_INPUT])
def test_bad_input_gets_its_code_and_changes_nothing(board, stim_on, what, data, code):
    if stim_on:
        board.on()
    before = board.wait_settled()
    board.write_raw(data)
    answer = board.read_answer()
    assert answer.startswith(f"ERR {code} "), answer
    assert board.status() == before


def test_partial_line_is_dropped_after_the_timeout(board):
    before = board.status()
    board.write_raw(b"SET amp=3mA")  # no line end
    started = time.monotonic()
    answer = board.read_answer(timeout=TIMEOUT_MS / 1000 + answer_timeout())
    waited = time.monotonic() - started
    assert answer.startswith("ERR TIMEOUT "), answer
    assert waited >= TIMEOUT_MS / 1000 * 0.9
    assert board.status() == before
    board.write_raw(b"\n")  # the dropped start does not join the next line
    assert board.read_answer().startswith("ERR EMPTY")


def test_a_line_split_over_many_writes_is_one_command(board):
    for chunk in (b"SET am", b"p=1.5m", b"A rate=", b"50Hz\r", b"\n"):
        board.write_raw(chunk)
        time.sleep(0.02)
    assert board.read_answer().startswith("OK ")
    assert (board.status().amp_ua, board.status().rate_hz) == (1500, 50)


def test_every_line_of_a_burst_gets_one_answer_in_order(board):
    lines = [f"SET amp={100 * i}uA" for i in range(1, 31)] + ["FROB"] * 5 + ["STATUS"]
    board.write_raw("".join(line + "\n" for line in lines).encode())
    answers = [board.read_answer() for _ in lines]
    assert [a.split()[0] for a in answers] == ["OK"] * 30 + ["ERR"] * 5 + ["OK"]
    assert Status.parse(answers[-1][3:]).amp_ua == 3000


def test_second_client_gets_a_busy_port_error(board, board_port):
    if is_network(board_port):
        pytest.skip(
            "ser2net, as labgrid's exporter runs it, lets several clients in: there the place's lock keeps others out"
        )
    with pytest.raises(ProgrammerError) as err:
        connect(board_port)
    assert err.value.code == "PORT" and "busy" in err.value.message


def test_missing_port_is_a_clear_error(tmp_path):
    with pytest.raises(ProgrammerError) as err:
        connect(str(tmp_path / "ttyNOPE"))
    assert err.value.code == "PORT" and "no such port" in err.value.message


def test_ctrl_c_is_a_refused_byte_not_a_way_out(board_port, device_key):
    with connect(board_port) as board:
        reset(board, device_key)
        board.on()
        board.write_raw(b"STAT\x03US\n")
        assert board.read_answer().startswith("ERR ENCODING ")
        assert board.status().state == "on"  # still serving, still stimulating
        board.stop()


def test_repl_command_leaves_outputs_off_and_the_repl_then_ctrl_d_restarts(board_port, device_key):
    with connect(board_port) as board:
        reset(board, device_key)
        board.on()
        board.logout()
        # the patient cannot take the board out of service
        assert board.send("REPL").startswith("ERR ROLE ")
        board.login(device_key)
        assert board.send("REPL").startswith("OK leaving for the REPL")
        board.read_until(">>> ")
        board.write_raw(b"\x04")  # soft reset: main.py runs again
        board.read_until("EVT READY", timeout=10 + answer_timeout())  # a boot
    with connect(board_port) as board:
        assert board.status().state == "off"  # a fresh boot: outputs off


def test_connecting_refuses_a_half_command_left_by_an_earlier_client(board_port, device_key):
    with connect(board_port) as first:
        reset(first, device_key)
        first.write_raw(b"ON")  # no line end: the board holds it
    with connect(board_port) as second:
        assert second.status().state == "off"
