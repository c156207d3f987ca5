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
