"""The handheld's panels: each turns a Snapshot (or a lead check) into text on the screen."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Checkbox, DataTable, Input, Label, Static

from picostim.handheld import model
from picostim.handheld.model import Snapshot
from picostim.programmer import LeadReport

STATE_STYLE = {"on": "bold green", "stopping": "bold yellow", "off": "bold"}
ROLE_MARK = {"cathode": ("−", "bold white on blue"), "anode": ("+", "bold white on red"), "off": (" ", "")}


class StatePanel(Static):
    """Connection, running state with ramp progress, faults."""

    def show(self, snap: Snapshot | None, link: str, lead_faults: dict[int, str]) -> None:
        text = Text(link + "\n")
        if snap is None:
            self.update(text)
            return
        s = snap.status
        text.append("stimulation ")
        text.append(s.state.upper(), STATE_STYLE.get(s.state, "bold"))
        text.append(f"  phase {s.phase}  output {model.format_ua(s.out_amp_ua)}")
        if s.stop != "-" and s.state == "off":
            text.append(f"  (stopped: {s.stop})")
        percent = model.ramp_percent(s)
        if percent is not None:
            label = "soft start" if s.phase == "ramp_up" else "soft stop"
            text.append(f"\n{label} {model.bar(percent / 100, 20)} {percent:3d}%")
        if s.fault != "-":
            text.append(f"\nfault {s.fault}: {model.FAULT_TEXT.get(s.fault, 'see the event log')}", "bold red")
        for contact, verdict in sorted(lead_faults.items()):
            text.append(f"\nlead: contact {contact} {verdict} (no stimulation through it)", "bold red")
        self.update(text)


class AmpPanel(Static):
    """Amplitude inside the clinician's window, and the step."""

    def show(self, snap: Snapshot | None) -> None:
        if snap is None:
            self.update("")
            return
        s = snap.status
        low, high = model.amp_window(snap)
        text = Text("amplitude ")
        text.append(model.format_ua(s.amp_ua), "bold")
        text.append(f"   step {model.format_ua(s.step_ua)}\n")
        span = max(1, high - low)
        text.append(f"{model.format_ua(low):>8} {model.bar((s.amp_ua - low) / span, 24)} {model.format_ua(high)}")
        capped = "max_" + s.posture in snap.adaptive
        text.append("\nthe clinician's window" + (f" (with the {s.posture} limit)" if capped else ""))
        self.update(text)


class ProgramsPanel(Static):
    """The programs and the groups, the active one marked."""

    def show(self, snap: Snapshot | None) -> None:
        if snap is None:
            self.update("")
            return
        text = Text("programs (1-8)\n")
        members = snap.status.members if len(snap.status.members) > 1 else ()
        for number, name, active in model.program_list(snap):
            mark = "▶" if active else "+" if number in members else " "  # +: runs in the group too
            text.append(f"{mark} {number} {name}\n", "bold reverse" if active else "bold" if mark == "+" else "")
        groups = model.group_list(snap)
        text.append("groups (g: next)\n")
        if not groups:
            text.append("  none defined\n", "dim")
        for name, programs, selected in groups:
            label = "+".join(f"P{n}" for n in programs)
            text.append(f"{'▶' if selected else ' '} {name} ({label})\n", "bold reverse" if selected else "")
        self.update(text)


class AdaptivePanel(Static):
    """AdaptiveStim: the posture now, and what each posture remembers."""

    def show(self, snap: Snapshot | None) -> None:
        if snap is None:
            self.update("")
            return
        s = snap.status
        text = Text("AdaptiveStim ")
        text.append("on" if s.adaptive else "off", "bold green" if s.adaptive else "bold")
        text.append("   posture ")
        text.append(s.posture if s.posture != "-" else "unknown", "bold")
        for posture, memory, cap in model.posture_memory(snap):
            mark = "▶" if posture == s.posture else " "
            text.append(f"\n{mark} {posture:<8} {memory:<12} {cap}")
        self.update(text)


