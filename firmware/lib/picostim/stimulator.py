"""Stimulator: runs the active program of a Therapy on a pulse engine, with
soft-start/soft-stop ramps, on/off cycling, train duration and emergency stop
(pure logic over an engine object: PulseEngine on the board, a fake in tests).

    stim = Stimulator(board, engine, therapy, clock)   # clock() -> now_ms (optional)
    stim.start(now_ms)        # ramps up over the program's ramp time
    stim.apply(now_ms)        # the therapy's program changed: follow it
    stim.stop(now_ms)         # OFF: ramp down, then stop
    stim.emergency_stop(why)  # STOP / button: no ramp, stays off until start()
    stim.glide(now_ms, from_ua)  # steady: move to the program's amplitude in ramp steps
    stim.poll(now_ms)         # from the service loop; returns an event or None

A group of several programs (therapy.members()) runs interleaved on the
engine (start_group): ramps scale every member's amplitude together, and
the ramp, cycling and train settings are the first member's.

Phases: ramp_up -> steady -> (cycling: ramp_down -> pause -> ramp_up ...);
OFF or the end of the train: ramp_down -> stopping -> off. Ramps move the
amplitude in steps of RAMP_STEP_MS; each step lands between two pulses.

The timers (ramp steps, cycle on and off, train duration) count from the
first pulse: given a clock, a start from idle moves them on by what the start
took and the gap before the engine's first pulse, and a pause ends that much
early, so the times in a trace are the programmed ones.
"""

from .stim_program import timing, train_cycles

RAMP_STEP_MS = 50
GLIDE_MS = 1000  # an AdaptiveStim move when the program has no ramp

OFF = "off"
ON = "on"
STOPPING = "stopping"  # ramping down, or the last pulse is finishing

RAMP_UP = "ramp_up"
STEADY = "steady"
RAMP_DOWN = "ramp_down"
PAUSE = "pause"  # cycling: the off part of the cycle
TRAIN = "train"  # a custom pulse train plays (no ramps; ends by itself unless looped)
_ENGINE_IDLE = "idle"
_ENGINE_STOPPING = "stopping"


