"""`picostim deploy` / `make deploy`: put the firmware on a real Pico.

    picostim deploy [--board pico] [--port /dev/ttyACM0] [--dry-run]
    picostim deploy --compile-only          # just build/mpy (what `make compile` runs)

Every module of the firmware's package (firmware/lib/picostim) is precompiled
with mpy-cross (-march=armv6m) and copied to :/lib/picostim as .mpy, so none of
its names (board, store, protocol, ...) meets a user's own modules. Stale .py
copies in :/lib/picostim are removed (a .py would be imported instead), and so
are the flat :/lib/<module>.mpy copies that picostim put there before it was
one package (only where /lib/pulse_engine.mpy shows that layout); nothing else
in :/lib is touched. main.py goes to :/main.py as source (MicroPython
runs main.py at boot) and the board profile to :/board.json. Then the board
resets and starts the firmware, and deploy waits until the firmware answers
HELLO (`--wait SECONDS`, 0: not at all; by default 30 s, or ten answer
times of $PICOSTIM_TIMEOUT). Needs MicroPython 1.23 or newer on the Pico
(.mpy format 6.3). A running picostim ignores Ctrl-C, so deploy first sends
it REPL (see leave_service): stimulation stops, outputs go low.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from picostim.boards import board_path
from picostim.chip.firmware_host import ROOT
from picostim.tools import find_tool

FIRMWARE = ROOT / "firmware"
PACKAGE = FIRMWARE / "lib" / "picostim"  # /lib/picostim on the board
BUILD = ROOT / "build" / "mpy"


def _prepare_lib() -> str:
    """Board-side code: make /lib/picostim, drop stale sources there, and the
    flat copies of these modules from before the package, but only where that
    layout is there (/lib/pulse_engine.mpy, a name no other library uses): a
    user's own /lib/board.mpy stays."""
    flat = tuple(p.stem for p in sorted(PACKAGE.glob("*.py")) if p.stem != "__init__")
    return (
        "import os\n"
        "for d in ('/lib', '/lib/picostim'):\n try:\n  os.mkdir(d)\n except OSError:\n  pass\n"
        "for n in os.listdir('/lib/picostim'):\n"
        " if n.endswith('.py'):\n  os.remove('/lib/picostim/' + n)\n"
        "if 'pulse_engine.mpy' in os.listdir('/lib'):\n"
        f" for n in {flat!r}:\n"
        "  try:\n   os.remove('/lib/' + n + '.mpy')\n  except OSError:\n   pass\n"
    )


def _tool(name: str) -> str:
    found = find_tool(name)
    if not found:
        raise SystemExit(f"picostim deploy: {name} is not installed (run `make setup`)")
    return found


def compile_firmware(out: Path = BUILD) -> list[Path]:
    """mpy-cross every module of the firmware's package for the RP2040's
    Cortex-M0+, into out/picostim (the layout of the board's /lib)."""
    out = out / "picostim"
    out.mkdir(parents=True, exist_ok=True)
    compiled = []
    for source in sorted(PACKAGE.glob("*.py")):
        target = out / (source.stem + ".mpy")
        partial = out / f"{source.stem}.{os.getpid()}.partial"
        result = subprocess.run(
            [_tool("mpy-cross"), "-march=armv6m", "-o", str(partial), str(source)], capture_output=True, text=True
        )
        if result.returncode:
            partial.unlink(missing_ok=True)
            raise SystemExit(f"picostim deploy: mpy-cross failed on {source}:\n{result.stderr}")
        # whole files only: another deploy or a test may be reading build/mpy meanwhile
        os.replace(partial, target)
        compiled.append(target)
    return compiled


def mpremote_argv(modules: list[Path], board: str, port: str | None, key: Path | None = None) -> list[str]:
    """One mpremote invocation (commands chained with +) that installs everything."""
    argv = [_tool("mpremote")] + _connect(port)
    argv += ["exec", _prepare_lib()]
    for module in modules:
        argv += ["+", "fs", "cp", str(module), f":/lib/picostim/{module.name}"]
    argv += ["+", "fs", "cp", str(board_path(board)), ":/board.json"]
    if key is not None:
        argv += ["+", "fs", "cp", str(key), ":/device.key"]  # over USB, never over the protocol
    argv += ["+", "fs", "cp", str(FIRMWARE / "main.py"), ":/main.py"]
    argv += ["+", "reset"]
    return argv


def _connect(port: str | None) -> list[str]:
    """mpremote's connect for a device path or a pyserial URL (rfc2217:// needs a flag)."""
    from picostim.netport import url_for

    return ["connect", url_for(port)] if port else []


def leave_service(port: str | None, key: Path | None) -> str:
    """A board running picostim does not take Ctrl-C while it serves, so
    mpremote could not get in: ask it for the REPL first (as the clinician,
    with --key, else $PICOSTIM_KEY; a board without a key lets anyone). What
    happened, for the user; a board that does not answer the protocol (plain
    MicroPython) is left to mpremote."""
    import os

    from picostim.auth import load_key
    from picostim.cli import resolve_port
    from picostim.programmer import Programmer, ProgrammerError

    try:
        with Programmer(resolve_port(port), timeout=3) as board:
            try:
                board.login(load_key(key or os.environ.get("PICOSTIM_KEY")))
            except ProgrammerError:
                pass  # no key on the board (REPL open to anyone), or another key: REPL says which
            answer = board.send("REPL")
    except (ProgrammerError, OSError, ValueError) as exc:
        return f"no picostim service answered ({exc}); mpremote connects as usual"
    if not answer.startswith("OK"):
        raise SystemExit(f"picostim deploy: the board refused REPL: {answer} (pass the board's key with --key)")
    return "picostim service stopped (outputs low); the REPL is free for mpremote"


