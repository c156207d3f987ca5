"""The board worker: owns the serial connection on its own thread, so the screen never waits.

    link = BoardLink("/dev/pts/3", key=None, notify=print)
    threading.Thread(target=link.run).start()   # the app runs it as a Textual thread worker
    link.submit("on", lambda board: board.on())
    link.stop()

It polls STATUS (and, after a change, LIMITS, PROGRAMS, GROUPS and ADAPTIVE) so the `EVT` lines
the board sends unprompted are collected within one poll, runs queued actions one at a time, and,
when the port is lost, reports it and opens it again every `retry_s`. Everything it learns goes to
`notify` as one of the news classes below; `notify` must be thread-safe (Textual's post_message).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import serial

from picostim.handheld.model import Snapshot
from picostim.programmer import Hello, Programmer, ProgrammerError, Status

HOST_CODES = ("PORT", "NO_ANSWER", "PROTOCOL")  # the link is gone: reconnect


@dataclass(frozen=True)
class Connected:
    port: str
    hello: Hello
    role: str


@dataclass(frozen=True)
class Lost:
    port: str
    reason: str
    attempt: int  # failed connection attempts in a row (0: the link just dropped)


@dataclass(frozen=True)
class Event:
    text: str  # an EVT line without "EVT "


@dataclass(frozen=True)
class Done:
    label: str
    result: Any


@dataclass(frozen=True)
class Failed:
    label: str
    code: str
    message: str


Action = Callable[[Programmer], Any]


class BoardLink:
    def __init__(
        self,
        port: str,
        notify: Callable[[object], None],
        key: bytes | None = None,
        clinician: bool = False,
        poll_s: float = 0.25,
        retry_s: float = 1.0,
        timeout: float = 3.0,
    ):
        self.port = port
        self.notify = notify
        self.key = key
        self.clinician = clinician
        self.poll_s = poll_s
        self.retry_s = retry_s
        self.timeout = timeout
        self._actions: queue.Queue[tuple[str, Action] | None] = queue.Queue()
        self._stopping = threading.Event()

    def submit(self, label: str, action: Action) -> None:
        """Queue `action(programmer)`; its result comes back as Done or Failed."""
        self._actions.put((label, action))

    def stop(self) -> None:
        self._stopping.set()
        self._actions.put(None)  # wake the loop

    def run(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            try:
                board = Programmer(self.port, timeout=self.timeout)
            except (ProgrammerError, serial.SerialException, OSError) as exc:
                attempt += 1
                self.notify(Lost(self.port, _reason(exc), attempt))
                self._refuse_actions_for(self.retry_s)
                continue
            attempt = 0
            try:
                self._serve(board)
            except (ProgrammerError, serial.SerialException, OSError) as exc:  # the port went away
                self.notify(Lost(self.port, _reason(exc), 0))
            finally:
                try:
                    board.close()
                except (serial.SerialException, OSError):
                    pass  # already gone

    def _refuse_actions_for(self, seconds: float) -> None:
        """While disconnected: wait, answering each queued action with PORT."""
        try:
            item = self._actions.get(timeout=seconds)
        except queue.Empty:
            return
        if item is not None:
            self.notify(Failed(item[0], "PORT", f"not connected to {self.port}: retrying"))

    def _serve(self, board: Programmer) -> None:
        logged_in = self.clinician and self._login(board)
        self.notify(Connected(self.port, board.hello, "clinician" if logged_in else "patient"))
        snap: Snapshot | None = None
        refresh = True  # read LIMITS, PROGRAMS, GROUPS and ADAPTIVE too
        while not self._stopping.is_set():
            status = board.status()
            if logged_in and status.role != "clinician":  # the board restarted, or the session timed out
                logged_in = self._login(board)
                status = board.status()
                refresh = True
            if refresh or snap is None or _moved(snap.status, status):
                snap = Snapshot(status, board.limits(), board.programs(), board.groups(), board.adaptive())
            else:
                snap = replace(snap, status=status)
            self.notify(snap)
            refresh = self._drain_events(board)
            try:
                item = self._actions.get(timeout=self.poll_s)
            except queue.Empty:
                continue
            if item is None:
                return
            self._run_action(board, *item)
            self._drain_events(board)
            refresh = True

    def _login(self, board: Programmer) -> bool:
        try:
            board.login(self.key)
        except ProgrammerError as exc:
            if exc.code in HOST_CODES:
                raise
            self.notify(Failed("login", exc.code, exc.message))
            return False
        return True

    def _run_action(self, board: Programmer, label: str, action: Action) -> None:
        try:
            result = action(board)
        except ProgrammerError as exc:
            if exc.code in HOST_CODES:
                raise
            self.notify(Failed(label, exc.code, exc.message))
        except (ValueError, TypeError) as exc:  # an argument the client refused before sending
            self.notify(Failed(label, "VALUE", str(exc)))
        else:
            self.notify(Done(label, result))

    def _drain_events(self, board: Programmer) -> bool:
        seen = False
        while board.events:
            self.notify(Event(board.events.popleft()))
            seen = True
        return seen


def _reason(exc: Exception) -> str:
    return f"{exc.code} {exc.message}" if isinstance(exc, ProgrammerError) else f"PORT {exc}"


def _moved(old: Status, new: Status) -> bool:
    """A change that LIMITS, PROGRAMS, GROUPS or ADAPTIVE may show differently."""
    return (old.program, old.group, old.posture, old.adaptive, old.role) != (
        new.program,
        new.group,
        new.posture,
        new.adaptive,
        new.role,
    )