class Stimulator:
    def __init__(self, board, engine, therapy, clock=None):
        self.engine = engine
        self.clock = clock  # now_ms on demand (the service's uptime); None: starts take no time
        self.therapy = therapy
        self.sys_hz = board["sys_clock_hz"]
        self.on = False  # therapy wanted on (OFF ramps down with on False)
        self.phase = None  # None while off
        self.stop_reason = "-"
        self._since = 0  # when the phase began (ms)
        self._started = 0  # when the therapy was turned on (train duration)
        self._fraction = (0, 1)  # ramp position: amplitude = target * num / den
        self._sent = None  # the program last given to the engine (a group: a tuple of them)
        self._cycle_start = 0  # when the current on-part of a cycle began (ms)
        self._down_from = None  # the program a soft stop is lowering
        self._target = None  # the full-amplitude program last driven
        self._glide = None  # (from_ua, start_ms, steps): steady, moving between two amplitudes
        self._lead = 0  # ms from the last start from idle to its first pulse

    # -- reading ----------------------------------------------------------------------
    def state(self):
        if self.on:
            return ON
        if self.phase is not None or self.engine.state == _ENGINE_STOPPING:
            return STOPPING
        return OFF

    def active(self):
        """On, or still ramping down: something an emergency stop would end."""
        return self.on or self.phase is not None

    def pending(self):
        return self.engine.state != _ENGINE_IDLE and self.engine.pending()

    def output_amp_ua(self):
        """The amplitude the pulses have now (ramps included)."""
        sent = self._sent
        if sent is None or self.engine.state == _ENGINE_IDLE:
            return 0
        if isinstance(sent, tuple):  # a group: its member that SET and AMP address
            members = self.therapy.members()
            return sent[members.index(self.therapy.active)].amp_ua if self.therapy.active in members else 0
        return sent.amp_ua

    def output_amps(self):
        """A running group's amplitudes now (a tuple, ramps included), else output_amp_ua()."""
        sent = self._sent
        if isinstance(sent, tuple) and self.engine.state != _ENGINE_IDLE:
            return tuple([p.amp_ua for p in sent])
        return self.output_amp_ua()

    # -- commands -----------------------------------------------------------------------
    def start(self, now):
        if self.on:
            return
        self.on = True
        self.stop_reason = "-"
        self._started = now
        if self.phase in (RAMP_DOWN, RAMP_UP):
            self._begin(RAMP_UP, now, keep_fraction=True)
        else:
            self._begin(RAMP_UP, now)

    def stop(self, now):
        """OFF: soft stop (ramp down), then no new pulse."""
        if not self.on:
            return
        if self.phase == TRAIN:
            self.emergency_stop("off")  # a custom train has no ramps
            return
        self.on = False
        self.stop_reason = "off"
        self._ramp_down(now)

    def play_train(self, now, intervals_us, loop, buffer=None):
        """A custom train with the active program's pulse: pulse k starts
        intervals_us[k] after pulse k-1 (exact, from PIO and DMA)."""
        program = self.therapy.program()
        cycles = train_cycles(program, intervals_us, self.therapy.limits, self.sys_hz, buffer)
        # The rate and safety limits hold at the train's fastest moment: check the
        # program at the rate of its shortest interval (rounded up).
        shortest = min(intervals_us) if len(intervals_us) else 1000000
        self.therapy.check(program.copy(rate_hz=(1000000 + shortest - 1) // shortest))
        if self.state() != OFF:
            self.emergency_stop("train")
            while self.engine.state != _ENGINE_IDLE:
                self.engine.poll()  # at most the rest of one pulse
        self.engine.start_train(timing(program, self.sys_hz), program, cycles, loop)
        self._sent = program
        self.on = True
        self.phase = TRAIN
        self.stop_reason = "-"
        self._started = now

    def emergency_stop(self, reason):
        """STOP or the button: no ramp; no new pulse; stays off until start()."""
        self.on = False
        self.phase = None
        self.stop_reason = reason
        self._sent = None
        self.engine.stop()

    def apply(self, now):
        """The therapy's program (or ramp settings) changed: follow it."""
        if self.phase in (RAMP_UP, RAMP_DOWN, STEADY):
            self._drive(now)

    def glide(self, now, from_ua):
        """While steady: the amplitude moves from from_ua to the program's in
        ramp steps (over the ramp time, GLIDE_MS when ramps are off), never in
        one step; other phases already ramp, or are off."""
        if self.phase != STEADY:
            self.apply(now)
            return
        ramp_ms = self.therapy.lead_settings()["ramp_ms"] or GLIDE_MS
        self._glide = (from_ua, now, max(1, ramp_ms // RAMP_STEP_MS))
        self._drive(now)

    # -- time -------------------------------------------------------------------------------
    def poll(self, now):
        """Advance ramps, cycling and train; return an event text or None."""
        before = self.state()
        self.engine.poll()
        event = None
        settings = self.therapy.lead_settings()
        if self.phase == TRAIN:
            if self.engine.state == _ENGINE_IDLE:  # a one-shot train played its last pulse
                self.on = False
                self.phase = None
                self.stop_reason = "train_end"
            after = self.state()
            return "STATE " + after if after != before else None
        train = settings["train_ms"]
        if self.on and train and now - self._started >= train:
            self.on = False  # the train is over, also mid-ramp or mid-cycle
            self.stop_reason = "train"
            self._ramp_down(now)
        if self.phase == RAMP_UP:
            num, den = self._position(now)
            if num == den:
                self.phase = STEADY
                self._since = now
            self._drive(now)
        elif self.phase == RAMP_DOWN:
            if self._position(now)[0] == 0:
                self.phase = None if not self.on else PAUSE
                self._since = now
                self._sent = None
                self.engine.stop()
            else:
                self._drive(now)
        elif self.phase == STEADY:
            if self._glide is not None:
                self._drive(now)
            cycle_on = settings["cycle_on_ms"]
            if cycle_on and settings["cycle_off_ms"] and now - self._cycle_start >= cycle_on:
                self._ramp_down(now)
        elif self.phase == PAUSE:
            if now - self._since >= settings["cycle_off_ms"] - self._lead and self.engine.state == _ENGINE_IDLE:
                self._begin(RAMP_UP, now)
        after = self.state()
        if event is None and after != before:
            event = "STATE " + after
        return event

    def restart(self, now):
        """Another program while on: stop, then soft-start the new one. During
        a soft stop the old program keeps ramping down (see _drive)."""
        if self.on and self.phase not in (PAUSE, TRAIN):
            self._sent = None
            self.engine.stop()
            self._begin(RAMP_UP, now)

    # -- inner ------------------------------------------------------------------------------
    def _ramp_down(self, now):
        """Towards off (or the pause of a cycle): ramp, or stop at once without one."""
        if self.phase in (None, PAUSE):
            self.phase = PAUSE if self.on else None
            return
        if self.therapy.lead_settings()["ramp_ms"]:
            self._begin(RAMP_DOWN, now, keep_fraction=True)
            return
        self.phase = PAUSE if self.on else None
        self._since = now
        self._sent = None
        self.engine.stop()

    def _begin(self, phase, now, keep_fraction=False):
        ramp_ms = self.therapy.lead_settings()["ramp_ms"]
        num, den = self._fraction
        steps = max(1, ramp_ms // RAMP_STEP_MS)
        done = 0  # steps of the new ramp already covered
        if keep_fraction and den:
            level = num * steps // den
            done = max(0, level - 1) if phase == RAMP_UP else max(0, steps - level)
        self.phase = phase
        self._since = now - done * RAMP_STEP_MS
        if phase == RAMP_UP:
            self._cycle_start = self._since  # cycle_on counts from the start of the ramp up
            if ramp_ms == 0:
                self.phase = STEADY
        else:
            self._down_from = self._target or self._targets()  # what the soft stop lowers
        if phase == RAMP_UP and self.engine.state == _ENGINE_STOPPING:
            while self.engine.state == _ENGINE_STOPPING:
                self.engine.poll()  # at most the rest of one pulse
        starting = self.engine.state == _ENGINE_IDLE and self.clock is not None
        before = self.clock() if starting else now
        self._drive(now)
        if starting and self.engine.state != _ENGINE_IDLE:
            self._from_first_pulse(now, before)

    def _from_first_pulse(self, now, before):
        """The engine started from idle: count this phase (and a train that began
        now) from its first pulse, one period after the start's own time. The
        start's time and that period (_lead) also end the next pause early."""
        schedule = self.engine.schedule if isinstance(self._sent, tuple) else None
        first = schedule.intervals()[0] if schedule is not None else timing(self._sent, self.sys_hz).tail()
        gap_ms = first * 1000 // self.sys_hz
        after = self.clock()
        self._lead = after - before + gap_ms
        shift = after - now + gap_ms
        self._since += shift
        self._cycle_start += shift
        if self._started == now:
            self._started += shift

    def _glided(self, now, target):
        """The program at the glide's current step (the glide ends at the target)."""
        glide = self._glide
        assert glide is not None
        from_ua, start, steps = glide
        done = min(steps, (now - start) // RAMP_STEP_MS + 1)
        if done >= steps:
            self._glide = None
            return target
        return target.copy(amp_ua=from_ua + (target.amp_ua - from_ua) * done // steps)

    def _position(self, now):
        """(num, den): how far up the amplitude is, in whole ramp steps."""
        if self.phase == STEADY:
            return (1, 1)
        ramp_ms = self.therapy.lead_settings()["ramp_ms"]
        steps = max(1, ramp_ms // RAMP_STEP_MS)
        done = steps if ramp_ms == 0 else max(0, now - self._since) // RAMP_STEP_MS
        if self.phase == RAMP_UP:  # 1/steps at once, one more step every RAMP_STEP_MS
            return (min(steps, done + 1), steps)
        return (max(0, steps - 1 - done), steps)  # (steps-1)/steps at once ... 0: off

    def _targets(self):
        """What runs at full amplitude: the program, or a group's tuple of them."""
        members = self.therapy.members()
        if len(members) > 1:
            return tuple(slot.program for slot in members)
        return self.therapy.program()

    def _drive(self, now):
        """Give the engine the program at the current ramp position."""
        self._fraction = self._position(now)
        num, den = self._fraction
        target = self._targets()
        if self.phase == RAMP_DOWN and self._down_from is not None:
            target = self._down_from
        self._target = target
        if isinstance(target, tuple):
            self._drive_group(now, target, num, den)
            return
        program = target if num == den else target.copy(amp_ua=target.amp_ua * num // den)
        if self._glide is not None:
            if self.phase != STEADY or isinstance(self._glide[0], tuple):
                self._glide = None
            else:
                program = self._glided(now, target)
        if program == self._sent and self.engine.state != _ENGINE_IDLE:
            return
        if self.engine.state == _ENGINE_IDLE:
            self.engine.start(timing(program, self.sys_hz), program)
        elif self.engine.state != _ENGINE_STOPPING:
            self.engine.update(timing(program, self.sys_hz), program)
        else:
            return
        self._sent = program

    def _drive_group(self, now, targets, num, den):
        """A group: every member at the ramp position (or along a glide), interleaved."""
        programs = targets if num == den else tuple(p.copy(amp_ua=p.amp_ua * num // den) for p in targets)
        glide = self._glide
        if glide is not None:
            if self.phase != STEADY or not isinstance(glide[0], tuple) or len(glide[0]) != len(targets):
                self._glide = None
            else:
                from_amps, start, steps = glide
                done = min(steps, (now - start) // RAMP_STEP_MS + 1)
                if done >= steps:
                    self._glide = None
                else:
                    programs = tuple(
                        [
                            targets[i].copy(amp_ua=from_amps[i] + (targets[i].amp_ua - from_amps[i]) * done // steps)
                            for i in range(len(targets))
                        ]
                    )
        if programs == self._sent and self.engine.state != _ENGINE_IDLE:
            return
        timings = [timing(p, self.sys_hz) for p in programs]
        if self.engine.state == _ENGINE_IDLE:
            self.engine.start_group(timings, programs)
        elif self.engine.state != _ENGINE_STOPPING:
            if not isinstance(self._sent, tuple):  # a program ran: the group takes over from a stop
                return
            self.engine.update_group(timings, programs)
        else:
            return
        self._sent = programs
