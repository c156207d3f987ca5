"""The virtual board's one clock (host_tools/picostim/mpy/emulated_time.py and
emulated_select.py), under the MicroPython unix port the firmware runs on:
ticks come from the chip's cycle counter and wrap as on the Pico, waits go to
the chip, and a clock read after a wait needs no round trip. Also the sim's
own controls for its clock (`clock`, `wait`) and their answers."""

import select
import subprocess

from mpy_checks import micropython
from picostim.chip.firmware_host import STAND_INS

SCRIPT = r"""
import sys
sys.path.insert(0, STAND_INS)
import _chip

class FakeLink:
    # the chip link as the sim answers it: idle runs the chip, every call costs 2500 cycles
    def __init__(self):
        self.cycle = 0
        self.calls = 0
        self.waits = []
    def clock_cycles(self):
        self.calls += 1
        now = self.cycle
        self.cycle += 2500
        return now
    def idle(self, us):
        self.calls += 1
        self.waits.append(us)
        self.cycle += 125 * us if us > 0 else 125 * 1000
        return self.cycle

link = _chip.backend = FakeLink()
import emulated_select
import emulated_time as t

out = []
link.cycle = 125 * 1000 * 7 + 3
out.append(t.ticks_ms())                      # 7: asked the chip
out.append(t.ticks_us())                      # 7020: the last read cost a call's 20 us
t.sleep_ms(5)
out.append(link.waits[-1])                    # 5000 us waited in emulated time
calls = link.calls
out.append(t.ticks_ms())                      # right after the wait: no round trip
out.append(link.calls - calls)                # 0
out.append(t.ticks_diff(t.ticks_add(0, -1), 0))   # -1: wraps at 2**30
out.append(t.ticks_add(2**30 - 1, 1))         # 0
out.append(t.ticks_diff(5, 2**30 - 5))        # 10
p = emulated_select.poll()
p.register(sys.stdin, emulated_select.POLLIN)
out.append(p.poll(3))                         # [] after a 3 ms wait: nothing came on stdin
out.append(link.waits[-1])                    # 3000
print(out)
"""


def test_ticks_waits_and_poll_follow_the_emulated_chip():
    script = f"STAND_INS = {str(STAND_INS)!r}\n" + SCRIPT
    # stdin stays open and silent while the script polls it
    process = subprocess.Popen([micropython(), "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert select.select([process.stdout], [], [], 60)[0], "no output from MicroPython"
        assert process.stdout.readline().strip() == "[7, 7020, 5000, 12, 0, -1, 0, 10, [], 3000]"
    finally:
        process.kill()
        process.wait()


def test_the_sim_answers_its_controls_in_plain_words(tmp_path):
    from picostim.vboard.sim import VirtualBoard

    board = VirtualBoard(flash=str(tmp_path / "flash"))
    try:
        assert board.control("button press") == "button pressed"
        assert board.control("button release") == "button released"
        assert board.control("wait 2.5").startswith("CLOCK on stdout after 2.5 ms")
        assert board.control("wait soon").startswith("unknown control 'wait soon'")
    finally:
        board.close()
