"""`picostim lab farm` and `picostim lab run` (docs/LAB.md)."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path


def add_arguments(sub) -> None:
    lab = sub.add_parser("lab", help="a labgrid rack: the serial suites on every place, a farm of virtual boards")
    actions = lab.add_subparsers(dest="lab_command", required=True)
    farm = actions.add_parser(
        "farm",
        help="a labgrid coordinator, an exporter and virtual boards as places tagged board=pico, until Ctrl-C",
        description="A labgrid farm on this host: a coordinator, an exporter, and N virtual boards published "
        "as places vpico-1..N tagged board=pico. Example: picostim lab farm --boards 2",
    )
    farm.add_argument("--boards", type=int, default=2, help="how many virtual boards (default 2)")
    farm.add_argument(
        "--serve", choices=["ser2net", "tcp"], help="how to serve the ports (default: ser2net if installed)"
    )
    farm.add_argument("--firmware", help="full-chip boards: a MicroPython RPI_PICO image (deploy picostim onto them)")
    farm.set_defaults(func=cmd_farm)
    run = actions.add_parser(
        "run",
        help="run the serial suites on every place with the tags, in parallel, and print a report per board",
        description="Each worker reserves and acquires its own place, runs pytest --lg-env on it and releases "
        "it at the end. Example: LG_COORDINATOR=lab:20408 picostim lab run --tag board=pico -- -k protocol",
    )
    run.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE", help="place tags (default board=pico)")
    run.add_argument("--env", default=None, help="labgrid environment file (default boards/lab/picostim-env.yaml)")
    run.add_argument("--coordinator", help="HOST:PORT (default $LG_COORDINATOR, else 127.0.0.1:20408)")
    run.add_argument("--workers", type=int, help="how many places at once (default: every place with the tags)")
    run.add_argument("--out", default="lab-report", help="directory for each board's log and JUnit XML")
    run.add_argument("--json", action="store_true", help="print the report as JSON (also written to OUT/report.json)")
    run.add_argument(
        "--farm", type=int, metavar="N", help="first start a farm of N virtual boards on this host (as `lab farm`)"
    )
    run.add_argument("--serve", choices=["ser2net", "tcp"], help="with --farm: how to serve the ports")
    run.add_argument("pytest_args", nargs="*", help="after --: pytest arguments (default: -m serial tests_host)")
    run.set_defaults(func=cmd_run)


def cmd_farm(args) -> int:
    from picostim.lab.farm import LocalFarm

    with LocalFarm(boards=args.boards, serve=args.serve, firmware=args.firmware) as farm:
        print(farm.describe(), flush=True)
        print("Ctrl-C to stop", flush=True)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            while all(sim.running() for sim in farm.sims):
                time.sleep(0.5)
            print("picostim lab farm: a board stopped", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 0


def cmd_run(args) -> int:
    from picostim.lab.client import LabError, LabgridClient
    from picostim.lab.farm import LocalFarm

    try:
        tags = dict(tag.split("=", 1) for tag in args.tag) if args.tag else {"board": "pico"}
    except ValueError:
        print(f"picostim lab run: a tag is KEY=VALUE (got {args.tag})", file=sys.stderr)
        return 2
    try:
        if not args.farm:
            return _run(args, LabgridClient(args.coordinator), tags)
        with LocalFarm(boards=args.farm, serve=args.serve) as farm:
            print(farm.describe(), flush=True)
            return _run(args, farm.client, tags)
    except LabError as exc:
        print(f"picostim lab run: {exc}", file=sys.stderr)
        return 2


def _run(args, client, tags) -> int:
    from picostim.lab.run import ENV_FILE, as_json, report, run_everywhere

    out = Path(args.out)
    runs = run_everywhere(
        client, tags, Path(args.env) if args.env else ENV_FILE, args.pytest_args or None, out, args.workers
    )
    (out / "report.json").write_text(json.dumps(as_json(runs), indent=1) + "\n")
    print(json.dumps(as_json(runs), indent=1) if args.json else report(runs))
    return 0 if all(run.ok for run in runs) else 1
