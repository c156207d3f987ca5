"""Skipping delay-loop iterations must not move a single edge: the same
programs, stepped one PIO cycle at a time by rp2040py, give the same trace."""

import pytest
from picostim.chip import firmware_host
from picostim.chip.model import ChipModel
from picostim.chip.session import EdgeLog, EngineSession

CASES = [
    dict(pw_us=10, ipg_us=0, rate_hz=10000, asym=1),
    dict(pw_us=37, ipg_us=3, rate_hz=4999, asym=3, cathodes=(0, 5), anodes=(7,)),
    dict(pw_us=100, ipg_us=1, rate_hz=2000, asym=2),
]


@pytest.mark.parametrize("fields", CASES)
def test_same_edges_with_and_without_fast_forward(fields):
    traces = []
    for fast in (True, False):
        session = EngineSession("pico", fast_forward=fast)
        program, timing = session.start(**fields)
        session.run(timing.period * 5 + timing.pulse() + 10)
        traces.append(session.log.changes)
    assert len(traces[0]) > 10
    assert traces[0] == traces[1]


def test_live_update_identical_too():
    traces = []
    for fast in (True, False):
        session = EngineSession("pico", fast_forward=fast)
        program, timing = session.start(pw_us=20, ipg_us=5, rate_hz=10000)
        session.run(timing.period + 1234)
        new_program, new = session.program(pw_us=40, ipg_us=0, rate_hz=8000, cathodes=(1,), anodes=(6,))
        session.engine.update(new, new_program)
        session.run(new.period * 4, poll_every=997)
        traces.append(session.log.changes)
    assert traces[0] == traces[1]


def _loops_scenario(fast):
    """Delay loops of every kind the runner jumps over (x-- and y--, with and
    without side-set, with delays, at a fractional clock divider), and the CPU
    reaching into a state machine in the middle of a loop (exec reading X,
    disable and enable, restart). Returns (edges, words read, final cycle)."""
    chip = firmware_host.attach(ChipModel(fast_forward=fast))
    log = EdgeLog()
    chip.listeners.append(log)
    import rp2

    @rp2.asm_pio(sideset_init=rp2.PIO.OUT_LOW, set_init=rp2.PIO.OUT_LOW)
    def blink():
        pull(noblock)  # noqa: F821 - the PIO vocabulary asm_pio provides
        mov(x, osr)  # noqa: F821
        mov(y, osr)  # noqa: F821
        set(pins, 1)  # noqa: F821
        label("high")  # noqa: F821
        jmp(x_dec, "high").side(1)[2]  # noqa: F821 - its first iteration raises the side-set pin
        mov(x, y)  # noqa: F821 - the word again, for the next pull(noblock)
        set(pins, 0).side(0)  # noqa: F821
        label("low")  # noqa: F821
        jmp(y_dec, "low")[1]  # noqa: F821 - no side-set (the enable bit clear)

    @rp2.asm_pio(sideset_init=rp2.PIO.OUT_LOW)
    def steady():
        pull(noblock).side(1)  # noqa: F821
        mov(x, osr).side(1)  # noqa: F821
        mov(y, osr).side(1)  # noqa: F821
        label("wait")  # noqa: F821
        jmp(y_dec, "wait").side(1)  # noqa: F821 - the pin is high already on entry
        nop().side(0)  # noqa: F821

    first = rp2.StateMachine(0, blink, freq=48_000_000, set_base=10, sideset_base=11)
    second = rp2.StateMachine(5, steady, sideset_base=12)
    first.put(37)
    second.put(211)
    first.active(1)
    second.active(1)
    words = []
    for wait in (1000, 333, 2500, 17, 4000):
        chip.run(wait)
        first.exec("in_(x, 32)")  # whatever X holds now, mid-loop or not
        first.exec("push()")
        words.append(first.get())
        second.exec("in_(y, 32)")
        second.exec("push()")
        words.append(second.get())
    first.active(0)
    chip.run(700)
    first.active(1)
    chip.run(1500)
    second.restart()
    first.put(5)
    chip.run(3000)
    return (log.changes, words, chip.cycle), chip.runner.steps


def test_loop_shortcuts_and_cpu_access_mid_loop_identical():
    (fast, fast_steps), (slow, slow_steps) = _loops_scenario(True), _loops_scenario(False)
    assert len(fast[0]) > 40  # the pins really moved
    assert len(set(fast[1])) > 5  # the loops were caught at different counts
    assert fast_steps * 5 < slow_steps  # and jumped over
    assert fast == slow
