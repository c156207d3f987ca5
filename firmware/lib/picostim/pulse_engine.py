"""Pulse engine: one stimulation channel on three PIO state machines.

Hardware adapter: the only module of the pulse path that touches `rp2` and
`machine`. Usage:

    engine = PulseEngine(board)          # outputs low
    engine.start(timing, program)        # tonic or burst; program: for the amplitude DACs
    engine.update(timing, program)       # applied at pulse boundaries (tonic <-> burst too)
    engine.start_train(timing, program, intervals_cycles, loop=True)  # custom train
    engine.start_once(timing, program, delay_cycles)  # one pulse (lead check)
    engine.start_group(timings, programs)  # several programs, interleaved (group_schedule)
    engine.update_group(timings, programs) # levels alone at a schedule boundary; else restart
    engine.poll()                        # call from the service loop
    engine.stop()                        # never cuts a pulse short
    engine.halt()                        # stop, wait out the pulse, all low
    engine.shutdown()                    # everything off and low, now

Where the rate SM's words come from (`engine.source`):

* DIRECT: tonic. The rate SM repeats the one period word it holds (no DMA).
* STREAM: bursts (and tonic after a burst). A DMA channel feeds the rate SM
  a ring of words that lasts one burst period (see pulse_pio); when the data
  channel finishes a pass it chains to a second channel, which re-arms it
  from the ring address held in one RAM word. A new setting goes into the
  other ring and then into that word: one store, taken at the next ring
  boundary, i.e. between two bursts. Once the data channel reads the new
  ring, every pulse of the old one has started (pulse_pio: RING_TRAIL).
* TRAIN: a custom train, the same two channels over the train's words; a
  one-shot train ends with a silent word that no pulse follows.
* TRIGGER: no rate words; the trigger SM raises the rate SM's flag when the
  trigger input says so (edge or gate mode, see pulse_pio.trigger_pio).
* GROUP: several programs interleaved (group_schedule). Three looped DMA
  streams advance one slot per pulse: the rate words, the pulse SM's 4 words
  and the slot's DAC levels (the DAC SM runs dac_group_pio: it pulls the next
  slot's CC word at every pulse end and pushes it to a DMA that writes CC).

Timing changes go to the rate side (a word, or a ring) and the pulse SM,
which each take them at their own boundary. The engine orders the two so
that every pulse fits the interval after it: if the new pulse fits the
shortest old interval the pulse SM goes first, otherwise the rate side does
(and then the old pulse fits every new interval, as both settings are valid).

Amplitude: the two DAC levels are the two channels of one PWM slice, so
one 32-bit CC word holds both. While pulses run, the CPU never writes CC: it
stores the next CC word in RAM (one store), and after every pulse the DAC SM
(which watches the sync pin) paces two chained DMA channels that copy that
word into CC. The PWM latches CC at its next counter wrap, both levels at
once, before the next pulse starts: every pulse has both phases from one
setting, whatever the CPU was doing (no check-then-write race).

One rule for a live change: the DAC levels land at the same pulse end as the
pulse words they belong to, so every pulse is wholly the old setting or
wholly the new one. New pulse words carry their CC word: the pulse SM is
told to hold them (STATUS_N), the CC word is stored, then they are released;
the copy channel is paced by the pulse SM's TX FIFO, so while those 4 words
sit there it cannot copy, and it copies right after the pulse SM pulls them.
A level alone (same pulse words) is one store, taken at the next pulse end.
When the rest between two pulses is shorter than one PWM period (+ latency),
no pulse end leaves room for the wrap: an amplitude change then, and any
change of `asym`, lets the current pulse finish, pauses the train and
restarts it (one period is longer).
"""

import time
from array import array

import machine
import rp2

from .pulse_pio import (
    END_WORD,
    RING_WORDS,
    TRIGGER_GATE_AT,
    TRIGGER_SETTLE_AT,
    UPDATE_WORDS,
    WAIT_OPCODE,
    dac_group_pio,
    dac_sync_pio,
    interval_word,
    pulse_pio,
    pulse_words,
    rate_pio,
    rate_word,
    ring_lead_in,
    ring_words,
    trigger_pio,
    trigger_words,
)

