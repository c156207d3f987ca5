"""Hardware watchdog and the cause of the last reset (hardware adapter).

    dog = Watchdog(profile.get("watchdog_ms", 0))   # 0: off (development)
    dog.feed()                                      # every service-loop pass
    reset_cause()                                   # "power", "watchdog" or "other"

Once started, the RP2040 watchdog cannot be stopped: a loop that hangs for
longer than the timeout resets the chip, and the board boots with outputs
off and reset_cause() == "watchdog".
"""

import machine

WDT_MAX_MS = 8388  # the RP2040's longest timeout


def reset_cause():
    cause = machine.reset_cause()
    if cause == machine.WDT_RESET:
        return "watchdog"
    if cause == machine.PWRON_RESET:
        return "power"
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
