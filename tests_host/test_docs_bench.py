"""The docs check of docs/BENCH.md: every command in its `sh` blocks runs, in
order, in a scratch copy of the checkout (blocks that start with "# needs a
Pico" are for the bench only). A command ending in "# exit N" must exit N; a
`text` block after "It prints:" must be what the command before it printed
(spacing aside). The schematics it shows must be what `make schematics` draws."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "BENCH.md"
HARDWARE = "# needs a Pico"


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


def run(command, cwd):
    expected = 0
    match = re.search(r"\s+# exit (\d+)$", command)
    if match:
        expected = int(match.group(1))
        command = command[: match.start()]
    if command.startswith("make "):
        # the checkout is set up already: never reinstall from here
        command = command.replace("make ", "make -o .venv/.installed ", 1)
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert done.returncode == expected, f"{command}\n(exit {done.returncode}, expected {expected})\n{done.stdout}"
    return done.stdout


def test_every_bench_command_runs(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    cwd = checkout_copy(tmp_path)
    ran = []
    output = ""
    for info, lines, before in blocks(PAGE.read_text()):
        if info == "sh" and not (lines and lines[0].strip() == HARDWARE):
            for command in commands(lines):
                output = run(command, cwd)
                ran.append(command)
        elif info == "text" and before.endswith("It prints:"):
            printed = " ".join(output.split())
            assert printed == " ".join(" ".join(lines).split()), (
                f"the page says:\n{chr(10).join(lines)}\nit printed:\n{output}"
            )
        elif info == "sh":
            assert lines[0].strip() == HARDWARE
    assert len(ran) >= 8, ran
    # what the page promises the commands leave behind
    assert (cwd / "demo.png").stat().st_size > 10_000
    assert (cwd / "docs" / "demo.svg").read_text().startswith("<?xml")
    assert (cwd / "pulse3.png").read_bytes().startswith(b"\x89PNG")
    assert len((cwd / "device.key").read_text().strip()) == 64


def test_checked_in_schematics_are_what_the_code_draws(tmp_path):
    from picostim.schematics import write_all

    for path in write_all(str(tmp_path)):
        name = Path(path).name
        assert (ROOT / "docs" / name).read_text() == Path(path).read_text(), f"docs/{name} is stale: make schematics"
        assert f"({name})" in PAGE.read_text()


def test_every_picture_the_page_shows_exists():
    for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", PAGE.read_text()):
        assert (PAGE.parent / target).is_file(), target