_PIO_BASE = (0x50200000, 0x50300000)
_TXF0 = 0x010
_RXF0 = 0x020
_IRQ = 0x030
_SM0_EXECCTRL = 0x0CC
_WRAP_BOTTOM = 7  # EXECCTRL bit: where the program wraps to
# EXECCTRL STATUS_N while an update is being put together: STATUS ("TX level
# < N") stays all ones with 4 words queued, so the pulse SM takes none of them.
_HOLD = 15
_SM0_INSTR = 0x0D8
_SM_STRIDE = 0x18
_DMA_BASE = 0x50000000
_DMA_CH_STRIDE = 0x40
_DMA_AL3_READ_ADDR_TRIG = 0x03C
_DREQ_PIO_TX0 = (0, 8)  # DREQ of PIO0 / PIO1 state machine 0's TX FIFO
_DREQ_PIO_RX0 = (4, 12)  # ... and its RX FIFO
_PWM_BASE = 0x40050000
_PWM_STRIDE = 0x14  # per slice: CSR +0, DIV +4, CTR +8, CC +0xC, TOP +0x10
_PWM_DIV = 0x04
_PWM_CC = 0x0C
_PWM_TOP = 0x10
# Cycles from a pulse's end to its CC write (input synchroniser, the DAC SM's
# wait and push, two chained DMA transfers: about 10), with a wide margin.
_DAC_LATENCY = 64
# Cycles the pulse SM needs after a pulse to be waiting again (update path: 12).
_TAIL_CYCLES = 16
# DMA memory, one array: ring 0, the ring-address word, a spare word, ring 1,
# the next CC word (both DAC levels) and a sink for the DAC SM's words.
# The gap keeps "the end of ring 0" from reading as "the start of ring 1".
_PTR = RING_WORDS
_RING_AT = (0, RING_WORDS + 2)
_LEVELS = 2 * RING_WORDS + 2
_SINK = _LEVELS + 1
_PULSE_PTR = _SINK + 1  # GROUP: where the pulse-word stream starts each pass
_LEVEL_PTR = _SINK + 2  # GROUP: the level ring the next pass reads
_DMA_WORDS = _SINK + 3
# GROUP: word offsets in the train buffer (a group and a train never run
# together): rate words, 4 pulse words per slot, two level rings (a spare word
# between them, so that "the end of ring 0" never reads as "the start of ring 1").
_SLOTS = 64  # group_schedule.MAX_SLOTS (imported only when a group starts)
_GROUP_RATE = 0
_GROUP_PULSE = _SLOTS
_GROUP_LEVELS = (5 * _SLOTS, 6 * _SLOTS + 1)
_GROUP_WORDS = 7 * _SLOTS + 1
_COUNT_FOREVER = 1  # a self re-arming channel pair moves one word per trigger

IDLE = "idle"
RUNNING = "running"
STOPPING = "stopping"
RESTARTING = "restarting"

DIRECT = "direct"
STREAM = "stream"
TRAIN = "train"
TRIGGER = "trigger"
GROUP = "group"

_PULSE = 0  # step kinds: 4 words for the pulse SM
_RATE = 1  # 1 word for the rate SM (DIRECT)
_RING = 2  # a new ring (STREAM)
_LEVEL = 3  # a CC word alone (the pulse words stay)


def _channel(dma):
    return dma.channel  # type: ignore[attr-defined]


