"""Soak benchmark: the virtual board (default Pico-sized heap) as the
clinician takes 100,000 mixed commands, a few lines ahead of its answers:
STATUS, SET of valid and invalid values, AMP UP/DOWN, ON/OFF/STOP,
PROGRAM/GROUP, TRAIN CLEAR/ADD/PLAY, LIMITS, LOG, DIAG and garbage (NUL,
non-ASCII, overlong and blank lines). Every line must get one answer, in
order, with the code the mix expects for it (each refusal included).

    .venv/bin/python bench/soak_bench.py [--commands 100000] [--window 8] [--heap 288K]

Prints its expected duration first and a progress line every --progress
seconds; then commands sent, answers, failures, throughput, and the
firmware's heap from DIAG, sampled every --diag-every commands: the peak of
heap_live (after a collection), heap_peak (the highest use the service loop
saw between collections) and gcs (collections it saw), "n/a" where the
firmware does not report them. Each failure is printed when it happens (the
first --show of them); the last line says PASSED or FAILED. Exit status 1 on
any failure (a wrong or missing answer, ERR MEMORY included), 0 otherwise.
"""

import argparse
import sys
import time
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests_host"), str(ROOT / "tests_host" / "mpy")]

from picostim import Programmer, ProgrammerError  # noqa: E402
from picostim.chip import firmware_host  # noqa: E402
from picostim.programmer import parse_pairs  # noqa: E402
from picostim.vboard import HEAP  # noqa: E402
from picostim.vboard.launcher import SimProcess  # noqa: E402

firmware_host.add_paths()

import fuzz_inputs  # noqa: E402  (answer_code: the documented codes)

RATE_GUESS = 80  # commands/s of the virtual board on a loaded 2-core machine: the first estimate

SETUP = (
    "SET amp=1mA pw=100us ipg=20us rate=100Hz asym=1 cathodes=2 anodes=3 burst=1 step=100uA ramp=100ms "
    "cycle_on=0ms cycle_off=0ms train=0ms patient=amp"
)
OK = frozenset({"OK"})
# One round of the mix: (line, codes it may be answered with). {amp} {pw} {rate}
# vary from round to round within a setting every check passes.
ROUND = (
    ("STATUS", OK),
    ("SET amp={amp}uA", OK),
    ("SET pw={pw}us rate={rate}Hz", OK),
    ("ON", OK),
    ("AMP UP", OK),
    ("SET amp=30mA", {"RANGE"}),
    ("AMP DOWN", OK),
    ("SET pw=5us", {"RANGE"}),
    ("LIMITS", OK),
    ("SET volume=11", {"KEY"}),
    ("SET pw=210", {"UNIT"}),
    ("SET amp=2.0005mA", {"VALUE"}),
    ("SET cathodes=3 anodes=3", {"CONTACTS"}),
    ("SET pw=1000us asym=8 rate=500Hz", {"FIT"}),
    ("SET amp=8mA pw=450us", {"LIMIT"}),
    ("FROB", {"UNKNOWN"}),
    ("OFF", OK),
    ("PROGRAM 2", OK),
    ("SET amp={amp}uA", OK),
    ("ON", OK),
    ("GROUP walking 2", OK),
    ("GROUP walking", OK),
    ("GROUP running", {"NOT_FOUND"}),
    ("PROGRAM 9", {"NOT_FOUND"}),
    ("PROGRAM 1", OK),
    ("PROGRAMS", OK),
    ("GROUPS", OK),
    ("TRAIN CLEAR", OK),
    ("TRAIN ADD 1ms 2ms 1500us", OK),
    ("TRAIN PLAY", OK),
    ("TRAIN ADD 50us", OK),
    ("TRAIN PLAY", {"FIT"}),
    ("TRAIN CLEAR", OK),
    ("TRAIN PLAY", {"RANGE"}),
    ("ON", OK),
    ("STOP", OK),
    ("LOG", {"OK", "UNKNOWN"}),  # UNKNOWN: a firmware without the event log
    ("RESTORE", OK),
    ("AUTH " + "0" * 64, {"AUTH"}),  # no LOGIN before: no challenge, no failure counted
    ("AMP SIDEWAYS", {"SYNTAX"}),
    ("STATUS now", {"SYNTAX"}),
    (b"SET amp=2\x00mA", {"ENCODING"}),
    (b"\xff\xfeSTATUS", {"ENCODING"}),
    (b"\x18", {"ENCODING"}),
    (b"SET amp=1mA " * 30, {"LONG"}),
    (b"", {"EMPTY"}),
    (b" \t ", {"EMPTY"}),
)


def command(i):
    """The i-th line of the mix and the codes it may get."""
    line, codes = ROUND[i % len(ROUND)]
    n = i // len(ROUND)
    if isinstance(line, str):
        line = line.format(amp=1000 + (n * 37) % 2000, pw=100 + n % 50, rate=40 + (n * 7) % 160).encode()
    return line, codes


