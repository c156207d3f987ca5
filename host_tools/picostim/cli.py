"""picostim command line."""

from __future__ import annotations

import argparse
import json
import sys

from picostim import __version__


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
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
