"""ChipModel: the emulated RP2040 behind the host `machine`/`rp2` stand-ins.

It owns rp2040py's two PIO blocks and DMA controller, the SRAM the DMA reads,
the GPIO function/level state, PWM settings and the emulated system clock,
and reports every output change to listeners (the VCD trace, tests). Time
only moves when `run()` is called.

DMA: rp2040py's channel model (address increment, rings, reload count,
chaining, trigger aliases) does each transfer; this model decides when.
A channel moves a word as soon as it is running and its DREQ (or PERMANENT
TREQ) says the target can take one: after every PIO step that changed a
request line (an SM pulled a word out of a FIFO the DMA feeds, or pushed one
into a FIFO it drains) and after every CPU write to a DMA register. That is
the real DMA with zero latency; the firmware keeps the PIO FIFOs topped up
several words ahead, so a latency of a few cycles would not move a single
edge. DMA pacing timers are not emulated.

PWM: the registers of picostim.chip.pwm, reached by machine.mem32 and by
the DMA alike; a CC write takes effect at the slice's next counter wrap, as
on the chip, and listeners get `pwm_changed(cycle, pin, duty_u16)` on that
cycle for every pin in the PWM function whose duty changed.

GPIO inputs: every level this model computes (outputs and external inputs)
is also what a state machine reads (`wait pin`, `in pins`): a PIO program
can watch a pin another state machine drives, as on the chip (the chip's
2-cycle input synchroniser is not modelled).
"""

from rp2040py import RP2040

from picostim.chip.pio_runner import PioRunner
from picostim.chip.pwm import PWM_BASE, PWM_SPAN, PwmBlock

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
PWRON_RESET, WDT_RESET = 1, 3  # machine.reset_cause() values of MicroPython's rp2 port
WDT_MAX_MS = 8388  # the RP2040 watchdog's longest timeout
WATCHDOG_BASE = 0x40058000
WATCHDOG_REASON = 0x08  # TIMER (bit 0) or FORCE (bit 1): the watchdog caused the last reset; 0 after power-on
WATCHDOG_SCRATCH0 = 0x0C  # SCRATCH0..7: kept through a watchdog reset, cleared at power-on
REASON_TIMER, REASON_FORCE = 1, 2
NON_REBOOT_MAGIC = 0x6AB73121  # pico-sdk watchdog_enable() writes this to SCRATCH4; watchdog_reboot() does not
SRAM_BASE = 0x20000000
SRAM_SIZE = 264 * 1024
DMA_BASE = 0x50000000
_DMA_SPAN = 0x4000  # registers and their atomic set/clear/xor aliases
_DMA_CHANNELS = 12
_DMA_CHAN_ABORT = 0x444
_TREQ_PERMANENT = 0x3F
_PAD_IE = 0x40  # PADS_BANK0 GPIOn input enable (on at reset on the chip)
_PULL_DOWN = 2  # every pad's pull at reset (PADS_BANK0 GPIOn PDE)
ADC_VREF = 3.3  # volts: the ADC reference (the Pico's 3.3 V rail)


