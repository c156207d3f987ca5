"""The RP2040 PWM block (8 slices) as the chip model's registers.

Only what the DAC needs, exactly as the datasheet describes it (RP2040
datasheet 4.5, "Double buffering"): a free-running trailing-edge counter
0..TOP at sys_clk / DIV, and for each slice a software copy of CC and TOP
that the hardware latches at the instant the counter wraps to 0 - or at once
while the slice is disabled. A write to CC therefore reaches the output up to
one PWM period later, never in the middle of a PWM period.

Registers per slice (base 0x40050000 + 0x14 * n): CSR +0x00 (EN bit 0,
A_INV bit 2, B_INV bit 3), DIV +0x04 (8.4 fixed point), CTR +0x08, CC +0x0C
(channel A bits 0..15, B bits 16..31), TOP +0x10; EN at +0xA0 aliases every
CSR_EN bit. The atomic XOR/SET/CLR aliases (+0x1000/+0x2000/+0x3000) work.
Phase-correct mode, the B-input divider modes and PWM interrupts are not
emulated: setting them raises.

Duty of a channel: CC / (TOP + 1) (CC > TOP: always high), reported as the
nearest u16 value, the way MicroPython's `PWM.duty_u16()` reads it back:
`(cc * 65535 + (TOP + 1) // 2) // (TOP + 1)`.
"""

from __future__ import annotations

from collections.abc import Callable

PWM_BASE = 0x40050000
PWM_SPAN = 0x4000  # registers and their atomic aliases
SLICES = 8
STRIDE = 0x14
CSR, DIV, CTR, CC, TOP = 0x00, 0x04, 0x08, 0x0C, 0x10
EN = 0xA0
_INTR, _INTE, _INTF, _INTS = 0xA4, 0xA8, 0xAC, 0xB0
_CSR_EN = 1
_CSR_PH_CORRECT = 1 << 1
_CSR_A_INV = 1 << 2
_CSR_B_INV = 1 << 3
_CSR_DIVMODE = 3 << 4
_CSR_PH_MOVE = 3 << 6  # PH_RET, PH_ADV: strobes


class PwmError(ValueError):
    pass


