"""ChipModel: the emulated RP2040 behind the host `machine`/`rp2` stand-ins.

It owns rp2040py's two PIO blocks, the GPIO function/level state, PWM
settings and the emulated system clock, and reports every output change to
listeners (the VCD trace, tests). Time only moves when `run()` is called.
"""

from rp2040py import RP2040

from picostim.chip.pio_runner import PioRunner

SYS_HZ = 125_000_000
NS_PER_CYCLE = 8
_PIO_BASE = (0x50200000, 0x50300000)
_PIO_SPAN = 0x148
_CTRL = 0x000
_TXF0 = 0x010
_SM0_CLKDIV = 0x0C8
_SM_STRIDE = 0x18
_SM_EXECCTRL = 0x4
_SM_SHIFTCTRL = 0x8
_SM_INSTR = 0x10
_SM_PINCTRL = 0x14
_INSTR_MEM0 = 0x048
GPIO_COUNT = 30


class _NoSimulator:
    """Tells rp2040py that an outer loop (PioRunner) steps the PIO blocks."""


class ChipError(Exception):
    pass


class ChipModel:
    def __init__(self, fast_forward=True):
        self._rp = RP2040()
        self._rp.simulator = _NoSimulator()  # type: ignore[assignment]
        self.pios = self._rp.pio
        self.runner = PioRunner(self.pios, fast_forward=fast_forward)
        self.function = ["null"] * GPIO_COUNT
        self.sio_out = 0
        self.sio_oe = 0
        self.inputs = 0  # levels driven onto pins from outside (tests, devices)
        self.pwm = {}  # pin -> (freq, duty_u16)
        self.bootsel_pressed = False
        self.listeners = []
        self._levels = 0

    # -- time -------------------------------------------------------------
    @property
    def cycle(self):
        return self.runner.cycle

    def now_ns(self):
        return self.runner.cycle * NS_PER_CYCLE

    def run(self, cycles):
        self.run_until(self.runner.cycle + cycles)

    def run_until(self, cycle):
        if cycle < self.runner.cycle:
            raise ChipError("time cannot go backwards")
        self.runner.run_until(cycle, self._after_step)

    def reset_peripherals(self):
        """What a reset does to the parts the firmware drives: every state
        machine stops, every pin is an undriven input, PWM is off. Time and
        listeners carry on (the trace spans resets)."""
        for pio in self.pios:
            for sm in range(4):
                self.sm_set_active(pio.index, sm, False)
            pio.pin_directions_changed(0, 0, GPIO_COUNT)
        self.function = ["null"] * GPIO_COUNT
        self.sio_oe = 0
        self.sio_out = 0
        for pin in list(self.pwm):
            self.pwm_set(pin, 0, 0)
        self.pwm.clear()
        self._publish()

    # -- levels and listeners -------------------------------------------------
    def levels(self):
        """Bitmask of the level on every GPIO: driven outputs, else external input."""
        value = 0
        driven = 0
        for n in range(GPIO_COUNT):
            func = self.function[n]
            bit = 1 << n
            if func == "sio":
                oe, out = self.sio_oe & bit, self.sio_out & bit
            elif func in ("pio0", "pio1"):
                pio = self.pios[int(func[3])]
                oe, out = pio.pin_directions & bit, pio.pin_values & bit
            else:
                continue
            if oe:
                driven |= bit
                value |= out
        return value | (self.inputs & ~driven)

    def _after_step(self, cycle):
        self._publish()

    def _publish(self):
        levels = self.levels()
        changed = levels ^ self._levels
        if changed:
            self._levels = levels
            for listener in self.listeners:
                listener.pins_changed(self.runner.cycle, levels, changed)

    # -- GPIO --------------------------------------------------------------------
    def gpio_function(self, pin, func):
        if func not in ("sio", "pio0", "pio1", "pwm"):
            raise ChipError(f"function {func!r} not emulated")
        self.function[pin] = func
        self._publish()

    def gpio_pull(self, pin, pull):
        pass  # undriven pins read their external level; a pull is not modelled

    def sio_direction(self, pin, output):
        if output:
            self.sio_oe |= 1 << pin
        else:
            self.sio_oe &= ~(1 << pin)
        self._publish()

    def sio_write(self, pin, value):
        if value:
            self.sio_out |= 1 << pin
        else:
            self.sio_out &= ~(1 << pin)
        self._publish()

    def gpio_read(self, pin):
        return (self.levels() >> pin) & 1

    def set_input(self, pin, value):
        """Drive a pin from outside the chip (button, trigger, test)."""
        if value:
            self.inputs |= 1 << pin
        else:
            self.inputs &= ~(1 << pin)
        for pio in self.pios:
            for sm in pio.machines:
                sm.check_wait()
            pio.recompute_due()
        self._publish()

    def bootsel(self):
        return 1 if self.bootsel_pressed else 0

    # -- PWM ---------------------------------------------------------------------
    def pwm_set(self, pin, freq, duty_u16):
        self.pwm[pin] = (freq, duty_u16)
        for listener in self.listeners:
            listener.pwm_changed(self.runner.cycle, pin, duty_u16)

    # -- PIO ---------------------------------------------------------------------
    def pio_write_instr(self, pio, address, opcode):
        self.pios[pio].write_uint32(_INSTR_MEM0 + 4 * address, opcode)

    def _sm(self, pio, sm):
        return self.pios[pio].machines[sm]

    def _sm_reg(self, sm, reg):
        return _SM0_CLKDIV + _SM_STRIDE * sm + reg

    def sm_configure(self, pio, sm, clkdiv, execctrl, shiftctrl, pinctrl, pc):
        block = self.pios[pio]
        self.sm_set_active(pio, sm, False)
        machine = block.machines[sm]
        machine.tx_fifo.reset()
        machine.rx_fifo.reset()
        block.write_uint32(self._sm_reg(sm, 0), clkdiv)
        block.write_uint32(self._sm_reg(sm, _SM_EXECCTRL), execctrl)
        block.write_uint32(self._sm_reg(sm, _SM_SHIFTCTRL), shiftctrl)
        block.write_uint32(self._sm_reg(sm, _SM_PINCTRL), pinctrl)
        block.write_uint32(_CTRL, block.read_uint32(_CTRL) | 1 << (4 + sm) | 1 << (8 + sm))
        block.write_uint32(self._sm_reg(sm, _SM_INSTR), pc)  # jmp to the program start
        self.runner.forget(pio, sm)

    def pio_pin(self, pio, pin, value, output):
        block = self.pios[pio]
        block.pin_values_changed(value, pin, 1)
        block.pin_directions_changed(output, pin, 1)
        self._publish()

    def sm_active(self, pio, sm):
        return self._sm(pio, sm).enabled

    def sm_set_active(self, pio, sm, on):
        block = self.pios[pio]
        ctrl = block.read_uint32(_CTRL)
        ctrl = ctrl | 1 << sm if on else ctrl & ~(1 << sm)
        block.write_uint32(_CTRL, ctrl)
        self.runner.forget(pio, sm)

    def sm_restart(self, pio, sm):
        block = self.pios[pio]
        block.write_uint32(_CTRL, block.read_uint32(_CTRL) | 1 << (4 + sm))
        self.runner.forget(pio, sm)

    def sm_exec(self, pio, sm, opcode):
        self.pios[pio].write_uint32(self._sm_reg(sm, _SM_INSTR), opcode)
        self.runner.forget(pio, sm)
        self._publish()

    def sm_sideset_count(self, pio, sm):
        return (self._sm(pio, sm).pin_ctrl >> 29) & 7

    def sm_put(self, pio, sm, word):
        if self._sm(pio, sm).tx_fifo.full:
            return False
        self.pios[pio].write_uint32(_TXF0 + 4 * sm, word)
        return True

    def sm_get(self, pio, sm):
        machine = self._sm(pio, sm)
        if machine.rx_fifo.empty:
            raise ChipError("RX FIFO empty: get would block")
        return machine.read_fifo()

    def sm_tx_level(self, pio, sm):
        return self._sm(pio, sm).tx_fifo.item_count

    def sm_rx_level(self, pio, sm):
        return self._sm(pio, sm).rx_fifo.item_count

    # -- registers ---------------------------------------------------------------
    def _pio_register(self, address):
        for index, base in enumerate(_PIO_BASE):
            if base <= address < base + _PIO_SPAN:
                return self.pios[index], address - base
        raise ChipError(f"mem32 access to 0x{address:08x} is not emulated")

    def mem32_read(self, address):
        block, offset = self._pio_register(address)
        return block.read_uint32(offset)

    def mem32_write(self, address, value):
        block, offset = self._pio_register(address)
        block.write_uint32(offset, value)
        for sm in range(4):
            self.runner.forget(block.index, sm)
