"""Host stand-in for MicroPython's `rp2` module.

`asm_pio` assembles a PIO program to real RP2040 opcodes with the same call
forms and output as MicroPython's own assembler; `StateMachine` and `PIO` drive
the emulated PIO block of the chip model attached in `_chip`; `DMA` drives its
DMA controller with MicroPython's API (ports/rp2/rp2_dma.c). Written in the
subset of Python that MicroPython also runs.
"""

import binascii

import _chip

_SYS_HZ = 125000000
_DATA = 0  # program list layout, as MicroPython's asm_pio returns it
_OFFSET = 1  # +pio index: load offset once loaded into that PIO block
_EXECCTRL = 3
_SHIFTCTRL = 4
_OUT_INIT = 5
_SET_INIT = 6
_SIDESET_INIT = 7


class PIOASMError(Exception):
    pass


class PIO:
    IN_LOW = 0
    IN_HIGH = 1
    OUT_LOW = 2
    OUT_HIGH = 3
    SHIFT_LEFT = 0
    SHIFT_RIGHT = 1
    JOIN_NONE = 0
    JOIN_TX = 1
    JOIN_RX = 2
    IRQ_SM0 = 0x100
    IRQ_SM1 = 0x200
    IRQ_SM2 = 0x400
    IRQ_SM3 = 0x800

    def __init__(self, id):
        if id not in (0, 1):
            raise ValueError("invalid PIO %r" % (id,))
        self.id = id

    def state_machine(self, index, *args, **kw):
        return StateMachine(self.id * 4 + index, *args, **kw)

    def remove_program(self, program=None):
        _loader.remove(self.id, program)


class _Emitter:
    """Two-pass PIO assembler: pass 0 collects labels, pass 1 emits words."""

    def __init__(
        self,
        out_init=None,
        set_init=None,
        sideset_init=None,
        side_pindir=False,
        in_shiftdir=0,
        out_shiftdir=0,
        autopush=False,
        autopull=False,
        push_thresh=32,
        pull_thresh=32,
        fifo_join=0,
    ):
        shiftctrl = (
            fifo_join << 30
            | (pull_thresh & 0x1F) << 25
            | (push_thresh & 0x1F) << 20
            | out_shiftdir << 19
            | in_shiftdir << 18
            | autopull << 17
            | autopush << 16
        )
        self.prog = [[], -1, -1, int(side_pindir) << 29, shiftctrl, out_init, set_init, sideset_init]
        self.labels = {}
        self.wrap_used = False
        if sideset_init is None:
            self.side_bits = 0
        elif isinstance(sideset_init, int):
            self.side_bits = 1
        else:
            self.side_bits = len(sideset_init)
        self.side_opt = False

    def start_pass(self, n):
        if n == 1:
            if not self.wrap_used and self.count:
                self.wrap()
            if self.side_bits and self.sides != self.count:
                # some instructions have no side-set: the MSB becomes an enable bit
                self.side_opt = True
                self.prog[_EXECCTRL] |= 1 << 30
        self.pass_ = n
        self.count = 0
        self.sides = 0

    def _field_bits(self):
        return self.side_bits + (1 if self.side_opt else 0)

    def delay(self, cycles):
        if self.pass_:
            limit = 31 >> self._field_bits()
            if not 0 <= cycles <= limit:
                raise PIOASMError("delay %d outside 0..%d" % (cycles, limit))
            self.prog[_DATA][-1] |= cycles << 8
        return self

    def __getitem__(self, cycles):
        return self.delay(cycles)

    def side(self, value):
        self.sides += 1
        if self.pass_:
            if not self.side_bits:
                raise PIOASMError("no sideset")
            if not 0 <= value < (1 << self.side_bits):
                raise PIOASMError("sideset %d too large" % value)
            shift = 13 - self._field_bits()
            self.prog[_DATA][-1] |= (1 << 12 if self.side_opt else 0) | value << shift
        return self

    def wrap_target(self):
        self.prog[_EXECCTRL] |= self.count << 7

    def wrap(self):
        if not self.count:
            raise PIOASMError("wrap before any instruction")
        self.prog[_EXECCTRL] |= (self.count - 1) << 12
        self.wrap_used = True

    def label(self, name):
        if self.pass_ == 0:
            if name in self.labels:
                raise PIOASMError("duplicate label %s" % name)
            self.labels[name] = self.count

    def word(self, op, target=None):
        self.count += 1
        if self.pass_:
            address = 0
            if target is not None:
                if target not in self.labels:
                    raise PIOASMError("unknown label %s" % target)
                address = self.labels[target]
            self.prog[_DATA].append(op | address)
        return self

    def nop(self):
        return self.word(0xA042)  # mov y, y

    def jmp(self, cond, target=None):
        if target is None:
            cond, target = 0, cond
        return self.word(cond << 5, target)

    def wait(self, polarity, source, index):
        if source == 6:  # `pin`
            source = 1
        elif source != 0:  # `irq` (the function object)
            source = 2
        return self.word(0x2000 | polarity << 7 | source << 5 | index)

    def in_(self, source, bits):
        _check_bits(bits)
        return self.word(0x4000 | source << 5 | bits & 0x1F)

    def out(self, dest, bits):
        _check_bits(bits)
        if dest == 8:  # exec
            dest = 7
        return self.word(0x6000 | dest << 5 | bits & 0x1F)

    def push(self, a=0, b=0):
        return self.word(0x8000 | _blocking(a | b))

    def pull(self, a=0, b=0):
        return self.word(0x8080 | _blocking(a | b))

    def mov(self, dest, source):
        if dest == 8:  # exec
            dest = 4
        return self.word(0xA000 | dest << 5 | source)

    def irq(self, mod, index=None):
        if index is None:
            mod, index = 0, mod
        return self.word(0xC000 | (mod & 0x60) | index)

    def set(self, dest, data):
        return self.word(0xE000 | dest << 5 | data)