def adc_counts(volts):
    """The RP2040 ADC's 12-bit conversion of `volts` (0..ADC_VREF, clipped)."""
    return min(4095, max(0, int(volts / ADC_VREF * 4096)))


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
        self.pwm = {}  # pin -> (freq_hz, duty_u16) of every pin in the PWM function
        self.bootsel_pressed = False
        self.pulls = [_PULL_DOWN] * GPIO_COUNT  # per pin: 1 pull-up, 2 pull-down (see gpio_pull)
        self.listeners = []
        self._levels = 0
        self.dma = self._rp.dma
        self._dma_claimed = set()
        self._dma_busy = False  # some channel is running: pump after every step
        self.dma_transfers = 0
        self.dma_moved = [0] * _DMA_CHANNELS  # transfers per channel
        self._sram_next = SRAM_BASE
        self.pwm_block = PwmBlock(lambda: self.runner.cycle, self._pwm_slice_changed)
        self._rp.peripherals[PWM_BASE >> 12] = self.pwm_block  # DMA writes reach it too
        self._duty = [0] * GPIO_COUNT  # last duty reported per pin
        self._dreq_pumped = {}  # the DMA request lines as the last pump left them
        self._functions_changed()
        for pin in self._rp.gpio[:GPIO_COUNT]:
            pin.pad_value |= _PAD_IE
        self.watchdog_reason = 0  # the WATCHDOG REASON register
        self.watchdog_scratch = [0] * 8  # WATCHDOG SCRATCH0..7
        self.watchdog_triggered = False  # CTRL.TRIGGER written (machine.reset()): a reset is due now
        self.watchdog_cycles = 0  # 0: the watchdog is not running
        self.watchdog_fed = 0  # cycle of the last feed (or the start)
        self.i2c_devices = {}  # (bus, 7-bit address) -> device with write(data) -> acked, read(n) -> bytes
        self.i2c_buses = {}  # bus -> (scl, sda, freq_hz) once machine.I2C set it up

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
        self.pwm_block.latch_until(cycle)

    # -- watchdog ---------------------------------------------------------------
    def wdt_start(self, timeout_ms):
        """machine.WDT(timeout=...), pico-sdk watchdog_enable(): once started it
        runs until a reset (as on the chip); SCRATCH4 gets the non-reboot magic."""
        if not 1 <= timeout_ms <= WDT_MAX_MS:
            raise ChipError(f"watchdog timeout {timeout_ms} ms outside 1..{WDT_MAX_MS}")
        self.watchdog_scratch[4] = NON_REBOOT_MAGIC
        self.watchdog_cycles = timeout_ms * (SYS_HZ // 1000)
        self.watchdog_fed = self.cycle

    def watchdog_reboot(self):
        """machine.reset(), pico-sdk watchdog_reboot(0, SRAM_END, 0): SCRATCH4 = 0,
        then the watchdog triggered at once, so the reset reads REASON = FORCE."""
        self.watchdog_scratch[4] = 0
        self.watchdog_triggered = True

    def wdt_feed(self):
        self.watchdog_fed = self.cycle

    def watchdog_expired(self):
        """The watchdog resets the chip now: triggered, or not fed in time."""
        overdue = bool(self.watchdog_cycles) and self.cycle - self.watchdog_fed > self.watchdog_cycles
        return self.watchdog_triggered or overdue

    def watchdog_reset(self):
        """The watchdog reset the chip: REASON says how; the scratch registers stay."""
        self.watchdog_reason = REASON_FORCE if self.watchdog_triggered else REASON_TIMER
        self.watchdog_triggered = False

    def power_on_reset(self):
        """Power-on (or RUN pin) reset: the watchdog's REASON and scratch registers clear."""
        self.watchdog_reason = 0
        self.watchdog_scratch = [0] * 8
        self.watchdog_triggered = False

    def reset_cause(self):
        """As the port's machine.reset_cause(): WDT_RESET whenever REASON is set (a
        timeout, or machine.reset(), which reboots through the watchdog)."""
        return WDT_RESET if self.watchdog_reason else PWRON_RESET

    def reset_peripherals(self):
        """What a reset does to the parts the firmware drives: every state
        machine stops, every pin is an undriven input, PWM is off. Time and
        listeners carry on (the trace spans resets)."""
        for pio in self.pios:
            for sm in range(4):
                self.sm_set_active(pio.index, sm, False)
            pio.pin_directions_changed(0, 0, GPIO_COUNT)
        self.dma.write_uint32(_DMA_CHAN_ABORT, (1 << _DMA_CHANNELS) - 1)
        self.dma.reset()
        self._dma_claimed.clear()
        self._dma_busy = False
        self._sram_next = SRAM_BASE
        self.function = ["null"] * GPIO_COUNT
        self._functions_changed()
        self.sio_oe = 0
        self.sio_out = 0
        self.pulls = [_PULL_DOWN] * GPIO_COUNT
        self.pwm_block.reset()  # every pin's duty reported again (0: no pin is in the PWM function)
        self.watchdog_cycles = 0
        self._publish()

    # -- levels and listeners -------------------------------------------------
    def _functions_changed(self):
        """Recompute which pins each of SIO, PIO0 and PIO1 drives (after any change to `function`)."""
        masks = {"sio": 0, "pio0": 0, "pio1": 0}
        for n, func in enumerate(self.function):
            if func in masks:
                masks[func] |= 1 << n
        self._sio_mask, self._pio0_mask, self._pio1_mask = masks["sio"], masks["pio0"], masks["pio1"]

    def levels(self):
        """Bitmask of the level on every GPIO: driven outputs, else external input."""
        pio0, pio1 = self.pios
        sio, p0, p1 = self._sio_mask, self._pio0_mask, self._pio1_mask
        driven = self.sio_oe & sio | pio0.pin_directions & p0 | pio1.pin_directions & p1
        value = self.sio_out & sio | pio0.pin_values & p0 | pio1.pin_values & p1
        return value & driven | self.inputs & ~driven

    def _after_step(self, cycle):
        next_latch = self.pwm_block.next_latch
        if next_latch is not None and next_latch <= cycle:
            self.pwm_block.latch_until(cycle)  # a wrap the runner stepped over: on its own cycle
        if self._dma_busy and self.dma.dreq != self._dreq_pumped:
            self._dma_pump()  # only a changed request line lets a running channel move a word
        self._publish()

    def _publish(self):
        levels = self.levels()
        changed = levels ^ self._levels
        if changed:
            self._levels = levels
            gpio = self._rp.gpio
            bits = changed
            while bits:
                n = (bits & -bits).bit_length() - 1
                gpio[n].set_input_value(bool(levels >> n & 1))  # what `wait pin` sees
                bits &= bits - 1
            for listener in self.listeners:
                listener.pins_changed(self.runner.cycle, levels, changed)

    # -- GPIO --------------------------------------------------------------------
    def gpio_function(self, pin, func):
        if func not in ("sio", "pio0", "pio1", "pwm"):
            raise ChipError(f"function {func!r} not emulated")
        was = self.function[pin]
        self.function[pin] = func
        self._functions_changed()
        self._report_duty(pin, force="pwm" in (was, func))
        self._publish()

    def gpio_pull(self, pin, pull):
        """The pad's pulls (machine.Pin.PULL_UP 1 | PULL_DOWN 2; 0: none), as set. An
        undriven pin still reads its external level: the pull's level is not modelled."""
        self.pulls[pin] = pull & 3

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

    # -- ADC ---------------------------------------------------------------------
    # What drives the ADC pins (GP26..29): an object with volts(pin), e.g.
    # picostim.chip.frontend.FrontEnd; None: they read 0 V.
    adc_source = None

    def adc_read_u16(self, channel):
        """machine.ADC(...).read_u16() of input `channel` (0..3 = GP26..29) now:
        the 12-bit conversion of 0..ADC_VREF, scaled to 16 bits as MicroPython does."""
        if not 0 <= channel <= 3:
            raise ChipError(f"ADC channel {channel} not emulated (0..3: GP26..GP29)")
        raw = adc_counts(self.adc_source.volts(26 + channel) if self.adc_source is not None else 0.0)
        return raw << 4 | raw >> 8

    # -- PWM ---------------------------------------------------------------------
    def dac_fraction(self, pin):
        """The PWM level on `pin` as a fraction of the period (the live CC over
        TOP + 1, as the counter applies it); 0 unless the pin is in the PWM function."""
        if self.function[pin] != "pwm":
            return 0.0
        s = self.pwm_block.slices[pin >> 1 & 7]
        level = s.live_cc >> (16 * (pin & 1)) & 0xFFFF
        counts = s.live_top + 1
        return min(level, counts) / counts

    def _pwm_slice_changed(self, index, cycle):
        for pin in (2 * index, 2 * index + 1, 2 * index + 16, 2 * index + 17):
            if pin < GPIO_COUNT:
                self._report_duty(pin, cycle)

    def _report_duty(self, pin, cycle=None, force=False):
        """Tell listeners the duty of `pin` (0 unless it is in the PWM function)
        if it changed (or `force`: it entered or left the PWM function);
        `cycle`: when (a counter wrap), else now."""
        duty = 0
        if self.function[pin] == "pwm":
            s = self.pwm_block.slices[pin >> 1 & 7]
            duty = s.duty_u16(pin & 1)
            self.pwm[pin] = (s.freq_hz(SYS_HZ), duty)
        else:
            self.pwm.pop(pin, None)
        if duty != self._duty[pin] or force:
            self._duty[pin] = duty
            for listener in self.listeners:
                listener.pwm_changed(self.runner.cycle if cycle is None else cycle, pin, duty)

    # -- PIO ---------------------------------------------------------------------
    def pio_write_instr(self, pio, address, opcode):
        for sm in range(4):
            self.runner.forget(pio, sm)
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
        # the FIFOs were emptied behind rp2040py's back: tell the DMA (DREQ) too
        self.dma.clear_dreq(machine.dreq_tx)
        self.dma.set_dreq(machine.dreq_tx)
        self.dma.clear_dreq(machine.dreq_rx)
        if self._dma_busy:
            self._dma_pump()

    def pio_pin(self, pio, pin, value, output):
        block = self.pios[pio]
        block.pin_values_changed(value, pin, 1)
        block.pin_directions_changed(output, pin, 1)
        self._publish()

    def sm_active(self, pio, sm):
        return self._sm(pio, sm).enabled

    def sm_set_active(self, pio, sm, on):
        self.runner.forget(pio, sm)
        block = self.pios[pio]
        ctrl = block.read_uint32(_CTRL)
        ctrl = ctrl | 1 << sm if on else ctrl & ~(1 << sm)
        block.write_uint32(_CTRL, ctrl)

    def sm_restart(self, pio, sm):
        self.runner.forget(pio, sm)
        block = self.pios[pio]
        block.write_uint32(_CTRL, block.read_uint32(_CTRL) | 1 << (4 + sm))

    def sm_exec(self, pio, sm, opcode):
        self.runner.forget(pio, sm)
        self.pios[pio].write_uint32(self._sm_reg(sm, _SM_INSTR), opcode)
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

    # -- DMA and SRAM ---------------------------------------------------------------
    def dma_claim(self):
        """Lowest unclaimed DMA channel (as pico-sdk's dma_claim_unused_channel)."""
        for channel in range(_DMA_CHANNELS):
            if channel not in self._dma_claimed:
                self._dma_claimed.add(channel)
                return channel
        raise ChipError("no free DMA channel")

    def dma_release(self, channel):
        self._dma_claimed.discard(channel)

    def _dma_pump(self):
        """Let every running channel move words while its request line allows."""
        dma = self.dma
        dreq = dma.dreq
        moved = True
        busy = False
        while moved:
            moved = False
            busy = False
            for channel in dma.channels:
                if not channel.active:
                    continue
                busy = True
                treq = channel.treq
                if treq == _TREQ_PERMANENT or dreq.get(treq, False):
                    channel.transfer_alarm.cancel()  # this model paces it, not rp2040py's clock
                    if channel.read_uint32(0x008) == 0:  # TRANS_COUNT: triggered with nothing to do
                        continue
                    channel.transfer()
                    self.dma_transfers += 1
                    self.dma_moved[channel.index] += 1
                    moved = True
        self._dma_busy = busy
        self._dreq_pumped = dict(dreq)

    def sram_alloc(self, nbytes):
        """Address of `nbytes` of emulated SRAM (word aligned) for DMA buffers."""
        address = self._sram_next
        end = address + (nbytes + 3) // 4 * 4
        if nbytes < 0 or end > SRAM_BASE + SRAM_SIZE:
            raise ChipError(f"no room in SRAM for {nbytes} bytes")
        self._sram_next = end
        return address

    def sram_write(self, address, data):
        """Copy bytes into SRAM; `data` is hex text after an "x" (the link carries text)."""
        raw = bytes.fromhex(data[1:]) if isinstance(data, str) and data[:1] == "x" else None
        if raw is None:
            raise ChipError("sram_write data must be 'x' + hex")
        offset = address - SRAM_BASE
        if offset < 0 or offset + len(raw) > SRAM_SIZE:
            raise ChipError(f"sram_write outside SRAM at 0x{address:08x}")
        self._rp.sram[offset : offset + len(raw)] = raw

    # -- I2C ------------------------------------------------------------------------
    # machine.I2C's transfers, one call each. Absent address (nobody ACKs): -1;
    # the stand-in raises OSError as MicroPython's rp2 I2C does. Data over the
    # link: "x" + hex (writes), an int holding the bytes big-endian (reads).
    def i2c_init(self, bus, scl, sda, freq):
        """Hardware I2C `bus` (0 or 1) on these pins (I2C function) at `freq` Hz."""
        if bus not in (0, 1):
            raise ChipError(f"I2C{bus} does not exist")
        if not (0 <= scl < GPIO_COUNT and scl & 3 == 2 * bus + 1 and 0 <= sda < GPIO_COUNT and sda & 3 == 2 * bus):
            raise ChipError(f"GPIO{scl}/GPIO{sda} are not an SCL/SDA pair of I2C{bus}")
        if not 0 < freq <= 1_000_000:
            raise ChipError(f"I2C frequency {freq} Hz outside 1..1000000")
        for pin in (scl, sda):
            self.function[pin] = "i2c"  # open drain, pulled up: not a driven level
        self._functions_changed()
        self.i2c_buses[bus] = (scl, sda, freq)
        self._publish()

    def _i2c_device(self, bus, addr):
        scl, sda, _ = self.i2c_buses.get(bus, (None, None, 0))
        if scl is None or self.function[scl] != "i2c" or self.function[sda] != "i2c":
            raise ChipError(f"I2C{bus} is not set up (machine.I2C)")
        if not 0 <= addr < 0x80:
            raise ChipError(f"I2C address {addr} is not 7-bit")
        return self.i2c_devices.get((bus, addr))

    def i2c_write(self, bus, addr, data):
        """A write transfer; returns the data bytes ACKed, -1 when the address is not."""
        raw = bytes.fromhex(data[1:]) if isinstance(data, str) and data[:1] == "x" else None
        if raw is None:
            raise ChipError("i2c_write data must be 'x' + hex")
        device = self._i2c_device(bus, addr)
        return -1 if device is None else device.write(raw)

    def i2c_read(self, bus, addr, n):
        """A read transfer of n bytes (big-endian in the int returned), -1 when the address is not ACKed."""
        if not 0 <= n <= 256:
            raise ChipError(f"i2c_read of {n} bytes (0..256)")
        device = self._i2c_device(bus, addr)
        return -1 if device is None else int.from_bytes(device.read(n), "big")

    # -- registers ---------------------------------------------------------------
    def _pio_register(self, address):
        for index, base in enumerate(_PIO_BASE):
            if base <= address < base + _PIO_SPAN:
                return self.pios[index], address - base
        raise ChipError(f"mem32 access to 0x{address:08x} is not emulated")

    def _bus(self, address):
        """True for the parts of the bus the firmware may reach with mem32 besides PIO."""
        if address & 3:
            raise ChipError(f"mem32 access to unaligned 0x{address:08x}")
        return (
            SRAM_BASE <= address < SRAM_BASE + SRAM_SIZE
            or DMA_BASE <= address < DMA_BASE + _DMA_SPAN
            or PWM_BASE <= address < PWM_BASE + PWM_SPAN
        )

    def _watchdog_register(self, address):
        """The index of a WATCHDOG register the model keeps (REASON, SCRATCH0..7), or None."""
        offset = address - WATCHDOG_BASE
        if offset == WATCHDOG_REASON or (WATCHDOG_SCRATCH0 <= offset < WATCHDOG_SCRATCH0 + 32 and not offset & 3):
            return offset
        if 0 <= offset < 0x1000:
            raise ChipError(f"mem32 access to watchdog register 0x{address:08x} is not emulated")
        return None

    def mem32_read(self, address):
        """A register or RAM word, unsigned (the stand-in makes it signed as the port does)."""
        offset = self._watchdog_register(address)
        if offset is not None:
            if offset == WATCHDOG_REASON:
                return self.watchdog_reason
            return self.watchdog_scratch[(offset - WATCHDOG_SCRATCH0) // 4]
        if self._bus(address):
            return self._rp.read_uint32(address)
        block, offset = self._pio_register(address)
        return block.read_uint32(offset)

    def mem32_write(self, address, value):
        offset = self._watchdog_register(address)
        if offset is not None:
            if offset == WATCHDOG_REASON:
                raise ChipError("the watchdog REASON register is read-only")
            self.watchdog_scratch[(offset - WATCHDOG_SCRATCH0) // 4] = value & 0xFFFFFFFF
            return
        if self._bus(address):
            self._rp.write_uint32(address, value)
            if address >= DMA_BASE:
                self._dma_pump()
            return
        block, offset = self._pio_register(address)
        for sm in range(4):
            self.runner.forget(block.index, sm)  # a CPU write may reach any of its SMs
        block.write_uint32(offset, value)
