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
    from picostim.measure import (
        CaptureError,
        as_dicts,
        coverage,
        format_summary,
        format_table,
        measure,
        read_capture,
        summary,
    )

    board = load_board(args.board)
    try:
        changes = read_capture(args.file, _aliases(args.alias))
        pulses = measure(changes, board)
    except CaptureError as exc:
        print(f"picostim measure: {exc}", file=sys.stderr)
        return 2
    cover = coverage(changes, board)
    if args.json:
        print(json.dumps({"summary": summary(pulses, cover), "pulses": as_dicts(pulses)}, indent=1))
    elif args.pulses:
        print(format_table(pulses))
        print(json.dumps(summary(pulses, cover)))
    else:
        print(format_summary(pulses, cover))
    return 1 if any(p.problems or p.balanced is False for p in pulses) else 0


def cmd_plot(args):
    import os

    from picostim.boards import load_board
    from picostim.measure import CaptureError, measure, read_capture, uncaptured_contacts
    from picostim.plot import parse_time_ns, plot

    board = load_board(args.board)
    out = args.output or os.path.splitext(args.file)[0] + ".png"
    try:
        start = parse_time_ns(args.start) if args.start is not None else None
        end = parse_time_ns(args.end) if args.end is not None else None
        if not out.lower().endswith((".png", ".svg")):
            raise CaptureError("OUTPUT", f"{out}: the picture must be .png or .svg")
        changes = read_capture(args.file, _aliases(args.alias))
        pulses = measure(changes, board)
        unknown = uncaptured_contacts(changes, board)
        plot(pulses, board, out, args.view, args.pulse, os.path.basename(args.file), start, end, unknown)
    except CaptureError as exc:
        print(f"picostim plot: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


def cmd_demo(args):
    from picostim.demo import run_demo

    return run_demo(args.board, args.trace)


def cmd_deploy(args):
    from picostim.deploy import run

    return run(args)


def cmd_sim(args):
    from picostim.fullchip.run import fullchip_wanted, run_fullchip  # docs/VIRTUAL_BOARDS.md

    if fullchip_wanted(args.firmware):
        return run_fullchip(args.firmware, args.trace, args.flash)
    from picostim.vboard.sim import run_sim

    return run_sim(args.board, args.trace, args.heap, args.flash)


def answer_timeout(given: float | None) -> float:
    """--timeout, else $PICOSTIM_TIMEOUT (a slow link, the full-chip board), else 3 s."""
    from picostim.programmer import default_timeout

    if given is not None:
        return given
    try:
        return default_timeout(3.0)
    except ValueError as exc:
        raise SystemExit(f"picostim: {exc}") from None


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
    from picostim.vboard.registry import running

    ports = find_ports()
    boards = running()
    if args.json:
        serial_ports = [{"port": d, "description": text, "pico": is_pico} for d, text, is_pico in ports]
        sims = [{"port": b.port, "pid": b.pid, "trace": b.trace} for b in boards]
        print(json.dumps({"serial": serial_ports, "virtual": sims}, indent=1))
        return 0
    if not ports and not boards:
        print("no serial ports found and no virtual board running (start one: picostim sim)")
    for device, description, is_pico in ports:
        mark = "  <- MicroPython on RP2040 (2E8A:0005)" if is_pico else ""
        print(f"{device}  {description}{mark}")
    for b in boards:
        print(f"{b.port}  virtual board (picostim sim, pid {b.pid}" + (f", trace {b.trace})" if b.trace else ")"))
    return 0


def cmd_client(args):
    import os

    from picostim.auth import load_key
    from picostim.programmer import Programmer

    with Programmer(resolve_port(args.port), timeout=answer_timeout(args.timeout)) as board:
        if args.clinician or args.command == "login":
            role = board.login(load_key(args.key or os.environ.get("PICOSTIM_KEY")))
            if args.command == "login":
                print(
                    f"role={role} (the session ends at LOGOUT, after the board's idle timeout, or at the next connect)"
                )
                return 0
        return client_command(board, args)


def client_command(board, args):
    """One client command on a connected board; its exit status."""
    from picostim.programmer import Status

    want_json = getattr(args, "json", False)
    if args.command == "log":
        since = 1 if args.all else args.since
        print_log(board.log(since, args.count), "csv" if args.csv else "json" if args.json else "table")
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
    queries = {
        "hello": lambda: vars(board.hello),
        "diag": board.diag,
        "programs": board.programs,
        "groups": board.groups,
        "limits": board.limits,
        "adaptive": lambda: board.adaptive(*args.words),
        "group": lambda: board.define_group(args.name, _numbers(args.program)),  # with program numbers: define
        "train": lambda: train_command(board, args),
    }
    if args.command in queries and (args.command != "group" or args.program is not None):
        result = queries[args.command]()
        if isinstance(result, Status):  # train play
            return print_status(board, result, want_json)
        print(json.dumps(result, indent=1) if want_json else " ".join(f"{k}={v}" for k, v in result.items()))
        return 0
    actions = {
        "status": board.status,
        "on": board.on,
        "off": board.off,
        "stop": board.stop,
        "restore": board.restore,
        "set": lambda: Status.parse(board.command("SET " + " ".join(args.settings))),
        "amp": lambda: board.amp_up(args.all) if args.direction == "up" else board.amp_down(args.all),
        "program": lambda: board.select_program(args.number),
        "group": lambda: board.select_group(args.name),
    }
    return print_status(board, actions[args.command](), want_json)


def _numbers(text: str) -> list[int]:
    """'1,2,3' -> [1, 2, 3] (GROUP's program list)."""
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise ProgrammerError("SYNTAX", f"programs must be numbers separated by commas, got {text!r}") from None


def train_command(board, args):
    if args.action == "add":
        if not args.intervals:
            raise ProgrammerError("SYNTAX", "train add needs intervals, e.g. train add 1ms 2ms 500us")
        return board.train_add(*args.intervals)
    if args.intervals:
        raise ProgrammerError("SYNTAX", f"train {args.action or 'show'} takes no intervals")
    if args.action == "clear":
        return board.train_clear()
    if args.action == "play":
        return board.train_play(loop=args.loop)
    return board.train()


def print_status(board, status, want_json):
    """The status as a readable block (with the patient's window from LIMITS), or JSON."""
    from picostim.programmer import format_status

    limits = board.limits()
    if want_json:
        print(json.dumps({**status.as_dict(), "limits": limits}, indent=1))
    else:
        print(format_status(status, limits))
    return 0


def cmd_handheld(args):
    import os

    from picostim.auth import load_key
    from picostim.handheld.app import run

    key = None
    if args.clinician:
        try:
            key = load_key(args.key or os.environ.get("PICOSTIM_KEY"))
        except (OSError, ValueError) as exc:
            print(f"picostim handheld: {exc}", file=sys.stderr)
            return 2
    return run(resolve_port(args.port), clinician=args.clinician, key=key, timeout=answer_timeout(args.timeout))


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


def command_parser(sub, name, summary, example, details="", parents=()):
    """A subcommand whose help has its one-line summary, details (keys, units) and an example."""
    text = summary[0].upper() + summary[1:] + "." + (f"\n\n{details}" if details else "")
    return sub.add_parser(
        name,
        parents=list(parents),
        help=summary,
        description=text,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def set_keys_text():
    """The SET keys, units and roles, from the firmware's tables and docs/PROTOCOL.md."""
    from picostim.programmer import setting_keys

    lines = ["keys (who may change each: the clinician always; the patient only keys the clinician", "allows):"]
    for k in setting_keys():
        units = f" [{k.units}]" if k.units else ""
        span = f", {k.range}" if k.range else ""
        lines.append(f"  {k.key:<15}{k.meaning}{units}{span}; {k.who}")
    return "\n".join(lines)


def build_parser():
    parser = argparse.ArgumentParser(prog="picostim", description=__doc__)
    parser.add_argument("--version", action="version", version=f"picostim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("measure", help="check every pulse in a capture (a summary per pulse shape)")
    p.add_argument("file", help="capture: .vcd (virtual board trace or analyser export), .csv (PulseView), .sr")
    p.add_argument("--board", default="pico", help="board profile name or path (default: pico)")
    p.add_argument("--pulses", action="store_true", help="one line per pulse instead of the grouped summary")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--alias", action="append", metavar="NAME=gpN", help="map a capture channel to a GPIO")
    p.set_defaults(func=cmd_measure)

    p = sub.add_parser("plot", help="draw a capture: one pulse as a scope shows it, and the session over time")
    p.add_argument("file", help="capture: .vcd, .csv (PulseView) or .sr, as for measure")
    p.add_argument("-o", "--output", help="picture to write, .png or .svg (default: FILE with .png)")
    p.add_argument("--view", choices=("both", "scope", "session"), default="both", help="what to draw (default: both)")
    p.add_argument("--from", dest="start", metavar="T", help="first time to draw, e.g. 1.5s or 200ms")
    p.add_argument("--to", dest="end", metavar="T", help="last time to draw")
    p.add_argument("--pulse", type=int, metavar="N", help="the pulse for the scope view (numbered as measure --pulses)")
    p.add_argument("--board", default="pico", help="board profile name or path (default: pico)")
    p.add_argument("--alias", action="append", metavar="NAME=gpN", help="map a capture channel to a GPIO")
    p.set_defaults(func=cmd_plot)

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
    p.add_argument("--firmware", metavar="PATH.uf2", help="boot this MicroPython image on the full-chip board")
    p.set_defaults(func=cmd_sim)

    p = sub.add_parser("deploy", help="compile the firmware with mpy-cross and install it on a Pico with mpremote")
    from picostim.deploy import add_arguments

    add_arguments(p)
    p.set_defaults(func=cmd_deploy)

    p = command_parser(
        sub,
        "ports",
        "list serial ports (marking MicroPython RP2040 boards) and the running virtual boards",
        "picostim ports --json",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_ports)

    client = argparse.ArgumentParser(add_help=False)
    client.add_argument("--port", help="device path or pyserial URL (default: $PICOSTIM_PORT or the one Pico found)")
    client.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds to wait for each answer (default: $PICOSTIM_TIMEOUT, else 3)",
    )
    client.add_argument("--clinician", action="store_true", help="log in as the clinician before the command")
    client.add_argument(
        "--key", help="device key file, 64 hex digits (default: $PICOSTIM_KEY, else the virtual board's key)"
    )
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="machine-readable output")
    status_note = "Prints the status: state, program, amplitude and window, pulse, contacts, posture, faults."
    for name, summary, example, details in (
        ("hello", "firmware, protocol and board identity", "picostim hello --json", ""),
        ("status", "state, program/group, amplitude and window, pulse shape, contacts, posture, faults", "", ""),
        ("on", "start stimulation, with the program's soft start (ramp)", "", status_note),
        ("off", "stop stimulation, with the program's soft stop (ramp)", "", status_note),
        ("stop", "emergency stop: no new pulse, outputs low, no ramp", "", status_note),
        ("diag", "firmware diagnostics: lines received, uptime (ms), heap (bytes), collections", "", ""),
        ("login", "check the clinician login (challenge-response with the device key)", "picostim login --key k", ""),
        ("programs", "the 8 stored programs: number=name, and the active one", "", ""),
        ("groups", "the named groups: name=programs, and the selected one", "", ""),
        ("limits", "the active program's patient windows (uA, us, Hz) and the keys the patient may change", "", ""),
        ("restore", "the active program back to the clinic settings", "", status_note),
    ):
        p = command_parser(sub, name, summary, example or f"picostim {name}", details, parents=[client, as_json])
        p.set_defaults(func=cmd_client)
    p = command_parser(
        sub,
        "set",
        "change settings of the active program, all or nothing",
        "picostim set amp=2.5mA    (as the patient)\n"
        "  picostim set pw=210us rate=40Hz burst=5 burst_rate=500Hz cathodes=2 anodes=3 ramp=1s --clinician",
        set_keys_text(),
        parents=[client, as_json],
    )
    p.add_argument("settings", nargs="+", metavar="key=value")
    p.set_defaults(func=cmd_client)
    p = command_parser(
        sub,
        "amp",
        "one amplitude step (the program's step, in uA) up or down, within the patient's window",
        "picostim amp up\n  picostim amp down --all   (every program of the running group, ratios kept)",
        status_note,
        parents=[client, as_json],
    )
    p.add_argument("direction", choices=("up", "down"))
    p.add_argument("--all", action="store_true", help="every program of the running group together (GroupAdjust)")
    p.set_defaults(func=cmd_client)
    p = command_parser(
        sub, "program", "select a stored program (1..8)", "picostim program 2", status_note, parents=[client, as_json]
    )
    p.add_argument("number", type=int)
    p.set_defaults(func=cmd_client)
    p = command_parser(
        sub,
        "group",
        "select a group by name; with program numbers, define it (clinician)",
        "picostim group walking       (select)\n  picostim group walking 2 --clinician   (define)\n"
        "  picostim group mix 1,2,3 --clinician   (several programs, run together interleaved)",
        "NAME: 1-12 of A-Z a-z 0-9 _ -; PROGRAMS: 1 to 4 of 1..8, comma-separated.",
        parents=[client, as_json],
    )
    p.add_argument("name")
    p.add_argument("program", nargs="?", metavar="programs")
    p.set_defaults(func=cmd_client)
    p = command_parser(
        sub,
        "log",
        "the therapy and event log (default: the newest 10 records)",
        "picostim log --all --csv > log.csv",
        "Columns: seq, boot, uptime (s since that boot), kind, role, detail.",
        parents=[client],
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument("--since", type=int, metavar="SEQ", help="every record from this sequence number on")
    which.add_argument("--all", action="store_true", help="every record the log holds")
    p.add_argument("--count", type=int, metavar="N", help="at most N records (alone: the newest N)")
    form = p.add_mutually_exclusive_group()
    form.add_argument("--csv", action="store_true", help="CSV with a header row")
    form.add_argument("--json", action="store_true", help="a JSON list of records")
    p.set_defaults(func=cmd_client)
    p = command_parser(
        sub,
        "adaptive",
        "AdaptiveStim: show it; on, off, clear, max POSTURE AMP change it (clinician)",
        "picostim adaptive max supine 2mA --clinician",
        "POSTURE: upright, supine, prone, left, right; AMP in uA or mA.",
        parents=[client, as_json],
    )
    p.add_argument("words", nargs="*", help="on, off, clear, or max POSTURE AMP")
    p.set_defaults(func=cmd_client)
    p = command_parser(
        sub,
        "impedance",
        "lead check: ohms of every contact and adjacent pair (stimulation off); exit 1 unless all ok",
        "picostim impedance 3 --json",
        parents=[client],
    )
    p.add_argument("contact", type=int, nargs="?", help="only this contact (0..7) and its pairs")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_client)
    p = command_parser(
        sub,
        "train",
        "custom pulse train: show; add, clear, play (clinician)",
        "picostim train add 1ms 2ms 500us --clinician\n  picostim train play --loop --clinician",
        "INTERVAL: time from one pulse's start to the next, in us or ms (1 us resolution), at most 500000 us;\n"
        "pulses are the active program's (amp, pw, ipg, asym, contacts). show/add/clear print\n"
        "length (intervals in the list) and max; play prints the status.",
        parents=[client, as_json],
    )
    p.add_argument("action", nargs="?", choices=("show", "add", "clear", "play"), default="show")
    p.add_argument("intervals", nargs="*", metavar="INTERVAL", help="for add, e.g. 1ms 500us")
    p.add_argument("--loop", action="store_true", help="play: again and again until off or stop")
    p.set_defaults(func=cmd_client)
    p = command_parser(
        sub, "send", "send one raw protocol line and print its answer", 'picostim send "SET amp=2mA"', parents=[client]
    )
    p.add_argument("line")
    p.set_defaults(func=cmd_client)
    p = sub.add_parser(
        "handheld",
        parents=[client],
        help="the handheld programmer as a terminal app; --clinician adds the program editor and the lead check",
        description="The patient's handheld programmer on screen (every action has a key; the footer lists them). "
        "Example: picostim handheld --port /dev/pts/3 --clinician",
    )
    p.set_defaults(func=cmd_handheld)
    from picostim.lab.cli import add_arguments as add_lab

    add_lab(sub)
    return parser


LOGIN_HINT = (
    "add --clinician to log in first (device key: --key FILE, else $PICOSTIM_KEY, else the virtual board's key)"
)


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ProgrammerError as exc:
        print(f"picostim: {exc}", file=sys.stderr)
        if exc.code in ("ROLE", "LOCKED") and not getattr(args, "clinician", True):
            print(f"picostim: the clinician may do this: {LOGIN_HINT}", file=sys.stderr)
        return 2 if exc.code in HOST_CODES else 1
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return 0


if __name__ == "__main__":
    sys.exit(main())
