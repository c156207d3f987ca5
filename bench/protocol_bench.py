"""Protocol benchmark through the virtual board: command round-trip latency
(p50/p99), commands per second (one at a time, and pipelined), and the
firmware's MicroPython heap over 10,000 commands.

    .venv/bin/python bench/protocol_bench.py [--commands 10000] [--heap 288K]

Prints its expected duration first and a progress line every 10 s. Exit
status 1 when the board answers a line with neither OK nor ERR, with ERR
MEMORY, or not at all; 0 once the figures are printed.

Heap figures come from the firmware's DIAG command (gc.collect(), then
gc.mem_alloc()): the live heap, which includes the host stand-ins for the
`rp2`/`machine` modules that are built into the firmware on a real Pico.
"""

import argparse
import statistics
import sys
import time

from picostim import Programmer
from picostim.vboard import HEAP
from picostim.vboard.launcher import SimProcess

RATE_GUESS = 50  # commands/s one at a time on a loaded 2-core machine: the first estimate
BURST = 1000  # lines of the pipelined burst
PROGRESS_S = 10.0

MIX = (
    "STATUS",
    "SET amp={amp}uA",
    "LIMITS",  # (HELLO would end the clinician session)
    "SET pw={pw}us rate={rate}Hz",
    "AMP UP",
    "AMP DOWN",
    "SET amp=30mA",  # refused: errors cost the same path
    "FROB",
)


def command(i):
    return MIX[i % len(MIX)].format(amp=1000 + i % 500, pw=100 + i % 50, rate=100 + i % 100)


def run(commands, heap):
    with SimProcess(heap=heap) as sim, Programmer(sim.port, timeout=10) as board:
        board.login()  # the clinician role: every SET in the mix is a real change
        board.send("SET amp=1mA cathodes=2 anodes=3 ramp=0ms")
        board.on()
        start_heap = board.diag()
        latencies = []
        heap_samples = [start_heap["heap_live"]]
        started = shown = time.perf_counter()
        for i in range(commands):
            t = time.perf_counter()
            if t - shown >= PROGRESS_S:
                shown = t
                rate = i / (t - started)
                print(f"  {i}/{commands} commands, {rate:.0f}/s, about {(commands - i) / rate:.0f} s left", flush=True)
            answer = board.send(command(i))
            latencies.append(time.perf_counter() - t)
            if not answer.startswith(("OK", "ERR")) or answer.startswith("ERR MEMORY"):
                raise SystemExit(f"protocol: FAILED: {command(i)!r} answered {answer!r}")
            if i % 1000 == 999:
                heap_samples.append(board.diag()["heap_live"])
        elapsed = time.perf_counter() - started
        end = board.diag()

        burst = BURST
        print(f"  pipelined burst of {burst} lines", flush=True)
        lines = "".join(command(i) + "\n" for i in range(burst)).encode()
        t = time.perf_counter()
        board.write_raw(lines)
        for _ in range(burst):
            board.read_answer()
        pipelined = burst / (time.perf_counter() - t)
        board.off()
        return latencies, elapsed, start_heap, end, heap_samples, pipelined


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commands", type=int, default=10000)
    parser.add_argument(
        "--heap", default=HEAP, help=f"MicroPython heap of the virtual board (default: the sim's, {HEAP})"
    )
    args = parser.parse_args()
    expected = (args.commands + BURST / 3) / RATE_GUESS
    print(
        f"protocol: {args.commands} commands one at a time, then {BURST} pipelined; "
        f"expected about {expected / 60:.1f} min (~{RATE_GUESS} commands/s)",
        flush=True,
    )
    latencies, elapsed, start, end, samples, pipelined = run(args.commands, args.heap)
    ms = sorted(x * 1000 for x in latencies)
    p50 = statistics.median(ms)
    p99 = ms[int(len(ms) * 0.99) - 1]
    print(f"commands: {len(ms)} (stimulation on, mix: {', '.join(MIX)})")
    print(f"round trip: p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {ms[-1]:.2f} ms")
    print(f"one at a time: {len(ms) / elapsed:.0f} commands/s; pipelined burst of 1000: {pipelined:.0f} commands/s")
    print(f"heap: {args.heap} MicroPython heap; live after boot {start['heap_live']} B")
    print(f"heap: live after {end['commands']} commands {end['heap_live']} B; peak live sample {max(samples)} B")
    print(f"heap: live growth over the run {end['heap_live'] - start['heap_live']:+d} B")


if __name__ == "__main__":
    sys.exit(main())
