"""Programmer client: the handheld programmer as a Python API over pyserial.

    from picostim import Programmer
    with Programmer("/dev/ttyACM0") as board:     # or a pyserial URL
        board.set(amp="2.5mA", pw="210us", rate="60Hz", cathodes=[2], anodes=[3])
        board.on()
        board.amp_up()
        print(board.status().amp_ua)

Every device refusal raises ProgrammerError with the firmware's stable code
(e.g. RANGE); host-side failures use the codes PORT, NO_ANSWER and PROTOCOL.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import serial

from picostim import netport

PROTOCOL_VERSION = 2
RP2040_MICROPYTHON_USB = (0x2E8A, 0x0005)


class ProgrammerError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Hello:
    firmware: str
    protocol: int
    board: str
    contacts: int


@dataclass(frozen=True)
class Status:
    state: str
    pending: bool
    amp_ua: int
    pw_us: int
    ipg_us: int
    rate_hz: int
    asym: int
    cathodes: tuple[int, ...]
    anodes: tuple[int, ...]
    burst_count: int
    burst_rate_hz: int
    trigger: str
    trigger_pulses: int
    step_ua: int
    ramp_ms: int
    cycle_on_ms: int
    cycle_off_ms: int
    train_ms: int
    program: int
    name: str
    group: str
    members: tuple[int, ...]  # the programs that run: a group's (interleaved), or the active one
    role: str
    phase: str
    out_amp_ua: int
    stop: str
    posture: str  # the stable posture ("-": none yet, or no accelerometer)
    adaptive: bool  # AdaptiveStim on
    fault: str  # the newest fault code, "-" when none
    raw: dict[str, str] = field(compare=False, repr=False)

    @classmethod
    def parse(cls, text: str) -> Status:
        kv = parse_pairs(text)
        try:
            return cls(
                state=kv["state"],
                pending=kv["pending"] == "1",
                amp_ua=_strip_unit(kv["amp"], "uA"),
                pw_us=_strip_unit(kv["pw"], "us"),
                ipg_us=_strip_unit(kv["ipg"], "us"),
                rate_hz=_strip_unit(kv["rate"], "Hz"),
                asym=int(kv["asym"]),
                cathodes=_contacts(kv["cathodes"]),
                anodes=_contacts(kv["anodes"]),
                burst_count=int(kv["burst"]),
                burst_rate_hz=_strip_unit(kv["burst_rate"], "Hz"),
                trigger=kv["trigger"],
                trigger_pulses=int(kv["trigger_pulses"]),
                step_ua=_strip_unit(kv["step"], "uA"),
                ramp_ms=_strip_unit(kv["ramp"], "ms"),
                cycle_on_ms=_strip_unit(kv["cycle_on"], "ms"),
                cycle_off_ms=_strip_unit(kv["cycle_off"], "ms"),
                train_ms=_strip_unit(kv["train"], "ms"),
                program=int(kv["program"]),
                name=kv["name"],
                group=kv["group"],
                members=_contacts(kv.get("members", kv["program"])),
                role=kv["role"],
                phase=kv["phase"],
                out_amp_ua=_strip_unit(kv["out_amp"], "uA"),
                stop=kv["stop"],
                posture=kv.get("posture", "-"),
                adaptive=kv.get("adaptive") == "on",
                fault=kv.get("fault", "-"),
                raw=kv,
            )
        except (KeyError, ValueError) as exc:
            raise ProgrammerError("PROTOCOL", f"unexpected status answer {text!r}") from exc

    def as_dict(self) -> dict[str, object]:
        """The parsed fields (contacts as lists), for JSON."""
        out = asdict(self)
        del out["raw"]
        return out


def _ma(ua: int) -> str:
    return f"{ua / 1000:g} mA"


def _duration(ms: int) -> str:
    return "off" if ms == 0 else f"{ms / 1000:g} s"


def _group_text(s: Status) -> str:
    if s.group == "-":
        return ""
    if len(s.members) > 1:
        return f" (group {s.group}: programs {','.join(map(str, s.members))} interleaved)"
    return f" (group {s.group})"


def format_status(status: Status, limits: dict[str, str] | None = None) -> str:
    """STATUS (and LIMITS, for the patient's window) as a short block for people."""
    s = status
    state = s.state
    if s.state != "off":
        state += f" ({s.phase}, output {_ma(s.out_amp_ua)})" if s.phase != "-" else f" (output {_ma(s.out_amp_ua)})"
    if s.pending:
        state += ", update pending"
    if s.stop != "-":
        state += f"; last stop: {s.stop}"
    amplitude = f"{_ma(s.amp_ua)}, step {_ma(s.step_ua)}"
    if limits:
        low, high = _strip_unit(limits["amp_min"], "uA"), _strip_unit(limits["amp_max"], "uA")
        amplitude += f"; patient window {low / 1000:g}..{high / 1000:g} mA; patient may change {limits['patient']}"
    pulse = f"{s.pw_us} us, gap {s.ipg_us} us, {s.rate_hz} Hz"
    if s.asym != 1:
        pulse += f", recovery {s.asym}x longer"
    if s.burst_count > 1:
        pulse += f", bursts of {s.burst_count} at {s.burst_rate_hz} Hz"
    if s.trigger != "off":
        pulse += f", trigger {s.trigger}" + (f" ({s.trigger_pulses} pulses)" if s.trigger == "edge" else "")
    timing = f"ramp {_duration(s.ramp_ms)}, " + (
        "runs until off" if not s.train_ms else f"stops after {s.train_ms / 1000:g} s"
    )
    if s.cycle_on_ms or s.cycle_off_ms:
        timing += f", cycling {_duration(s.cycle_on_ms)} on / {_duration(s.cycle_off_ms)} off"
    rows = (
        ("state", state),
        ("program", f"{s.program} {s.name}" + _group_text(s) + f"; role {s.role}"),
        ("amplitude", amplitude),
        ("pulse", pulse),
        ("contacts", f"cathodes {','.join(map(str, s.cathodes))}, anodes {','.join(map(str, s.anodes))}"),
        ("timing", timing),
        ("posture", f"{s.posture if s.posture != '-' else 'unknown'}; AdaptiveStim {'on' if s.adaptive else 'off'}"),
        ("faults", "none" if s.fault == "-" else f"{s.fault} (newest since start; see picostim log)"),
    )
    return "\n".join(f"{name:<10} {text}" for name, text in rows)


@dataclass(frozen=True)
class LogRecord:
    """One record of the board's event log (LOG)."""

    seq: int  # 1, 2, ... across restarts
    boot: int  # the boot that wrote it
    uptime_ms: int  # ms since that boot
    kind: str  # ON, OFF, STOP, AMP, SET, PROGRAM, GROUP, RESTORE, TRAIN, LOGIN, ...
    role: str  # patient, clinician or device
    detail: str  # "" when none

    def as_dict(self) -> dict[str, int | str]:
        return {
            "seq": self.seq,
            "boot": self.boot,
            "uptime_ms": self.uptime_ms,
            "kind": self.kind,
            "role": self.role,
            "detail": self.detail,
        }


LOG_FIELDS = ("seq", "boot", "uptime_ms", "kind", "role", "detail")
LOG_PAGE = 16  # records the board sends in one LOG answer at most


@dataclass(frozen=True)
class LogPage:
    records: list[LogRecord]
    boot: int  # the board's current boot
    last: int  # the newest seq in the log (0: empty)
    next: int  # the seq to ask for next


def parse_log(text: str) -> LogPage:
    """The text of a LOG answer (after "OK "):
    count=2 boot=3 last=56 next=57 | 55,3,1234,ON,patient,- | 56,3,1300,AMP,patient,amp=2600uA"""
    head, *items = text.split(" | ")
    kv = parse_pairs(head)
    try:
        records = []
        for item in items:
            seq, boot, uptime, kind, role, detail = item.split(",", 5)
            records.append(LogRecord(int(seq), int(boot), int(uptime), kind, role, "" if detail == "-" else detail))
        page = LogPage(records, int(kv["boot"]), int(kv["last"]), int(kv["next"]))
        if int(kv["count"]) != len(records):
            raise ValueError("count")
    except (KeyError, ValueError) as exc:
        raise ProgrammerError("PROTOCOL", f"unexpected LOG answer {text!r}") from exc
    return page


LEAD_VERDICTS = ("ok", "open", "short", "high", "low")
IMPEDANCE_TIMEOUT_S = 10.0  # a lead check makes 15 measuring pulses (more on a busy virtual board)


@dataclass(frozen=True)
class LeadResult:
    """One measurement of a lead check (IMPEDANCE): contact k against the
    others (name "c3"), or the pair k, k+1 ("pair3-4")."""

    name: str
    contacts: tuple[int, ...]
    ohms: int
    expected_ohms: int
    status: str  # ok, open, short, high, low

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "contacts": list(self.contacts),
            "ohms": self.ohms,
            "expected_ohms": self.expected_ohms,
            "status": self.status,
        }


