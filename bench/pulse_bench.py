"""Pulse-engine benchmark on the emulated RP2040.

Prints: parameter sets checked, pulses measured, worst timing error and worst
period jitter (in system-clock cycles, 8 ns), the same for bursts and custom
trains (DMA-fed), and emulated PIO cycles per wall-clock second with and
without the delay-loop fast-forward.

    .venv/bin/python bench/pulse_bench.py [--pulses 1000] [--random 200] [--bursts 200] [--train 1000]

Prints its expected duration first and a line as each part starts (progress
every 10 s in the longest); exit status 0 once the figures are printed.
"""

import argparse
import itertools
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests_host"))

from picostim.chip.session import EngineSession  # noqa: E402
from pulses import ASYM, IPG, PW, RATE, burst_gaps, gaps, pulses  # noqa: E402

# (pw_us, ipg_us, rate_hz, burst_count, burst_rate_hz, asym): across the burst ranges
BURSTS = [
    (100, 10, 40, 5, 500, 1),
    (1000, 0, 40, 2, 400, 1),
    (10, 0, 66, 16, 1000, 1),
    (37, 3, 97, 7, 887, 3),
    (200, 20, 40, 3, 1000, 1),
    (490, 10, 66, 2, 1000, 1),
    (60, 0, 2, 16, 40, 8),
    (20, 1, 120, 8, 1000, 2),
]


def candidates(random_count, seed):
    rng = random.Random(seed)
    grid = [dict(pw_us=p, ipg_us=i, rate_hz=r, asym=a) for p, i, r, a in itertools.product(PW, IPG, RATE, ASYM)]
    drawn = [
        dict(
            pw_us=rng.randint(10, 1000),
            ipg_us=rng.randint(0, 1000),
            rate_hz=rng.randint(2, 10000),
            asym=rng.randint(1, 8),
        )
        for _ in range(random_count * 60)
    ]
    return grid, drawn


def check(fields, count):
    session = EngineSession("pico")
    try:
        program, timing = session.program(**fields)
    except Exception:
        return None
    session.engine.start(timing, program)
    started = time.perf_counter()
    session.run(timing.period * (count + 1) + timing.pulse() + 100)
    wall = time.perf_counter() - started
    found = pulses(session)
    periods = [p.period_ns for p in found if p.period_ns is not None]
    error = max([shape_error(found, timing)] + [abs(x - timing.period) for x in periods])
    jitter = max(periods) - min(periods) if periods else 0
    return len(found), error, jitter, session.chip.cycle, wall


def shape_error(found, timing):
    error = 0
    for p in found:
        error = max(
            error,
            abs(p.cathodic_ns - timing.cathodic),
            abs(p.interphase_ns - timing.interphase),
            abs(p.anodic_ns - timing.anodic),
            0 if p.balanced and not p.problems else 10**9,
        )
    return error


def check_burst(fields, bursts):
    session = EngineSession("pico")
    program, timing = session.start(**fields)
    session.run(
        timing.tail() + (bursts - 1) * timing.period + (timing.burst_count - 1) * timing.intra + timing.pulse() + 100
    )
    found = pulses(session)
    if len(found) != bursts * timing.burst_count:
        return len(found), 10**9
    expected = burst_gaps(timing, len(found) - 1)
    error = max(abs(a - b) for a, b in zip(gaps(found), expected, strict=True))
    error = max(error, abs(found[0].start_ns - timing.tail()), shape_error(found, timing))
    return len(found), error


def check_train(count, seed):
    rng = random.Random(seed)
    session = EngineSession("pico")
    program, timing = session.program(pw_us=50, ipg_us=10, rate_hz=100, amp_ua=2000)
    busy = program.busy_us(session.board["limits"])
    intervals = [rng.randint(busy, 5000) for _ in range(count)]
    cycles = session.stim.train_cycles(program, intervals, session.board["limits"], session.board["sys_clock_hz"])
    session.engine.start_train(timing, program, cycles, loop=False)
    session.run(sum(cycles) + 1_000_000, poll_every=100_000)
    found = pulses(session)
    if len(found) != count or session.engine.state != "idle":
        return len(found), 10**9
    error = max(abs(a - b) for a, b in zip(gaps(found), cycles[1:], strict=True))
    return len(found), max(error, abs(found[0].start_ns - cycles[0]), shape_error(found, timing))


