"""Running virtual boards, so that `picostim ports` can list them (their pty
changes every run).

    register("/dev/pts/5", os.getpid(), "sim.vcd")   # when the sim's port is up
    unregister(os.getpid())                         # when it stops
    running()   # [VirtualBoard(port="/dev/pts/5", pid=1234, trace="sim.vcd")]

One small JSON file per board, named by its pid, in a per-user runtime
directory ($XDG_RUNTIME_DIR/picostim, else <tmp>/picostim-<uid>). An entry
whose process is gone (a sim that was killed) is ignored and removed.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class VirtualBoard:
    port: str
    pid: int
    trace: str | None  # the VCD file it writes, or None


def runtime_dir() -> Path:
    base = os.environ.get("XDG_RUNTIME_DIR")
    path = Path(base) / "picostim" if base else Path(tempfile.gettempdir()) / f"picostim-{os.getuid()}"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def register(port: str, pid: int | None = None, trace: str | None = None) -> Path:
    """Note a running board; written whole (a reader never sees half an entry)."""
    pid = os.getpid() if pid is None else pid
    entry = runtime_dir() / f"{pid}.json"
    partial = entry.with_suffix(".tmp")
    partial.write_text(json.dumps({"port": port, "pid": pid, "trace": str(trace) if trace else None}))
    partial.replace(entry)
    return entry


def unregister(pid: int | None = None) -> None:
    (runtime_dir() / f"{os.getpid() if pid is None else pid}.json").unlink(missing_ok=True)


def running() -> list[VirtualBoard]:
    """The boards whose process still runs, by port; stale entries are removed."""
    boards = []
    for entry in runtime_dir().glob("*.json"):
        try:
            data = json.loads(entry.read_text())
            board = VirtualBoard(str(data["port"]), int(data["pid"]), data.get("trace"))
        except (OSError, ValueError, KeyError, TypeError):
            entry.unlink(missing_ok=True)
            continue
        if _alive(board.pid):
            boards.append(board)
        else:
            entry.unlink(missing_ok=True)
    return sorted(boards, key=lambda b: b.port)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True