@dataclass(frozen=True)
class LeadReport:
    current_ua: int  # the measuring current the DAC makes
    pw_us: int  # each phase of the measuring pulse
    tolerance_pct: int
    results: list[LeadResult]

    def failed(self) -> dict[int, str]:
        """{contact: "open" | "short"} from the per-contact results: stimulation on them is refused."""
        return {r.contacts[0]: r.status for r in self.results if len(r.contacts) == 1 and r.status in ("open", "short")}

    def all_ok(self) -> bool:
        return all(r.status == "ok" for r in self.results)

    def as_dict(self) -> dict[str, object]:
        return {
            "current_ua": self.current_ua,
            "pw_us": self.pw_us,
            "tolerance_pct": self.tolerance_pct,
            "results": [r.as_dict() for r in self.results],
        }


def parse_impedance(text: str) -> LeadReport:
    """The text of an IMPEDANCE answer (after "OK "):
    current=490uA pw=1000us tolerance=20% expect_c=1143ohm expect_pair=2000ohm c0=1142ohm:ok ...
    pair2-3=24509ohm:open"""
    kv = parse_pairs(text)
    try:
        expected = {"c": _strip_unit(kv["expect_c"], "ohm"), "pair": _strip_unit(kv["expect_pair"], "ohm")}
        results = []
        for key, value in kv.items():
            kind = "pair" if key.startswith("pair") else "c" if key[:1] == "c" and key[1:].isdigit() else None
            if kind is None:
                continue
            ohms, status = value.split(":")
            if status not in LEAD_VERDICTS:
                raise ValueError(status)
            contacts = tuple(int(c) for c in key[len(kind) :].split("-"))
            results.append(LeadResult(key, contacts, _strip_unit(ohms, "ohm"), expected[kind], status))
        return LeadReport(
            _strip_unit(kv["current"], "uA"), _strip_unit(kv["pw"], "us"), _strip_unit(kv["tolerance"], "%"), results
        )
    except (KeyError, ValueError) as exc:
        raise ProgrammerError("PROTOCOL", f"unexpected IMPEDANCE answer {text!r}") from exc