def wait_for_firmware(port: str, within: float) -> str:
    """After the reset: connect once the firmware answers HELLO (the Pico's USB
    port goes away and comes back meanwhile). What it is, for the user;
    SystemExit when nothing answered within `within` seconds (a traceback at
    boot leaves the board at its REPL)."""
    from picostim.programmer import Programmer, ProgrammerError, default_timeout

    try:
        answer_s = min(within, default_timeout(3.0))  # HELLO goes again this often until one is answered
    except ValueError as exc:
        raise SystemExit(f"picostim deploy: {exc}") from None
    try:
        with Programmer.when_ready(port, within=within, timeout=answer_s) as board:
            hello = board.hello
    except ProgrammerError as exc:
        raise SystemExit(
            f"picostim deploy: the firmware did not answer within {within:g}s after the reset ({exc}); "
            "`picostim deploy --repl` opens the board's REPL, where main.py's error shows"
        ) from None
    return f"firmware started: picostim fw={hello.firmware} board={hello.board} contacts={hello.contacts}"


def add_arguments(parser):
    parser.add_argument("--board", default="pico", help="board profile name or path (default: pico)")
    parser.add_argument(
        "--port", help="serial port or pyserial URL, e.g. rfc2217://host:port (default: mpremote's auto-detection)"
    )
    parser.add_argument("--dry-run", action="store_true", help="compile, then print the mpremote command only")
    parser.add_argument("--compile-only", action="store_true", help="only build the .mpy files into build/mpy")
    parser.add_argument(
        "--key",
        help="device key file to provision (64 hex digits; make one with `picostim deploy --new-key FILE`)",
    )
    parser.add_argument("--new-key", metavar="FILE", help="write a fresh random device key to FILE and stop")
    parser.add_argument(
        "--repl", action="store_true", help="only take the board out of service and open its REPL (mpremote)"
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=None,
        metavar="SECONDS",
        help="after the reset, wait this long for the firmware to answer HELLO "
        "(default 30, or ten answer times of $PICOSTIM_TIMEOUT if longer; 0: do not wait)",
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="picostim deploy", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


def run(args) -> int:
    if args.new_key:
        from picostim.auth import new_key

        target = Path(args.new_key)
        if target.exists():
            print(f"picostim deploy: {target} exists; not overwriting a key", file=sys.stderr)
            return 2
        target.write_text(new_key() + "\n")
        target.chmod(0o600)
        print(f"wrote a new device key to {target} (keep it; the clinician needs it to log in)")
        return 0
    key = Path(args.key) if args.key else None
    if key is not None:
        from picostim.auth import load_key

        try:
            load_key(str(key))
        except (OSError, ValueError) as exc:
            print(f"picostim deploy: bad key file {key}: {exc}", file=sys.stderr)
            return 2
    if args.repl:
        print(leave_service(args.port, key))
        argv = [_tool("mpremote")] + _connect(args.port) + ["repl"]
        return subprocess.run(argv).returncode
    if not board_path(args.board).exists():
        print(f"picostim deploy: no board profile {args.board!r}", file=sys.stderr)
        return 2
    modules = compile_firmware()
    print(f"mpy-cross compiled {len(modules)} modules into {(BUILD / 'picostim').relative_to(ROOT)}")
    if args.compile_only:
        return 0
    if key is None:
        print("note: no --key: the board keeps the key it has; without one, clinician login is impossible")
    command = mpremote_argv(modules, args.board, args.port, key)
    if args.dry_run:
        print(" ".join(repr(a) if "\n" in a else a for a in command))
        return 0
    wait = args.wait if args.wait is not None else default_wait()
    # the port to wait on, found before the reset (a Pico's USB port is gone for a moment after it)
    wait_port = _port_to_wait_on(args.port) if wait > 0 else None
    print(leave_service(args.port, key))
    result = subprocess.run(command)
    if result.returncode:
        print("picostim deploy: mpremote failed (is the Pico attached and free? see `picostim ports`)", file=sys.stderr)
        return result.returncode
    if wait_port is not None:
        print(wait_for_firmware(wait_port, wait))
    return 0


def _port_to_wait_on(port: str | None) -> str | None:
    from picostim.cli import resolve_port
    from picostim.programmer import ProgrammerError

    try:
        return resolve_port(port)
    except ProgrammerError as exc:
        print(f"not waiting for the firmware after the reset: {exc}")
        return None


def default_wait() -> float:
    """30 s (a Pico boots in about one), longer on a slow link or the full-chip board ($PICOSTIM_TIMEOUT)."""
    from picostim.programmer import default_timeout

    try:
        return max(30.0, 10 * default_timeout(3.0))
    except ValueError as exc:
        raise SystemExit(f"picostim deploy: {exc}") from None


if __name__ == "__main__":
    sys.exit(main())
