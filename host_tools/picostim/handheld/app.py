"""`picostim handheld`: the patient's handheld programmer on screen (Textual).

Every action has a key (the footer lists them). Serial I/O runs on the board worker's thread
(board.py); the screen only ever shows what the board last answered.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.widgets import Footer, Header, RichLog, Static, TabbedContent, TabPane

from picostim.handheld import model
from picostim.handheld.board import BoardLink, Connected, Done, Event, Failed, Lost
from picostim.handheld.widgets import AdaptivePanel, AmpPanel, LeadTable, ProgramEditor, ProgramsPanel, StatePanel
from picostim.programmer import LeadReport, Programmer, ProgrammerError

CLINICIAN_ACTIONS = ("adaptive", "apply", "reload", "impedance", "define_group")


class BoardNews(Message):
    """Something the board worker learned (a Snapshot, Connected, Lost, Event, Done or Failed)."""

    def __init__(self, news: object) -> None:
        super().__init__()
        self.news = news


class HandheldApp(App):
    TITLE = "picostim handheld"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    #patient-top { height: auto; }
    #patient-left { width: 1fr; height: auto; }
    StatePanel, AmpPanel, AdaptivePanel { padding: 0 1; margin-bottom: 1; }
    ProgramsPanel { width: 30; padding: 0 1; border-left: solid $primary; }
    #events { height: 1fr; min-height: 4; border-top: solid $primary; }
    TabbedContent { height: 1fr; }
    #message { height: 1; padding: 0 1; background: $boost; }
    """
    BINDINGS = [
        Binding("o", "on_off", "on/off"),
        Binding("x", "stop", "STOP"),
        Binding("plus", "amp(1)", "amp+"),
        Binding("minus", "amp(-1)", "amp−"),
        Binding("asterisk", "amp_all(1)", "group amp+", show=False),  # every program of the group
        Binding("slash", "amp_all(-1)", "group amp−", show=False),
        *(Binding(str(n), f"program({n})", f"program {n}", show=False) for n in range(1, 9)),
        Binding("g", "next_group", "group"),
        Binding("r", "restore", "restore"),
        Binding("a", "adaptive", "adaptive"),
        Binding("f1", "tab('patient')", "patient", show=False),  # the tab titles name F1..F3
        Binding("f2", "tab('editor')", "program", show=False),
        Binding("f3", "tab('lead')", "lead", show=False),
        Binding("ctrl+s", "apply", "apply", priority=True),
        Binding("ctrl+g", "define_group", "define group", priority=True, show=False),  # named in the editor
        Binding("ctrl+l", "reload", "reload", show=False),  # named in the editor's title
        Binding("i", "impedance", "lead check"),
        Binding("q", "quit", "quit"),
    ]

    def __init__(
        self,
        port: str,
        clinician: bool = False,
        key: bytes | None = None,
        poll_s: float = 0.25,
        retry_s: float = 1.0,
        timeout: float = 3.0,
    ) -> None:
        super().__init__()
        self.clinician = clinician
        self.link = BoardLink(
            port, self.post_board_news, key=key, clinician=clinician, poll_s=poll_s, retry_s=retry_s, timeout=timeout
        )
        self.snap: model.Snapshot | None = None
        self.connected = False
        self.role = "patient"
        self.link_text = f"connecting to {port} ..."
        self.lead_faults: dict[int, str] = {}
        self.editor_stale = False
        self.contact_count = 8

    def post_board_news(self, news: object) -> None:
        self.post_message(BoardNews(news))  # thread-safe

    # -- layout ------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="patient"):
            with TabPane("Patient (F1)", id="patient"):
                with Horizontal(id="patient-top"):
                    with Vertical(id="patient-left"):
                        yield StatePanel(id="state")
                        yield AmpPanel(id="amp")
                        yield AdaptivePanel(id="adaptive")
                    yield ProgramsPanel(id="programs")
                yield RichLog(id="events", markup=False, wrap=True, max_lines=500)
            if self.clinician:
                with TabPane("Program (F2)", id="editor"):
                    yield ProgramEditor(self.contact_count, id="program-editor")
                with TabPane("Lead (F3)", id="lead"):
                    yield Static("i: run the lead check (stimulation off); contacts found open or shorted are refused")
                    yield LeadTable(id="lead-table")
        yield Static("", id="message")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "clinician" if self.clinician else "patient"
        self.run_worker(self.link.run, thread=True, name="board", exit_on_error=False)
        self.refresh_panels()

    def on_unmount(self) -> None:
        self.link.stop()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in CLINICIAN_ACTIONS or (action == "tab" and parameters != ("patient",)):
            return self.clinician
        return True

    # -- news from the board worker ------------------------------------------------------
    def on_board_news(self, message: BoardNews) -> None:
        try:
            self.take_news(message.news)
        except NoMatches:  # the app is closing: its widgets are gone
            pass

    def take_news(self, news: object) -> None:
        if isinstance(news, model.Snapshot):
            program_changed = self.snap is None or self.snap.status.program != news.status.program
            self.snap = news
            if self.clinician:
                self.load_editor(force=program_changed or self.editor_stale)
                self.editor_stale = False
        elif isinstance(news, Connected):
            self.connected, self.role = True, news.role
            self.contact_count = news.hello.contacts
            self.link_text = f"{news.port}  {news.role}  fw {news.hello.firmware}  board {news.hello.board}"
            self.log_line(f"connected to {news.port} as the {news.role}", "green")
            if self.clinician and news.role != "clinician":
                self.say("clinician login refused: the patient's controls only", "bold red")
        elif isinstance(news, Lost):
            self.connected = False
            self.link_text = f"PORT LOST {news.port}: {news.reason} - retrying"
            if news.attempt <= 1:
                self.log_line(f"port lost: {news.reason}", "bold red")
        elif isinstance(news, Event):
            self.show_event(news.text)
        elif isinstance(news, Done):
            self.show_done(news)
        elif isinstance(news, Failed):
            if news.code == "LEAD":
                found = model.lead_fault_from_refusal(news.message)
                if found:
                    self.lead_faults[found[0]] = found[1]
            self.say(f"{news.label}: ERR {news.code} {news.message}", "bold red")
            self.log_line(f"{news.label} refused: {news.code} {news.message}", "red")
        self.refresh_panels()

    def show_event(self, text: str) -> None:
        kind = text.split(" ", 1)[0]
        style = "bold red" if kind in ("FAULT", "STOP") else "cyan"
        self.log_line("EVT " + text, style)
        if kind == "FAULT":
            code = text.partition("code=")[2].split(" ")[0]
            self.say(f"fault {code}: {model.FAULT_TEXT.get(code, 'see the event log')}", "bold red")
        elif kind == "READY":
            self.lead_faults.clear()  # the board restarted: its lead status is gone too
            self.say("the board restarted: stimulation off", "bold yellow")

    def show_done(self, news: Done) -> None:
        if isinstance(news.result, LeadReport):
            self.lead_faults = news.result.failed()
            self.query_one(LeadTable).load(news.result)
            verdict = "every contact ok" if news.result.all_ok() else "see the table"
            self.say(f"lead check done: {verdict}", "green" if news.result.all_ok() else "bold red")
            return
        if news.label == "apply":
            self.editor_stale = True  # reload it from the next STATUS, which has the change
        self.say(f"{news.label}: ok", "green")

    # -- drawing -------------------------------------------------------------------------
    def refresh_panels(self) -> None:
        link = ("" if self.connected else "! ") + self.link_text
        self.query_one(StatePanel).show(self.snap if self.connected else None, link, self.lead_faults)
        for panel in (self.query_one(AmpPanel), self.query_one(ProgramsPanel), self.query_one(AdaptivePanel)):
            panel.show(self.snap if self.connected else None)

    def say(self, text: str, style: str = "") -> None:
        self.query_one("#message", Static).update(f"[{style}]{_escape(text)}[/]" if style else _escape(text))

    def log_line(self, text: str, style: str = "") -> None:
        from rich.text import Text

        self.query_one("#events", RichLog).write(Text(text, style))

    def load_editor(self, force: bool = True) -> None:
        """The active program into the editor; unless forced, only while it holds no edits."""
        if not self.clinician or self.snap is None:
            return
        editor = self.query_one(ProgramEditor)
        form = model.form_from(self.snap, self.contact_count)
        if not force and (editor.loaded is None or editor.edited() != editor.loaded or form == editor.loaded):
            return
        s = self.snap.status
        title = f"program {s.program} ({s.name}): ctrl+s applies the changes, ctrl+l reloads from the board"
        editor.load(form, title)

    # -- actions (each one a key) ----------------------------------------------------------
    def send(self, label: str, action) -> None:
        self.say(f"{label} ...")
        self.link.submit(label, action)

    def action_on_off(self) -> None:
        if self.snap is not None and self.snap.status.state == "on":
            self.send("off", Programmer.off)
        else:
            self.send("on", Programmer.on)

    def action_stop(self) -> None:
        self.send("stop", Programmer.stop)

    def action_amp(self, direction: int) -> None:
        if direction > 0:
            self.send("amp up", Programmer.amp_up)
        else:
            self.send("amp down", Programmer.amp_down)

    def action_amp_all(self, direction: int) -> None:
        """GroupAdjust: every program of the running group, ratios kept."""
        if direction > 0:
            self.send("amp up all", lambda board: board.amp_up(all_members=True))
        else:
            self.send("amp down all", lambda board: board.amp_down(all_members=True))

    def action_program(self, number: int) -> None:
        self.send(f"program {number}", lambda board: board.select_program(number))

    def action_next_group(self) -> None:
        name = model.next_group(self.snap) if self.snap else None
        if name is None:
            self.say("no groups defined (the clinician defines them)", "yellow")
            return
        self.send(f"group {name}", lambda board: board.select_group(name))

    def action_restore(self) -> None:
        self.send("restore", Programmer.restore)

    def action_adaptive(self) -> None:
        word = "off" if self.snap is not None and self.snap.status.adaptive else "on"
        self.send(f"AdaptiveStim {word}", lambda board: board.adaptive(word))

    def action_tab(self, pane: str) -> None:
        self.query_one(TabbedContent).active = pane
        # keys go where the pane needs them: the lead drawing, the lead table, or the app's own keys
        target = {"editor": "#lead-drawing", "lead": "#lead-table"}.get(pane)
        self.call_after_refresh(self.set_focus, self.query_one(target) if target else None)

    def action_apply(self) -> None:
        editor = self.query_one(ProgramEditor)
        if editor.loaded is None:
            return
        try:
            words = model.set_arguments(editor.loaded, editor.edited())
        except ProgrammerError as exc:  # refused before sending: nothing changed
            self.say(f"apply: ERR {exc.code} {exc.message}", "bold red")
            return
        if not words:
            self.say("apply: nothing changed")
            return
        line = "SET " + " ".join(words)
        self.send("apply", lambda board: board.command(line))

    def action_define_group(self) -> None:
        """GROUP <name> <programs>: one to four programs, several run together interleaved."""
        name, programs = self.query_one(ProgramEditor).group()
        numbers = programs.split(",")
        if not name or not all(n.isdigit() for n in numbers):
            self.say("define group: type a name and programs such as 1,2,3", "bold red")
            return
        self.send(f"group {name} {programs}", lambda board: board.define_group(name, [int(n) for n in numbers]))

    def action_reload(self) -> None:
        self.load_editor()
        self.say("editor reloaded from the board")

    def action_impedance(self) -> None:
        self.action_tab("lead")
        self.send("lead check", lambda board: board.impedance())


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def run(port: str, clinician: bool = False, key: bytes | None = None, timeout: float = 3.0) -> int:
    HandheldApp(port, clinician=clinician, key=key, timeout=timeout).run()
    return 0
