"""Hardware watchdog and the cause of the last reset (hardware adapter).

    dog = Watchdog(profile.get("watchdog_ms", 0))   # 0: off (development)
    dog.feed()                                      # every service-loop pass
    reset_cause()                                   # "power", "watchdog" or "other"

Once started, the RP2040 watchdog cannot be stopped: a loop that hangs for
longer than the timeout resets the chip, and the board boots with outputs
off and reset_cause() == "watchdog".

machine.reset() (mpremote reset, after every deploy) also resets through the
watchdog (pico-sdk watchdog_reboot), so machine.reset_cause() reads WDT_RESET
after it too. The WATCHDOG registers, which survive the reset, tell them apart:
REASON reads FORCE after machine.reset() (the watchdog triggered at once) and
TIMER after a timeout, and as in pico-sdk's watchdog_enable_caused_reboot(),
SCRATCH4 holds the magic word machine.WDT() (watchdog_enable) writes, not the
0 of watchdog_reboot() (which a reboot with a delay, e.g. picotool's, sets TIMER
with). SCRATCH4 says so only until this boot starts its own watchdog.
"""

import machine

WDT_MAX_MS = 8388  # the RP2040's longest timeout
_WATCHDOG_REASON = 0x40058008  # the watchdog caused the last reset: bit 0 TIMER (timed out), bit 1 FORCE
_REASON_TIMER = 1
_WATCHDOG_SCRATCH4 = 0x4005801C
_NON_REBOOT_MAGIC = 0x6AB73121  # pico-sdk WATCHDOG_NON_REBOOT_MAGIC


def reset_cause():
    """The cause of the last reset: "watchdog" (a started watchdog timed out),
    "power" (power-on or RUN pin) or "other" (machine.reset(): a deliberate reboot)."""
    if machine.reset_cause() != machine.WDT_RESET:
        return "power"
    timed_out = machine.mem32[_WATCHDOG_REASON] & _REASON_TIMER  # mem32 reads are signed: mask
    if timed_out and machine.mem32[_WATCHDOG_SCRATCH4] & 0xFFFFFFFF == _NON_REBOOT_MAGIC:
        return "watchdog"
    return "other"


class Watchdog:
    def __init__(self, timeout_ms):
        if not 0 <= timeout_ms <= WDT_MAX_MS:
            raise ValueError("watchdog_ms %d outside 0..%d (0: off)" % (timeout_ms, WDT_MAX_MS))
        self._wdt = machine.WDT(timeout=timeout_ms) if timeout_ms else None
        self.timeout_ms = timeout_ms

    def feed(self):
        if self._wdt is not None:
            self._wdt.feed()