def _train_info(text: str) -> dict[str, int]:
    kv = parse_pairs(text)
    try:
        return {"length": int(kv["length"]), "max": int(kv["max"])}
    except (KeyError, ValueError) as exc:
        raise ProgrammerError("PROTOCOL", f"unexpected TRAIN answer {text!r}") from exc


def parse_pairs(text: str) -> dict[str, str]:
    out = {}
    for part in text.split():
        key, sep, value = part.partition("=")
        if sep:
            out[key] = value
    return out


def _strip_unit(text: str, unit: str) -> int:
    if not text.endswith(unit):
        raise ValueError(text)
    return int(text[: -len(unit)])


def _contacts(text: str) -> tuple[int, ...]:
    return tuple(int(c) for c in text.split(","))


def _format_value(key: str, value) -> str:
    if isinstance(value, str):
        return value  # as written, e.g. "2.5mA" or "1,2"
    if key in ("cathodes", "anodes", "patient"):
        items = [value] if isinstance(value, int | str) else value
        return ",".join(str(c) for c in items) or "none"
    return str(value)


_UNIT_SUFFIXES = {"_ua": "uA", "_us": "us", "_hz": "Hz", "_ms": "ms"}


def _set_part(keyword: str, value) -> str:
    """amp="2.5mA" -> amp=2.5mA; amp_ua=2500 -> amp=2500uA; amp_min_ua=1000 -> amp_min=1000uA."""
    key, unit = keyword, ""
    for suffix, name in _UNIT_SUFFIXES.items():
        if keyword.endswith(suffix):
            key, unit = keyword[: -len(suffix)], name
    return f"{key}={_format_value(key, value)}{unit if not isinstance(value, str) else ''}"


