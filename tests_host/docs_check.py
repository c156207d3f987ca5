"""Docs checks: the fenced blocks of a page, and its `sh` commands run in a
scratch copy of the checkout. A command ending in "# exit N" must exit N."""

import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def blocks(text):
    """[(info string, [lines], the line before the fence)] of every fenced block."""
    out = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = re.match(r"```(\w*)$", lines[i])
        if match:
            end = lines.index("```", i + 1)
            before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            out.append((match.group(1), lines[i + 1 : end], before))
            i = end
        i += 1
    return out


def commands(lines):
    """Shell commands of a block, with backslash continuations joined."""
    out, current = [], ""
    for line in lines:
        if line.startswith("#") and not current:
            continue
        current += line.rstrip("\\").strip() + " "
        if not line.endswith("\\"):
            out.append(current.strip())
            current = ""
    return out


def checkout_copy(tmp_path):
    """A scratch checkout: docs copied (commands write there), the rest linked."""
    for entry in ROOT.iterdir():
        if entry.name in (".git", "docs", "demo.vcd", "demo.png", "build") or entry.name.startswith(".pytest"):
            continue
        (tmp_path / entry.name).symlink_to(entry)
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    return tmp_path


def run(command, cwd, timeout=600):
    expected = 0
    match = re.search(r"\s+# exit (\d+)$", command)
    if match:
        expected = int(match.group(1))
        command = command[: match.start()]
    if command.startswith("make "):
        # the checkout is set up already: never reinstall from here
        command = command.replace("make ", "make -o .venv/.installed -o .venv-lab/.installed ", 1)
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert done.returncode == expected, f"{command}\n(exit {done.returncode}, expected {expected})\n{done.stdout}"
    return done.stdout