def throughput(fast_forward, cycles):
    session = EngineSession("pico", fast_forward=fast_forward)
    session.start(pw_us=210, ipg_us=20, rate_hz=1000)
    started = time.perf_counter()
    session.run(cycles)
    return cycles / (time.perf_counter() - started), session.chip.runner.steps


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pulses", type=int, default=1000)
    parser.add_argument("--random", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bursts", type=int, default=200, help="bursts per burst setting")
    parser.add_argument("--train", type=int, default=1000, help="intervals in each of 3 one-shot custom trains")
    args = parser.parse_args()
    grid, drawn = candidates(args.random, args.seed)
    # wall seconds per part, roughly, as measured on a loaded 2-core machine
    guess = len(grid) * args.pulses * 4e-4 + (args.random + args.bursts) * 0.05 + args.train * 5e-3 + 15
    print(f"pulse: expected about {guess / 60:.1f} min", flush=True)
    print(f"  {len(grid)} grid and {args.random} random parameter sets", flush=True)
    started = shown = time.perf_counter()
    checked = pulses_total = worst_error = worst_jitter = 0
    emulated = wall = 0.0
    random_done = 0
    for fields in grid + drawn:
        is_random = fields in drawn
        if is_random and random_done >= args.random:
            break
        if time.perf_counter() - shown >= 10:
            shown = time.perf_counter()
            print(f"  {checked} sets checked, {shown - started:.0f} s", flush=True)
        result = check(fields, args.pulses if not is_random else 50)
        if result is None:
            continue
        random_done += is_random
        n, error, jitter, cycles, seconds = result
        checked += 1
        pulses_total += n
        worst_error = max(worst_error, error)
        worst_jitter = max(worst_jitter, jitter)
        emulated += cycles
        wall += seconds
    print(
        f"parameter sets checked: {checked} ({checked - random_done} grid x {args.pulses} pulses, "
        f"{random_done} random x 50 pulses)"
    )
    print(f"pulses measured: {pulses_total}")
    print(f"worst timing error: {worst_error} cycles")
    print(f"worst period jitter: {worst_jitter} cycles")
    print(
        f"emulated time: {emulated / 125e6:.1f} s in {wall:.1f} s wall "
        f"({emulated / wall:.3g} PIO cycles per wall-clock second, fast-forward)"
    )
    print(f"  bursts: {len(BURSTS)} settings x {args.bursts}", flush=True)
    burst_pulses = burst_error = 0
    for pw, ipg, rate_hz, count, burst_rate, asym in BURSTS:
        fields = dict(pw_us=pw, ipg_us=ipg, rate_hz=rate_hz, burst_count=count, burst_rate_hz=burst_rate, asym=asym)
        n, error = check_burst(fields, args.bursts if rate_hz > 2 else 10)
        burst_pulses += n
        burst_error = max(burst_error, error)
    print(
        f"bursts: {len(BURSTS)} settings, {burst_pulses} pulses, worst error {burst_error} cycles "
        "(widths, intra-burst and burst periods, first pulse)"
    )
    print(f"  custom trains: 3 x {args.train}", flush=True)
    train_pulses = train_error = 0
    for seed in range(3):
        n, error = check_train(args.train, seed)
        train_pulses += n
        train_error = max(train_error, error)
    print(f"custom trains: 3 x {args.train} random intervals, {train_pulses} pulses, worst error {train_error} cycles")
    for fast in (True, False):
        rate, steps = throughput(fast, 12_500_000 if fast else 1_250_000)
        label = "with fast-forward" if fast else "cycle by cycle   "
        print(f"1 kHz train {label}: {rate:.3g} emulated PIO cycles per wall-clock second")


if __name__ == "__main__":
    main()
