"""Protocol benchmark through the virtual board: command round-trip latency
(p50/p99), commands per second (one at a time, and pipelined), and the
firmware's MicroPython heap over 10,000 commands.

    .venv/bin/python bench/protocol_bench.py [--commands 10000] [--heap 256K]

Heap figures come from the firmware's DIAG command (gc.collect(), then
gc.mem_alloc()): the live heap, which includes the host stand-ins for the
`rp2`/`machine` modules that are built into the firmware on a real Pico.
"""

import argparse
import statistics
import time

from picostim import Programmer
from picostim.vboard.launcher import SimProcess

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
        started = time.perf_counter()
        for i in range(commands):
            t = time.perf_counter()
            answer = board.send(command(i))
            latencies.append(time.perf_counter() - t)
            if not answer.startswith(("OK", "ERR")):
                raise SystemExit(f"bad answer {answer!r}")
            if i % 1000 == 999:
                heap_samples.append(board.diag()["heap_live"])
        elapsed = time.perf_counter() - started
        end = board.diag()

        burst = 1000
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
    parser.add_argument("--heap", default="256K", help="MicroPython heap of the virtual board")
    args = parser.parse_args()
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
    main()
