"""DMA-fed rate state machine and the runner's fast-forward: skipping
delay-loop iterations must not move an edge or a DMA transfer. The DMA moves
words only right after a PIO step (an SM pulled from a FIFO) or a CPU write
to a DMA register, and fast-forward never skips a step that pulls, so the
same programs stepped one cycle at a time by rp2040py give the same trace.

Cycle-by-cycle stepping is slow, so these drive the engine with Timings
scaled down below the board's limits (microseconds instead of
milliseconds); the PIO and DMA mechanics do not depend on the scale."""

import random

import pytest
from picostim.chip.session import EngineSession


def both(scenario):
    """(edge log, DAC level log, DMA transfers per channel, final cycle) with and without fast-forward."""
    out = []
    for fast in (True, False):
        session = EngineSession("pico", fast_forward=fast)
        scenario(session)
        out.append((session.log.changes, session.log.pwm, session.chip.dma_moved, session.chip.cycle))
    return out


def assert_identical(results):
    (edges_ff, levels_ff, moved_ff, end_ff), (edges, levels, moved, end) = results
    assert len(edges_ff) > 20
    assert sum(moved_ff) > 0
    assert (edges_ff, levels_ff, moved_ff, end_ff) == (edges, levels, moved, end)


def timing(session, pulse=(200, 40, 200), period=9000, count=1, intra=0, mask=0x6):
    cathodic, interphase, anodic = pulse
    return session.stim.Timing(cathodic, interphase, anodic, period, mask, count, intra)


def program(session, amp_ua=1000, **fields):
    return session.stim.Program(amp_ua=amp_ua, **fields)


@pytest.mark.parametrize(
    "count,intra,period,pulse",
    [
        (16, 700, 16 * 700 + 900, (125, 0, 125)),
        (3, 2500, 9001, (300, 17, 900)),
        (2, 3000, 4001, (500, 3, 500)),  # the gap before a burst shorter than the intra period
    ],
)
def test_burst_same_edges_with_and_without_fast_forward(count, intra, period, pulse):
    def scenario(session):
        t = timing(session, pulse, period, count, intra)
        session.engine.start(t, program(session, asym=pulse[2] // pulse[0]))
        session.run(4 * t.period + t.pulse() + 10)

    assert_identical(both(scenario))


def test_one_shot_train_same_edges_and_end():
    rng = random.Random(5)
    intervals = [rng.randint(600, 3000) for _ in range(60)]

    def scenario(session):
        t = timing(session, (150, 0, 150))
        session.engine.start_train(t, program(session), intervals, loop=False)
        session.run(sum(intervals) + 5000, poll_every=499)
        assert session.engine.state == "idle"

    assert_identical(both(scenario))


def test_looped_train_same_edges():
    intervals = [700, 1300, 701, 9000, 2222]

    def scenario(session):
        t = timing(session, (150, 0, 150))
        session.engine.start_train(t, program(session), intervals, loop=True)
        session.run(4 * sum(intervals) + 123)

    assert_identical(both(scenario))


def test_live_changes_tonic_burst_tonic_same_edges():
    def scenario(session):
        first = timing(session, (200, 40, 200), period=3000)
        session.engine.start(first, program(session))
        session.run(first.period + 1234)
        burst = timing(session, (400, 0, 400), period=9000, count=4, intra=1500, mask=0x9)
        session.engine.update(burst, program(session))
        session.run(3 * burst.period, poll_every=997)
        other = timing(session, (150, 20, 150), period=12000, count=7, intra=1400)
        session.engine.update(other, program(session))
        session.run(3 * other.period, poll_every=997)
        tonic = timing(session, (300, 0, 300), period=2000)
        session.engine.update(tonic, program(session))
        session.run(2 * other.period + 10 * tonic.period, poll_every=997)
        assert not session.engine.pending()
        session.engine.stop()
        session.run(2000, poll_every=100)
        assert session.engine.state == "idle"

    assert_identical(both(scenario))


def test_amplitude_changes_same_levels_and_edges():
    """DAC levels synchronised by the DAC SM and two chained DMA channels: the
    same CC writes, latched on the same PWM wraps, with and without fast-forward."""
    rng = random.Random(11)
    moments = [rng.randint(1, 6000) for _ in range(40)]
    amps = [rng.randint(0, 25500) for _ in range(40)]

    def scenario(session):
        t = timing(session, (300, 20, 600), period=4000)
        session.engine.start(t, program(session, amp_ua=5000, asym=2))
        for wait, amp in zip(moments, amps, strict=True):
            session.chip.run(wait)
            session.engine.update(t, program(session, amp_ua=amp, asym=2))
        session.run(3 * t.period, poll_every=997)
        assert not session.engine.pending()

    results = both(scenario)
    assert len(results[0][1]) > 40  # level changes recorded
    assert_identical(results)


def test_pumping_only_on_request_changes_same_as_every_step():
    """The model lets the DMA move words after a step only when a DMA request
    line changed; pumping after every step (the plain rule) gives the same
    edges, levels and transfers through bursts, a looped train and amplitude
    changes."""
    rng = random.Random(3)
    moments = [rng.randint(1, 5000) for _ in range(15)]
    amps = [rng.randint(0, 25500) for _ in range(15)]

    def scenario(session):
        burst = timing(session, (300, 10, 300), period=9000, count=4, intra=1500)
        session.engine.start(burst, program(session, amp_ua=4000))
        for wait, amp in zip(moments, amps, strict=True):
            session.chip.run(wait)
            session.engine.update(burst, program(session, amp_ua=amp))
        session.run(2 * burst.period, poll_every=997)
        session.engine.stop()
        session.run(burst.period, poll_every=997)
        session.engine.start_train(timing(session, (150, 0, 150)), program(session), [700, 1300, 2222], loop=True)
        session.run(10_000, poll_every=997)

    out = []
    for every_step in (False, True):
        session = EngineSession("pico")
        chip = session.chip
        moves = []  # (cycle, transfers per channel) whenever a pump moved a word: when each one moved
        pump = chip._dma_pump

        def logged_pump(pump=pump, chip=chip, moves=moves):
            before = list(chip.dma_moved)
            pump()
            if chip.dma_moved != before:
                moves.append((chip.cycle, tuple(chip.dma_moved)))

        chip._dma_pump = logged_pump
        if every_step:

            def pump_every_step(cycle, chip=chip):
                latch = chip.pwm_block.next_latch
                if latch is not None and latch <= cycle:
                    chip.pwm_block.latch_until(cycle)
                if chip._dma_busy:
                    chip._dma_pump()
                chip._publish()

            chip._after_step = pump_every_step
        scenario(session)
        out.append((session.log.changes, session.log.pwm, chip.dma_moved, (chip.cycle, moves)))
    assert len(out[0][1]) > 15
    assert len(out[0][3][1]) > 100
    assert_identical(out)
