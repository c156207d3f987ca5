"""The docs check of docs/BENCH.md: every command in its `sh` blocks runs, in
order, in a scratch copy of the checkout (blocks that start with "# needs a
Pico" are for the bench only). A command ending in "# exit N" must exit N; a
`text` block after "It prints:" must be what the command before it printed
(spacing aside). The schematics it shows must be what `make schematics` draws."""

import re
import shutil
from pathlib import Path

import pytest
from docs_check import ROOT, blocks, checkout_copy, commands, run

PAGE = ROOT / "docs" / "BENCH.md"
HARDWARE = "# needs a Pico"


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