def _check_bits(bits):
    if not 0 < bits <= 32:
        raise PIOASMError("invalid bit count %r" % (bits,))


def _blocking(flags):
    if not flags & 1:
        flags |= 0x20  # block unless `noblock`
    return flags & 0x60


_NAMES = {
    "gpio": 0,
    "pins": 0,
    "x": 1,
    "y": 2,
    "null": 3,
    "pindirs": 4,
    "pc": 5,
    "status": 5,
    "isr": 6,
    "osr": 7,
    "exec": 8,
    "invert": lambda v: v | 0x08,
    "reverse": lambda v: v | 0x10,
    "not_x": 1,
    "x_dec": 2,
    "not_y": 3,
    "y_dec": 4,
    "x_not_y": 5,
    "pin": 6,
    "not_osre": 7,
    "noblock": 0x01,
    "block": 0x21,
    "iffull": 0x40,
    "ifempty": 0x40,
    "clear": 0x40,
    "rel": lambda v: v | 0x10,
}
_METHODS = (
    "wrap_target",
    "wrap",
    "label",
    "word",
    "nop",
    "jmp",
    "wait",
    "in_",
    "out",
    "push",
    "pull",
    "mov",
    "irq",
    "set",
)


def asm_pio(**options):
    emit = _Emitter(**options)

    def assemble(func):
        # Run the body twice with the PIO vocabulary as its globals, as MicroPython does.
        scope = func.__globals__
        saved = scope.copy()
        scope.clear()
        scope.update(_NAMES)
        for name in _METHODS:
            scope[name] = getattr(emit, name)
        try:
            emit.start_pass(0)
            func()
            emit.start_pass(1)
            func()
        finally:
            scope.clear()
            scope.update(saved)
        return emit.prog

    return assemble


class _Loader:
    """Places programs in each PIO block's 32-word instruction memory."""

    def __init__(self):
        self.used = [[], []]  # per PIO: list of (offset, length, program)

    def load(self, pio, prog):
        if prog[_OFFSET + pio] >= 0:
            return prog[_OFFSET + pio]
        words = prog[_DATA]
        offset = 32 - len(words)
        while offset >= 0:
            if all(offset + len(words) <= o or o + n <= offset for o, n, _ in self.used[pio]):
                break
            offset -= 1
        else:
            raise OSError("no room in PIO%d for a %d-instruction program" % (pio, len(words)))
        for i, op in enumerate(words):
            if op >> 13 == 0:  # jmp: relocate the target
                op = (op & ~0x1F) | ((op & 0x1F) + offset)
            _chip.backend.pio_write_instr(pio, offset + i, op)
        self.used[pio].append((offset, len(words), prog))
        prog[_OFFSET + pio] = offset
        return offset

    def remove(self, pio, prog):
        for used in self.used[pio]:
            if prog is None or used[2] is prog:
                used[2][_OFFSET + pio] = -1
        self.used[pio] = [u for u in self.used[pio] if prog is not None and u[2] is not prog]

    def reset(self):
        """A new chip: instruction memory is empty again."""
        self.remove(0, None)
        self.remove(1, None)


