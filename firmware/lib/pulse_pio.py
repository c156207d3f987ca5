"""PIO programs for one stimulation channel, and the FIFO words that drive them.

Two state machines per channel, one system clock (8 ns at 125 MHz) per PIO cycle:

* `rate_pio` (the rate SM) raises an IRQ flag once per period. It re-reads its
  FIFO with `pull(noblock)`, so with an empty FIFO it repeats the period it
  holds in X with no CPU help; a new word takes effect at the next period.
* `pulse_pio` (the pulse SM) waits for that flag and shapes one biphasic pulse
  on three side-set pins (sync, cathodic phase, anodic phase). The contact
  select pins (OUT pins) route each contact to the anode or cathode bus; they
  only change between pulses. An update is 4 words; the SM takes it only when
  all 4 are in its FIFO (STATUS = TX level < 4), right after a pulse ends, so a
  pulse is never built from a mix of old and new words.

Cycle budget (`n` = cycles asked for, word = value written to the FIFO):

    rate SM period   = word + RATE_OVERHEAD          (pull, mov, mov, loop n+1, irq)
    cathodic phase   = word + CATHODIC_OVERHEAD      (mov, loop n+1, mov, jmp)
    interphase gap   = word                          (loop y-- n times, 0 allowed)
    anodic phase     = word + ANODIC_OVERHEAD        (mov, loop n+1)
"""

import rp2

RATE_OVERHEAD = 5
CATHODIC_OVERHEAD = 4
ANODIC_OVERHEAD = 2
UPDATE_WORDS = 4
# `wait(1, irq, rel(3))` without side-set: where the pulse SM idles between pulses.
WAIT_OPCODE = 0x20D3
# Side-set values (pins sync, cathodic, anodic from bit 0): 0 idle, 1 sync,
# 3 sync + cathodic phase, 5 sync + anodic phase.


@rp2.asm_pio()
def rate_pio():
    wrap_target()
    pull(noblock)  # 1  OSR <- new period, or X (the last one) if FIFO empty
    mov(x, osr)  # 1  keep it for the next noblock pull
    mov(y, x)  # 1
    label("count")
    jmp(y_dec, "count")  # y+1
    irq(rel(0))  # 1  start a pulse (flag = this SM's index); the first one
    wrap()  #            comes a period after start, when the pulse SM waits


@rp2.asm_pio(
    sideset_init=[rp2.PIO.OUT_LOW] * 3,
    out_init=[rp2.PIO.OUT_LOW] * 16,
    out_shiftdir=rp2.PIO.SHIFT_RIGHT,
)
def pulse_pio():
    label("check")
    mov(y, status).side(0)  # 1  y = 0 only when a whole update is queued
    jmp(not_y, "take").side(0)  # 1
    jmp("wait").side(0)  # 1
    label("take")
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


def rate_word(t):
    """FIFO word for the rate SM."""
    return t.period - RATE_OVERHEAD


def pulse_words(t):
    """The 4 FIFO words for the pulse SM, in the order it pulls them."""
    return (
        t.cathodic - CATHODIC_OVERHEAD,
        t.interphase,
        t.select_mask,
        t.anodic - ANODIC_OVERHEAD,
    )
