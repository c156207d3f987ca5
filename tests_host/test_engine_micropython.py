"""The burst/train firmware under the real MicroPython interpreter (unix port):
pure checks of stim_program and pulse_pio, and the pulse engine itself driving
the chip model over the virtual board's text link, every pulse measured.
Also the host `rp2.DMA` stand-in against MicroPython's documented API."""

import json
import os
import select
import subprocess
import time
from array import array
from pathlib import Path

import pytest
from mpy_checks import HEAP, INTERPRETERS, LIB, micropython, run_checks
from picostim.boards import load_board
from picostim.chip import firmware_host
from picostim.chip.model import SRAM_BASE, ChipModel
from picostim.chip.session import EdgeLog
from picostim.measure import measure
from picostim.vboard.chip_server import ChipServer
from pulses import assert_matches, burst_gaps, gaps

ROOT = Path(__file__).resolve().parents[1]
STAND_INS = ROOT / "host_tools" / "picostim" / "mpy"
MPY = ROOT / "tests_host" / "mpy"
CALL_CYCLES = 2500  # emulated time per chip call, as the virtual board counts it


@pytest.mark.parametrize("where", INTERPRETERS)
def test_burst_and_train_settings(where):
    assert run_checks("check_burst_program.py", where) >= 60


@pytest.mark.parametrize("where", INTERPRETERS)
def test_group_schedule(where):
    assert run_checks("check_group_schedule.py", where) >= 12


def test_engine_and_stand_ins_import_under_micropython():
    code = (
        f"import sys; sys.path.append({str(STAND_INS)!r}); sys.path.append({str(LIB)!r}); "
        "import rp2; from picostim import pulse_engine as e; d = rp2.DMA; "
        "print('OK', e.STREAM, sum(len(p[0]) for p in (e.rate_pio, e.pulse_pio, e.trigger_pio)))"
    )
    result = subprocess.run([micropython(), "-X", f"heapsize={HEAP}", "-c", code], capture_output=True, text=True)
    # the pulse block's three programs fill its 32-word instruction memory exactly
    assert result.stdout.split() == ["OK", "stream", "32"], result.stdout + result.stderr


class LinkedEngine:
    """engine_over_link.py in MicroPython; this process serves its chip calls."""

    def __init__(self, tmp_path):
        self.board = load_board("pico")
        self.chip = ChipModel()
        self.log = EdgeLog()
        self.chip.listeners.append(self.log)
        self.server = ChipServer(self.chip)
        request, reply = tmp_path / "request", tmp_path / "reply"
        os.mkfifo(request)
        os.mkfifo(reply)
        self.request_fd = os.open(request, os.O_RDWR | os.O_NONBLOCK)
        self.reply_fd = os.open(reply, os.O_RDWR)
        board_json = tmp_path / "board.json"
        board_json.write_text(json.dumps(self.board))
        argv = [micropython(), "-X", f"heapsize={HEAP}", str(MPY / "engine_over_link.py")]
        argv += [str(request), str(reply), str(LIB), str(STAND_INS), str(board_json)]
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        self._pending = b""
        self._out = b""
        self.calls = []  # (chip cycle, request line) of every chip call served
        self.expect("BOOT")

    def expect(self, marker, timeout=120):
        """Serve chip calls (each costs CALL_CYCLES) until the script prints a line starting with marker."""
        assert self.process.stdout
        out_fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b"\n" in self._out:
                line, self._out = self._out.split(b"\n", 1)
                text = line.decode()
                if text.startswith("ERR") or text.startswith("Traceback"):
                    raise AssertionError(text + self._out.decode())
                if text.startswith(marker):
                    return text
                continue
            ready, _, _ = select.select([self.request_fd, out_fd], [], [], 1.0)
            if self.request_fd in ready:
                self._pending += os.read(self.request_fd, 65536)
                while b"\n" in self._pending:
                    line, self._pending = self._pending.split(b"\n", 1)
                    self.calls.append((self.chip.cycle, line.decode()))
                    reply = self.server.serve(line.decode())
                    self.chip.run(CALL_CYCLES)
                    os.write(self.reply_fd, reply)
            if out_fd in ready:
                data = os.read(out_fd, 65536)
                if not data:
                    raise AssertionError("MicroPython exited: " + self._out.decode())
                self._out += data
        raise AssertionError("timed out waiting for " + marker)

    def command(self, text):
        assert self.process.stdin
        self.process.stdin.write((text + "\n").encode())
        return self.expect("DONE")

    def pulses(self):
        return measure(self.log.series(), self.board)

    def close(self):
        self.process.kill()
        self.process.wait()
        os.close(self.request_fd)
        os.close(self.reply_fd)


@pytest.fixture
def linked(tmp_path):
    engine = LinkedEngine(tmp_path)
    yield engine
    engine.close()


def program_and_timing(fields):
    firmware_host.add_paths()
    from picostim_fw.stim_program import Program, timing

    program = Program(**fields)
    return program, timing(program, 125_000_000)