_loader = _Loader()


def _pin_number(pin):
    if pin is None or isinstance(pin, int):
        return pin
    return pin.id


# SMn_CLKDIV for `freq` as the port computes it (ports/rp2/rp2_pio.c): -1 (default)
# runs at clk_sys, 0 divides by 65536, else a 16.8 divider, truncated; a freq above
# clk_sys or below clk_sys / 65536 is refused.
def _clkdiv(freq):
    if freq < 0:
        return 1 << 16
    if freq == 0:
        return 0
    div = _SYS_HZ * 256 // freq
    if not 256 <= div <= 65536 * 256:
        raise ValueError("freq out of range")
    return (div << 8) & 0xFFFFFF00  # INT in bits 31:16 (65536 wraps to 0), FRAC in 15:8


class StateMachine:
    def __init__(self, id, program=None, *args, **kw):
        if not 0 <= id < 8:
            raise ValueError("invalid StateMachine %r" % (id,))
        self.pio = id // 4
        self.index = id % 4
        if program is not None:
            self.init(program, *args, **kw)

    def init(
        self,
        program,
        freq=-1,
        *,
        in_base=None,
        out_base=None,
        set_base=None,
        jmp_pin=None,
        sideset_base=None,
        in_shiftdir=None,
        out_shiftdir=None,
        push_thresh=None,
        pull_thresh=None,
    ):
        backend = _chip.backend
        offset = _loader.load(self.pio, program)  # before the freq check, as on the port
        divider = _clkdiv(freq)
        execctrl = program[_EXECCTRL]
        wrap_top = ((execctrl >> 12) & 0x1F) + offset
        wrap_bottom = ((execctrl >> 7) & 0x1F) + offset
        execctrl = (execctrl & ~(0x1F << 12 | 0x1F << 7)) | wrap_top << 12 | wrap_bottom << 7
        jmp = _pin_number(jmp_pin)
        if jmp is not None:
            execctrl |= jmp << 24
        shiftctrl = program[_SHIFTCTRL]
        if in_shiftdir is not None:
            shiftctrl = (shiftctrl & ~(1 << 18)) | in_shiftdir << 18
        if out_shiftdir is not None:
            shiftctrl = (shiftctrl & ~(1 << 19)) | out_shiftdir << 19
        if push_thresh is not None:
            shiftctrl = (shiftctrl & ~(0x1F << 20)) | (push_thresh & 0x1F) << 20
        if pull_thresh is not None:
            shiftctrl = (shiftctrl & ~(0x1F << 25)) | (pull_thresh & 0x1F) << 25
        pins = []  # (base, init tuple)
        pinctrl = 0
        base = _pin_number(out_base)
        if base is not None:
            count = len(_as_tuple(program[_OUT_INIT]))
            pinctrl |= count << 20 | base
            pins.append((base, program[_OUT_INIT]))
        base = _pin_number(set_base)
        if base is not None:
            count = len(_as_tuple(program[_SET_INIT]))
            pinctrl |= count << 26 | base << 5
            pins.append((base, program[_SET_INIT]))
        base = _pin_number(sideset_base)
        if base is not None:
            count = len(_as_tuple(program[_SIDESET_INIT]))
            if execctrl & (1 << 30):
                count += 1  # the enable bit counts towards SIDESET_COUNT
            pinctrl |= count << 29 | base << 10
            pins.append((base, program[_SIDESET_INIT]))
        base = _pin_number(in_base)
        if base is not None:
            pinctrl |= base << 15
        backend.sm_configure(self.pio, self.index, divider, execctrl, shiftctrl, pinctrl, offset)
        for base, init in pins:
            for i, mode in enumerate(_as_tuple(init)):
                if mode is not None:
                    backend.gpio_function(base + i, "pio%d" % self.pio)
                    backend.pio_pin(self.pio, base + i, mode & 1, mode >> 1)

    def active(self, value=None):
        if value is None:
            return _chip.backend.sm_active(self.pio, self.index)
        _chip.backend.sm_set_active(self.pio, self.index, bool(value))
        return bool(value)

    def restart(self):
        _chip.backend.sm_restart(self.pio, self.index)

    def exec(self, instr):
        if isinstance(instr, str):
            instr = asm_pio_encode(instr, _chip.backend.sm_sideset_count(self.pio, self.index))
        _chip.backend.sm_exec(self.pio, self.index, instr)

    def put(self, value, shift=0):
        if isinstance(value, int):
            value = (value,)
        for word in value:
            if not _chip.backend.sm_put(self.pio, self.index, (word << shift) & 0xFFFFFFFF):
                # A real SM would block here until the FIFO drains; the in-process
                # chip cannot run while the caller waits, so say so loudly.
                raise OSError("TX FIFO full: put would block")

    def get(self, buf=None, shift=0):
        return _chip.backend.sm_get(self.pio, self.index) >> shift

    def tx_fifo(self):
        return _chip.backend.sm_tx_level(self.pio, self.index)

    def rx_fifo(self):
        return _chip.backend.sm_rx_level(self.pio, self.index)


