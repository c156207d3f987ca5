"""Pulse engine: one stimulation channel on two PIO state machines.

Hardware adapter: the only module of the pulse path that touches `rp2` and
`machine`. Usage:

    engine = PulseEngine(board)          # outputs low
    engine.start(timing, program)        # program: for the amplitude DACs
    engine.update(timing, program)       # applied at pulse boundaries
    engine.poll()                        # call from the service loop
    engine.stop()                        # never cuts a pulse short
    engine.halt()                        # stop, wait out the pulse, all low
    engine.shutdown()                    # everything off and low, now

Timing changes go to two state machines (rate and pulse) that each take
their words at their own boundary. The engine orders the two writes so that
the pulse in between always fits its period: if the new pulse fits the old
period the pulse SM goes first, otherwise the rate SM does.

Amplitude (the two DAC levels) only changes between pulses, both levels in
the same gap, so every pulse has matching cathodic and anodic charge. A
change of `asym` changes the width ratio and the level ratio together, which
no single boundary can do: the engine lets the current pulse finish, pauses
the train, and restarts it with the new setting (one period is longer).
"""

import time
from array import array

import machine
import rp2
from pulse_pio import UPDATE_WORDS, WAIT_OPCODE, pulse_pio, pulse_words, rate_pio, rate_word

_PIO_BASE = (0x50200000, 0x50300000)
_IRQ = 0x030
_SM0_EXECCTRL = 0x0CC
_SM0_INSTR = 0x0D8
_SM_STRIDE = 0x18
# Cycles the pulse SM needs after a pulse to be waiting again (update path: 12).
_TAIL_CYCLES = 16

IDLE = "idle"
RUNNING = "running"
STOPPING = "stopping"
RESTARTING = "restarting"


