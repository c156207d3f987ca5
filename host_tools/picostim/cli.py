"""picostim command line."""

from __future__ import annotations

import argparse
import json
import sys

from picostim import __version__
from picostim.programmer import ProgrammerError
from picostim.vboard import HEAP

HOST_CODES = ("PORT", "NO_ANSWER", "PROTOCOL")  # exit 2; a refusal by the board exits 1


def _aliases(items):
    out = {}
    for item in items or ():
        name, sep, gpio = item.partition("=")
        if not sep or not gpio.startswith("gp"):
            raise SystemExit(f"picostim: --alias wants NAME=gpN, got {item!r}")
        out[name] = gpio
    return out


def cmd_measure(args):
    from picostim.boards import load_board
    from picostim.measure import CaptureError, as_dicts, format_table, measure, read_vcd, summary

    board = load_board(args.board)
    try:
        pulses = measure(read_vcd(args.file, _aliases(args.alias)), board)
    except (CaptureError, OSError) as exc:
        print(f"picostim measure: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"summary": summary(pulses), "pulses": as_dicts(pulses)}, indent=1))
    else:
        print(format_table(pulses))
        print(json.dumps(summary(pulses)))
    return 1 if any(p.problems or p.balanced is False for p in pulses) else 0


def cmd_demo(args):
    from picostim.demo import run_demo

    return run_demo(args.board, args.trace)


def cmd_deploy(args):
    from picostim.deploy import run

    return run(args)


def cmd_sim(args):
    from picostim.vboard.sim import run_sim

    return run_sim(args.board, args.trace, args.heap, args.flash)


def resolve_port(port):
    """--port, else $PICOSTIM_PORT, else the one RP2040 MicroPython board attached."""
    import os

    from picostim.programmer import find_ports

    if port:
        return port
    if os.environ.get("PICOSTIM_PORT"):
        return os.environ["PICOSTIM_PORT"]
    boards = [device for device, _, is_pico in find_ports() if is_pico]
    if len(boards) == 1:
        return boards[0]
    if not boards:
        raise ProgrammerError(
            "PORT", "no board found: attach a Pico, or start `picostim sim` and pass its PORT with --port"
        )
    raise ProgrammerError("PORT", f"several boards found ({', '.join(boards)}): choose one with --port")


def cmd_ports(args):
    from picostim.programmer import find_ports

    ports = find_ports()
    if not ports:
        print("no serial ports found (the virtual board: `picostim sim` prints its PORT)")
    for device, description, is_pico in ports:
        mark = "  <- MicroPython on RP2040 (2E8A:0005)" if is_pico else ""
        print(f"{device}  {description}{mark}")
    return 0


def cmd_client(args):
    import os

    from picostim.auth import load_key
    from picostim.programmer import Programmer, Status

    with Programmer(resolve_port(args.port), timeout=args.timeout) as board:
        if args.clinician or args.command == "login":
            role = board.login(load_key(args.key or os.environ.get("PICOSTIM_KEY")))
            if args.command == "login":
                print(
                    f"role={role} (the session ends at LOGOUT, after the board's idle timeout, or at the next connect)"
                )
                return 0
        if args.command == "log":
            since = 1 if args.all else args.since
            print_log(board.log(since, args.count), "csv" if args.csv else "json" if args.json else "table")
            return 0
        if args.command == "adaptive":
            print(" ".join(f"{k}={v}" for k, v in board.adaptive(*args.words).items()))
            return 0
        if args.command == "impedance":
            report = board.impedance(args.contact)
            if args.json:
                print(json.dumps(report.as_dict(), indent=1))
            else:
                print_impedance(report)
            return 0 if report.all_ok() else 1
        if args.command == "send":
            answer = board.send(args.line)
            print(answer)
            return 1 if answer.startswith("ERR") else 0
        plain = {"hello": "HELLO", "diag": "DIAG", "programs": "PROGRAMS", "groups": "GROUPS", "limits": "LIMITS"}
        if args.command in plain:
            print(board.command(plain[args.command]))
            return 0
        if args.command == "group" and args.program is not None:
            print(" ".join(f"{k}={v}" for k, v in board.define_group(args.name, args.program).items()))
            return 0
        actions = {
            "status": board.status,
            "on": board.on,
            "off": board.off,
            "stop": board.stop,
            "restore": board.restore,
        }
        if args.command == "set":
            status = Status.parse(board.command("SET " + " ".join(args.settings)))
        elif args.command == "amp":
            status = board.amp_up() if args.direction == "up" else board.amp_down()
        elif args.command == "program":
            status = board.select_program(args.number)
        elif args.command == "group":
            status = board.select_group(args.name)
        else:
            status = actions[args.command]()
        print(" ".join(f"{k}={v}" for k, v in status.raw.items()))
    return 0


def print_impedance(report, out=None):
    """A lead check as a table: item, contacts, measured and expected ohms, verdict."""
    out = out or sys.stdout
    print(f"{'item':<9} {'contacts':<8} {'ohms':>7} {'expected':>8}  status", file=out)
    for r in report.results:
        contacts = "-".join(str(c) for c in r.contacts) if len(r.contacts) > 1 else f"{r.contacts[0]} vs rest"
        mark = "" if r.status == "ok" else "  <-"
        print(f"{r.name:<9} {contacts:<8} {r.ohms:>7} {r.expected_ohms:>8}  {r.status}{mark}", file=out)
    failed = report.failed()
    verdict = ", ".join(f"contact {k} {v}" for k, v in sorted(failed.items())) or "no contact open or shorted"
    print(
        f"measuring pulse {report.current_ua} uA, {report.pw_us} us per phase; tolerance {report.tolerance_pct}%; "
        f"{verdict}",
        file=out,
    )


def print_log(records, form="table", out=None):
    """Event log records as a table, CSV (with a header row) or JSON (a list of objects)."""
    from picostim.programmer import LOG_FIELDS

    out = out or sys.stdout
    if form == "json":
        print(json.dumps([r.as_dict() for r in records], indent=1), file=out)
    elif form == "csv":
        import csv

        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(LOG_FIELDS)
        for r in records:
            writer.writerow([r.seq, r.boot, r.uptime_ms, r.kind, r.role, r.detail])
    else:
        print(f"{'seq':>6} {'boot':>4} {'uptime':>12}  {'kind':<10} {'role':<9}  detail", file=out)
        for r in records:
            uptime = f"{r.uptime_ms // 1000}.{r.uptime_ms % 1000:03d}s"
            print(f"{r.seq:>6} {r.boot:>4} {uptime:>12}  {r.kind:<10} {r.role:<9}  {r.detail}", file=out)


def build_parser():
    parser = argparse.ArgumentParser(prog="picostim", description=__doc__)
    parser.add_argument("--version", action="version", version=f"picostim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("measure", help="report every pulse in a VCD capture")
    p.add_argument("file", help="VCD file (virtual board trace or logic-analyzer export)")
    p.add_argument("--board", default="pico", help="board profile name or path (default: pico)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--alias", action="append", metavar="NAME=gpN", help="map a capture channel to a GPIO")
    p.set_defaults(func=cmd_measure)

    p = sub.add_parser("demo", help="run the firmware on the emulated chip and measure its pulses")
    p.add_argument("--board", default="pico")
    p.add_argument("--trace", default="demo.vcd", help="VCD file to write")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("sim", help="run the virtual board behind a pseudo-terminal (prints PORT <path> first)")
    p.add_argument("--board", default="pico", help="board profile name or path (default: pico)")
    p.add_argument("--trace", metavar="FILE.vcd", help="write every pin edge to this VCD file")
    p.add_argument("--heap", default=HEAP, help=f"MicroPython heap (default: {HEAP}, a Pico's 192K + the stand-ins)")
    p.add_argument(
        "--flash", metavar="DIR", help="keep the board's flash (settings, event log) in DIR (default: a new temp dir)"
    )
    p.set_defaults(func=cmd_sim)

    p = sub.add_parser("deploy", help="compile the firmware with mpy-cross and install it on a Pico with mpremote")
    from picostim.deploy import add_arguments

    add_arguments(p)
    p.set_defaults(func=cmd_deploy)

    p = sub.add_parser("ports", help="list serial ports; marks MicroPython RP2040 boards")
    p.set_defaults(func=cmd_ports)

    client = argparse.ArgumentParser(add_help=False)
    client.add_argument("--port", help="device path or pyserial URL (default: $PICOSTIM_PORT or the one Pico found)")
    client.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for each answer (default: 3)")
    client.add_argument("--clinician", action="store_true", help="log in as the clinician before the command")
    client.add_argument(
        "--key", help="device key file, 64 hex digits (default: $PICOSTIM_KEY, else the virtual board's key)"
    )
    for name, help_text in (
        ("hello", "firmware, protocol and board identity"),
        ("status", "stimulation state and setting"),
        ("on", "start stimulation with the current setting"),
        ("off", "stop stimulation"),
        ("stop", "emergency stop: no new pulse, outputs low"),
        ("diag", "firmware diagnostics (heap, command count, uptime)"),
        ("login", "check clinician authentication (challenge-response with the device key)"),
        ("programs", "the stored programs"),
        ("groups", "the named groups"),
        ("limits", "the active program's patient limits and unlocked settings"),
        ("restore", "the active program back to the clinic settings"),
    ):
        p = sub.add_parser(name, parents=[client], help=help_text)
        p.set_defaults(func=cmd_client)
    p = sub.add_parser("set", parents=[client], help="change the setting, e.g. set amp=2.5mA pw=210us rate=60Hz")
    p.add_argument("settings", nargs="+", metavar="key=value")
    p.set_defaults(func=cmd_client)
    p = sub.add_parser("amp", parents=[client], help="one amplitude step up or down")
    p.add_argument("direction", choices=("up", "down"))
    p.set_defaults(func=cmd_client)
    p = sub.add_parser("program", parents=[client], help="select a stored program (1..8)")
    p.add_argument("number", type=int)
    p.set_defaults(func=cmd_client)
    p = sub.add_parser("group", parents=[client], help="select a group; with a program number, define it (clinician)")
    p.add_argument("name")
    p.add_argument("program", type=int, nargs="?")
    p.set_defaults(func=cmd_client)
    p = sub.add_parser("log", parents=[client], help="the therapy and event log (default: the newest records)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--since", type=int, metavar="SEQ", help="every record from this sequence number on")
    which.add_argument("--all", action="store_true", help="every record the log holds")
    p.add_argument("--count", type=int, metavar="N", help="at most N records (alone: the newest N)")
    form = p.add_mutually_exclusive_group()
    form.add_argument("--csv", action="store_true", help="CSV with a header row")
    form.add_argument("--json", action="store_true", help="a JSON list of records")
    p.set_defaults(func=cmd_client)
    p = sub.add_parser(
        "adaptive", parents=[client], help="AdaptiveStim: show; on|off|clear, max POSTURE AMP (clinician)"
    )
    p.add_argument("words", nargs="*", help="e.g. on, off, clear, or max supine 2mA")
    p.set_defaults(func=cmd_client)
    p = sub.add_parser(
        "impedance", parents=[client], help="lead impedance of every contact and adjacent pair (stimulation off)"
    )
    p.add_argument("contact", type=int, nargs="?", help="only this contact and its pairs")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_client)
    p = sub.add_parser("send", parents=[client], help='send one raw protocol line, e.g. send "SET amp=2mA"')
    p.add_argument("line")
    p.set_defaults(func=cmd_client)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ProgrammerError as exc:
        print(f"picostim: {exc}", file=sys.stderr)
        return 2 if exc.code in HOST_CODES else 1


if __name__ == "__main__":
    sys.exit(main())