class Slice:
    def __init__(self, index: int):
        self.index = index
        self.csr = 0
        self.div16 = 16  # DIV register: INT.FRAC in 1/16 (reset 1.0)
        self.cc = 0  # software copies
        self.top = 0xFFFF
        self.live_cc = 0  # what the counter compares against
        self.live_top = 0xFFFF
        self.ctr = 0  # the counter while stopped
        self.origin16 = 0  # running: the counter was 0 at this time (1/16 cycle)
        self.latch_at: int | None = None  # cycle of the wrap that takes the software copies

    @property
    def running(self) -> bool:
        return bool(self.csr & _CSR_EN)

    def divisor16(self) -> int:
        return self.div16 if self.div16 >= 16 else self.div16 + 4096  # INT 0 means 256

    def period16(self) -> int:
        return (self.live_top + 1) * self.divisor16()

    def counter(self, cycle: int) -> int:
        if not self.running:
            return self.ctr
        return (cycle * 16 - self.origin16) // self.divisor16() % (self.live_top + 1)

    def next_wrap(self, cycle: int) -> int:
        """The first cycle after `cycle` on which the counter wraps to 0."""
        period = self.period16()
        elapsed = cycle * 16 - self.origin16
        wrap16 = self.origin16 + (elapsed // period + 1) * period
        return -(-wrap16 // 16)

    def duty_u16(self, channel: int) -> int:
        level = self.live_cc >> (16 * channel) & 0xFFFF
        counts = self.live_top + 1
        duty = min(level, counts) * 65535
        duty = (duty + counts // 2) // counts
        if self.csr & (_CSR_B_INV if channel else _CSR_A_INV):
            duty = 65535 - duty
        return duty

    def freq_hz(self, sys_hz: int) -> int:
        return (sys_hz * 16 + self.period16() // 2) // self.period16()


class PwmBlock:
    """rp2040py peripheral interface (read_uint32 / write_uint32_atomic), so
    CPU stores (machine.mem32) and DMA transfers reach it alike."""

    def __init__(self, now: Callable[[], int], changed: Callable[[int, int], None]):
        self._now = now  # current cycle
        self._changed = changed  # (slice index, cycle): that slice's outputs changed on that cycle
        self.slices = [Slice(n) for n in range(SLICES)]
        self.next_latch: int | None = None

    def reset(self):
        self.slices = [Slice(n) for n in range(SLICES)]
        self.next_latch = None
        for n in range(SLICES):
            self._changed(n, self._now())

    # -- time ------------------------------------------------------------------------
    def latch_until(self, cycle: int):
        """Take the software copies into every slice whose wrap came by `cycle`."""
        while self.next_latch is not None and self.next_latch <= cycle:
            at = self.next_latch
            for s in self.slices:
                if s.latch_at == at:
                    s.origin16 = at * 16  # the wrap: the counter is 0 here, and the new TOP counts from it
                    self._take(s, at)
            self._plan()

    def _take(self, s: Slice, cycle: int):
        s.latch_at = None
        if (s.live_cc, s.live_top) != (s.cc, s.top):
            s.live_cc, s.live_top = s.cc, s.top
            self._changed(s.index, cycle)

    def _plan(self):
        pending = [s.latch_at for s in self.slices if s.latch_at is not None]
        self.next_latch = min(pending) if pending else None

    def _software_copy_written(self, s: Slice):
        if not s.running:
            self._take(s, self._now())  # a stopped slice takes new values at once
        elif s.latch_at is None and (s.cc, s.top) != (s.live_cc, s.live_top):
            s.latch_at = s.next_wrap(self._now())
        self._plan()

    # -- registers ---------------------------------------------------------------------
    def read_uint32(self, offset: int) -> int:
        offset &= 0xFFF
        if offset == EN:
            return sum(1 << s.index for s in self.slices if s.running)
        if offset in (_INTR, _INTE, _INTF, _INTS):
            return 0
        s = self._slice(offset)
        reg = offset % STRIDE
        if reg == CSR:
            return s.csr & ~_CSR_PH_MOVE
        if reg == DIV:
            return s.div16
        if reg == CTR:
            return s.counter(self._now())
        if reg == CC:
            return s.cc
        return s.top

    def write_uint32_atomic(self, offset: int, value: int, atomic_type: int):
        offset &= 0xFFF
        if atomic_type:
            old = self.read_uint32(offset)
            value = (old ^ value, old | value, old & ~value)[atomic_type - 1]
        self.write_uint32(offset, value & 0xFFFFFFFF)

    def write_uint32(self, offset: int, value: int):
        if offset == EN:
            for s in self.slices:
                self._write_csr(s, (s.csr & ~_CSR_EN) | (value >> s.index & 1))
            return
        if offset in (_INTR, _INTE, _INTF, _INTS):
            if value:
                raise PwmError("PWM interrupts are not emulated")
            return
        s = self._slice(offset)
        reg = offset % STRIDE
        if reg == CSR:
            self._write_csr(s, value & 0xFF)
        elif reg == DIV:
            now = self._now()
            s.ctr = s.counter(now)
            s.div16 = value & 0xFFF
            s.origin16 = now * 16 - s.ctr * s.divisor16()
            self._replan(s, now)
        elif reg == CTR:
            now = self._now()
            s.ctr = value & 0xFFFF
            s.origin16 = now * 16 - s.ctr * s.divisor16()
            self._replan(s, now)
        elif reg == CC:
            s.cc = value & 0xFFFFFFFF
            self._software_copy_written(s)
        else:
            s.top = value & 0xFFFF
            self._software_copy_written(s)

    def _replan(self, s: Slice, now: int):
        if s.latch_at is not None:
            s.latch_at = s.next_wrap(now)
            self._plan()

    def _write_csr(self, s: Slice, value: int):
        if value & (_CSR_PH_CORRECT | _CSR_DIVMODE | _CSR_PH_MOVE):
            raise PwmError(f"PWM slice {s.index}: CSR 0x{value:02x} asks for a mode that is not emulated")
        now = self._now()
        was_running, inverted = s.running, s.csr & (_CSR_A_INV | _CSR_B_INV)
        if was_running and not value & _CSR_EN:
            s.ctr = s.counter(now)  # stops where it is
        s.csr = value
        if not was_running and s.running:
            s.origin16 = now * 16 - s.ctr * s.divisor16()
        if not s.running:
            self._take(s, now)
        elif s.latch_at is None and (s.cc, s.top) != (s.live_cc, s.live_top):
            s.latch_at = s.next_wrap(now)
        self._plan()
        if inverted != s.csr & (_CSR_A_INV | _CSR_B_INV):
            self._changed(s.index, now)

    def _slice(self, offset: int) -> Slice:
        if offset >= SLICES * STRIDE:
            raise PwmError(f"PWM register 0x{offset:03x} is not emulated")
        return self.slices[offset // STRIDE]
