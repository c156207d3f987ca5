"""Runs rp2040py's emulated PIO blocks against an emulated system clock.

rp2040py executes each state machine instruction exactly as the RP2040 does,
one PIO cycle at a time (`RPPIO.advance`). Stepping all 125 million cycles of
an emulated second that way is slow, and most of them are spent in one-cycle
delay loops (`label("l"); jmp(y_dec, "l")`). So this runner only steps on
cycles on which some state machine is due (rp2040py keeps each block's
earliest due time), and as soon as a state machine stands at a self-loop
(`jmp x--`/`jmp y--` back to itself) it moves it straight to the loop's last
iteration: the counter set to 0 and its due time moved by as many iterations
as the counter held. The skipped iterations are identical re-executions with
no effect beyond the counter, provided the pins the loop side-sets already
show its side-set value (else the first iteration runs first, and the rest
re-drive what it drove), so every pin edge lands on the cycle rp2040py alone
would give; `fast_forward=False` turns this off and the tests compare the two.

Nothing outside the state machine can see the counter except the CPU (exec,
restart, enable, register writes), and the chip model calls `forget` before
every such access: that puts the counter and due time back to where the loop
really is on the current cycle.
"""

_JMP_X_DEC = 2
_JMP_Y_DEC = 4
_EXECCTRL_SIDE_EN = 1 << 30
_EXECCTRL_SIDE_PINDIR = 1 << 29


class PioRunner:
    def __init__(self, pios, fast_forward=True):
        self.pios = pios
        self.fast_forward = fast_forward
        self.cycle = 0
        self.steps = 0  # real instruction steps taken (for benchmarks)
        # (pio index, sm index) -> (sm, cond, counter, first due, fp per iteration) of a skipped loop
        self._skipped = {}

    def run_until(self, end_cycle, on_step):
        """Advance to `end_cycle`; call on_step(cycle) after every cycle on which
        at least one instruction ran (instructions due on `end_cycle` run too)."""
        end_fp = end_cycle << 8
        pio0, pio1 = self.pios  # the RP2040's two blocks, unrolled: this loop runs for every step
        machines0, machines1 = pio0.machines, pio1.machines
        fast = self.fast_forward
        while True:
            due0, due1 = pio0.next_due_fp, pio1.next_due_fp
            next_fp = ((due0 if due0 < due1 else due1) + 255) & ~255  # instructions run on whole system clocks
            if next_fp > end_fp:
                pio0.cycle_fp = pio1.cycle_fp = end_fp  # nothing is due before: just move the clock
                self.cycle = end_cycle
                return
            ran = []
            if due0 <= next_fp:
                for sm in machines0:
                    if sm.next_due_fp <= next_fp and sm.enabled and not sm.waiting:
                        ran.append((pio0, sm))
            if due1 <= next_fp:
                for sm in machines1:
                    if sm.next_due_fp <= next_fp and sm.enabled and not sm.waiting:
                        ran.append((pio1, sm))
            pio0.advance((next_fp - pio0.cycle_fp) >> 8)
            pio1.advance((next_fp - pio1.cycle_fp) >> 8)
            self.cycle = next_fp >> 8
            self.steps += len(ran)
            if fast:
                for pio, sm in ran:
                    pc = sm.pc
                    op = pio.instructions[pc]
                    # a `jmp x--/y--` to its own address: a delay loop
                    if op & 0xE01F == pc and op & 0xE0 in (0x40, 0x80) and not sm.waiting:
                        self._skip_loop(pio, sm, op)
            on_step(self.cycle)

    def _skip_loop(self, pio, sm, op):
        """`sm` is in a delay loop: move it to the loop's last iteration, if the
        iterations in between can only repeat what the pins already show."""
        cond = (op >> 5) & 7
        counter = sm.x if cond == _JMP_X_DEC else sm.y
        if counter == 0 or sm.exec_valid:
            return
        side_count = (sm.pin_ctrl >> 29) & 7
        delay_side = (op >> 8) & 0x1F
        if side_count:
            side_en = sm.exec_ctrl & _EXECCTRL_SIDE_EN
            if not side_en or delay_side & 0x10:
                # side-set: every iteration drives it; the pins must hold that value already
                bits = side_count - 1 if side_en else side_count
                base = (sm.pin_ctrl >> 10) & 0x1F
                mask = ((1 << bits) - 1) << base & 0x3FFFFFFF
                value = delay_side >> (5 - side_count)
                pins = pio.pin_directions if sm.exec_ctrl & _EXECCTRL_SIDE_PINDIR else pio.pin_values
                if (value << base ^ pins) & mask:
                    return
        per = (1 + (delay_side & ((1 << (5 - side_count)) - 1))) * sm.div_fp
        due = sm.next_due_fp
        self._skipped[(pio.index, sm.index)] = (sm, cond, counter, due, per)
        if cond == _JMP_X_DEC:
            sm.x = 0
        else:
            sm.y = 0
        sm.next_due_fp = due + counter * per
        pio.recompute_due()

    def forget(self, pio_index, sm_index):
        """The CPU is about to reach this state machine (exec, restart, enable,
        a register): put a skipped loop back to its real state on this cycle."""
        skipped = self._skipped.pop((pio_index, sm_index), None)
        if skipped is None:
            return
        sm, cond, counter, due, per = skipped
        now_fp = self.cycle << 8
        if now_fp >= due + counter * per:
            return  # the loop has already ended: its state is real
        done = (now_fp - due) // per + 1 if now_fp >= due else 0  # iterations run by now
        if cond == _JMP_X_DEC:
            sm.x = counter - done
        else:
            sm.y = counter - done
        sm.next_due_fp = due + done * per
        self.pios[pio_index].recompute_due()