def open_port(port: str, baudrate: int = 115200, timeout: float = 0.1) -> serial.SerialBase:
    """A pyserial port for a device path or URL (rfc2217://, socket://), with
    clear errors; over TCP, with the flags and socket options of picostim.netport."""
    try:
        if netport.is_network(port):
            opened = serial.serial_for_url(netport.url_for(port), baudrate=baudrate, timeout=timeout)
            netport.speed_up(opened)
            return opened
        return serial.serial_for_url(port, baudrate=baudrate, timeout=timeout, exclusive=True)
    except serial.SerialException as exc:
        text = str(exc)
        if "lock" in text or "busy" in text.lower():
            raise ProgrammerError("PORT", f"{port} is busy: another program has it open ({text})") from exc
        if "No such file" in text or "could not open port" in text:
            raise ProgrammerError("PORT", f"cannot open {port}: no such port ({text})") from exc
        raise ProgrammerError("PORT", f"cannot open {port}: {text}") from exc
    except (ValueError, OSError) as exc:
        raise ProgrammerError("PORT", f"cannot open {port}: {exc}") from exc


TIMEOUT_ENV = "PICOSTIM_TIMEOUT"  # seconds per answer on a slow link (rfc2217 far away, the full-chip board)


def default_timeout(fallback: float) -> float:
    """$PICOSTIM_TIMEOUT if set, else `fallback`; a value that is no number of seconds is refused."""
    import os

    text = os.environ.get(TIMEOUT_ENV)
    if text is None:
        return fallback
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise ValueError(f"{TIMEOUT_ENV}={text!r} is not a number of seconds")
    return seconds


