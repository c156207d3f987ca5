"""The farm tier and the docs check of docs/LAB.md: every command in its `sh`
blocks runs, in order, in a scratch copy of the checkout (blocks that start
with "# needs a rack" are for real hardware). One of them runs every serial
suite through a real labgrid coordinator, exporter and ser2net on two
virtual boards at once; its report is checked here.

Skipped without labgrid (`make lab-setup`, which `make test` runs)."""

import json
import re

import pytest
from docs_check import ROOT, blocks, checkout_copy, commands, run

PAGE = ROOT / "docs" / "LAB.md"
RACK = "# needs a rack"
LAB_CLIENT = ROOT / ".venv-lab" / "bin" / "labgrid-client"
SUITE_S = 3600  # wall seconds the farm's suites may take on a loaded 2-core machine

pytestmark = pytest.mark.skipif(
    not LAB_CLIENT.exists(), reason=f"labgrid is not installed ({LAB_CLIENT} missing: run `make lab-setup`)"
)


@pytest.fixture(scope="module")
def page_run(tmp_path_factory):
    cwd = checkout_copy(tmp_path_factory.mktemp("lab"))
    ran, printed = [], []
    for info, lines, _ in blocks(PAGE.read_text()):
        if info == "sh" and lines[0].strip() != RACK:
            for command in commands(lines):
                printed.append(run(command, cwd, timeout=SUITE_S))
                ran.append(command)
    return cwd, ran, printed


def test_every_command_on_the_page_runs(page_run):
    _, ran, _ = page_run
    assert any(command.startswith("make lab-setup") for command in ran), ran
    assert any("lab run --farm 2" in command for command in ran), ran


def test_two_places_ran_the_suites_in_parallel_and_every_test_passed(page_run):
    cwd, _, _ = page_run
    runs = json.loads((cwd / "lab-report" / "report.json").read_text())
    assert sorted(r["place"] for r in runs) == ["vpico-1", "vpico-2"], runs
    for r in runs:
        assert r["ok"] and r["failed"] == 0 and r["passed"] >= 50 and not r["error"], r
        assert re.fullmatch(r"\d+\.\d+\.\d+", r["firmware"]), r
        assert (cwd / "lab-report" / f"{r['place']}.xml").exists()
    first, second = runs
    assert first["started"] < second["ended"] and second["started"] < first["ended"], "the places ran one after another"
    assert runs[0]["passed"] == runs[1]["passed"], "both boards ran the same tests"


def test_the_report_the_page_shows_is_what_it_printed(page_run):
    _, ran, printed = page_run
    output = printed[next(i for i, command in enumerate(ran) if "lab run --farm" in command)]
    assert "LG_COORDINATOR=127.0.0.1:" in output
    assert "ports served by ser2net (RFC 2217)" in output or "raw TCP (" in output, output
    header = next(line for info, lines, _ in blocks(PAGE.read_text()) if info == "text" for line in lines[:1])
    assert header.split() == ["board", "firmware", "passed", "failed", "skipped", "time"]
    assert " ".join(header.split()) in " ".join(output.split()), output
    assert len(re.findall(r"^vpico-\d +\d+\.\d+\.\d+ +\d+ +0 +\d+ +[\d.]+s$", output, re.M)) == 2, output
