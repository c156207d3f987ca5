"""Runs rp2040py's emulated PIO blocks against an emulated system clock.

rp2040py executes each state machine instruction exactly as the RP2040 does,
one PIO cycle at a time (`RPPIO.advance`). Stepping all 125 million cycles of
an emulated second that way is slow, and most of them are spent in one-cycle
delay loops (`label("l"); jmp(y_dec, "l")`). So between events this runner
jumps straight to the next cycle on which any state machine has something to
do, and lets a state machine that is spinning in such a self-loop skip the
iterations in between by decrementing its counter by the same amount the loop
itself would have. The skipped iterations are, by construction, identical
re-executions with no effect beyond the counter (side-set re-drives the same
value), so every pin edge lands on the cycle rp2040py alone would give;
`fast_forward=False` turns this off and the tests compare the two.
"""

_JMP_X_DEC = 2
_JMP_Y_DEC = 4


class PioRunner:
    def __init__(self, pios, fast_forward=True):
        self.pios = pios
        self.fast_forward = fast_forward
        self.cycle = 0
        self.steps = 0  # real instruction steps taken (for benchmarks)
        self._spinning = {}  # (pio index, sm index) -> True once it re-ran its own pc

    def _spin_info(self, pio, sm):
        """(counter value, fp cycles per iteration) if `sm` is spinning in a
        one-instruction `jmp x--/y--` loop it has already executed once."""
        if not self._spinning.get((pio.index, sm.index)):
            return None
        op = pio.instructions[sm.pc]
        cond = (op >> 5) & 7
        if op >> 13 != 0 or (op & 0x1F) != sm.pc or cond not in (_JMP_X_DEC, _JMP_Y_DEC):
            return None
        if sm.exec_valid:
            return None
        side_bits = (sm.pin_ctrl >> 29) & 7
        delay = ((op >> 8) & 0x1F) & ((1 << (5 - side_bits)) - 1)
        counter = sm.x if cond == _JMP_X_DEC else sm.y
        return counter, (1 + delay) * sm.div_fp, cond

    def forget(self, pio_index, sm_index):
        """The CPU changed this state machine's flow (exec, restart, enable)."""
        self._spinning.pop((pio_index, sm_index), None)

    def _runnable(self):
        for pio in self.pios:
            for sm in pio.machines:
                if sm.enabled and not sm.waiting:
                    yield pio, sm

    def run_until(self, end_cycle, on_step):
        """Advance to `end_cycle`; call on_step(cycle) after every cycle on which
        at least one instruction ran."""
        end_fp = end_cycle << 8
        while True:
            next_fp = None
            for pio, sm in self._runnable():
                due = sm.next_due_fp
                if self.fast_forward:
                    spin = self._spin_info(pio, sm)
                    if spin is not None:
                        due += spin[0] * spin[1]
                if next_fp is None or due < next_fp:
                    next_fp = due
            if next_fp is not None:
                next_fp = (next_fp + 255) & ~255  # instructions run on whole system clocks
            target = end_fp if next_fp is None or next_fp > end_fp else next_fp
            if self.fast_forward:
                self._skip_spins(target)
            if target == end_fp and (next_fp is None or next_fp > end_fp):
                self._advance_clock(target)
                return
            self._step_at(target, on_step)

    def _skip_spins(self, target_fp):
        for pio, sm in self._runnable():
            spin = self._spin_info(pio, sm)
            if spin is None or sm.next_due_fp >= target_fp:
                continue
            counter, per, cond = spin
            skip = min(counter, (target_fp - sm.next_due_fp) // per)
            if skip <= 0:
                continue
            if cond == _JMP_X_DEC:
                sm.x = counter - skip
            else:
                sm.y = counter - skip
            sm.next_due_fp += skip * per
        for pio in self.pios:
            pio.recompute_due()

    def _advance_clock(self, target_fp):
        """Move the clock without executing anything (nothing is due before target)."""
        for pio in self.pios:
            pio.cycle_fp = target_fp
        self.cycle = target_fp >> 8

    def _step_at(self, target_fp, on_step):
        before = {}
        for pio, sm in self._runnable():
            if sm.next_due_fp <= target_fp:
                before[(pio.index, sm.index)] = sm.pc
        for pio in self.pios:
            delta = target_fp - pio.cycle_fp
            if delta:
                pio.advance(delta >> 8)
            else:
                pio.advance(0)
        self.cycle = target_fp >> 8
        self.steps += len(before)
        for pio in self.pios:
            for sm in pio.machines:
                key = (pio.index, sm.index)
                if key in before:
                    self._spinning[key] = sm.pc == before[key] and not sm.waiting
        on_step(self.cycle)