class LeadDrawing(Widget, can_focus=True):
    """The 8-contact lead; left/right pick a contact, space cycles it off -> cathode -> anode."""

    BINDINGS = [
        Binding("left", "pick(-1)", "contact ←"),
        Binding("right", "pick(1)", "contact →"),
        Binding("space", "cycle", "cathode/anode/off"),
    ]
    DEFAULT_CSS = "LeadDrawing { height: 4; padding-top: 1; } LeadDrawing:focus { background: $boost; }"

    class Changed(Message):
        pass

    def __init__(self, count: int = 8, **kwargs) -> None:
        super().__init__(**kwargs)
        self.roles = ["off"] * count
        self.cursor = 0

    def load(self, roles: tuple[str, ...]) -> None:
        self.roles = list(roles)
        self.cursor = min(self.cursor, len(self.roles) - 1)
        self.refresh()

    def action_pick(self, step: int) -> None:
        self.cursor = (self.cursor + step) % len(self.roles)
        self.refresh()

    def action_cycle(self) -> None:
        self.roles[self.cursor] = model.next_role(self.roles[self.cursor])
        self.refresh()
        self.post_message(self.Changed())

    def render(self) -> Text:
        numbers, body = Text("      "), Text("  tip ")
        for k, role in enumerate(self.roles):
            sign, style = ROLE_MARK[role]
            numbers.append(f" {k}{'▼' if k == self.cursor else ' '} ", "bold" if k == self.cursor else "")
            body.append("[" + sign + "]", style + (" reverse" if k == self.cursor and not style else ""))
            body.append("═")
        body.append("═════ to the stimulator")
        legend = Text("      − cathode  + anode    ←/→ pick a contact, space: cathode/anode/off", "dim")
        return Text("\n").join([numbers, body, legend])


class ProgramEditor(VerticalScroll):  # scrolls on a small terminal
    """The clinician's editor of the active program (ctrl+s applies, ctrl+l reloads)."""

    DEFAULT_CSS = """
    ProgramEditor Grid { grid-size: 6; grid-rows: 1; grid-gutter: 1 1; height: auto; margin: 1 0; }
    ProgramEditor Grid Label { text-align: right; width: 100%; }
    ProgramEditor Input { width: 100%; }
    ProgramEditor Horizontal { height: auto; }
    ProgramEditor Horizontal Label { padding-right: 1; }
    ProgramEditor Checkbox { margin-right: 2; }
    """

    def __init__(self, count: int = 8, **kwargs) -> None:
        super().__init__(**kwargs)
        self.count = count
        self.loaded: model.ProgramForm | None = None

    def compose(self):
        yield Static("", id="editor-title")
        yield LeadDrawing(self.count, id="lead-drawing")
        with Grid():
            for key, label in model.EDITOR_FIELDS:
                yield Label(label)
                yield Input(id="field-" + key, compact=True)
        with Horizontal():
            yield Label("the patient may change:")
            for key in model.PATIENT_KEYS:
                yield Checkbox(key, id="patient-" + key, compact=True)
        with Horizontal(id="group-row"):
            yield Label("group (ctrl+g defines it):")
            yield Input(placeholder="name", id="group-name", compact=True)
            yield Input(placeholder="programs, e.g. 1,2,3", id="group-programs", compact=True)

    def load(self, form: model.ProgramForm, title: str) -> None:
        self.loaded = form
        self.query_one("#editor-title", Static).update(title)
        self.query_one(LeadDrawing).load(form.contacts)
        for key, _ in model.EDITOR_FIELDS:
            self.query_one("#field-" + key, Input).value = form.values.get(key, "")
        for key in model.PATIENT_KEYS:
            self.query_one("#patient-" + key, Checkbox).value = key in form.patient

    def group(self) -> tuple[str, str]:
        """The group to define: (name, programs as typed)."""
        name = self.query_one("#group-name", Input).value.strip()
        return name, self.query_one("#group-programs", Input).value.replace(" ", "")

    def edited(self) -> model.ProgramForm:
        values = {key: self.query_one("#field-" + key, Input).value for key, _ in model.EDITOR_FIELDS}
        patient = frozenset(k for k in model.PATIENT_KEYS if self.query_one("#patient-" + k, Checkbox).value)
        return model.ProgramForm(values, tuple(self.query_one(LeadDrawing).roles), patient)


class LeadTable(DataTable):
    """The lead check: ohms, expected ohms and verdict per contact and adjacent pair."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.add_columns("item", "contacts", "ohms", "expected", "verdict")

    def load(self, report: LeadReport) -> None:
        self.clear()
        for r in report.results:
            contacts = "-".join(map(str, r.contacts)) if len(r.contacts) > 1 else f"{r.contacts[0]} vs rest"
            verdict = Text(r.status, "green" if r.status == "ok" else "bold red")
            self.add_row(r.name, contacts, str(r.ohms), str(r.expected_ohms), verdict)
