"""PIO programs for one stimulation channel, and the FIFO words that drive them.

Two state machines per channel, one system clock (8 ns at 125 MHz) per PIO cycle:

* `rate_pio` (the rate SM) counts one interval per FIFO word and, unless the
  word is marked silent, raises an IRQ flag at its end. It re-reads its FIFO
  with `pull(noblock)`, so with an empty FIFO it repeats the word it holds in
  X with no CPU help (tonic); fed by DMA it plays any sequence of intervals
  (bursts, custom trains), still with no CPU per pulse.
* `pulse_pio` (the pulse SM) waits for that flag and shapes one biphasic pulse
  on three side-set pins (sync, cathodic phase, anodic phase). The contact
  select pins (OUT pins) route each contact to the anode or cathode bus; they
  only change between pulses. An update is 4 words; the SM takes it only when
  all 4 are in its FIFO (STATUS = TX level < 4), right after a pulse ends, so a
  pulse is never built from a mix of old and new words.

* `dac_sync_pio` (the DAC SM) watches the sync pin and pushes one word into
  its RX FIFO right after every pulse ends: that word paces the two DMA
  channels that copy the prepared DAC levels into the PWM's CC register, so
  an amplitude change always lands between two pulses (pulse_engine).

Rate words: bits 0..30 count, bit 31 = silent (no pulse at the end).

Cycle budget (`n` = cycles asked for, word = value written to the FIFO):

    rate SM interval = count + RATE_OVERHEAD         (pull, mov, out, loop count+1, out, jmp, irq)
    silent interval  = count + SILENT_OVERHEAD       (the same without the irq)
    cathodic phase   = word + CATHODIC_OVERHEAD      (mov, loop n+1, mov, jmp)
    interphase gap   = word                          (loop y-- n times, 0 allowed)
    anodic phase     = word + ANODIC_OVERHEAD        (mov, loop n+1)

A stream (burst or tonic fed by DMA) is a ring of RING_WORDS words that lasts
exactly one burst period: short silent words, the gap before the burst, the
`count - 1` intra-burst intervals (the last one ends on the burst's last
pulse), then RING_TRAIL short silent words. A new ring therefore starts
between bursts, and since every ring ends with as many silent words as the
FIFO holds, a DMA channel that has begun reading the next ring proves that
the rate SM has already raised the last pulse of the previous one.
"""

import rp2

RATE_OVERHEAD = 7
SILENT_OVERHEAD = 6
SILENT = 1 << 31  # rate word flag: count the interval, raise no pulse
COUNT_MAX = SILENT - 1
BURST_MAX = 16  # the most pulses a burst can have
RING_TRAIL = 4  # silent words that end every ring: the TX FIFO's depth
RING_WORDS = BURST_MAX + RING_TRAIL  # words per stream ring
SILENT_CYCLES = 32  # length of each padding word in a ring (DMA refills in a few cycles)
# The end of a one-shot train: the longest silent interval, repeated by pull(noblock).
END_WORD = SILENT | COUNT_MAX
TRIGGER_OVERHEAD = 4  # irq, mov, loop count+1, jmp x--
GATE_EXTRA = 2  # gate mode: wait 1 + mov x in every period
# trigger_pio addresses (from its start): the gate-mode entry, and the count
# loop the SM starts in, counting out the DAC's settling before it can pulse.
TRIGGER_GATE_AT = 1
TRIGGER_SETTLE_AT = 5
CATHODIC_OVERHEAD = 4
ANODIC_OVERHEAD = 2
UPDATE_WORDS = 4
# `wait(1, irq, rel(3))` without side-set: where the pulse SM idles between pulses.
WAIT_OPCODE = 0x20D3
# Side-set values (pins sync, cathodic, anodic from bit 0): 0 idle, 1 sync,
# 3 sync + cathodic phase, 5 sync + anodic phase.


@rp2.asm_pio(out_shiftdir=rp2.PIO.SHIFT_RIGHT)
def rate_pio():
    label("next")
    wrap_target()
    pull(noblock)  # 1  OSR <- next word, or X (the last one) if the FIFO is empty
    mov(x, osr)  # 1  keep it for the next noblock pull
    out(y, 31)  # 1  count
    label("count")
    jmp(y_dec, "count")  # count+1
    out(y, 1)  # 1  silent flag
    jmp(y_dec, "next")  # 1  silent: no pulse, next word
    irq(rel(0))  # 1  start a pulse (flag = this SM's index); the first one
    wrap()  #            comes an interval after start, when the pulse SM waits


