"""The host `machine`/`rp2` stand-ins refuse and report what MicroPython's rp2
port does (ports/rp2/modmachine.c, machine_pin.c, rp2_pio.c, extmod/machine_mem.c),
so the firmware cannot pass here and fail on a Pico. Each check runs the
stand-ins in this process against the chip model."""

import pytest
from picostim.chip import firmware_host
from picostim.chip.model import (
    NON_REBOOT_MAGIC,
    PWRON_RESET,
    REASON_FORCE,
    REASON_TIMER,
    SRAM_BASE,
    WATCHDOG_BASE,
    WDT_RESET,
    ChipError,
    ChipModel,
)

SCRATCH4 = WATCHDOG_BASE + 0x1C
REASON = WATCHDOG_BASE + 0x08
_SM0_CLKDIV = 0x502000C8  # PIO0 SM0_CLKDIV


@pytest.fixture
def chip():
    return firmware_host.attach(ChipModel())


# -- machine.mem32 --------------------------------------------------------------------


def test_mem32_reads_are_signed_32_bit_as_on_the_port(chip):
    import machine

    machine.mem32[SRAM_BASE] = 0x80000001
    machine.mem32[SRAM_BASE + 4] = 0x7FFFFFFF
    assert machine.mem32[SRAM_BASE] == 0x80000001 - (1 << 32)
    assert machine.mem32[SRAM_BASE + 4] == 0x7FFFFFFF
    machine.mem32[SRAM_BASE + 8] = -1  # a negative store is the same word
    assert chip.mem32_read(SRAM_BASE + 8) == 0xFFFFFFFF


def test_the_watchdog_scratch_registers_are_reachable_and_reason_is_read_only(chip):
    import machine

    machine.mem32[WATCHDOG_BASE + 0x0C] = 0xDEADBEEF
    assert machine.mem32[WATCHDOG_BASE + 0x0C] & 0xFFFFFFFF == 0xDEADBEEF
    assert machine.mem32[REASON] == 0
    with pytest.raises(ChipError, match="read-only"):
        machine.mem32[REASON] = 1
    with pytest.raises(ChipError, match="not emulated"):
        chip.mem32_read(WATCHDOG_BASE)  # CTRL: the watchdog's timer is the model's own


# -- reset cause ----------------------------------------------------------------------


def _reboot_after(chip, action):
    action()
    assert chip.watchdog_expired()
    chip.watchdog_reset()  # what the virtual board does when it sees that
    chip.reset_peripherals()


def test_machine_reset_reboots_through_the_watchdog_and_reads_wdt_reset(chip):
    import machine
    from picostim_fw import watchdog

    assert (machine.reset_cause(), watchdog.reset_cause()) == (PWRON_RESET, "power")
    machine.WDT(timeout=1000)
    with pytest.raises(SystemExit):
        machine.reset()  # never returns, as on the port
    _reboot_after(chip, lambda: None)
    assert chip.mem32_read(REASON) == REASON_FORCE
    assert machine.reset_cause() == WDT_RESET  # as the port reports it after machine.reset()
    assert watchdog.reset_cause() == "other"  # but no watchdog timeout
    watchdog.Watchdog(300)  # the new boot starts its watchdog (SCRATCH4: the magic again) before it asks
    assert watchdog.reset_cause() == "other"


def test_a_watchdog_timeout_still_reads_watchdog(chip):
    import machine
    from picostim_fw import watchdog

    machine.WDT(timeout=10)
    assert chip.mem32_read(SCRATCH4) == NON_REBOOT_MAGIC
    _reboot_after(chip, lambda: chip.run(2 * 125_000 * 10))
    assert chip.mem32_read(REASON) == REASON_TIMER
    assert (machine.reset_cause(), watchdog.reset_cause()) == (WDT_RESET, "watchdog")
    chip.power_on_reset()
    assert (machine.reset_cause(), watchdog.reset_cause()) == (PWRON_RESET, "power")
    assert chip.mem32_read(SCRATCH4) == 0


def test_a_delayed_reboot_is_no_watchdog_timeout(chip):
    """pico-sdk watchdog_reboot(0, 0, delay) (picotool's reboot): REASON reads TIMER,
    but SCRATCH4 holds 0, not the magic of an enabled watchdog."""
    import machine
    from picostim_fw import watchdog

    machine.WDT(timeout=10)
    machine.mem32[SCRATCH4] = 0
    _reboot_after(chip, lambda: chip.run(2 * 125_000 * 10))
    assert chip.mem32_read(REASON) == REASON_TIMER
    assert watchdog.reset_cause() == "other"


def test_reset_cause_handles_a_scratch_word_that_reads_negative(chip):
    import machine
    from picostim_fw import watchdog

    machine.WDT(timeout=10)
    _reboot_after(chip, lambda: chip.run(2 * 125_000 * 10))
    machine.mem32[SCRATCH4] = NON_REBOOT_MAGIC | 0x80000000  # not the magic, though equal in 31 bits
    assert watchdog.reset_cause() == "other"


# -- rp2.StateMachine(freq=) ----------------------------------------------------------


def _program():
    import rp2

    @rp2.asm_pio()
    def loop():
        nop()  # noqa: F821 - a PIO instruction inside asm_pio

    return loop


@pytest.mark.parametrize("freq", [125_000_001, 250_000_000, 1_907])
def test_state_machine_freq_out_of_range_is_refused_as_on_the_port(chip, freq):
    import rp2

    with pytest.raises(ValueError, match="^freq out of range$"):
        rp2.StateMachine(0, _program(), freq=freq)


@pytest.mark.parametrize(
    ("freq", "clkdiv"),
    [
        (125_000_000, 1 << 16),
        (-1, 1 << 16),
        (0, 0),  # divides by 65536
        (1_908, 65513 << 16 | 160 << 8),  # 125 MHz * 256 // 1908 = 16771488 = 65513 * 256 + 160
        (3_000_000, 41 << 16 | 170 << 8),  # 41.666..: truncated to 41 + 170/256, not rounded
    ],
)
def test_state_machine_divider_is_the_ports(chip, freq, clkdiv):
    import rp2

    rp2.StateMachine(0, _program(), freq=freq)
    assert chip.mem32_read(_SM0_CLKDIV) == clkdiv


# -- machine.Pin pulls ------------------------------------------------------------------


def test_pin_without_a_pull_argument_sets_no_pull_as_on_the_port(chip):
    import machine

    assert chip.pulls[5] == 2  # the pad's reset state: pull-down
    machine.Pin(5)  # the id alone configures nothing
    assert chip.pulls[5] == 2
    machine.Pin(5, machine.Pin.IN, machine.Pin.PULL_UP)
    assert chip.pulls[5] == 1
    machine.Pin(5, machine.Pin.IN)
    assert chip.pulls[5] == 0
    pin = machine.Pin(5, machine.Pin.OUT, machine.Pin.PULL_DOWN, value=1)
    assert chip.pulls[5] == 2
    pin.init(value=0)
    assert chip.pulls[5] == 0