def _as_tuple(init):
    if init is None:
        return ()
    if isinstance(init, int):
        return (init,)
    return tuple(init)


def asm_pio_encode(text, sideset_count, sideset_opt=False):
    """Assemble one instruction given as text, e.g. "mov(pins, null).side(0)"."""
    emit = _Emitter()
    emit.side_bits = sideset_count - (1 if sideset_opt else 0)
    emit.side_opt = bool(sideset_opt)
    emit.pass_ = 1
    emit.count = 0
    emit.sides = 0
    scope = dict(_NAMES)
    for name in _METHODS:
        scope[name] = getattr(emit, name)
    exec(text, scope)
    if len(emit.prog[_DATA]) != 1:
        raise PIOASMError("expecting exactly 1 instruction")
    return emit.prog[_DATA][0]


def bootsel_button():
    return _chip.backend.bootsel()


# -- DMA ----------------------------------------------------------------------------------
_DMA_BASE = 0x50000000
_DMA_MULTI_CHAN_TRIGGER = 0x430
_DMA_CHAN_ABORT = 0x444
_CH_READ = 0x00
_CH_WRITE = 0x04
_CH_COUNT = 0x08
_CH_CTRL_TRIG = 0x0C
_CH_AL1_CTRL = 0x10
_CH_AL1_COUNT_TRIG = 0x1C
_CH_AL2_WRITE_TRIG = 0x2C
_CH_AL3_READ_TRIG = 0x3C
_BUSY = 1 << 24
# (name, shift, bits, read-only), as rp2_dma_ctrl_fields_table
_CTRL_FIELDS = (
    ("enable", 0, 1, False),
    ("high_pri", 1, 1, False),
    ("size", 2, 2, False),
    ("inc_read", 4, 1, False),
    ("inc_write", 5, 1, False),
    ("ring_size", 6, 4, False),
    ("ring_sel", 10, 1, False),
    ("chain_to", 11, 4, False),
    ("treq_sel", 15, 6, False),
    ("irq_quiet", 21, 1, False),
    ("bswap", 22, 1, False),
    ("sniff_en", 23, 1, False),
    ("busy", 24, 1, True),
    ("write_err", 29, 1, False),
    ("read_err", 30, 1, False),
    ("ahb_err", 31, 1, True),
)
# quiet, unpaced (PERMANENT), read and write incrementing, word transfers, enabled
_DEFAULT_CTRL = 1 << 21 | 0x3F << 15 | 1 << 5 | 1 << 4 | 2 << 2 | 1


class _SramCopies:
    """Buffers handed to a DMA channel live in the chip model's SRAM.

    On a Pico the DMA reads the buffer itself; here the buffer is copied into
    emulated SRAM when it is handed over (`read=buf`), and again each time it
    is handed over anew, at the same address while it fits. Changes made after
    that reach the chip only through `machine.mem32` at the address the DMA
    reports - which is also correct on a Pico."""

    def __init__(self):
        self.copies = {}  # id(buffer) -> [buffer, address, nbytes]

    def address(self, buf):
        count = len(buf)
        itemsize = len(bytes(buf[:1])) if count else 1
        nbytes = count * itemsize
        entry = self.copies.get(id(buf))
        if entry is None or entry[0] is not buf or nbytes > entry[2]:
            entry = [buf, _chip.backend.sram_alloc(nbytes), nbytes]
            self.copies[id(buf)] = entry
        # in pieces: a Pico's DMA reads the buffer in place, so copying it must
        # not need one big free block of the (Pico-sized) heap either
        step = 512 // itemsize
        for first in range(0, count, step):
            chunk = binascii.hexlify(bytes(buf[first : first + step])).decode()
            _chip.backend.sram_write(entry[1] + first * itemsize, "x" + chunk)
        return entry[1]

    def reset(self):
        self.copies = {}


_sram = _SramCopies()


