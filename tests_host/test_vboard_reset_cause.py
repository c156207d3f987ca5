"""machine.reset() on the virtual board, as on the RP2040: it reboots through
the watchdog, so machine.reset_cause() reads WDT_RESET after it, yet the board
boots without a WATCHDOG fault (firmware/lib/picostim/watchdog.py tells it from a
timeout); a hang the watchdog catches still is one. And at the REPL, the
stand-ins' sm.put() blocks while the TX FIFO is full, as on the port."""

import pytest
import serial
from picostim.vboard.launcher import SimProcess
from test_vboard_faults import log_kinds, profile, status, wait_for
from test_vboard_trace import exchange, raw_login

pytestmark = [pytest.mark.serial, pytest.mark.usefixtures("vboard_only")]

PUT_WORDS = 12
SM_HZ = 2000
CYCLES_PER_WORD = 33  # pull, then nop [31]
PUT_SLOWLY = (
    "import rp2\\n"
    "@rp2.asm_pio()\\n"
    "def slow():\\n"
    "    pull()\\n"
    "    nop() [31]\\n"
    f"sm = rp2.StateMachine(4, slow, freq={SM_HZ})\\n"
    "sm.active(1)\\n"
    f"for i in range({PUT_WORDS}): sm.put(i)\\n"
    "print('PUT', sm.tx_fifo())\\n"
)


def repl(port, line):
    """One line at the MicroPython REPL; the output before the next prompt."""
    port.write(line.encode() + b"\r\n")
    return port.read_until(b">>> ").decode(errors="replace")


def test_machine_reset_boots_without_a_watchdog_fault_and_a_hang_still_is_one(tmp_path):
    with SimProcess(board=profile(tmp_path, watchdog_ms=300)) as sim:
        with serial.Serial(sim.port, timeout=10) as port:
            raw_login(port)
            assert exchange(port, "REPL").startswith("OK leaving")
            port.read_until(b">>> ")
            # sm.put() blocks while the FIFO (4 words) is full: the chip runs meanwhile
            before = sim.clock_ns()
            out = repl(port, f'exec("{PUT_SLOWLY}")')
            assert "PUT " in out, out
            pulled = PUT_WORDS - int(out.split("PUT ")[1].split()[0]) - 1  # the last one may sit in the OSR
            assert pulled >= PUT_WORDS - 5
            word_ns = CYCLES_PER_WORD * 1_000_000_000 // SM_HZ
            assert sim.clock_ns() - before >= (pulled - 1) * word_ns
            # machine.reset(): as `mpremote reset` after a deploy
            port.write(b"import machine\r\nmachine.reset()\r\n")
            wait_for(port, "EVT READY")
            assert status(port)["fault"] == "-"
            assert not any("WATCHDOG" in detail for _, detail in log_kinds(port))
            # a hang the watchdog catches is still a WATCHDOG fault
            sim.control("fault hang")
            wait_for(port, "EVT READY")
            assert status(port)["fault"] == "WATCHDOG"
