"""The handheld app against the virtual board: real keypresses through Textual's pilot, then the
board's STATUS read back through a separate Programmer connection once the app has closed.

PICOSTIM_SCREENSHOTS=DIR also saves the screenshots there (docs/handheld.svg comes from it).
"""

import asyncio
import os
import shutil
import time
from pathlib import Path

import pytest
from picostim.handheld.app import HandheldApp
from picostim.handheld.widgets import LeadTable, ProgramEditor, StatePanel
from picostim.programmer import Programmer
from picostim.vboard.launcher import SimProcess
from textual.widgets import RichLog, Static

SIZE = (110, 36)
WAIT_S = 30.0  # generous: the emulated board runs slower than real time on a loaded machine


@pytest.fixture(scope="module")
def sim(real_port):
    if real_port:
        pytest.skip("needs the virtual board (its stdin acts on the board)")
    with SimProcess() as sim:
        yield sim


async def until(pilot, what, check):
    """Let the app run until check() holds (the board answers on its own thread)."""
    deadline = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > deadline:
            shown = str(pilot.app.query_one("#message", Static).content)
            pytest.fail(f"the app never showed {what} (its message line: {shown!r})")
        await pilot.pause(0.05)


async def type_into(pilot, selector, text):
    """Click a field, clear it with its keys, type the text."""
    await pilot.click(selector)
    await pilot.press("home", "ctrl+k", *text)


async def focus_and_type(pilot, selector, text):
    """Focus a field (as Tab would; a focused field scrolls into view), clear it, type the text."""
    pilot.app.query_one(selector).focus()
    await pilot.pause()
    await pilot.press("home", "ctrl+k", *text)


def text_of(app, selector):
    return str(app.query_one(selector, Static).content)


def events_of(app):
    return "\n".join(line.text for line in app.query_one("#events", RichLog).lines)


def screenshot(app, tmp_path, name):
    path = app.save_screenshot(name, str(tmp_path))
    extra = os.environ.get("PICOSTIM_SCREENSHOTS")
    if extra:
        shutil.copy(path, Path(extra) / name)
    return Path(path).read_text()


def board_status(port):
    with Programmer(port, timeout=10) as board:
        return board.status(), board.limits(), board.adaptive()


def test_patient_keys_change_the_board(sim, tmp_path):
    with Programmer(sim.port, timeout=10) as board:  # the clinic's settings first
        board.login()
        board.set(amp="1mA", amp_min="0.5mA", amp_max="1.2mA", step="100uA", ramp="2s", cathodes=[0], anodes=[1])
        board.define_group("walking", 2)
        board.define_group("sitting", 1)

    async def session():
        app = HandheldApp(sim.port)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, "the board's state", lambda: app.snap is not None and app.connected)
            amp_text = text_of(app, "#amp")
            assert "500 uA" in amp_text and "1.2 mA" in amp_text and "step 100 uA" in amp_text
            assert "walking (P2)" in text_of(app, "#programs")
            await pilot.press("plus", "plus", "plus")  # 1.1, 1.2, then past the window
            await until(pilot, "the window's refusal", lambda: "PATIENT_RANGE" in text_of(app, "#message"))
            assert app.snap.status.amp_ua == 1200
            await pilot.press("o")
            await until(pilot, "the soft start", lambda: "soft start" in text_of(app, "#state"))
            svg = screenshot(app, tmp_path, "handheld.svg")
            assert "amplitude" in svg and "soft" in svg
            await pilot.press("2")
            await until(pilot, "program 2", lambda: app.snap.status.program == 2)
            await pilot.press("g")  # the first group by name
            await until(pilot, "group sitting", lambda: app.snap.status.group == "sitting")
            await pilot.press("r")
            await until(pilot, "the clinic amplitude", lambda: app.snap.status.amp_ua == 1000)
            await pilot.press("a")  # AdaptiveStim needs the clinician: the key does nothing here
            assert "AdaptiveStim" not in text_of(app, "#message")
            await pilot.press("x")
            await until(pilot, "the stop", lambda: app.snap.status.stop == "command")

    asyncio.run(session())
    status, _, _ = board_status(sim.port)
    assert (status.program, status.group, status.amp_ua, status.stop) == (1, "sitting", 1000, "command")
    assert status.state in ("off", "stopping") and not status.adaptive