@rp2.asm_pio(
    sideset_init=[rp2.PIO.OUT_LOW] * 3,
    out_init=[rp2.PIO.OUT_LOW] * 16,
    out_shiftdir=rp2.PIO.SHIFT_RIGHT,
)
def pulse_pio():
    label("check")
    mov(y, status).side(0)  # 1  y = 0 only when a whole update is queued
    jmp(y_dec, "wait").side(0)  # 1  (STATUS is all ones otherwise)
    pull().side(0)  # 1  cathodic count
    mov(x, osr).side(0)  # 1
    pull().side(0)  # 1  interphase count
    mov(isr, osr).side(0)  # 1
    pull().side(0)  # 1  contact select word
    out(pins, 16).side(0)  # 1  route contacts while no current flows
    pull().side(0)  # 1  anodic count stays in OSR
    label("wait")
    wait(1, irq, rel(3)).side(0)  # the rate SM's flag (SM index - 1)
    mov(y, x).side(3)  # 1            cathodic phase starts, sync rises
    label("cathodic")
    jmp(y_dec, "cathodic").side(3)  # x+1
    mov(y, isr).side(3)  # 1
    jmp(y_dec, "gap").side(3)  # 1   no interphase gap: fall through
    wrap_target()
    mov(y, osr).side(5)  # 1         anodic phase starts
    label("anodic")
    jmp(y_dec, "anodic").side(5)  # osr+1
    jmp("check").side(0)  # 1  pulse over: sync and phase pins fall
    label("gap")
    jmp(y_dec, "gap").side(1)  # interphase: n cycles, then wraps to anodic
    wrap()


@rp2.asm_pio()
def trigger_pio():
    # OSR = period count, ISR = pulses per edge - 1, loaded before start; the
    # SM starts at TRIGGER_SETTLE_AT with Y = settling cycles and X = 0.
    # Edge to pulse: wait, mov x, irq, then the pulse SM's wait (the chip adds
    # its 2-cycle input synchroniser); tests/test_trigger.py measures it.
    wait(0, pin, 0)  # edge mode: armed once the trigger input is low
    wait(1, pin, 0)  # gate mode wraps here (and starts here)
    mov(x, isr)  # 1
    label("pulse")
    irq(rel(2))  # 1  start a pulse: the rate SM's flag (this SM is rate SM + 2)
    mov(y, osr)  # 1
    label("count")
    jmp(y_dec, "count")  # count+1
    jmp(x_dec, "pulse")  # 1


@rp2.asm_pio()
def dac_sync_pio():
    wait(1, pin, 0)  # a pulse: the sync pin (IN base) is high for all of it
    wait(0, pin, 0)  # its end: no current flows until the next one
    push(noblock)  # one word: the DMA copies the prepared levels into PWM CC


@rp2.asm_pio()
def dac_group_pio():
    # A group of programs (pulse_engine.start_group): each pulse end takes the
    # next slot's levels from the TX FIFO (a DMA ring keeps it full) and
    # pushes them for the DMA that writes PWM CC.
    wait(1, pin, 0)  # a pulse
    wait(0, pin, 0)  # its end
    pull()  # 1  the next slot's CC word
    mov(isr, osr)  # 1
    push(noblock)  # 1


def interval_word(cycles, silent=False):
    """FIFO word for one rate-SM interval of `cycles` (pulse at its end unless silent)."""
    count = cycles - (SILENT_OVERHEAD if silent else RATE_OVERHEAD)
    if not 0 <= count <= COUNT_MAX:
        raise ValueError("interval of %d cycles outside what the rate SM can count" % cycles)
    return count | SILENT if silent else count


def rate_word(t):
    """FIFO word for the rate SM (tonic: the period, repeated)."""
    return interval_word(t.period)


def ring_words(t):
    """The RING_WORDS words of one burst period (tonic when t.burst_count is 1):
    silent padding, the gap before the burst, the intra-burst intervals, then
    RING_TRAIL silent words. The padding is taken from the gap before the
    burst, so the pulse-to-pulse intervals are exactly t.intervals()."""
    count = t.burst_count
    if not 1 <= count <= BURST_MAX:
        raise ValueError("burst_count %d outside 1..%d" % (count, BURST_MAX))
    silent = interval_word(SILENT_CYCLES, True)
    pad = RING_WORDS - count  # silent words in the ring, RING_TRAIL of them at the end
    words = [silent] * (pad - RING_TRAIL)
    words.append(interval_word(t.tail() - pad * SILENT_CYCLES))
    if count > 1:
        words += [interval_word(t.intra)] * (count - 1)
    return words + [silent] * RING_TRAIL


def ring_lead_in():
    """The RING_TRAIL silent words a ring expects before it: written into the
    FIFO when a stream starts from tonic or from nothing."""
    return [interval_word(SILENT_CYCLES, True)] * RING_TRAIL


def train_words(intervals, loop):
    """Rate words for a custom train of inter-pulse intervals (cycles); a
    one-shot train ends with END_WORD, after which no pulse comes."""
    words = [interval_word(c) for c in intervals]
    if not loop:
        words.append(END_WORD)
    return words


def trigger_words(t):
    """(OSR, ISR) for trigger_pio: the period count and the pulses per edge - 1.
    Edge mode: pulses of one edge are TRIGGER_OVERHEAD + count apart, and the
    last one's period runs out before the SM re-arms. Gate mode wraps past the
    re-arm: each period also passes the `wait 1` and `mov x` (GATE_EXTRA cycles)."""
    gate = t.trigger == "gate"
    count = t.period - TRIGGER_OVERHEAD - (GATE_EXTRA if gate else 0)
    if not 0 <= count <= COUNT_MAX:
        raise ValueError("period of %d cycles outside what the trigger SM can count" % t.period)
    return count, 0 if gate else t.trigger_pulses - 1


def pulse_words(t):
    """The 4 FIFO words for the pulse SM, in the order it pulls them."""
    return (
        t.cathodic - CATHODIC_OVERHEAD,
        t.interphase,
        t.select_mask,
        t.anodic - ANODIC_OVERHEAD,
    )
