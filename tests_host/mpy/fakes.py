# Test doubles and data shared by the pure-module checks and the property
# tests (the subset of Python that MicroPython also runs).
import hashlib

# Board limits as the first profile had them: no burst or train keys, so the
# firmware's defaults for those apply.
LIMITS = {
    "amplitude_ua": [0, 25500],
    "pulse_width_us": [10, 1000],
    "interphase_us": [0, 1000],
    "rate_hz": [2, 10000],
    "asymmetry": [1, 8],
    "min_rest_us": 1,
}


class FakeEngine:
    """Records what the Stimulator asks of the pulse engine and models its
    states like pulse_engine.PulseEngine: idle -> running -> stopping -> idle
    (restarting while an asym change waits for the pulse to end); pending()
    until the last update has been taken (one poll). Refuses calls the real
    engine refuses."""

    def __init__(self, stop_polls=2):
        self.state = "idle"
        self.calls = []  # ("start"|"update", Timing, Program) or ("stop",)
        self.polls = 0
        self.stop_polls = stop_polls  # polls a stop takes to finish the pulse in progress
        self._left = 0
        self._queued = 0
        self._asym = None

    def start(self, timing, program):
        if self.state != "idle":
            raise RuntimeError("engine is " + self.state)
        self.calls.append(("start", timing, program))
        self.state = "running"
        self._asym = program.asym
        self._queued = 0

    def update(self, timing, program):
        if self.state not in ("running", "restarting"):
            raise RuntimeError("engine is " + self.state)
        self.calls.append(("update", timing, program))
        if program.asym != self._asym:
            self.state = "restarting"
            self._asym = program.asym
        self._queued = 1

    def start_group(self, timings, programs):
        """A group of several programs (the real engine: pulse_engine.start_group)."""
        if self.state != "idle":
            raise RuntimeError("engine is " + self.state)
        self.calls.append(("start_group", timings, tuple(programs)))
        self.state = "running"
        self._asym = tuple(p.asym for p in programs)
        self._queued = 0
        self.schedule = _Schedule(max(t.period for t in timings))

    def update_group(self, timings, programs):
        if self.state not in ("running", "restarting"):
            raise RuntimeError("engine is " + self.state)
        self.calls.append(("update_group", timings, tuple(programs)))
        self._queued = 1

    def stop(self):
        self.calls.append(("stop",))
        if self.state != "idle":
            self.state = "stopping"
            self._left = self.stop_polls
            if self._left <= 0:
                self._shutdown()
        return self.state == "idle"

    def poll(self):
        self.polls += 1
        if self.state == "stopping":
            self._left -= 1
            if self._left <= 0:
                self._shutdown()
        elif self.state == "restarting":
            self.state = "running"
            self._queued = 0
        elif self._queued:
            self._queued -= 1
        return self.state == "idle" or not self.pending()

    def pending(self):
        return self.state == "restarting" or self._queued > 0

    def _shutdown(self):
        self.state = "idle"
        self._queued = 0


class _Schedule:
    """What the Stimulator reads of a running group's schedule."""

    def __init__(self, period):
        self.period = period

    def intervals(self):
        return [self.period]


class Randomness:
    """Deterministic stand-in for os.urandom: sha256 of "<label> <n>"; keeps
    what it gave out."""

    def __init__(self, label="nonce"):
        self.label = label
        self.n = 0
        self.given = []

    def __call__(self, count):
        self.n += 1
        data = hashlib.sha256(("%s %d" % (self.label, self.n)).encode()).digest()[:count]
        self.given.append(data)
        return data


class PowerCut(Exception):
    """Raised by FakeFlash when its budget of steps runs out (not an OSError:
    nothing in the firmware may catch it)."""


class FakeFlash:
    """An os-like filesystem in memory for Store(fs, path, fs.open): open ("rb", "wb"),
    rename, remove, stat, sync. Writes land byte by byte: `budget` (None:
    unlimited) counts steps, each byte written, each open for writing (it
    truncates), each rename and remove; when it runs out, that step and every
    later one raises PowerCut, and the files stay as they were at the cut
    (a write keeps the bytes before it). `fail` makes opens (and
    `fail_stat` stats) raise OSError of that errno (5: EIO, 28: ENOSPC);
    `lossy` makes writes keep half their bytes and report them all written.

    A file is a list of the bytes objects written to it, not one block: the
    checks run in a Pico-sized heap. data(path), put(path, bytes) and
    flip(path, index, mask) read and change whole files."""

    def __init__(self, files=None, budget=None):
        self.files = {}  # path -> [bytes, ...]
        for name in files or {}:
            self.files[name] = list(files[name]) if isinstance(files[name], list) else [bytes(files[name])]
        self.budget = budget
        self.steps = 0
        self.syncs = 0
        self.fail = None
        self.fail_stat = None
        self.lossy = False

    def copy(self, budget=None):
        return FakeFlash(self.files, budget)

    def data(self, path):
        return b"".join(self.files[path])

    def put(self, path, data):
        self.files[path] = [bytes(data)]

    def flip(self, path, index, mask):
        chunks = self.files[path]
        for k in range(len(chunks)):
            if index < len(chunks[k]):
                data = bytearray(chunks[k])  # only the piece holding the byte
                data[index] ^= mask
                chunks[k] = bytes(data)
                return
            index -= len(chunks[k])
        raise IndexError("flip past the end of " + path)

    def step(self):
        if self.budget is not None and self.steps >= self.budget:
            raise PowerCut("power cut after %d steps" % self.steps)
        self.steps += 1

    def open(self, path, mode="r"):
        if self.fail:
            raise OSError(self.fail)
        if "w" in mode:
            self.step()
            self.files[path] = []
            return _FakeFile(self, self.files[path])
        if path not in self.files:
            raise OSError(2)
        return _FakeFile(self, self.files[path])

    def rename(self, old, new):
        if old not in self.files:
            raise OSError(2)
        self.step()
        self.files[new] = self.files.pop(old)

    def remove(self, path):
        if path not in self.files:
            raise OSError(2)
        self.step()
        del self.files[path]

    def stat(self, path):
        if self.fail_stat:
            raise OSError(self.fail_stat)
        if path not in self.files:
            raise OSError(2)
        return (0x8000, 0, 0, 0, 0, 0, sum([len(chunk) for chunk in self.files[path]]), 0, 0, 0)

    def sync(self):
        self.syncs += 1


class _FakeFile:
    def __init__(self, flash, chunks):
        self.flash = flash
        self.chunks = chunks
        self.pos = 0

    def write(self, data):
        flash = self.flash
        n = len(data)
        if flash.lossy:
            self.chunks.append(bytes(data[: n // 2]))
            return n
        if flash.budget is not None:
            n = min(n, max(0, flash.budget - flash.steps))
        if n:
            self.chunks.append(data if n == len(data) and isinstance(data, bytes) else bytes(data[:n]))
        flash.steps += n
        if n < len(data):
            flash.step()  # raises PowerCut
        return n

    def read(self, size=-1):
        out = []
        skip = self.pos
        left = size
        for chunk in self.chunks:
            if left == 0:
                break
            if skip >= len(chunk):
                skip -= len(chunk)
                continue
            if skip == 0 and (left < 0 or left >= len(chunk)):
                part = chunk  # no copy: reading back a written body costs no heap
            else:
                part = bytes(chunk[skip:] if left < 0 else chunk[skip : skip + left])
            skip = 0
            out.append(part)
            if left > 0:
                left -= len(part)
        data = out[0] if len(out) == 1 else b"".join(out)
        self.pos += len(data)
        return data

    def readinto(self, buf):
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.close()