def test_micropython_engine_bursts_then_tonic_then_train_over_the_link(linked):
    base = dict(pw_us=100, ipg_us=10, amp_ua=2000, cathodes=[2], anodes=[3])
    burst_fields = dict(base, rate_hz=40, burst_count=5, burst_rate_hz=500)
    program, burst = program_and_timing(burst_fields)
    assert linked.command("start " + json.dumps(burst_fields)) == "DONE running stream"
    linked.chip.run(20 * burst.period)
    found = linked.pulses()
    assert len(found) >= 19 * 5
    for pulse in found:
        assert_matches(pulse, burst, program)
    assert gaps(found) == burst_gaps(burst, len(found) - 1)

    # live change to 2 kHz tonic, polled by MicroPython; the burst under way completes
    n = len(found)
    tonic_fields = dict(base, rate_hz=2000)
    tonic_program, tonic = program_and_timing(tonic_fields)
    assert linked.command("update " + json.dumps(tonic_fields)) == "DONE running stream"
    linked.chip.run(200 * tonic.period)
    found = linked.pulses()
    measured = gaps(found)
    k = (n - 1) // 5 * 5  # gaps from the first pulse of the last burst seen before the update
    while measured[k : k + 5] == burst.intervals():
        k += 5
    assert measured[k : k + 4] == [burst.intra] * 4  # the last burst is whole, then tonic periods
    assert measured[k + 4 :] == [tonic.period] * (len(measured) - k - 4)
    assert len(measured) - k >= 190
    for pulse in found:
        assert_matches(pulse, tonic, tonic_program)  # same pulse: only the rate side changed

    # a one-shot custom train; the engine ends it by itself
    assert linked.command("stop") == "DONE idle direct"
    n = len(linked.pulses())
    intervals = [211 + (k * 7919) % 1900 for k in range(200)]  # 211 us: the pulse and rest
    spec = {"program": dict(base, rate_hz=100), "intervals_us": intervals, "loop": False}
    calls = len(linked.calls)
    assert linked.command("train " + json.dumps(spec)) == "DONE running train"
    # the rate SM (PIO0 SM0) starts on the cycle MicroPython's call reaches the chip
    (t0,) = [cycle for cycle, line in linked.calls[calls:] if line == "sm_set_active 0 0 1"]
    linked.chip.run(125 * sum(intervals) + 10_000)
    assert linked.command("wait_idle") == "DONE idle direct"
    found = linked.pulses()[n:]
    assert len(found) == 200
    cycles = [125 * us for us in intervals]
    assert found[0].start_ns == t0 + cycles[0]
    assert gaps(found) == cycles[1:]


# -- the rp2.DMA stand-in ----------------------------------------------------------------------
@pytest.fixture
def rp2():
    chip = firmware_host.attach(ChipModel())
    import rp2 as module

    module.chip = chip
    return module


def test_pack_ctrl_defaults_match_micropython(rp2):
    dma = rp2.DMA()
    # rp2_dma.c DEFAULT_DMA_CONFIG: quiet, PERMANENT, incrementing both, words, enabled; chained to itself
    assert dma.pack_ctrl() == 1 << 21 | 0x3F << 15 | 1 << 5 | 1 << 4 | 2 << 2 | 1 | dma.channel << 11
    fields = rp2.DMA.unpack_ctrl(dma.pack_ctrl(inc_write=False, treq_sel=1, chain_to=5, ring_size=4, ring_sel=True))
    assert fields["inc_write"] == 0 and fields["treq_sel"] == 1 and fields["chain_to"] == 5
    assert fields["ring_size"] == 4 and fields["ring_sel"] == 1 and fields["busy"] == 0
    assert dma.pack_ctrl(default=0, busy=1, size=1) == 1 << 2  # read-only fields are ignored
    with pytest.raises(ValueError):
        dma.pack_ctrl(size=4)
    with pytest.raises(TypeError):
        dma.pack_ctrl(bogus=1)


def test_dma_channels_are_claimed_and_released(rp2):
    first, second = rp2.DMA(), rp2.DMA()
    assert (first.channel, second.channel) == (0, 1)
    first.close()
    assert rp2.DMA().channel == 0
    with pytest.raises(ValueError):
        first.read  # noqa: B018


def test_dma_feeds_a_state_machine_paced_by_its_dreq(rp2):
    """Memory to a PIO TX FIFO, paced by the state machine's DREQ, as the engine uses it."""
    chip = rp2.chip

    @rp2.asm_pio()
    def echo():
        pull()  # noqa: F821
        mov(isr, osr)  # noqa: F821
        push()  # noqa: F821

    sm = rp2.StateMachine(0, echo)
    words = array("I", [11, 22, 33, 44, 55, 66])
    dma = rp2.DMA()
    dma.config(read=words, write=0x50200010, count=len(words), ctrl=dma.pack_ctrl(inc_write=False, treq_sel=0))
    start = dma.read
    assert start >= SRAM_BASE and not dma.active()
    dma.active(1)
    assert dma.active() and sm.tx_fifo() == 4 and dma.count == 2  # the FIFO holds 4: 2 to go
    sm.active(1)
    chip.run(20)
    got = [sm.get() for _ in range(sm.rx_fifo())]
    chip.run(20)
    got += [sm.get() for _ in range(sm.rx_fifo())]
    assert got == [11, 22, 33, 44, 55, 66]
    assert not dma.active() and dma.count == 0 and dma.read == start + 24
    assert chip.dma_transfers == 6


def test_dma_registers_view_and_trigger_aliases(rp2):
    chip = rp2.chip
    src = array("I", [7, 8])
    dst_fifo = chip.pios[0].machines[2].tx_fifo
    dma = rp2.DMA()
    regs = dma.registers
    assert len(regs) == 16
    dma.config(read=src, write=0x50200018, count=2, ctrl=dma.pack_ctrl(inc_write=False, treq_sel=2), trigger=True)
    assert [dst_fifo.pull(), dst_fifo.pull()] == [7, 8]
    assert regs[2] == 0  # TRANS_COUNT: done
    regs[15] = dma.read - 8  # AL3_READ_ADDR_TRIG: the same words again
    assert [dst_fifo.pull(), dst_fifo.pull()] == [7, 8]