class Programmer:
    def __init__(self, port: str, timeout: float | None = None, baudrate: int = 115200, within: float | None = None):
        """`timeout`: seconds an answer may take (default $PICOSTIM_TIMEOUT, else 2).
        `within`: seconds the board may take to answer HELLO at all (default
        `timeout`; see when_ready)."""
        self.port = port
        self.timeout = default_timeout(2.0) if timeout is None else timeout
        self.events: deque[str] = deque(maxlen=1000)  # EVT lines seen, oldest first
        self._serial = open_port(port, baudrate)
        try:
            self.hello = self._handshake(within)
        except BaseException:
            self._serial.close()
            raise

    # -- connection ------------------------------------------------------------------
    def __enter__(self) -> Programmer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._serial.close()

    @classmethod
    def when_ready(cls, port: str, within: float = 30.0, timeout: float = 2.0) -> Programmer:
        """Connect once the board answers: open the port again and again, and
        say HELLO every `timeout` seconds, for up to `within` seconds. After a
        reset a Pico's USB port goes away and comes back (and so does a port
        ser2net serves), and the firmware answers only once it is up (after
        EVT READY). `timeout` should exceed the board's slowest answer."""
        deadline = time.monotonic() + within
        while True:
            try:
                return cls(port, timeout=timeout, within=max(timeout, deadline - time.monotonic()))
            except ProgrammerError as exc:
                if exc.code != "PORT" or time.monotonic() >= deadline:
                    raise
                time.sleep(0.2)

    def reconnect(self, within: float = 30.0) -> Hello:
        """Connect again, as when_ready does, after the board was reset."""
        self._serial.close()
        fresh = Programmer.when_ready(self.port, within, self.timeout)
        self._serial, self.hello = fresh._serial, fresh.hello
        return self.hello

    def _handshake(self, within: float | None = None) -> Hello:
        """Drop stale bytes, end any partial line the board holds, then HELLO.
        The partial line is ended with a CAN byte (0x18), which makes the whole
        line an ENCODING error: a stale half-command is refused, never run.
        Everything before HELLO's own answer is stale and ignored.

        With `within` longer than the timeout (a board still starting), HELLO
        goes again every `timeout` seconds until one is answered; then the
        answers to the others are read as well, so that none is left over to
        be taken for the answer to a later command."""
        self._serial.reset_input_buffer()
        start = time.monotonic()
        deadline = start + (self.timeout if within is None else within)
        sent, resend_at = 0, start
        seen: list[str] = []
        while True:
            now = time.monotonic()
            if now >= deadline:
                hint = (
                    " (a MicroPython REPL answered: is the firmware running?)" if any(">>>" in s for s in seen) else ""
                )
                waited = deadline - start
                raise ProgrammerError("NO_ANSWER", f"no picostim HELLO answer from {self.port} in {waited:g}s{hint}")
            if now >= resend_at:
                self.write_raw(b"\x18\nHELLO\n")
                sent, resend_at = sent + 1, now + self.timeout
            line = self._readline()
            if line is None:
                continue
            if line.startswith("OK picostim "):
                break
            seen.append(line)
        for _ in range(sent - 1):
            # Each comes about `timeout` after the one before; one that never
            # comes was sent while the board was resetting.
            self._read_hello_answer(time.monotonic() + 2 * self.timeout)
        kv = parse_pairs(line)
        try:
            hello = Hello(kv["fw"], int(kv["proto"]), kv["board"], int(kv["contacts"]))
        except (KeyError, ValueError) as exc:
            raise ProgrammerError("PROTOCOL", f"unexpected HELLO answer {line!r}") from exc
        if hello.protocol != PROTOCOL_VERSION:
            raise ProgrammerError(
                "PROTOCOL",
                f"board speaks protocol v{hello.protocol}; this client speaks v{PROTOCOL_VERSION}",
            )
        return hello

    def _read_hello_answer(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            line = self._readline()
            if line is not None and line.startswith("OK picostim "):
                return

    def _write(self, line: str) -> None:
        try:
            self._serial.write(line.encode("ascii", "replace") + b"\n")
        except serial.SerialException as exc:
            raise ProgrammerError("PORT", f"write to {self.port} failed: {exc}") from exc

    def _readline(self) -> str | None:
        try:
            raw = self._serial.readline()
        except serial.SerialException as exc:
            raise ProgrammerError("PORT", f"read from {self.port} failed: {exc}") from exc
        if not raw.endswith(b"\n"):
            if raw:  # a partial line: wait for the rest
                rest = self._serial.read_until(b"\n")
                raw += rest
            if not raw.endswith(b"\n"):
                return None
        return raw.decode("ascii", "replace").strip()

    # -- commands --------------------------------------------------------------------
    def send(self, line: str) -> str:
        """Send one raw line; return its answer line ("OK ..." or "ERR ...")."""
        self._write(line)
        return self.read_answer(what=repr(line))

    def write_raw(self, data: bytes) -> None:
        """Bytes exactly as given (no line end added): for testers."""
        try:
            self._serial.write(data)
        except serial.SerialException as exc:
            raise ProgrammerError("PORT", f"write to {self.port} failed: {exc}") from exc

    def read_answer(self, timeout: float | None = None, what: str = "the last command") -> str:
        """The next OK/ERR line; EVT lines on the way go to `events`."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while time.monotonic() < deadline:
            answer = self._readline()
            if answer is None:
                continue
            if answer.startswith("EVT "):
                self.events.append(answer[4:])
            elif answer == "OK" or answer.startswith(("OK ", "ERR ")):
                return answer
        raise ProgrammerError("NO_ANSWER", f"no answer to {what} from {self.port} in {self.timeout}s")

    def read_until(self, marker: str, timeout: float | None = None) -> str:
        """Raw text up to and including `marker` (e.g. the REPL prompt)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        text = ""
        while marker not in text:
            if time.monotonic() > deadline:
                raise ProgrammerError("NO_ANSWER", f"no {marker!r} from {self.port}; got {text[-200:]!r}")
            text += self._serial.read(self._serial.in_waiting or 1).decode("ascii", "replace")
        return text

    def command(self, line: str) -> str:
        """Send a command; return the text after OK, or raise ProgrammerError."""
        answer = self.send(line)
        if answer.startswith("ERR "):
            _, code, message = (answer + " ").split(" ", 2)
            raise ProgrammerError(code, message.strip())
        return answer[3:]

    def status(self) -> Status:
        return Status.parse(self.command("STATUS"))

    def set(self, **settings) -> Status:
        """SET in one command, all or nothing. Strings are sent as written
        (amp="2.5mA"); keywords ending _ua/_us/_hz/_ms take integers in that
        unit (amp_ua=2500, ramp_ms=0, amp_min_ua=500)."""
        if not settings:
            raise ValueError("set() needs at least one setting")
        return Status.parse(self.command("SET " + " ".join(_set_part(k, v) for k, v in settings.items())))

    def on(self) -> Status:
        return Status.parse(self.command("ON"))

    def off(self) -> Status:
        return Status.parse(self.command("OFF"))

    def stop(self) -> Status:
        return Status.parse(self.command("STOP"))

    def amp_up(self, all_members: bool = False) -> Status:
        """One step up; all_members: every program of the running group, ratios kept."""
        return Status.parse(self.command("AMP UP ALL" if all_members else "AMP UP"))

    def amp_down(self, all_members: bool = False) -> Status:
        return Status.parse(self.command("AMP DOWN ALL" if all_members else "AMP DOWN"))

    def login(self, key: bytes | None = None) -> str:
        """Clinician role by challenge-response: LOGIN gives a nonce, AUTH answers
        HMAC-SHA256(key, nonce). The key never crosses the wire. None: the
        virtual board's development key. The session ends at LOGOUT, after the
        board's idle timeout, or when a programmer connects (HELLO)."""
        from picostim.auth import DEV_KEY, response

        nonce = parse_pairs(self.command("LOGIN"))["nonce"]
        return parse_pairs(self.command("AUTH " + response(key or DEV_KEY, nonce)))["role"]

    def logout(self) -> str:
        return parse_pairs(self.command("LOGOUT"))["role"]

    def select_program(self, number: int) -> Status:
        return Status.parse(self.command(f"PROGRAM {int(number)}"))

    def select_group(self, name: str) -> Status:
        return Status.parse(self.command(f"GROUP {name}"))

    def define_group(self, name: str, programs: int | Sequence[int]) -> dict[str, str]:
        """A group of one program, or of 2..4 run together interleaved (clinician)."""
        numbers = [programs] if isinstance(programs, int) else list(programs)
        return parse_pairs(self.command(f"GROUP {name} " + ",".join(str(int(n)) for n in numbers)))

    def groups(self) -> dict[str, str]:
        return parse_pairs(self.command("GROUPS"))

    def programs(self) -> dict[str, str]:
        return parse_pairs(self.command("PROGRAMS"))

    def restore(self) -> Status:
        return Status.parse(self.command("RESTORE"))

    def limits(self) -> dict[str, str]:
        return parse_pairs(self.command("LIMITS"))

    def log_page(self, since: int | None = None, count: int | None = None) -> LogPage:
        """One LOG answer: the newest records (no arguments), or up to `count`
        (at most LOG_PAGE) from seq `since` on."""
        if since is None:
            return parse_log(self.command("LOG"))
        return parse_log(self.command(f"LOG {int(since)}" + (f" {int(count)}" if count is not None else "")))

    def log(self, since: int | None = None, count: int | None = None) -> list[LogRecord]:
        """Event log records, oldest first. No arguments: the newest few (the
        board's LOG). `since`: every record from that seq on (since=1: all the
        log holds), paging until the end, or at most `count` of them. `count`
        alone: the newest `count` records."""
        if since is None:
            first = self.log_page()
            if count is None:
                return first.records
            since = max(1, first.last - count + 1)
        out: list[LogRecord] = []
        while count is None or len(out) < count:
            want = LOG_PAGE if count is None else min(LOG_PAGE, count - len(out))
            page = self.log_page(since, want)
            out.extend(page.records)
            if page.next > page.last or not page.records:
                break
            if page.next <= since:
                raise ProgrammerError("PROTOCOL", f"LOG {since} did not move on (next={page.next})")
            since = page.next
        return out

    def adaptive(self, *words: str) -> dict[str, str]:
        """AdaptiveStim: no words reads it; "on", "off", "clear" or "max",
        posture, amplitude (e.g. "max", "supine", "2mA") change it (clinician).
        Returns the answer's fields: enabled, posture, each posture's
        program:amplitude memory and max_<posture> limits."""
        return parse_pairs(self.command(" ".join(("ADAPTIVE",) + words)))

    def impedance(self, contact: int | None = None) -> LeadReport:
        """The lead check: every contact (against the others) and every adjacent
        pair, or one contact and its pairs. Refused while stimulating (BUSY).
        Contacts found open or shorted may not be stimulated (ON answers LEAD)
        until a later check of them passes."""
        line = "IMPEDANCE" if contact is None else f"IMPEDANCE {int(contact)}"
        self._write(line)
        answer = self.read_answer(timeout=max(self.timeout, IMPEDANCE_TIMEOUT_S), what=repr(line))
        if answer.startswith("ERR "):
            _, code, message = (answer + " ").split(" ", 2)
            raise ProgrammerError(code, message.strip())
        return parse_impedance(answer[3:])

    # -- custom pulse train (docs/PROTOCOL.md, TRAIN) -----------------------------------
    def train(self) -> dict[str, int]:
        """The custom train list: {"length": intervals in it, "max": most it holds}."""
        return _train_info(self.command("TRAIN"))

    def train_add(self, *intervals: str | int) -> dict[str, int]:
        """Append intervals (clinician), all or nothing, in one line: strings as
        written ("1ms", "500us"), integers in us."""
        if not intervals:
            raise ValueError("train_add() needs at least one interval")
        words = [v if isinstance(v, str) else f"{int(v)}us" for v in intervals]
        return _train_info(self.command("TRAIN ADD " + " ".join(words)))

    def train_clear(self) -> dict[str, int]:
        """Empty the list (clinician)."""
        return _train_info(self.command("TRAIN CLEAR"))

    def train_play(self, loop: bool = False) -> Status:
        """Play the list once, or until OFF/STOP with loop=True (clinician)."""
        return Status.parse(self.command("TRAIN PLAY LOOP" if loop else "TRAIN PLAY"))

    def diag(self) -> dict[str, int]:
        return {k: int(v) for k, v in parse_pairs(self.command("DIAG")).items()}

    def wait_settled(self, timeout: float | None = None) -> Status:
        """Poll STATUS until no update is pending and the state is on or off."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            status = self.status()
            if not status.pending and status.state in ("on", "off"):
                return status
            if time.monotonic() > deadline:
                raise ProgrammerError("NO_ANSWER", f"board did not settle: {status}")
            time.sleep(0.01)


@dataclass(frozen=True)
class SettingKey:
    key: str
    meaning: str
    units: str  # the units accepted, as docs/PROTOCOL.md lists them
    range: str  # on the pico
    who: str  # who may change it


def setting_keys() -> list[SettingKey]:
    """Every SET key: the keys from the firmware's table (protocol.SETTINGS),
    who may change them from therapy.PATIENT_KEYS (the keys a clinician can
    give the patient with patient=), meaning, units and range from the Values
    table of docs/PROTOCOL.md."""
    from picostim.chip.firmware_host import ROOT, add_paths

    add_paths()
    from picostim_fw import protocol, therapy

    rows = {}
    doc = ROOT / "docs" / "PROTOCOL.md"
    text = doc.read_text() if doc.exists() else ""
    table = text.split("## Values and units", 1)[-1].split("\n\n| key |", 1)[-1]
    for line in ("| key |" + table).splitlines()[2:]:
        if not line.startswith("| `"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        for key in cells[0].replace("`", "").split(","):
            rows[key.strip()] = [c.replace("`", "") for c in cells[1:]]
    out = []
    for key in protocol.SETTINGS:
        meaning, units, _, key_range = (rows.get(key, []) + [""] * 4)[:4]
        who = "patient, if the clinician allows it (patient=)" if key in therapy.PATIENT_KEYS else "clinician"
        out.append(SettingKey(key, meaning, units, key_range, who))
    return out


def find_ports() -> list[tuple[str, str, bool]]:
    """[(device, description, looks like MicroPython on an RP2040)]"""
    from serial.tools import list_ports

    out = []
    for info in sorted(list_ports.comports(), key=lambda p: p.device):
        is_pico = (info.vid, info.pid) == RP2040_MICROPYTHON_USB
        out.append((info.device, info.description or "", is_pico))
    return out
