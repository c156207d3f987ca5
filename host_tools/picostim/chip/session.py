"""An emulated chip with the firmware's pulse engine loaded in this process:
the harness the pulse-engine tests, benchmarks and the demo share."""

from __future__ import annotations

from picostim.boards import load_board
from picostim.chip import firmware_host
from picostim.chip.model import ChipModel
from picostim.chip.trace import VcdTrace


class EdgeLog:
    """Listener keeping every pin change: [(cycle, levels, changed)]."""

    def __init__(self):
        self.changes = []
        self.pwm = []

    def pins_changed(self, cycle, levels, changed):
        self.changes.append((cycle, levels, changed))

    def pwm_changed(self, cycle, pin, duty):
        self.pwm.append((cycle, pin, duty))

    def series(self):
        """The log as measure.measure() input, with times in cycles."""
        out: dict[str, list[tuple[int, int]]] = {}
        for cycle, levels, changed in self.changes:
            for n in range(32):
                if changed >> n & 1:
                    out.setdefault(f"gp{n}", [(0, 0)]).append((cycle, levels >> n & 1))
        for cycle, pin, duty in self.pwm:
            out.setdefault(f"gp{pin}_duty_u16", []).append((cycle, duty))
        return out


class EngineSession:
    def __init__(self, board="pico", fast_forward=True, trace_path=None):
        self.board = load_board(board) if isinstance(board, str) else board
        self.chip = firmware_host.attach(ChipModel(fast_forward=fast_forward))
        self.log = EdgeLog()
        self.chip.listeners.append(self.log)
        self.trace = None
        if trace_path:
            dac = self.board["dac"]
            self.trace = VcdTrace(trace_path, pwm_pins=(dac["cathodic_pin"], dac["anodic_pin"]))
            self.chip.listeners.append(self.trace)
        from picostim_fw import pulse_engine, stim_program

        self.stim = stim_program
        self.engine = pulse_engine.PulseEngine(self.board)

    def program(self, **fields):
        """A validated Program and its Timing."""
        program = self.stim.Program(**fields)
        program.validate(self.board["limits"], self.board["contacts"]["count"])
        return program, self.stim.timing(program, self.board["sys_clock_hz"])

    def start(self, **fields):
        program, timing = self.program(**fields)
        self.engine.start(timing, program)
        return program, timing

    def start_group(self, *members):
        """Start a group of programs, one dict of Program fields each, interleaved; its schedule."""
        programs = [self.program(**fields)[0] for fields in members]
        timings = [self.stim.timing(p, self.board["sys_clock_hz"]) for p in programs]
        return self.engine.start_group(timings, programs)

    def run(self, cycles, poll_every=None):
        """Run the chip; poll the engine every `poll_every` cycles (the service loop)."""
        end = self.chip.cycle + cycles
        step = poll_every or cycles
        while self.chip.cycle < end:
            self.chip.run_until(min(end, self.chip.cycle + step))
            self.engine.poll()

    def close(self):
        if self.trace:
            self.trace.close(self.chip.now_ns())