def test_clinician_edits_the_program_and_checks_the_lead(sim):
    async def session():
        app = HandheldApp(sim.port, clinician=True)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, "the clinician role", lambda: app.role == "clinician" and app.snap is not None)
            await pilot.press("f2")  # the focus goes to the lead drawing
            # contact 0 cathode -> anode, 1 anode -> off, 2 off -> cathode
            await pilot.press("space", "right", "space", "right", "space")
            await type_into(pilot, "#field-pw", "300us")
            await pilot.click("#patient-pw")
            await pilot.press("ctrl+s")
            await until(pilot, "the new pulse width", lambda: app.snap.status.pw_us == 300)
            assert (app.snap.status.cathodes, app.snap.status.anodes) == ((2,), (0,))
            editor = app.query_one(ProgramEditor)
            await until(pilot, "the editor on the new setting", lambda: editor.loaded.values["pw"] == "300us")

            await type_into(pilot, "#field-rate", "6 0Hz")
            await pilot.press("ctrl+s")  # refused here, nothing sent
            assert "ERR VALUE" in text_of(app, "#message")
            await pilot.press("ctrl+l")
            await type_into(pilot, "#field-pw", "5us")
            await pilot.press("ctrl+s")  # refused by the board
            await until(pilot, "the board's refusal", lambda: "ERR RANGE" in text_of(app, "#message"))
            assert app.snap.status.pw_us == 300 and app.snap.status.rate_hz == 60

            await focus_and_type(pilot, "#group-name", "mix")  # below the fold: the editor scrolls to it
            await focus_and_type(pilot, "#group-programs", "1,2")
            await pilot.press("ctrl+g")  # two programs at 60 Hz: defined
            await until(pilot, "the new group", lambda: app.snap.groups.get("mix") == "1,2")
            await focus_and_type(pilot, "#group-programs", "1,9")
            await pilot.press("ctrl+g")
            await until(pilot, "the board's refusal", lambda: "ERR NOT_FOUND" in text_of(app, "#message"))

            await pilot.press("f3", "i")
            await until(pilot, "the lead table", lambda: app.query_one(LeadTable).row_count == 15)
            assert app.lead_faults == {}
            sim.control("contact 3 break")
            await pilot.press("i")
            await until(pilot, "the open contact", lambda: app.lead_faults == {3: "open"})
            await pilot.press("f1", "a")
            await until(pilot, "AdaptiveStim on", lambda: app.snap.status.adaptive)
            assert "contact 3 open" in str(app.query_one(StatePanel).content)
            sim.control("contact 3 ok")
            await pilot.press("i")
            await until(pilot, "the repaired lead", lambda: app.lead_faults == {})

    asyncio.run(session())
    status, limits, adaptive = board_status(sim.port)
    assert (status.pw_us, status.cathodes, status.anodes, status.adaptive) == (300, (2,), (0,), True)
    assert "pw" in limits["patient"].split(",") and adaptive["enabled"] == "1"


def test_lost_port_is_shown_and_retried(sim, tmp_path):
    link = tmp_path / "port"
    with SimProcess() as doomed:
        link.symlink_to(doomed.port)

        async def session():
            app = HandheldApp(str(link), retry_s=0.2)
            async with app.run_test(size=SIZE) as pilot:
                await until(pilot, "the first board", lambda: app.connected)
                doomed.stop()
                await until(pilot, "the lost port", lambda: "PORT LOST" in text_of(app, "#state"))
                await pilot.press("o")  # the screen still answers
                await until(pilot, "the refusal", lambda: "ERR PORT" in text_of(app, "#message"))
                link.unlink()
                link.symlink_to(sim.port)  # the board is back (here: another one)
                await until(pilot, "the reconnection", lambda: app.connected)
                assert "port lost" in events_of(app)

        asyncio.run(session())


def test_events_and_faults_show_live(sim):
    async def session():
        app = HandheldApp(sim.port)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, "the board's state", lambda: app.snap is not None)
            await pilot.press("o")
            await until(pilot, "stimulation on", lambda: app.snap.status.state == "on")
            sim.control("button press")
            await until(pilot, "the button's event", lambda: "EVT STOP reason=button" in events_of(app))
            sim.control("button release")
            await until(pilot, "the stop reason", lambda: "stopped: button" in text_of(app, "#state"))
            await pilot.press("o")
            await until(pilot, "stimulation on", lambda: app.snap.status.state == "on")
            sim.control("fault raise")
            await until(pilot, "the fault", lambda: "fault LOOP" in text_of(app, "#message"))
            await until(pilot, "the fault in the state", lambda: "fault LOOP" in text_of(app, "#state"))

    asyncio.run(session())
    status, _, _ = board_status(sim.port)
    assert status.fault == "LOOP" and status.stop == "fault"
