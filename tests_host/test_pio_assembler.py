"""The host asm_pio must emit exactly what an independent assembler does
(adafruit-circuitpython-pioasm) for every PIO program in the firmware."""

import adafruit_pioasm
import pytest
import rp2
from picostim_fw import pulse_pio

# Each firmware program, written again in pioasm syntax.
PIOASM = {
    "rate_pio": """
.wrap_target
next:
    pull noblock
    mov x, osr
    out y, 31
count:
    jmp y-- count
    out y, 1
    jmp y-- next
    irq 0 rel
.wrap
""",
    "pulse_pio": """
.side_set 3
check:
    mov y, status side 0
    jmp y-- wait side 0
    pull side 0
    mov x, osr side 0
    pull side 0
    mov isr, osr side 0
    pull side 0
    out pins, 16 side 0
    pull side 0
wait:
    wait 1 irq 3 rel side 0
    mov y, x side 3
cathodic:
    jmp y-- cathodic side 3
    mov y, isr side 3
    jmp y-- gap side 3
.wrap_target
    mov y, osr side 5
anodic:
    jmp y-- anodic side 5
    jmp check side 0
gap:
    jmp y-- gap side 1
.wrap
""",
    "trigger_pio": """
    wait 0 pin 0
    wait 1 pin 0
    mov x, isr
pulse:
    irq 2 rel
    mov y, osr
count:
    jmp y-- count
    jmp x-- pulse
""",
    "dac_sync_pio": """
    wait 1 pin 0
    wait 0 pin 0
    push noblock
""",
    "dac_group_pio": """
    wait 1 pin 0
    wait 0 pin 0
    pull
    mov isr, osr
    push noblock
""",
}


@pytest.mark.parametrize("name", sorted(PIOASM))
def test_same_opcodes_and_wrap(name):
    ours = getattr(pulse_pio, name)
    theirs = adafruit_pioasm.Program(PIOASM[name])
    assert list(ours[0]) == list(theirs.assembled)
    execctrl = ours[3]
    kwargs = theirs.pio_kwargs
    assert (execctrl >> 12) & 0x1F == kwargs.get("wrap", len(theirs.assembled) - 1)
    assert (execctrl >> 7) & 0x1F == kwargs.get("wrap_target", 0)
    assert bool(execctrl >> 30 & 1) == bool(kwargs.get("sideset_enable", False))


def test_every_firmware_program_is_cross_checked():
    programs = {n for n, v in vars(pulse_pio).items() if isinstance(v, list) and len(v) == 8 and isinstance(v[0], list)}
    assert programs == set(PIOASM)


def test_wait_opcode_is_the_pulse_sm_wait():
    waits = [op & 0xE0FF for op in pulse_pio.pulse_pio[0] if op >> 13 == 1]
    assert waits == [pulse_pio.WAIT_OPCODE]


@pytest.mark.parametrize(
    "text",
    ["mov(pins, null).side(0)", "set(pindirs, 3)", "pull(noblock)", "irq(clear, 2)", "wait(0, gpio, 5)"],
)
def test_encode_single_instruction(text):
    pioasm_text = {
        "mov(pins, null).side(0)": ".side_set 3\nmov pins, null side 0",
        "set(pindirs, 3)": "set pindirs, 3",
        "pull(noblock)": "pull noblock",
        "irq(clear, 2)": "irq clear 2",
        "wait(0, gpio, 5)": "wait 0 gpio 5",
    }[text]
    sideset = 3 if "side" in text else 0
    assert rp2.asm_pio_encode(text, sideset) == adafruit_pioasm.assemble(pioasm_text)[0]


def test_errors_are_reported():
    with pytest.raises(rp2.PIOASMError):

        @rp2.asm_pio()
        def bad():
            jmp("nowhere")  # noqa: F821
