"""The serial suites on every labgrid place with a tag, in parallel:

    picostim lab run [--tag board=pico] [--env boards/lab/picostim-env.yaml] [-- PYTEST ARGS]

One worker per place. Each reserves a place with the tags (the coordinator
hands each a different one), acquires it, runs pytest with --lg-env on it,
and releases it at the end, whatever the tests did. Then one line per board:
place, firmware version, passed, failed, time. Exit status 0 only when every
board ran and nothing failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from pathlib import Path

from picostim.chip.firmware_host import ROOT
from picostim.lab.client import LabError, LabgridClient

ENV_FILE = ROOT / "boards" / "lab" / "picostim-env.yaml"
SUITES = ["-m", "serial", str(ROOT / "tests_host")]


@dataclass
class BoardRun:
    place: str
    firmware: str = "?"
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    started: float = 0.0
    ended: float = 0.0
    log: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and self.failed == 0 and self.passed > 0


def read_junit(path: Path, run: BoardRun) -> None:
    root = ET.parse(path).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    if suite is None:
        raise LabError(f"{path} is not a JUnit report")
    tests = int(suite.get("tests", 0))
    run.failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    run.skipped = int(suite.get("skipped", 0))
    run.passed = tests - run.failed - run.skipped
    for prop in suite.iter("property"):
        if prop.get("name") == "picostim_firmware":
            run.firmware = prop.get("value", "?")


def run_on_a_place(
    client: LabgridClient, tags: dict[str, str], env_file: Path, pytest_args: list[str], out: Path, wait: float
) -> BoardRun:
    run = BoardRun(place="?")
    token = None
    acquired = False
    try:
        token = client.reserve(tags, timeout=wait)
        run.place = client.acquire(token)
        acquired = True
        junit, log = out / f"{run.place}.xml", out / f"{run.place}.log"
        env = dict(os.environ, LG_PLACE="+", LG_TOKEN=token, LG_COORDINATOR=client.coordinator)
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--lg-env={env_file}"]
        argv += [f"--junitxml={junit}", *pytest_args]
        run.started = time.monotonic()
        with open(log, "w") as sink:
            subprocess.run(argv, env=env, stdout=sink, stderr=subprocess.STDOUT)
        run.ended = time.monotonic()
        run.seconds = run.ended - run.started
        run.log = str(log)
        if junit.exists():
            read_junit(junit, run)
        else:
            run.error = f"pytest wrote no report (see {log})"
    except LabError as exc:
        run.error = str(exc)
    finally:
        if token is not None:
            try:
                if acquired:
                    client.release(token)
                client.cancel(token)
            except LabError as exc:
                run.error = run.error or f"could not hand the place back: {exc}"
    return run


def run_everywhere(
    client: LabgridClient,
    tags: dict[str, str],
    env_file: Path = ENV_FILE,
    pytest_args: list[str] | None = None,
    out: Path | None = None,
    workers: int | None = None,
    wait: float = 600.0,
) -> list[BoardRun]:
    """The suites on `workers` places with `tags` at once (default: every such place)."""
    count = workers or len(client.places(tags))
    if count == 0:
        raise LabError(f"no place has the tags {' '.join(f'{k}={v}' for k, v in tags.items())}")
    out = out or Path("lab-report")
    out.mkdir(parents=True, exist_ok=True)
    runs: list[BoardRun] = [BoardRun(place="?") for _ in range(count)]

    def work(slot: int) -> None:
        runs[slot] = run_on_a_place(client, tags, env_file, pytest_args or SUITES, out, wait)

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return runs


def report(runs: list[BoardRun]) -> str:
    lines = [f"{'board':<16} {'firmware':<10} {'passed':>6} {'failed':>6} {'skipped':>7} {'time':>8}"]
    for run in runs:
        lines.append(
            f"{run.place:<16} {run.firmware:<10} {run.passed:>6} {run.failed:>6} {run.skipped:>7} {run.seconds:>7.1f}s"
            + (f"  {run.error}" if run.error else "")
        )
    return "\n".join(lines)


def as_json(runs: list[BoardRun]) -> list[dict]:
    return [asdict(run) | {"ok": run.ok} for run in runs]
