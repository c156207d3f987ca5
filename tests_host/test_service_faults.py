"""The service loop (firmware/lib/picostim/service.py) under CPython with a scripted
serial link and a fake pulse engine: faults injected into one pass leave the
engine stopped (outputs low), appear in STATUS and in the event log, and the
next pass answers again. A log that cannot be written (the flash full)
stops stimulation too: no therapy without its record."""

import errno
import json

import pytest
from fakes import FakeEngine
from picostim.boards import board_path
from picostim.chip import firmware_host

firmware_host.add_paths()  # the host stand-ins for micropython and machine

from picostim_fw import service  # noqa: E402


class Engine(FakeEngine):
    """The fake engine, with the halt/shutdown the service calls on a fault and
    a poll that can be made to fail."""

    def __init__(self):
        super().__init__()
        self.fail = None
        self.shutdowns = 0

    def poll(self):
        if self.fail:
            error, self.fail = self.fail, None
            raise error
        return super().poll()

    def halt(self):
        self.stop()
        while self.state != "idle":
            super().poll()

    def shutdown(self):
        self.shutdowns += 1
        self._shutdown()


class Link:
    """The serial link: lines queued by the test, answers collected."""

    def __init__(self):
        self.incoming = []
        self.out = []

    def read(self, timeout_ms):
        return self.incoming.pop(0) if self.incoming else b""

    def write(self, data):
        self.out.append(data)

    def write_line(self, text):
        self.out.append(text)

    def write_parts(self, parts):  # a long answer (LOG): collected as the one line it makes
        self.out.append("".join(parts))


class Button:
    def __init__(self, name):
        pass

    def pushed(self):
        return False


@pytest.fixture(autouse=True)
def micropython_clock(monkeypatch):
    """What MicroPython's time and gc have beyond CPython's (a fake ms clock)."""
    clock = iter(range(0, 10**9, 3))
    monkeypatch.setattr(service.time, "ticks_ms", lambda: next(clock), raising=False)
    monkeypatch.setattr(service.time, "ticks_diff", lambda a, b: a - b, raising=False)
    monkeypatch.setattr(service.gc, "mem_alloc", lambda: 1000, raising=False)
    monkeypatch.setattr(service.gc, "mem_free", lambda: 1000, raising=False)
    monkeypatch.setattr(service, "Button", Button)


@pytest.fixture
def bench(tmp_path, monkeypatch):
    monkeypatch.setattr(service, "reset_cause", lambda: "power")
    profile = json.loads(board_path("pico").read_text())
    profile.pop("accelerometer")  # posture sensing: tests_host/test_accel.py
    engine, link = Engine(), Link()
    svc = service.Service(profile, engine, str(tmp_path) + "/", link)
    return svc, engine, link


def ask(svc, link, line):
    link.incoming.append(line.encode() + b"\n")
    before = len(link.out)
    svc.step()
    answers = [a for a in link.out[before:] if not a.startswith("EVT ")]
    assert len(answers) == 1, link.out[before:]
    return answers[0]


def status(svc, link):
    return dict(w.split("=", 1) for w in ask(svc, link, "STATUS").split()[1:] if "=" in w)


def on(svc, link):
    assert ask(svc, link, "SET amp=2mA").startswith("OK ")  # the patient may: amp is unlocked
    assert ask(svc, link, "ON").startswith("OK state=on")


@pytest.mark.parametrize("error", [RuntimeError("engine"), OSError(5), MemoryError(), ValueError("x")])
def test_an_exception_in_a_pass_stops_stimulation_logs_it_and_the_loop_goes_on(bench, error):
    svc, engine, link = bench
    on(svc, link)
    engine.fail = error
    svc.step()
    assert engine.state == "idle"
    assert "EVT FAULT code=LOOP" in link.out
    now = status(svc, link)
    assert (now["state"], now["stop"], now["fault"]) == ("off", "fault", "LOOP")
    records = ask(svc, link, "LOG")
    assert "FAULT,device,code=LOOP " + type(error).__name__ in records
    assert ask(svc, link, "ON").startswith("OK state=on")  # the next deliberate ON works


def test_an_engine_that_fails_to_halt_is_shut_down_at_once(bench):
    svc, engine, link = bench
    on(svc, link)
    engine.fail = OSError(5)
    engine.halt = lambda: (_ for _ in ()).throw(OSError(5))  # the engine's own stop fails too
    svc.step()
    assert engine.shutdowns == 1 and engine.state == "idle"
    assert status(svc, link)["fault"] == "LOOP"


def test_a_repeating_fault_is_logged_once_a_second_not_every_pass(bench):
    svc, engine, link = bench
    for _ in range(50):
        engine.fail = RuntimeError("again")
        svc.step()
    answer = ask(svc, link, "LOG 1 16")
    assert answer.count("code=LOOP") == 1, answer


class FullFlash:
    """An event log whose writes the flash refuses (ENOSPC) until `room` is set."""

    def __init__(self, log):
        self.log = log
        self.room = False

    def append(self, kind, role, detail, now_ms):
        if not self.room:
            raise OSError(errno.ENOSPC)
        return self.log.append(kind, role, detail, now_ms)

    def __getattr__(self, name):
        return getattr(self.log, name)


def test_a_full_flash_stops_stimulation_and_the_lost_records_are_counted(bench):
    svc, engine, link = bench
    on(svc, link)
    full = FullFlash(svc.commands.log)
    svc.commands.log = full
    assert ask(svc, link, "AMP UP").startswith("OK ")  # accepted; its record cannot be written
    svc.step()
    assert engine.state == "idle"
    now = status(svc, link)
    assert (now["state"], now["stop"]) == ("off", "fault") and now["fault"].startswith("LOG"), now
    full.room = True
    assert ask(svc, link, "ON").startswith("OK state=on")
    records = ask(svc, link, "LOG")
    assert "lost=" in records and ",ON," in records, records


def test_the_watchdog_reset_cause_is_a_fault_at_boot(tmp_path, monkeypatch):
    monkeypatch.setattr(service, "reset_cause", lambda: "watchdog")
    profile = json.loads(board_path("pico").read_text())
    profile.pop("accelerometer")
    svc = service.Service(profile, Engine(), str(tmp_path) + "/", Link())
    assert svc.commands.faults == ["WATCHDOG"]
    assert "code=WATCHDOG" in ask(svc, svc.link, "LOG")


def test_the_heap_is_read_once_the_host_pauses_not_on_the_answers_pass(bench, monkeypatch):
    """gc.mem_alloc() walks the heap (8 ms on a Pico): never in the pass that
    answers, once in a quiet pass after it."""
    svc, engine, link = bench
    reads = []
    monkeypatch.setattr(service.gc, "mem_alloc", lambda: reads.append(len(link.out)) or 1000, raising=False)
    for _ in range(5):
        svc.step()
    reads.clear()
    ask(svc, link, "STATUS")
    ask(svc, link, "LIMITS")
    assert reads == []
    for _ in range(10):  # quiet passes (the fake clock moves 3 ms per reading)
        svc.step()
    assert reads == [len(link.out)]
