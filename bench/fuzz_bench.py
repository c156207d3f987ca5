"""Parser fuzz, the long run: the inputs of tests_host/test_fuzz_parser.py
(byte-level mutations of every documented command, control-byte sweeps,
floods; patient-only and clinician sessions) against the firmware's pure
stack, checked after every input as the test checks them.

    .venv/bin/python bench/fuzz_bench.py [--inputs 1000000] [--seed 1]

Prints its expected duration first and a progress line every 10 s; then the
count, inputs/s and every kind of failure with an example and its session
(the same seed gives the same inputs); exit status 1 on a failure, 0 otherwise.
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests_host"), str(ROOT / "tests_host" / "mpy")]

from picostim.chip import firmware_host  # noqa: E402

firmware_host.add_paths()  # the firmware's package as picostim_fw, as the tests have it

import fuzz_inputs  # noqa: E402

RATE_GUESS = 1250  # inputs/s on a loaded 2-core machine: the first estimate


def plan_for(total):
    """fuzz_inputs.PLAN's mix of kinds, scaled to `total` inputs."""
    weights = fuzz_inputs.PLAN
    scale = total / sum(weights.values())
    plan = {kind: int(count * scale) for kind, count in weights.items()}
    first = next(iter(plan))
    plan[first] += total - sum(plan.values())
    return plan


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inputs", type=int, default=1_000_000)
    parser.add_argument("--seed", default="1", help="any text; the same seed gives the same inputs")
    parser.add_argument("--examples", type=int, default=1, help="examples printed per kind of failure")
    args = parser.parse_args()
    plan = plan_for(args.inputs)
    print(
        f"fuzz: {args.inputs} inputs; expected about {args.inputs / RATE_GUESS / 60:.1f} min (~{RATE_GUESS} inputs/s)",
        flush=True,
    )
    started = time.perf_counter()
    shown = [time.perf_counter()]

    def progress(run):
        if time.perf_counter() - shown[0] > 10:
            shown[0] = time.perf_counter()
            rate = run.inputs / (shown[0] - started)
            left = (args.inputs - run.inputs) / rate
            print(
                f"  {run.inputs}/{args.inputs} inputs, {rate:.0f}/s, {len(run.failures)} failure(s), "
                f"about {left:.0f} s left",
                flush=True,
            )

    run = fuzz_inputs.run_fuzz(args.seed, plan, log=progress)
    elapsed = time.perf_counter() - started
    print(f"seed: {args.seed}; plan: {', '.join(f'{kind} {count}' for kind, count in plan.items())}")
    print(f"inputs: {run.inputs}; lines answered and checked: {run.lines}")
    print(f"time: {elapsed:.1f} s, {run.inputs / elapsed:.0f} inputs/s, {run.lines / elapsed:.0f} lines/s")
    codes = sorted(run.codes.items(), key=lambda item: -item[1])
    print("answers: " + ", ".join(f"{code} {count}" for code, count in codes))
    if run.failures:
        print(run.summary(args.examples))
        print(f"failures: {len(run.failures)}")
        print("fuzz: FAILED")
        return 1
    print("failures: none")
    print("fuzz: PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
