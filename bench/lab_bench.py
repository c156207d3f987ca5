"""labgrid farm benchmark (docs/LAB.md): a command's round trip through a port
that labgrid's own exporter publishes, against the port itself; and a serial
suite's wall time on one place against two places in parallel.

    make lab-setup
    .venv-lab/bin/python bench/lab_bench.py [--round-trips 200] [--suite tests_host/test_serial_roles.py]

Round trips are STATUS commands to a virtual board, p50/p99 in ms, on four paths:
  pty                   the board's own port
  exporter, plain       labgrid's exporter as it ships (ser2net without nodelay), a plain pyserial client
  exporter, picostim    the same port, picostim's client (TCP_QUICKACK after every receive)
  ser2net nodelay       ser2net with `tcp(nodelay)` on its accepter (the upstream fix), a plain client
The ratio to the pty's p50 is what the target speaks of (at most 2 for the
exporter with picostim's client). Exit status 1 if a path fails to answer.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from picostim import netport
from picostim.lab.client import LabgridClient
from picostim.lab.farm import LocalFarm, _free_port
from picostim.programmer import Programmer

ROOT = Path(__file__).resolve().parents[1]


def round_trips(url: str, count: int, quick_ack: bool = True) -> tuple[float, float]:
    speed_up = netport.speed_up
    if not quick_ack:
        netport.speed_up = lambda port: None  # a plain pyserial client
    try:
        with Programmer(url, timeout=10) as board:
            for _ in range(10):  # warm up: the first answers pay the connection's set-up
                board.send("STATUS")
            times = []
            for _ in range(count):
                start = time.perf_counter()
                answer = board.send("STATUS")
                times.append((time.perf_counter() - start) * 1000)
                if not answer.startswith("OK state="):
                    raise SystemExit(f"lab_bench: {url} answered {answer!r}")
    finally:
        netport.speed_up = speed_up
    times.sort()
    return times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.99))]


def exported_url(client: LabgridClient, token: str) -> str:
    """The acquired place's port, as the pytest fixtures resolve it (labgrid's Environment)."""
    code = (
        "from labgrid import Environment; from picostim.lab.place import serial_url; "
        f"t = Environment({str(ROOT / 'boards/lab/picostim-env.yaml')!r}).get_target('main'); "
        "print(serial_url(t.get_resource('NetworkSerialPort')))"
    )
    env = dict(os.environ, LG_PLACE="+", LG_TOKEN=token, LG_COORDINATOR=client.coordinator)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


def nodelay_ser2net(pty: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    argv = [
        "ser2net",
        "-d",
        "-n",
        "-Y",
        f"connection: &con01#  accepter: telnet(rfc2217,mode=server),tcp(nodelay),{port}",
    ]
    argv += ["-Y", f"  connector: serialdev(nouucplock=true),{pty},115200n81,local"]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    return process, netport.url_for(f"rfc2217://127.0.0.1:{port}")


def latency(count: int) -> None:
    print(f"{'path':<22} {'p50 ms':>7} {'p99 ms':>7} {'x pty':>6}")
    with LocalFarm(boards=1) as farm:
        if farm.why_tcp:
            raise SystemExit(f"lab_bench: needs ser2net ({farm.why_tcp})")
        pty = farm.sims[0].port
        rows = [("pty", round_trips(pty, count))]
        token = farm.client.reserve({"board": "pico"}, timeout=60)
        try:
            farm.client.acquire(token)
            url = exported_url(farm.client, token)
            rows.append(("exporter, plain", round_trips(url, count, quick_ack=False)))
            rows.append(("exporter, picostim", round_trips(url, count)))
        finally:
            farm.client.release(token)
            farm.client.cancel(token)
        time.sleep(2.5)  # the exporter's ser2net lets go of the pty
        process, url = nodelay_ser2net(pty)
        try:
            rows.append(("ser2net nodelay", round_trips(url, count, quick_ack=False)))
        finally:
            process.terminate()
            process.wait()
    base = rows[0][1][0]
    for name, (p50, p99) in rows:
        print(f"{name:<22} {p50:>7.1f} {p99:>7.1f} {p50 / base:>6.1f}", flush=True)


def suite_wall_time(suite: str) -> None:
    for places in (1, 2):
        start = time.monotonic()
        argv = [sys.executable, "-m", "picostim.cli", "lab", "run", "--farm", str(places), "--out"]
        argv += [f"lab-bench-{places}", "--", "-m", "serial", suite]
        done = subprocess.run(argv, capture_output=True, text=True)
        wall = time.monotonic() - start
        if done.returncode:
            raise SystemExit(f"lab_bench: the suite failed on {places} place(s):\n{done.stdout}{done.stderr}")
        print(f"{suite} on {places} place(s) at once: {wall:.1f} s wall (farm start and stop included)", flush=True)
        print("\n".join("  " + line for line in done.stdout.splitlines()[-places - 1 :]), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--round-trips", type=int, default=200)
    parser.add_argument("--suite", default="tests_host/test_serial_roles.py", help="'' to skip the suite timing")
    args = parser.parse_args()
    print(f"lab_bench: {args.round_trips} round trips on 4 paths, then {args.suite or 'no suite'} (a few minutes)")
    latency(args.round_trips)
    if args.suite:
        suite_wall_time(args.suite)


if __name__ == "__main__":
    main()
