"""Lead impedance check on the board: one measuring pulse per measurement
through the pulse engine, then the ADC (hardware adapter; the arithmetic
and the verdicts are in lead.py).

    check = LeadCheck(board, engine)                # engine: pulse_engine.PulseEngine
    results = check.measure(check.config.plan())    # [(item, ohms, verdict)]; StimError BUSY, MEASURE, LIMIT
    check.config.answer(results, check.current_na)

One measurement is one charge-balanced biphasic pulse: the measuring program
(lead.Config.program: asym 1, the profile's current and widths) as a single
pulse `settle_us` after the start (PulseEngine.start_once), so the
RC-filtered DAC levels have settled before it and no second pulse follows.
The ADC reads the front end's track-and-hold (docs/WIRING.md, "Lead
impedance"), which follows the load voltage while the cathodic phase pin is
high and holds it from the end of the cathodic phase on: the CPU waits until
the pulse has started (the rate SM took its last word) and the pulse SM is
idle again (the pulse is over, recovery phase included), then reads. No
CPU timing inside the pulse matters. Then the engine stops and every output
goes low.
"""

import time

import machine

from . import safety
from .lead import E_BUSY, E_MEASURE, Config
from .pulse_engine import IDLE, dac_counts
from .stim_program import StimError, timing

TIMEOUT_US = 200000  # for the pulse to come and end, and for the engine to stop
POLL_US = 10  # with wait_us (tests): the time between two looks at the engine


class LeadCheck:
    def __init__(self, board, engine, wait_us=None):
        """wait_us(us): lets that much time pass (tests: runs the emulated
        chip); None: poll as fast as the CPU goes, timed by time.ticks_us."""
        self.config = Config(board)
        self.engine = engine
        self.board = board
        self.wait_us = wait_us
        self.adc = machine.ADC(machine.Pin(board["impedance_adc_pin"]))
        self.current_na = 0  # the measuring current as the DAC makes it (set by measure)
        # Every item's pulse has one cathode and one contact group as anodes:
        # the same safety figures. Checked once, against the absolute limits.
        program = self.config.program(self.config.plan(0)[0])
        program.validate(board["limits"], self.config.count)
        safety.check(program, board.get("safety"))  # StimError LIMIT

    def measure(self, items):
        """One (item, ohms, verdict) per item, in order. Refused while the engine runs."""
        engine, board, config = self.engine, self.board, self.config
        if engine.state != IDLE:
            raise StimError(E_BUSY, "the pulse engine is %s: stimulation must be off" % engine.state)
        full_scale, top = board["dac"]["full_scale_ua"], engine.dac_top
        counts = dac_counts(config.imp["current_ua"], 1, full_scale, top)[0]  # whole PWM counts
        if not counts:
            raise StimError(E_MEASURE, "the measuring current is below one DAC step")
        self.current_na = counts * full_scale * 1000 // (top + 1)
        sys_hz = board["sys_clock_hz"]
        delay = config.imp["settle_us"] * (sys_hz // 1000000)
        results = []
        for item in items:
            program = config.program(item)
            program.validate(board["limits"], config.count)
            raw = self._pulse(timing(program, sys_hz), program, delay, item[0])
            ohms = config.ohms(raw, self.current_na)
            results.append((item, ohms, config.verdict(ohms, item[3])))
        return results

    def _pulse(self, t, program, delay, name):
        """One measuring pulse; the ADC reading held from the end of its cathodic phase."""
        engine = self.engine
        engine.start_once(t, program, delay)
        try:
            if not self._until(engine.once_started):
                raise StimError(E_MEASURE, "%s: the measuring pulse did not come" % name)
            self._pause(1)  # the pulse SM leaves its wait a cycle after the rate SM's flag
            if not self._until(engine.pulse_sm_idle):
                raise StimError(E_MEASURE, "%s: the measuring pulse did not end" % name)
            return self.adc.read_u16()
        finally:
            try:  # no new pulse (a pulse under way would end with its recovery phase)
                engine.stop()
                self._until(self._stopped)
            finally:
                if engine.state != IDLE:
                    engine.shutdown()  # everything off and low

    def _stopped(self):
        self.engine.poll()
        return self.engine.state == IDLE

    def _pause(self, us):
        if self.wait_us is None:
            time.sleep_us(us)
        else:
            self.wait_us(us)

    def _until(self, done):
        """Poll done() until it is true (True) or TIMEOUT_US has passed (False)."""
        wait = self.wait_us
        if wait is None:
            start = time.ticks_us()
            while not done():
                if time.ticks_diff(time.ticks_us(), start) > TIMEOUT_US:
                    return False
            return True
        waited = 0
        while not done():
            if waited > TIMEOUT_US:
                return False
            wait(POLL_US)
            waited += POLL_US
        return True