class Soak:
    def __init__(self, board, window, diag_every, progress_s=10.0, show=20):
        self.board = board
        self.window = window
        self.diag_every = diag_every
        self.progress_s = progress_s
        self.show = show
        self.sent = 0
        self.answers = 0
        self.failures = []  # (index, line, answer, expected)
        self.samples = []  # DIAG answers as dicts

    def fail(self, index, line, answer, codes):
        self.failures.append((index, line, answer, codes))
        if len(self.failures) <= self.show:
            print(f"  FAILURE #{index} {line[:60]!r}: expected {'/'.join(sorted(codes))}, got {answer}", flush=True)

    def progress(self, count, started):
        elapsed = time.perf_counter() - started
        rate = self.answers / elapsed if elapsed else 0.0
        left = (count - self.answers) / rate if rate else 0.0
        heap = figure(self.samples, "heap_peak")
        print(
            f"  {self.answers}/{count} answered, {len(self.failures)} failure(s), {rate:.0f} commands/s, "
            f"heap_peak {show(heap, ' B')}, about {left:.0f} s left",
            flush=True,
        )

    def run(self, count):
        board = self.board
        pending: deque = deque()  # (index, line, codes) in flight
        mix = 0
        started = shown = time.perf_counter()
        while self.sent < count or pending:
            if self.progress_s and time.perf_counter() - shown >= self.progress_s:
                shown = time.perf_counter()
                self.progress(count, started)
            while self.sent < count and len(pending) < self.window:
                if self.diag_every and self.sent % self.diag_every == self.diag_every - 1:
                    line, codes = b"DIAG", OK
                else:
                    line, codes = command(mix)
                    mix += 1
                board.write_raw(line + b"\n")
                pending.append((self.sent, line, codes))
                self.sent += 1
            index, line, codes = pending.popleft()
            try:
                answer = board.read_answer(timeout=10, what=repr(line))
            except ProgrammerError as e:
                self.fail(index, line, f"no answer ({e})", codes)
                return
            self.answers += 1
            try:
                code = fuzz_inputs.answer_code(answer)
            except AssertionError as e:
                self.fail(index, line, f"{answer!r}: {e}", codes)
                continue
            if code not in codes:
                self.fail(index, line, answer[:200], codes)
            elif line == b"DIAG":
                self.samples.append(parse_pairs(answer[3:]))

    def diag(self):
        answer = self.board.send("DIAG")
        sample = parse_pairs(answer[3:])
        self.samples.append(sample)
        return sample


def figure(samples, key, pick=max):
    values = [int(s[key]) for s in samples if key in s]
    return pick(values) if values else None


def show(value, unit=""):
    return "n/a" if value is None else f"{value}{unit}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commands", type=int, default=100_000)
    parser.add_argument("--window", type=int, default=8, help="lines sent ahead of their answers (1: one at a time)")
    parser.add_argument("--diag-every", type=int, default=1000, help="a DIAG sample every N commands")
    parser.add_argument(
        "--heap", default=None, help=f"MicroPython heap of the virtual board (default: the sim's, {HEAP})"
    )
    parser.add_argument("--progress", type=float, default=10.0, help="seconds between progress lines (0: none)")
    parser.add_argument("--show", type=int, default=20, help="failures printed as they happen")
    args = parser.parse_args()
    print(
        f"soak: {args.commands} commands on the virtual board; expected about "
        f"{args.commands / RATE_GUESS / 60:.1f} min (~{RATE_GUESS} commands/s)",
        flush=True,
    )
    with SimProcess(heap=args.heap) as sim, Programmer(sim.port, timeout=10) as board:
        board.login()  # the clinician: every SET in the mix is a real change
        assert board.send(SETUP).startswith("OK "), "setup refused"
        board.send("TRAIN CLEAR")
        soak = Soak(board, max(1, args.window), args.diag_every, args.progress, args.show)
        first = soak.diag()
        started = time.perf_counter()
        soak.run(args.commands)
        elapsed = time.perf_counter() - started
        last = soak.diag() if not soak.failures or soak.answers == soak.sent else {}
        board.send("STOP")
    samples = soak.samples
    print(f"virtual board: MicroPython heap {args.heap or HEAP}; {len(ROUND)} lines in the mix, window {soak.window}")
    print(f"commands sent: {soak.sent} (DIAG every {args.diag_every} included); answers: {soak.answers}")
    print(f"throughput: {soak.answers / elapsed:.0f} commands/s ({elapsed:.1f} s)")
    live = (first.get("heap_live"), figure(samples, "heap_live"), last.get("heap_live"), last.get("heap_free"))
    print(f"heap_live (after a collection): after boot {show(live[0], ' B')}, peak sample {show(live[1], ' B')},")
    print(f"  at the end {show(live[2], ' B')} (free {show(live[3], ' B')})")
    print(f"heap_peak (service loop, between collections): {show(figure(samples, 'heap_peak'), ' B')}")
    gcs_first, gcs_last = first.get("gcs"), last.get("gcs")
    run_gcs = None if gcs_first is None or gcs_last is None else int(gcs_last) - int(gcs_first)
    print(f"garbage collections: {show(run_gcs)} during the run ({show(gcs_last)} since boot)")
    print(
        f"firmware commands counted (DIAG): {show(last.get('commands'))}; uptime {show(last.get('uptime_ms'), ' ms')}"
    )
    print(f"failures: {len(soak.failures)}")
    for index, line, answer, codes in soak.failures[: args.show]:
        print(f"  #{index} {line[:60]!r}: expected {'/'.join(sorted(codes))}, got {answer}")
    if soak.failures or soak.answers != soak.sent:
        print(f"soak: FAILED ({len(soak.failures)} failure(s), {soak.answers} of {soak.sent} answered)")
        return 1
    print("soak: PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