def dac_counts(amp_ua, asym, full_scale_ua, top):
    """PWM CC counts (cathodic, anodic) for an amplitude, on a PWM of TOP + 1
    counts per period (full scale = 100% duty). The cathodic level is the
    nearest count to amp; the anodic one the cathodic count / asym, to the
    nearest count, so the anodic phase (asym times as long) carries the
    cathodic charge to within half a count over its width."""
    cathodic = (2 * amp_ua * (top + 1) + full_scale_ua) // (2 * full_scale_ua)
    return cathodic, (2 * cathodic + asym) // (2 * asym)


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
        # The DAC SM only watches a pin: it lives in the other block, which
        # leaves this one's 32 instructions to the rate, pulse and trigger programs.
        dac_block = pio.get("dac_block", 1 - pio["block"])
        dac_sm = pio.get("dac_sm", 0)
        if dac_block == pio["block"] or not 0 <= dac_sm <= 3:
            raise ValueError("board pio: the DAC SM (dac_block, dac_sm) must be in the other PIO block")
        self._pio = pio["block"]
        self._dac_index = (dac_block, dac_sm)
        self._rate_index = pio["rate_sm"]
        self._pulse_index = pio["pulse_sm"]
        self._trigger_index = (self._rate_index + 2) % 4  # trigger_pio raises irq rel(2): the rate SM's flag
        self._rate = rp2.StateMachine(self._pio * 4 + self._rate_index)
        self._pulse = rp2.StateMachine(self._pio * 4 + self._pulse_index)
        self._trigger = rp2.StateMachine(self._pio * 4 + self._trigger_index)
        self._dac = rp2.StateMachine(dac_block * 4 + dac_sm)
        self._trigger_pin = board["trigger_pin"]
        self._select_base = board["contacts"]["select_base_pin"]
        self._select_count = 2 * board["contacts"]["count"]
        self._sync_pin = phase["sync"]
        self._init_dac(board["dac"])
        self.state = IDLE
        self._timing = None  # what both SMs run once their FIFOs drain
        self._steps = []  # queued (kind, words or timing) steps, in order
        self._sent = False  # the first queued step has been written
        self._next = None  # timing waiting for the queue to drain
        self._program = None  # the program last started or updated to
        self._level = 0  # the CC word last written (CC itself, or the DMA's RAM word)
        self._next_level = 0  # the CC word of the latest setting (may still be queued)
        self._landing = False  # the DMA has not copied _level into CC yet
        self._levels_on = False  # type: object  # the DAC SM's DMA channels are armed (GROUP: the group's)
        self._live_interval = 0  # shortest interval / longest pulse of every setting
        self._live_pulse = 0  # that may still run (until the queue drains)
        self._restart_timing = None  # setting to start once the train has paused
        self._restart_program = None
        self._restart_group = None  # (timings, programs): a group to start once paused
        self.schedule = None  # GROUP: the running group_schedule.Schedule
        self._group = None  # GROUP: (timings, programs) running
        self._lring = 0  # GROUP: the level ring the level pointer names
        self._group_levels = None  # GROUP: level words per slot waiting for the ring in flight
        self._lring_sent = False  # GROUP: a new level ring waits to be read
        self.source = DIRECT
        self._ring = 0  # the ring the ring-address word points to (STREAM)
        self._train_end = 0  # one-shot train: the data channel's read address after the last word
        self._init_dma(pio["block"], pio["rate_sm"], dac_block, dac_sm)
        self._all_low()

    # -- DMA ---------------------------------------------------------------------
    def _init_dac(self, dac):
        """The two DAC pins: channels A and B of one PWM slice, set up by
        MicroPython's PWM (pin function, DIV, TOP, enabled) at level 0."""
        cathodic, anodic = dac["cathodic_pin"], dac["anodic_pin"]
        slice_ = cathodic >> 1 & 7
        if anodic >> 1 & 7 != slice_ or cathodic & 1 == anodic & 1:
            raise ValueError("board dac: cathodic_pin and anodic_pin must be channels A and B of one PWM slice")
        for pin in (cathodic, anodic):
            machine.PWM(machine.Pin(pin), freq=dac["pwm_freq_hz"], duty_u16=0)
        base = _PWM_BASE + _PWM_STRIDE * slice_
        self._cc_reg = base + _PWM_CC
        self.dac_top = machine.mem32[base + _PWM_TOP] & 0xFFFF
        div16 = machine.mem32[base + _PWM_DIV] & 0xFFF
        if div16 < 16:
            div16 += 4096  # DIV_INT 0 means 256
        # the longest a CC write can wait for the wrap that latches it, + latency
        self._dac_wait = ((self.dac_top + 1) * div16 + 15) // 16 + _DAC_LATENCY
        self._shifts = (16 * (cathodic & 1), 16 * (anodic & 1))
        self._full_scale_ua = dac["full_scale_ua"]

    def level_word(self, program):
        """The CC word for a program's two DAC levels (see dac_counts)."""
        cathodic, anodic = dac_counts(program.amp_ua, program.asym, self._full_scale_ua, self.dac_top)
        return cathodic << self._shifts[0] | anodic << self._shifts[1]

    def _init_dma(self, block, rate_sm, dac_block, dac_sm):
        self._data = rp2.DMA()  # rate words into the rate SM's TX FIFO, paced by its DREQ
        self._reload = rp2.DMA()  # at the end of each pass: data channel READ_ADDR <- ring word
        self._data_read_addr = _DMA_BASE + _DMA_CH_STRIDE * _channel(self._data)  # its READ_ADDR register
        self._mem = array("I", [0] * _DMA_WORDS)
        # The train's words (the DMA reads them), allocated once for the longest
        # train the profile allows: no big free block needed later.
        longest = self.board["limits"].get("train_length", (1, 1024))[1]
        self._train = array("I", range(max(longest + 1, _GROUP_WORDS)))
        self._train_addr = self._address(self._train)  # once: start_train writes the words there
        self._mem_addr = self._address(self._mem)
        data = self._data
        dreq = _DREQ_PIO_TX0[block] + rate_sm
        self._ctrl_loop = data.pack_ctrl(inc_write=False, treq_sel=dreq, chain_to=_channel(self._reload))
        self._ctrl_once = data.pack_ctrl(inc_write=False, treq_sel=dreq)  # chain_to itself: no chain
        data.config(write=_PIO_BASE[block] + _TXF0 + 4 * rate_sm, ctrl=self._ctrl_once)
        reload = self._reload
        reload.config(
            read=self._word_addr(_PTR),
            write=_DMA_BASE + _DMA_CH_STRIDE * _channel(data) + _DMA_AL3_READ_ADDR_TRIG,
            count=1,
            ctrl=reload.pack_ctrl(inc_read=False, inc_write=False),
        )
        # After every pulse: the DAC SM's RX word into a sink (paced by its DREQ),
        # chained to a copy of the next CC word into PWM CC, chained back.
        self._tick = tick = rp2.DMA()
        self._copy = copy = rp2.DMA()
        dreq = _DREQ_PIO_RX0[dac_block] + dac_sm
        # (ctrl chained, ctrl not chained): the same transfer either way
        self._tick_ctrl = (
            tick.pack_ctrl(inc_read=False, inc_write=False, treq_sel=dreq, chain_to=_channel(copy)),
            tick.pack_ctrl(inc_read=False, inc_write=False, treq_sel=dreq),
        )
        # copy waits while the pulse SM's TX FIFO is full: a held update's level
        # reaches CC only once the pulse SM has pulled its words (same pulse end)
        pulse_dreq = _DREQ_PIO_TX0[block] + self._pulse_index
        self._copy_ctrl = (
            copy.pack_ctrl(inc_read=False, inc_write=False, treq_sel=pulse_dreq, chain_to=_channel(tick)),
            copy.pack_ctrl(inc_read=False, inc_write=False, treq_sel=pulse_dreq),
        )
        self._rx_reg = _PIO_BASE[dac_block] + _RXF0 + 4 * dac_sm
        self._init_group_dma(block, dac_block, dac_sm)

    def _init_group_dma(self, block, dac_block, dac_sm):
        """GROUP: the pulse-word stream (data + reload), the level ring's reload
        (the copy channel feeds the DAC SM), and a channel that re-arms tick
        after it has moved each pulse end's CC word (see start_group)."""
        self._pdata = pdata = rp2.DMA()
        self._preload = preload = rp2.DMA()
        self._lreload = rp2.DMA()
        self._rearm = rp2.DMA()
        self._pdata_ctrl = pdata.pack_ctrl(
            inc_write=False, treq_sel=_DREQ_PIO_TX0[block] + self._pulse_index, chain_to=_channel(preload)
        )
        pdata.config(write=_PIO_BASE[block] + _TXF0 + 4 * self._pulse_index, ctrl=pdata.pack_ctrl(inc_write=False))
        preload.config(
            read=self._word_addr(_PULSE_PTR),
            write=_DMA_BASE + _DMA_CH_STRIDE * _channel(pdata) + _DMA_AL3_READ_ADDR_TRIG,
            count=1,
            ctrl=preload.pack_ctrl(inc_read=False, inc_write=False),
        )
        copy = self._copy
        self._lreload.config(
            read=self._word_addr(_LEVEL_PTR),
            write=_DMA_BASE + _DMA_CH_STRIDE * _channel(copy) + _DMA_AL3_READ_ADDR_TRIG,
            count=1,
            ctrl=self._lreload.pack_ctrl(inc_read=False, inc_write=False),
        )
        dac_tx = _DREQ_PIO_TX0[dac_block] + dac_sm
        self._feed_ctrl = (
            copy.pack_ctrl(inc_write=False, treq_sel=dac_tx, chain_to=_channel(self._lreload)),
            copy.pack_ctrl(inc_write=False, treq_sel=dac_tx),
        )
        dreq = _DREQ_PIO_RX0[dac_block] + dac_sm
        tick = self._tick
        self._drain_ctrl = (
            tick.pack_ctrl(inc_read=False, inc_write=False, treq_sel=dreq, chain_to=_channel(self._rearm)),
            tick.pack_ctrl(inc_read=False, inc_write=False, treq_sel=dreq),
        )
        self._rearm_ctrl = (
            self._rearm.pack_ctrl(inc_read=False, inc_write=False, chain_to=_channel(tick)),
            self._rearm.pack_ctrl(inc_read=False, inc_write=False),
        )
        self._dac_tx_reg = _PIO_BASE[dac_block] + _TXF0 + 4 * dac_sm

    def _address(self, buf):
        """The RAM address of a buffer, as the DMA sees it (data channel idle)."""
        self._data.config(read=buf)
        return self._data_read()

    def _data_read(self):
        """The data channel's next read address."""
        return machine.mem32[self._data_read_addr]

    def _word_addr(self, index):
        return self._mem_addr + 4 * index

    def _run_dma(self, address, count, loop):
        """Start feeding the rate SM `count` words from `address` (repeated if loop)."""
        machine.mem32[self._word_addr(_PTR)] = address
        self._data.config(count=count, ctrl=self._ctrl_loop if loop else self._ctrl_once)
        self._reload.active(1)  # loads the data channel's READ_ADDR from the word, triggers it

    def _write_ring(self, index, timing):
        base = self._word_addr(_RING_AT[index])
        words = ring_words(timing)
        for i in range(RING_WORDS):
            machine.mem32[base + 4 * i] = words[i]
        return base

    def _ring_taken(self):
        """True once the data channel reads the ring last pointed to: the rate
        SM has then started every pulse of the ring before (pulse_pio)."""
        start = self._word_addr(_RING_AT[self._ring])
        return start <= self._data_read() <= start + 4 * RING_WORDS

    def _train_done(self):
        """One-shot train: the data channel has read and written its last word
        (the end word) and the rate SM has pulled it, so the last pulse has started."""
        if not self._train_end or self._data_read() != self._train_end or self._data.active():
            return False
        return not self._rate.tx_fifo()

    def _stop_dma(self):
        if self.source in (DIRECT, TRIGGER):
            self.source = DIRECT
            return
        self._data.config(ctrl=self._ctrl_once)  # no chaining: the abort must not re-arm it
        self._data.active(0)
        self._reload.active(0)
        if self.source == GROUP:
            self._pdata.config(ctrl=self._pdata.pack_ctrl(inc_write=False))  # chaining off, then abort
            self._pdata.active(0)
            self._preload.active(0)
            self.schedule = None
            self._group = None
        self.source = DIRECT

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
    def _start_levels(self, word):
        """Engine idle: both levels into CC with one store (the PWM takes it at
        its next wrap, long before the first pulse), the same word in RAM for
        the DMA, and the DAC SM's two channels armed."""
        self._stop_levels()
        machine.mem32[self._cc_reg] = word
        machine.mem32[self._word_addr(_LEVELS)] = word
        self._level = word
        self._landing = False
        self._dac.init(dac_sync_pio, freq=self.sys_hz, in_base=machine.Pin(self._sync_pin))
        self._tick.config(read=self._rx_reg, write=self._word_addr(_SINK), count=1, ctrl=self._tick_ctrl[0])
        self._copy.config(read=self._word_addr(_LEVELS), write=self._cc_reg, count=1, ctrl=self._copy_ctrl[0])
        self._tick.active(1)  # waits for the DAC SM's first word
        self._levels_on = True

    def _stop_levels(self):
        self._dac.active(0)
        if self._levels_on == GROUP:
            self._copy.config(ctrl=self._feed_ctrl[1])  # chaining off first: no abort re-arms another
            self._tick.config(ctrl=self._drain_ctrl[1])
            self._rearm.config(ctrl=self._rearm_ctrl[1])
            for channel in (self._copy, self._lreload, self._tick, self._rearm):
                channel.active(0)
            self._group_levels = None
            self._lring_sent = False
            self._levels_on = False
        if self._levels_on:
            self._tick.config(ctrl=self._tick_ctrl[1])  # no chaining: the abort cannot re-arm the other
            self._copy.config(ctrl=self._copy_ctrl[1])
            self._tick.active(0)
            self._copy.active(0)
            self._levels_on = False

    def _write_level(self, word):
        """Running: the DMA copies this into CC at the next pulse end at which
        the pulse SM's TX FIFO is not full (see _send_pulse)."""
        machine.mem32[self._word_addr(_LEVELS)] = word
        self._level = word
        self._landing = True

    def _level_landed(self):
        """True once the last CC word written is in CC (the PWM latches it at its next wrap)."""
        if self._landing and machine.mem32[self._cc_reg] == self._level:
            self._landing = False
        return not self._landing

    def _status_n(self, n):
        execctrl = self._register(self._pulse_index, _SM0_EXECCTRL)
        machine.mem32[execctrl] = machine.mem32[execctrl] & ~0xF | n

    def _send_pulse(self, words, level):
        """New pulse words and their DAC levels, taken at one pulse end: the
        pulse SM holds the words until the level is stored, and the copy DMA
        cannot move that level into CC until the pulse SM has pulled them."""
        self._status_n(_HOLD)
        self._pulse.put(array("I", words))  # TX FIFO full: the copy DMA waits
        if level != self._level:
            self._write_level(level)
        self._status_n(UPDATE_WORDS)  # taken, with the level, at the next pulse end

    def _latch_fits(self, timing):
        """Every pulse end leaves the PWM time to latch a new CC word before
        the next pulse, for every setting that may run from now on."""
        shortest = min(self._live_interval, timing.min_interval())
        longest = max(self._live_pulse, timing.pulse())
        return shortest - longest >= self._dac_wait

    def _settled(self, timing):
        self._live_interval = timing.min_interval()
        self._live_pulse = timing.pulse()

    # -- lifecycle ---------------------------------------------------------------
    def start(self, timing, program):
        """Start tonic (timing.burst_count 1) or burst stimulation; the first
        pulse comes one period (a burst: the gap before a burst) after start.
        With timing.trigger "edge" or "gate" pulses wait for the trigger input."""
        if self.state != IDLE:
            raise RuntimeError("engine is " + self.state)
        self._prepare(timing, program)
        if timing.trigger != "off":
            self._arm_trigger(timing)
        elif timing.burst_count > 1:
            self._send_ring(timing)
        else:
            self._rate.put(rate_word(timing))
        self._go(timing)

    def start_train(self, timing, program, intervals_cycles, loop=True):
        """Play a custom train: pulse k starts intervals_cycles[k] after the
        start of pulse k-1 (pulse 0: after the start). Looped, the list
        repeats; otherwise the engine stops by itself after the last pulse
        (poll() takes it to IDLE). See stim_program.train_cycles."""
        if self.state != IDLE:
            raise RuntimeError("engine is " + self.state)
        shortest = timing.pulse() + _TAIL_CYCLES
        for cycles in intervals_cycles:
            if cycles < shortest:
                raise ValueError("interval of %d cycles does not hold the %d-cycle pulse" % (cycles, timing.pulse()))
        count = len(intervals_cycles) + (0 if loop else 1)  # a one-shot train ends with END_WORD
        if count > len(self._train):
            raise ValueError("train of %d words is longer than %d" % (count, len(self._train)))
        self._prepare(timing, program)
        address = self._train_addr  # in place, word by word: no allocation (see __init__)
        for i in range(len(intervals_cycles)):
            machine.mem32[address + 4 * i] = interval_word(intervals_cycles[i])
        if not loop:
            machine.mem32[address + 4 * (count - 1)] = END_WORD
        self._train_end = 0 if loop else address + 4 * count
        self._run_dma(address, count, loop)
        self.source = TRAIN
        self._go(timing)

    def start_once(self, timing, program, delay_cycles):
        """One pulse, delay_cycles after the start (at least the DAC's settling
        time), and no other: the rate SM's FIFO gets that interval, then
        END_WORD (silent, repeated). No DMA. The engine stays RUNNING until
        stop() (a lead check's measuring pulse: see impedance.py)."""
        if self.state != IDLE:
            raise RuntimeError("engine is " + self.state)
        if delay_cycles < self._dac_wait:
            raise ValueError("a delay of %d cycles does not let the DAC latch its levels" % delay_cycles)
        self._prepare(timing, program)
        self._rate.put(array("I", (interval_word(delay_cycles), END_WORD)))
        self._go(timing)

    def once_started(self):
        """start_once: True once its pulse has started (the rate SM took END_WORD)."""
        return not self._rate.tx_fifo()

    def _prepare(self, timing, program):
        """Both SMs loaded and stopped, the pulse SM's first words queued, DACs set."""
        self._load_sms()
        self._program = program
        self._next_level = self.level_word(program)
        self._start_levels(self._next_level)
        self._pulse.put(array("I", pulse_words(timing)))

    def _load_sms(self):
        """Rate and pulse SMs loaded, stopped, FIFOs empty, the rate flag clear."""
        self._stop_dma()
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

    # -- groups ------------------------------------------------------------------
    def group_guard(self):
        """Cycles every group slot keeps free after its pulse: the minimum rest,
        and the time the DAC needs to latch the next slot's levels."""
        from . import group_schedule

        return max(group_schedule.guard_cycles(self.board, self.sys_hz), self._dac_wait, _TAIL_CYCLES)

    def start_group(self, timings, programs):
        """Interleave several tonic programs (group_schedule): each pulses at its
        own period, its own widths, contacts and levels; the first slot's pulse
        comes one wrap interval after the start. Returns the schedule, or raises
        StimError (FIT, RANGE, VALUE) as group_schedule.build."""
        if self.state != IDLE:
            raise RuntimeError("engine is " + self.state)
        from . import group_schedule

        if group_schedule.MAX_SLOTS > _SLOTS:
            raise ValueError("group_schedule.MAX_SLOTS exceeds the engine's room")
        schedule = group_schedule.build(timings, self.group_guard(), self.sys_hz)
        levels = [self.level_word(p) for p in programs]
        self._load_sms()
        base = self._train_addr
        slots = len(schedule.starts)
        intervals = schedule.intervals()
        for k in range(slots):
            member = schedule.members[k]
            machine.mem32[base + 4 * (_GROUP_RATE + k)] = interval_word(intervals[k])
            words = pulse_words(timings[member])
            for w in range(UPDATE_WORDS):
                machine.mem32[base + 4 * (_GROUP_PULSE + UPDATE_WORDS * k + w)] = words[w]
        self.schedule = schedule
        self._group = (timings, programs)
        self._program = programs[schedule.members[0]]
        self._start_group_levels(schedule, levels)
        # the pulse-word stream: the pulse SM finds slot 0's 4 words when it starts
        pulse_at = base + 4 * _GROUP_PULSE
        machine.mem32[self._word_addr(_PULSE_PTR)] = pulse_at
        self._pdata.config(read=pulse_at, count=UPDATE_WORDS * slots, ctrl=self._pdata_ctrl, trigger=True)
        while self._pulse.tx_fifo() < UPDATE_WORDS:
            pass  # a few cycles: the DMA fills the FIFO
        self._run_dma(base + 4 * _GROUP_RATE, slots, True)
        self.source = GROUP
        self._go(None)
        return schedule

    def _level_ring(self, index, schedule, levels):
        """Write level ring `index`: word k is slot k + 1's CC word (the DAC SM
        takes it at the end of slot k's pulse). Returns its address."""
        at = self._train_addr + 4 * _GROUP_LEVELS[index]
        slots = len(schedule.starts)
        for k in range(slots):
            machine.mem32[at + 4 * k] = levels[schedule.members[(k + 1) % slots]]
        return at

    def _start_group_levels(self, schedule, levels):
        """Slot 0's levels into CC now; the DAC SM (dac_group_pio) then takes
        each next slot's CC word from a looped DMA ring at every pulse end, and
        tick (re-armed by rearm after every word) writes it into CC."""
        self._stop_levels()
        first = levels[schedule.members[0]]
        machine.mem32[self._cc_reg] = first
        self._level = self._next_level = first
        self._landing = False
        self._dac.init(dac_group_pio, freq=self.sys_hz, in_base=machine.Pin(self._sync_pin))
        self._lring = 0
        machine.mem32[self._word_addr(_LEVEL_PTR)] = self._level_ring(0, schedule, levels)
        self._tick.config(read=self._rx_reg, write=self._cc_reg, count=_COUNT_FOREVER, ctrl=self._drain_ctrl[0])
        sink = self._word_addr(_SINK)
        self._rearm.config(read=sink, write=sink, count=1, ctrl=self._rearm_ctrl[0])
        self._copy.config(write=self._dac_tx_reg, count=len(schedule.starts), ctrl=self._feed_ctrl[0])
        self._tick.active(1)  # waits for the DAC SM's first word
        self._lreload.active(1)  # points the feeder at ring 0 and starts it
        self._levels_on = GROUP

    def update_group(self, timings, programs):
        """A running group's new settings. Levels alone (the same widths,
        contacts and rates) go into the other level ring, taken whole at the
        end of a pass of the ring: every pulse keeps its own slot's words with
        its levels from one setting or the other. Anything else finishes the
        pulse under way and restarts the schedule."""
        if self.state == RESTARTING:
            self._restart_group = (timings, programs)
            return self.poll()
        if self.state != RUNNING or self.source != GROUP:
            raise RuntimeError("no group is running")
        running = self._group
        assert running is not None
        same = len(timings) == len(running[0])
        for i in range(len(timings) if same else 0):
            if timings[i] != running[0][i] or programs[i].asym != running[1][i].asym:
                same = False
        if not same:
            from . import group_schedule

            group_schedule.build(timings, self.group_guard(), self.sys_hz)  # refuse before stopping
            self._pacers_off()
            self._restart_group = (timings, programs)
            self.state = RESTARTING
            return self.poll()
        self._group = (timings, programs)
        self._group_levels = [self.level_word(p) for p in programs]
        return self.poll()

    def _lring_taken(self):
        assert self.schedule is not None
        start = self._train_addr + 4 * _GROUP_LEVELS[self._lring]
        read = machine.mem32[_DMA_BASE + _DMA_CH_STRIDE * _channel(self._copy)]
        return start <= read <= start + 4 * len(self.schedule.starts)

    def _poll_group(self):
        if self._lring_sent:
            if not self._lring_taken():
                return False
            self._lring_sent = False
        if self._group_levels is not None:  # one ring in flight at a time: the latest waits
            self._lring = 1 - self._lring
            at = self._level_ring(self._lring, self.schedule, self._group_levels)
            machine.mem32[self._word_addr(_LEVEL_PTR)] = at
            self._group_levels = None
            self._lring_sent = True
            return False
        return True

    def _arm_trigger(self, timing):
        """The trigger SM paces the pulse SM instead of the rate SM: period in
        OSR, pulses per edge - 1 in ISR. It starts by counting out the DAC's
        settling time (the first pulse can follow the input at once), then
        waits for the input; gate mode wraps past the edge mode's re-arm."""
        sm = self._trigger
        pin = machine.Pin(self._trigger_pin, machine.Pin.IN, machine.Pin.PULL_DOWN)
        sm.init(trigger_pio, freq=self.sys_hz, in_base=pin)
        period, pulses = trigger_words(timing)
        for word, load in ((self._dac_wait, "mov(y, osr)"), (pulses, "mov(isr, osr)"), (period, None)):
            sm.put(word)
            sm.exec("pull()")
            if load:
                sm.exec(load)
        sm.exec("mov(x, null)")
        execctrl = self._register(self._trigger_index, _SM0_EXECCTRL)
        value = machine.mem32[execctrl]
        start = value >> _WRAP_BOTTOM & 0x1F  # where the program was loaded
        if timing.trigger == "gate":
            bottom = start + TRIGGER_GATE_AT
            machine.mem32[execctrl] = value & ~(0x1F << _WRAP_BOTTOM) | bottom << _WRAP_BOTTOM
        sm.exec(start + TRIGGER_SETTLE_AT)  # an encoded jmp (always) is its target address
        self.source = TRIGGER

    def _pacers_off(self):
        """No new pulse: neither the rate SM nor the trigger SM raises the flag."""
        self._rate.active(0)
        self._trigger.active(0)

    def _go(self, timing):
        self._timing = timing
        self._steps = []
        self._sent = False
        self._next = None
        if timing is not None:  # (a group: see start_group)
            self._settled(timing)
        self._dac.active(1)  # watching the sync pin before the first pulse
        self._pulse.active(1)
        (self._trigger if self.source == TRIGGER else self._rate).active(1)
        self.state = RUNNING

    def update(self, timing, program):
        """Apply new settings at the next pulse boundaries (see module doc)."""
        if self.state == RESTARTING:  # the restart will start the latest setting
            self._restart_timing = timing
            self._restart_program = program
            return self.poll()
        if self.state != RUNNING:
            raise RuntimeError("engine is " + self.state)
        if self.source == TRAIN:
            raise RuntimeError("a custom train is running: stop it first")
        if self.source == GROUP:
            raise RuntimeError("a group is running: use update_group")
        word = self.level_word(program)
        moving = word != self._next_level or self._next_level != self._level or not self._level_landed()
        asym_changes = self._program is not None and program.asym != self._program.asym
        latest = self._next or self._timing
        triggered = self.source == TRIGGER or timing.trigger != "off"
        repace = triggered and latest is not None and timing.rate_key() != latest.rate_key()
        if asym_changes or repace or (moving and not self._latch_fits(timing)):
            self._pacers_off()  # no new pulse; restart once the current one ends
            self._restart_timing = timing
            self._restart_program = program
            self.state = RESTARTING
            return self.poll()
        self._program = program
        self._next = timing
        self._next_level = word
        return self.poll()

    def _fits(self, rate_timing, pulse_timing):
        """A pulse of pulse_timing ends (and the pulse SM waits again) before any
        interval of rate_timing is over."""
        return pulse_timing.pulse() + _TAIL_CYCLES <= rate_timing.min_interval()

    def _plan(self, timing, level):
        """The steps from the running setting to timing and its CC word: new
        pulse words carry their level; a level alone is one store."""
        old = self._timing
        self._timing = timing
        self._live_interval = min(self._live_interval, timing.min_interval())
        self._live_pulse = max(self._live_pulse, timing.pulse())
        if old is None:
            return []
        steps = []  # type: list
        if pulse_words(timing) != pulse_words(old):
            steps.append((_PULSE, (pulse_words(timing), level)))
        elif level != self._level:
            steps.append((_LEVEL, level))  # the pulse words in force are already the new ones
        if timing.rate_key() != old.rate_key():
            if self.source == DIRECT and timing.burst_count == 1:
                rate_step = (_RATE, (rate_word(timing),))
            else:
                rate_step = (_RING, timing)
            if self._fits(old, timing):
                steps.append(rate_step)
            else:
                steps.insert(0, rate_step)
        return steps

    def _send_ring(self, timing):
        """Point the stream at a ring for `timing`; False if it must wait."""
        if self.source == DIRECT:  # tonic -> burst: the DMA takes over from X
            if self._rate.tx_fifo():
                return False
            self._ring = 0
            self._rate.put(array("I", ring_lead_in()))  # the end of a ring before the first
            self._run_dma(self._write_ring(0, timing), RING_WORDS, True)
            self.source = STREAM
        else:  # the other ring (the data channel has left it), then the ring word
            self._ring = 1 - self._ring
            machine.mem32[self._word_addr(_PTR)] = self._write_ring(self._ring, timing)
        return True

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
            self.state = IDLE
            group = self._restart_group
            if group is not None:
                self._restart_group = None
                self.start_group(*group)
                return True
            timing, program = self._restart_timing, self._restart_program
            self._restart_timing = self._restart_program = None
            self.start(timing, program)
            return True
        if self.state != RUNNING:
            return True
        if self.source == GROUP:
            return self._poll_group()
        if self._train_done():
            self._train_end = 0
            return self.stop()
        while True:
            if not self._steps:
                if self._next is None:
                    self._settled(self._timing)
                    return self._level_landed()
                self._steps = self._plan(self._next, self._next_level)
                self._next = None
                continue
            kind, payload = self._steps[0]
            if kind == _LEVEL:
                self._write_level(payload)
            elif kind == _RING:
                if not self._sent:
                    if not self._send_ring(payload):
                        return False
                    self._sent = True
                if not self._ring_taken():
                    return False
            else:
                sm = self._pulse if kind == _PULSE else self._rate
                if not self._sent:
                    if sm.tx_fifo():
                        return False
                    if kind == _PULSE:
                        self._send_pulse(*payload)
                    else:
                        sm.put(array("I", payload))
                    self._sent = True
                if sm.tx_fifo():
                    return False  # not taken yet: it will be at the next boundary
            self._steps.pop(0)
            self._sent = False

    def pending(self):
        """True until the last update runs on both state machines (an asym
        restart included) and its DAC levels have reached PWM CC."""
        if self.state == RESTARTING or self._steps or self._next is not None:
            return True
        if self.source == GROUP:
            return self._lring_sent or self._group_levels is not None
        return not self._level_landed()

    def stop(self):
        """Stop without cutting a pulse: no new pulse starts; outputs go low at
        once between pulses, or when the current pulse ends (see poll)."""
        if self.state == IDLE:
            self._all_low()
            return True
        self._pacers_off()
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
        self._pacers_off()
        self._pulse.active(0)
        self._stop_dma()
        self._stop_levels()
        machine.mem32[self._cc_reg] = 0  # both levels, one store
        self._level = self._next_level = 0
        self._landing = False
        self._train_end = 0
        self._all_low()
        self._steps = []
        self._sent = False
        self._next = None
        self._restart_timing = self._restart_program = None
        self._restart_group = None
        self.state = IDLE
