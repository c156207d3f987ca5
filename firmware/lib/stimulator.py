"""Stimulator: the current setting and on/off state, applied to a pulse engine.

Pure logic over an engine object (PulseEngine on the board, a fake in tests):

    stim = Stimulator(board, engine)
    stim.set({"amp_ua": 2500, "rate_hz": 60})   # validated as a whole, or StimError
    stim.start(); stim.amp_step(+1); stim.stop()
    stim.poll()                                  # from the service loop

Every change is checked in full before anything is applied, so a refused
change leaves the setting and the outputs as they were.
"""

from stim_program import E_RANGE, Program, StimError, timing

DEFAULT_PROGRAM = {"amp_ua": 0, "pw_us": 210, "ipg_us": 20, "rate_hz": 60, "cathodes": (0,), "anodes": (1,), "asym": 1}
DEFAULT_STEP_UA = 100

OFF = "off"
ON = "on"
STOPPING = "stopping"  # no new pulse; the pulse in progress is finishing
_ENGINE_IDLE = "idle"
_ENGINE_STOPPING = "stopping"


class Stimulator:
    def __init__(self, board, engine):
        self.board = board
        self.engine = engine
        self.limits = board["limits"]
        self.contact_count = board["contacts"]["count"]
        self.sys_hz = board["sys_clock_hz"]
        self.program = Program(**DEFAULT_PROGRAM)
        self.step_ua = DEFAULT_STEP_UA
        self.on = False

    def state(self):
        if self.on:
            return ON
        return STOPPING if self.engine.state == _ENGINE_STOPPING else OFF

    def settings(self):
        values = self.program.as_dict()
        values["step_ua"] = self.step_ua
        return values

    def set(self, changes):
        """Apply {field: value} (Program fields and step_ua) all at once."""
        changes = dict(changes)
        step = changes.pop("step_ua", self.step_ua)
        high = self.limits["amplitude_ua"][1]
        if not 1 <= step <= high:
            raise StimError(E_RANGE, "step=%duA outside 1..%duA" % (step, high))
        program = self.program.copy(**changes)
        program.validate(self.limits, self.contact_count)
        self._apply(program)
        self.step_ua = step

    def amp_step(self, direction):
        """One amplitude step up (+1) or down (-1), within the amplitude limits."""
        low, high = self.limits["amplitude_ua"]
        amp = self.program.amp_ua + direction * self.step_ua
        if not low <= amp <= high:
            raise StimError(E_RANGE, "amp=%duA outside %d..%duA" % (amp, low, high))
        self._apply(self.program.copy(amp_ua=amp))

    def start(self):
        if self.on:
            return
        while self.engine.state == _ENGINE_STOPPING:
            self.engine.poll()  # at most the rest of one pulse
        self.engine.start(timing(self.program, self.sys_hz), self.program)
        self.on = True

    def stop(self):
        """No new pulse starts; outputs go low once the pulse in progress ends."""
        self.on = False
        self.engine.stop()

    def pending(self):
        return self.on and self.engine.pending()

    def poll(self):
        """Move the engine along; return a state name when it changed by itself."""
        before = self.state()
        self.engine.poll()
        after = self.state()
        return after if after != before else None

    def _apply(self, program):
        if self.on:
            self.engine.update(timing(program, self.sys_hz), program)
        self.program = program
