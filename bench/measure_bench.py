"""How fast `picostim measure` reads and checks a long trace (target: a 670 KB
trace in under 2 s). Makes a virtual-board trace of about 10,000 pulses
(1 kHz, 10 s of emulated time), then times reading, measuring and the grouped
summary, and the whole `picostim measure` command in a fresh process."""

import os
import subprocess
import sys
import tempfile
import time

from picostim.boards import load_board
from picostim.chip.session import EngineSession
from picostim.measure import coverage, format_summary, measure, read_capture

PULSES = 10200


def make_trace(path):
    session = EngineSession("pico", trace_path=path)
    _, timing = session.start(pw_us=210, ipg_us=20, rate_hz=1000, amp_ua=2500, cathodes=[2], anodes=[3])
    session.run(timing.period * (PULSES + 1))
    session.close()


def main():
    board = load_board("pico")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "long.vcd")
        make_trace(path)
        size_kb = os.path.getsize(path) / 1000
        t0 = time.perf_counter()
        changes = read_capture(path)
        t1 = time.perf_counter()
        pulses = measure(changes, board)
        t2 = time.perf_counter()
        format_summary(pulses, coverage(changes, board))
        t3 = time.perf_counter()
        cli = [os.path.join(os.path.dirname(sys.executable), "picostim"), "measure", path]
        t4 = time.perf_counter()
        subprocess.run(cli, check=True, capture_output=True)
        t5 = time.perf_counter()
    print(f"measure: {len(pulses)} pulses in a {size_kb:.0f} KB trace")
    print(f"  read {t1 - t0:.3f} s, measure {t2 - t1:.3f} s, summary {t3 - t2:.3f} s: {t3 - t0:.3f} s in all")
    print(f"  `picostim measure FILE` (a new process, imports included): {t5 - t4:.3f} s (target: under 2 s)")


if __name__ == "__main__":
    main()