class _Registers:
    """DMA.registers: the channel's 16 register words (its 4 alias groups)."""

    def __init__(self, base):
        self._base = base

    def __getitem__(self, index):
        return _chip.backend.mem32_read(self._base + 4 * index)

    def __setitem__(self, index, value):
        _chip.backend.mem32_write(self._base + 4 * index, value & 0xFFFFFFFF)

    def __len__(self):
        return 16


class DMA:
    """One claimed DMA channel, with MicroPython's rp2.DMA interface."""

    def __init__(self):
        self.channel = _chip.backend.dma_claim()
        self._closed = False

    def __repr__(self):
        return "DMA(%d)" % self.channel

    def _check(self):
        if self._closed:
            raise ValueError("channel closed")

    def _reg(self, offset):
        return _DMA_BASE + 0x40 * self.channel + offset

    def _get(self, offset):
        self._check()
        return _chip.backend.mem32_read(self._reg(offset))

    def _set(self, offset, value):
        self._check()
        _chip.backend.mem32_write(self._reg(offset), value & 0xFFFFFFFF)

    @staticmethod
    def _address(value, write):
        if isinstance(value, int):
            return value
        if write:
            raise OSError("DMA into a RAM buffer is not emulated")
        return _sram.address(value)

    # registers as attributes: read, write, count, ctrl (reading ctrl gives AL1_CTRL)
    @property
    def read(self):
        return self._get(_CH_READ)

    @read.setter
    def read(self, value):
        self._set(_CH_READ, self._address(value, False))

    @property
    def write(self):
        return self._get(_CH_WRITE)

    @write.setter
    def write(self, value):
        self._set(_CH_WRITE, self._address(value, True))

    @property
    def count(self):
        return self._get(_CH_COUNT)

    @count.setter
    def count(self, value):
        self._set(_CH_COUNT, value)

    @property
    def ctrl(self):
        return self._get(_CH_AL1_CTRL)

    @ctrl.setter
    def ctrl(self, value):
        self._set(_CH_AL1_CTRL, value)

    @property
    def registers(self):
        self._check()
        return _Registers(self._reg(0))

    def config(self, read=None, write=None, count=None, ctrl=None, trigger=False):
        """Set the given registers in this order; with trigger, the last one
        written is its trigger alias (or, with none given, just start)."""
        self._check()
        writes = []
        if read is not None:
            writes.append((_CH_READ, _CH_AL3_READ_TRIG, self._address(read, False)))
        if write is not None:
            writes.append((_CH_WRITE, _CH_AL2_WRITE_TRIG, self._address(write, True)))
        if count is not None:
            writes.append((_CH_COUNT, _CH_AL1_COUNT_TRIG, count))
        if ctrl is not None:
            writes.append((_CH_AL1_CTRL, _CH_CTRL_TRIG, ctrl))
        if trigger and not writes:
            self._start()
            return
        for i, (plain, trig, value) in enumerate(writes):
            self._set(trig if trigger and i == len(writes) - 1 else plain, value)

    def _start(self):
        _chip.backend.mem32_write(_DMA_BASE + _DMA_MULTI_CHAN_TRIGGER, 1 << self.channel)

    def active(self, value=None):
        """Start (1) or abort (0) the channel; True while it is busy."""
        self._check()
        if value is not None:
            if value:
                self._start()
            else:
                _chip.backend.mem32_write(_DMA_BASE + _DMA_CHAN_ABORT, 1 << self.channel)
        return bool(self._get(_CH_AL1_CTRL) & _BUSY)

    def pack_ctrl(self, default=None, **fields):
        value = (_DEFAULT_CTRL | (self.channel & 0xF) << 11) if default is None else default
        for name, shift, bits, read_only in _CTRL_FIELDS:
            if name not in fields:
                continue
            field = int(fields.pop(name))
            if read_only:
                continue
            mask = (1 << bits) - 1
            if field & mask != field:
                raise ValueError("bad field value")
            value = (value & ~(mask << shift)) | field << shift
        if fields:
            raise TypeError("unknown ctrl field(s): " + ", ".join(fields))
        return value & 0xFFFFFFFF

    @staticmethod
    def unpack_ctrl(value):
        out = {}
        for name, shift, bits, _ in _CTRL_FIELDS:
            out[name] = (value >> shift) & ((1 << bits) - 1)
        return out

    def irq(self, handler=None, hard=False):
        raise OSError("DMA interrupts are not emulated")

    def close(self):
        if not self._closed:
            _chip.backend.dma_release(self.channel)
            self._closed = True
