"""Emulation speed of the virtual board's chip: emulated seconds per wall second.

Runs the firmware's pulse engine on the emulated RP2040 (EngineSession), with
the VCD trace written as the virtual board writes it and the engine polled
every emulated millisecond (the sim's slice), at 100 Hz, 1 kHz and 10 kHz
(amp=2mA pw=30us cathodes=2 anodes=3). Prints, for each rate, the emulated
time, the wall and CPU time (on a shared machine the CPU figure is the
steadier one), their ratios and the PIO instruction steps taken, then checks
the trace: every pulse the right shape and every period exact.

    .venv/bin/python bench/emulation_bench.py [--seconds 0.5] [--rates 100,1000,10000] [--lead] [--profile]

--lead also attaches the dummy lead's front end (impedance sensing), as the
virtual board does for a board profile with "impedance"; --profile runs the
10 kHz case under cProfile and prints where the time goes. --vboard measures
the whole virtual board instead (`picostim sim`: the firmware under MicroPython,
the chip link, the dummy lead): it stimulates at each rate for --seconds of
wall time and reads the board's emulated clock before and after.
"""

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

from picostim.boards import load_board
from picostim.chip.frontend import FrontEnd
from picostim.chip.model import NS_PER_CYCLE, SYS_HZ
from picostim.chip.session import EngineSession
from picostim.measure import measure, read_vcd

POLL_CYCLES = SYS_HZ // 1000  # the virtual board looks at the firmware every emulated ms
FIELDS = dict(amp_ua=2000, pw_us=30, cathodes=(2,), anodes=(3,))
# Rough emulated seconds per wall second before any speed-up: the first guess at how long a run takes.
GUESS_SPEED = {100: 1.0, 1000: 0.8, 10000: 0.1}


def emulate(rate_hz, seconds, trace_path, lead=False, progress=True):
    """(wall seconds, CPU seconds, PIO steps, timing) for `seconds` of emulated stimulation at `rate_hz`."""
    session = EngineSession("pico", trace_path=trace_path)
    session.chip.listeners.remove(session.log)  # the virtual board keeps only the trace
    if lead:
        FrontEnd.attach(session.chip, session.board)
    _, timing = session.start(rate_hz=rate_hz, **FIELDS)
    total = int(seconds * SYS_HZ)
    tenth = max(POLL_CYCLES, total // 10 // POLL_CYCLES * POLL_CYCLES)
    started = time.perf_counter()
    cpu_started = time.process_time()
    done = 0
    while done < total:
        chunk = min(tenth, total - done)
        session.run(chunk, poll_every=POLL_CYCLES)
        done += chunk
        if progress:
            wall = time.perf_counter() - started
            left = wall * (total - done) / done
            print(f"  {rate_hz} Hz: {done / total:4.0%} emulated, {wall:.1f} s wall, {left:.1f} s to go", flush=True)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    session.close()
    return wall, cpu, session.chip.runner.steps, timing


def check_trace(path, timing):
    """(pulses, problems) of the trace: shape, contacts and period of every pulse, in cycles."""
    found = measure(read_vcd(path), load_board("pico"))
    ns = NS_PER_CYCLE
    bad = 0
    for pulse in found:
        shape = (pulse.cathodic_ns, pulse.interphase_ns, pulse.anodic_ns)
        if pulse.problems or shape != (timing.cathodic * ns, timing.interphase * ns, timing.anodic * ns):
            bad += 1
        elif pulse.period_ns is not None and pulse.period_ns != timing.period * ns:
            bad += 1
    return len(found), bad


def through_sim(rate_hz, wall_seconds):
    """Emulated seconds that pass on the virtual board in `wall_seconds` of stimulation at `rate_hz`."""
    from picostim.programmer import Programmer
    from picostim.vboard.launcher import SimProcess

    with SimProcess() as sim, Programmer(sim.port, timeout=30) as board:
        board.login()
        board.set(amp="2mA", pw="30us", rate=f"{rate_hz}Hz", cathodes=[2], anodes=[3], ramp="0ms")
        board.on()
        start_ns, start, cpu0 = sim.clock_ns(), time.monotonic(), _cpu_seconds(sim.process.pid)
        time.sleep(wall_seconds)  # the figure is what emulated time does in this much real time
        end_ns, wall, cpu = sim.clock_ns(), time.monotonic() - start, _cpu_seconds(sim.process.pid) - cpu0
        board.stop()
    return (end_ns - start_ns) / 1e9, wall, cpu


def _cpu_seconds(pid):
    """CPU time (user + system) of one process so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=0.5, help="emulated seconds per rate")
    parser.add_argument("--rates", default="100,1000,10000", help="stimulation rates in Hz")
    parser.add_argument("--lead", action="store_true", help="attach the dummy lead's front end too")
    parser.add_argument("--profile", action="store_true", help="profile the 10 kHz case instead")
    parser.add_argument(
        "--vboard", action="store_true", help="the whole virtual board, --seconds of wall time per rate"
    )
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    if args.vboard:
        print(
            f"the virtual board at {rates} Hz, {args.seconds} s of wall time each: about "
            f"{len(rates) * (args.seconds + 5):.0f} s",
            flush=True,
        )
        for rate in rates:
            emulated, wall, cpu = through_sim(rate, args.seconds)
            print(
                f"{rate:>6} Hz: {emulated:.3f} s emulated in {wall:.2f} s wall = "
                f"{emulated / wall:.3f} emulated s per wall s ({emulated / cpu:.3f} per CPU s of the chip model)"
            )
        return
    with tempfile.TemporaryDirectory() as tmp:
        trace = str(Path(tmp) / "bench.vcd")
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            emulate(10000, args.seconds, trace, lead=args.lead, progress=False)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
            return
        expected = sum(args.seconds / GUESS_SPEED.get(r, 0.1) for r in rates)
        print(f"emulating {args.seconds} s at each of {rates} Hz: expect up to about {expected:.0f} s wall", flush=True)
        results = []
        for rate in rates:
            wall, cpu, steps, timing = emulate(rate, args.seconds, trace, lead=args.lead)
            pulses, bad = check_trace(trace, timing)
            results.append((rate, wall, cpu, steps, pulses, bad))
        for rate, wall, cpu, steps, pulses, bad in results:
            print(
                f"{rate:>6} Hz: {args.seconds} s emulated in {wall:.2f} s wall ({cpu:.2f} s CPU) = "
                f"{args.seconds / wall:.3f} emulated s per wall s ({args.seconds / cpu:.3f} per CPU s); "
                f"{steps} PIO steps; {pulses} pulses in the trace, {bad} with a wrong shape or period"
            )
    sys.exit(1 if any(r[-1] for r in results) else 0)


if __name__ == "__main__":
    main()
