"""Step the full chip's PIO blocks by system clock cycles.

rp2040py's CPU loop calls `advance(cycles)` on each PIO block once per CPU
instruction, and a block runs at most one instruction per state machine per
call, so a state machine at full speed falls behind the clock (about 1.6x
slow at MicroPython's instruction mix). Here the loop's list of PIO blocks
(`rp2040.pio`) holds stand-ins the loop skips, and the project's PioRunner
steps every state machine on the exact cycle its instructions are due
(delays, dividers and `jmp x--` loops included) up to the emulated clock.

The runner catches up lazily: before every CPU or DMA access to a PIO
register (so the CPU sees FIFO levels and flags as of its own cycle), before
an outside pin change, and from a clock alarm every CATCH_UP_NS of emulated
time. Between those nothing observes the state machines, and every pin edge
they make is stamped with the cycle it happened on, so the timing is exact
and the CPU loop pays nothing per instruction. Zero-delay clock alarms (DMA
transfers paced by a PIO DREQ) fire after every PIO step, so a DMA-fed FIFO
is refilled on the cycle the state machine drains it, as on the chip.
"""

from __future__ import annotations

from collections.abc import Callable

from picostim.chip.pio_runner import PioRunner

NS_PER_CYCLE = 8  # 125 MHz
_PIO_KEYS = (0x50200, 0x50300)  # rp2040.peripherals keys of PIO0 and PIO1
CATCH_UP_NS = 100_000  # 100 us: how stale the PIO may get while nothing looks at it


class _BlockStandIn:
    """Takes an RPPIO's place in `rp2040.pio`: everything but `advance` and
    `stopped` is the real block's."""

    def __init__(self, block) -> None:
        object.__setattr__(self, "_block", block)
        object.__setattr__(self, "stopped", True)  # the CPU loop skips a stopped block

    def advance(self, cycles: int) -> None:
        """Not called while `stopped`; ClockedPio steps the real block."""

    def __getattr__(self, name):
        return getattr(self._block, name)

    def __setattr__(self, name, value):
        setattr(self._block, name, value)


class _RegisterTap:
    """Forwards a PIO block's register reads/writes, flagging each write."""

    def __init__(self, block, clocked: ClockedPio) -> None:
        self._block = block
        self._clocked = clocked

    def read_uint32(self, offset: int) -> int:
        self._clocked.catch_up()  # FIFO levels, FDEBUG and pins as of this cycle
        return self._block.read_uint32(offset)

    def write_uint32_atomic(self, offset: int, value: int, atomic_type: int) -> None:
        self._clocked.catch_up()
        self._block.write_uint32_atomic(offset, value, atomic_type)
        self._clocked.touched(self._block.index)

    def __getattr__(self, name):
        return getattr(self._block, name)


class ClockedPio:
    def __init__(self, rp2040, on_step: Callable[[int], None] | None = None) -> None:
        self.rp2040 = rp2040
        self.clock = rp2040.clock
        self.blocks = list(rp2040.pio)
        self.runner = PioRunner(self.blocks)
        self.on_step = on_step
        self.stepping = False  # inside a runner step: pin edges are on runner cycles
        rp2040.pio = [_BlockStandIn(block) for block in self.blocks]
        for key, block in zip(_PIO_KEYS, self.blocks, strict=True):
            rp2040.peripherals[key] = _RegisterTap(block, self)
        self._alarm = self.clock.create_alarm(self._on_alarm)
        self._alarm.schedule(CATCH_UP_NS)

    def _on_alarm(self) -> None:
        self.catch_up()
        self._alarm.schedule(CATCH_UP_NS)

    @property
    def now_cycle(self) -> int:
        return int(self.clock.nanos) // NS_PER_CYCLE

    def catch_up(self) -> None:
        """Run the state machines up to the CPU's cycle."""
        if self.stepping:
            return  # a DMA word written from inside a step: the runner is already here
        target = self.now_cycle
        if target <= self.runner.cycle:
            return
        self.stepping = True
        try:
            self.runner.run_until(target, self._after_step)
        finally:
            self.stepping = False

    def touched(self, block_index: int) -> None:
        """A register write may change a state machine's flow (exec, restart, enable)."""
        for sm in range(4):
            self.runner.forget(block_index, sm)

    def _after_step(self, cycle: int) -> None:
        self.clock.tick(0)  # zero-delay alarms: DMA words paced by the DREQ this step raised
        if self.on_step is not None:
            self.on_step(cycle)