class PulseEngine:
    def __init__(self, board):
        self.board = board
        self.sys_hz = board["sys_clock_hz"]
        pio = board["pio"]
        if pio["pulse_sm"] != pio["rate_sm"] + 1 or pio["pulse_sm"] > 3:
            raise ValueError("board pio: pulse_sm must be rate_sm + 1 in the same block")
        phase = board["phase_pins"]
        if (phase["cathodic"], phase["anodic"]) != (phase["sync"] + 1, phase["sync"] + 2):
            raise ValueError("board phase_pins must be sync, sync+1 (cathodic), sync+2 (anodic)")
        self._pio = pio["block"]
        self._rate_index = pio["rate_sm"]
        self._pulse_index = pio["pulse_sm"]
        self._rate = rp2.StateMachine(self._pio * 4 + self._rate_index)
        self._pulse = rp2.StateMachine(self._pio * 4 + self._pulse_index)
        self._select_base = board["contacts"]["select_base_pin"]
        self._select_count = 2 * board["contacts"]["count"]
        self._sync_pin = phase["sync"]
        dac = board["dac"]
        self._full_scale_ua = dac["full_scale_ua"]
        self._dac_cathodic = machine.PWM(machine.Pin(dac["cathodic_pin"]), freq=dac["pwm_freq_hz"], duty_u16=0)
        self._dac_anodic = machine.PWM(machine.Pin(dac["anodic_pin"]), freq=dac["pwm_freq_hz"], duty_u16=0)
        self.state = IDLE
        self._timing = None  # what both SMs run once their FIFOs drain
        self._steps = []  # queued (state machine, words, timing) writes, in order
        self._sent = False  # the first queued step is in its FIFO
        self._next = None  # timing waiting for the queue to drain
        self._program = None  # the program whose DAC levels are applied
        self._amp_next = None  # program whose DAC levels wait for a gap between pulses
        self._restart_timing = None  # setting to start once the train has paused
        self._restart_program = None
        self._all_low()

    # -- pins ------------------------------------------------------------------
    def _output_pins(self):
        pins = list(range(self._select_base, self._select_base + self._select_count))
        pins += [self._sync_pin, self._sync_pin + 1, self._sync_pin + 2]
        return pins

    def _all_low(self):
        """Every contact select and phase pin a plain GPIO output, low."""
        for n in self._output_pins():
            machine.Pin(n, machine.Pin.OUT, value=0)

    def _register(self, sm_index, offset):
        return _PIO_BASE[self._pio] + offset + _SM_STRIDE * sm_index

    def pulse_sm_idle(self):
        """True while the pulse SM waits for its next period (no current flows)."""
        instr = machine.mem32[self._register(self._pulse_index, _SM0_INSTR)]
        return instr & 0xE0FF == WAIT_OPCODE  # ignore delay/side-set bits

    # -- amplitude ---------------------------------------------------------------
    def _set_amplitude(self, program):
        """Cathodic and anodic DAC levels; the anodic one is amp / asym."""
        self._program = program
        scale = self._full_scale_ua
        self._dac_cathodic.duty_u16(program.amp_ua * 65535 // scale)
        self._dac_anodic.duty_u16(program.anodic_amp_ua() * 65535 // (scale * 1000))

    # -- lifecycle ---------------------------------------------------------------
    def start(self, timing, program):
        if self.state != IDLE:
            raise RuntimeError("engine is " + self.state)
        self._rate.init(rate_pio, freq=self.sys_hz)
        self._pulse.init(
            pulse_pio,
            freq=self.sys_hz,
            out_base=machine.Pin(self._select_base),
            sideset_base=machine.Pin(self._sync_pin),
        )
        execctrl = self._register(self._pulse_index, _SM0_EXECCTRL)
        # STATUS = all ones while fewer than UPDATE_WORDS words are queued (TX level)
        machine.mem32[execctrl] = (machine.mem32[execctrl] & ~0x3F) | UPDATE_WORDS
        machine.mem32[_PIO_BASE[self._pio] + _IRQ] = 1 << self._rate_index  # clear stale flag
        self._set_amplitude(program)
        self._amp_next = None
        self._pulse.put(array("I", pulse_words(timing)))
        self._rate.put(rate_word(timing))
        self._timing = timing
        self._steps = []
        self._sent = False
        self._next = None
        self._pulse.active(1)
        self._rate.active(1)
        self.state = RUNNING

    def update(self, timing, program):
        """Apply new settings at the next pulse boundaries (see module doc)."""
        if self.state == RESTARTING:  # the restart will start the latest setting
            self._restart_timing = timing
            self._restart_program = program
            return self.poll()
        if self.state != RUNNING:
            raise RuntimeError("engine is " + self.state)
        if self._program is not None and program.asym != self._program.asym:
            self._rate.active(0)  # no new pulse; restart once the current one ends
            self._restart_timing = timing
            self._restart_program = program
            self.state = RESTARTING
            return self.poll()
        self._amp_next = program
        self._next = timing
        return self.poll()

    def _fits(self, period_timing, pulse_timing):
        return pulse_timing.pulse() + _TAIL_CYCLES <= period_timing.period

    def _plan(self, timing):
        old = self._timing
        self._timing = timing
        if old is None:
            return []
        steps = []
        if pulse_words(timing) != pulse_words(old):
            steps.append((self._pulse, pulse_words(timing)))
        if timing.period != old.period:
            rate_step = (self._rate, (rate_word(timing),))
            if self._fits(old, timing):
                steps.append(rate_step)
            else:
                steps.insert(0, rate_step)
        return steps

    def poll(self):
        """Move queued updates and a pending stop along. True when settled."""
        if self.state == STOPPING:
            if self.pulse_sm_idle():
                self.shutdown()
            return self.state == IDLE
        if self.state == RESTARTING:
            if not self.pulse_sm_idle():
                return False
            self._pulse.active(0)
            timing, program = self._restart_timing, self._restart_program
            self._restart_timing = self._restart_program = None
            self.state = IDLE
            self.start(timing, program)
            return True
        if self.state != RUNNING:
            return True
        if self._amp_next is not None and self.pulse_sm_idle():
            self._set_amplitude(self._amp_next)
            self._amp_next = None
        while True:
            if not self._steps:
                if self._next is None:
                    return self._amp_next is None
                self._steps = self._plan(self._next)
                self._next = None
                continue
            sm, words = self._steps[0]
            if not self._sent:
                if sm.tx_fifo():
                    return False
                sm.put(array("I", words))
                self._sent = True
            if sm.tx_fifo():
                return False  # not taken yet: it will be at the next boundary
            self._steps.pop(0)
            self._sent = False

    def pending(self):
        """True until the last update runs on both state machines (an asym restart included)."""
        return self.state == RESTARTING or bool(self._steps) or self._next is not None or self._amp_next is not None

    def stop(self):
        """Stop without cutting a pulse: no new pulse starts; outputs go low at
        once between pulses, or when the current pulse ends (see poll)."""
        if self.state == IDLE:
            self._all_low()
            return True
        self._rate.active(0)
        self.state = STOPPING
        return self.poll()

    def halt(self, timeout_ms=50):
        """Stop for good (exit, fault): a pulse in progress still finishes its
        recovery phase, so it leaves no net charge; then everything off and low."""
        try:
            deadline = time.ticks_add(time.ticks_ms(), timeout_ms)
            self.stop()
            while self.state != IDLE and time.ticks_diff(deadline, time.ticks_ms()) > 0:
                self.poll()
        finally:
            self.shutdown()

    def shutdown(self):
        """Everything off and low now, even mid-pulse (halt() waits for the pulse)."""
        self._rate.active(0)
        self._pulse.active(0)
        self._dac_cathodic.duty_u16(0)
        self._dac_anodic.duty_u16(0)
        self._all_low()
        self._steps = []
        self._sent = False
        self._next = None
        self._amp_next = None
        self._restart_timing = self._restart_program = None
        self.state = IDLE
