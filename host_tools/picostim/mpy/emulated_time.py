"""The firmware's `time` on the virtual board: the emulated chip's clock.

vboard_main installs this module as `time` (and `utime`) before the firmware
loads. ticks_ms/ticks_us/ticks_cpu read the chip's cycle counter, and every
wait (sleep_*, and a select.poll that waits: see emulated_select) lets the
chip run for that long while the firmware waits, and no longer. So the
firmware's timers (ramps, cycling, train duration, timeouts) and the pulses
in the trace share one clock, exact whatever the host's load or speed.
Ticks wrap at 2**30, as on the Pico (a 32-bit port's small ints).
"""

import time as _host

import _chip

_MASK = (1 << 30) - 1
_HALF = 1 << 29
_CYCLES_PER_US = 125


# The cycle a wait ended on, and the link's call count then: until the next
# chip call the clock stands still (the firmware's own work takes no emulated
# time), so the first read after a wait needs no round trip. Later reads ask
# the chip, each costing a call's time, so a loop that polls the clock moves on.
_known_cycle = 0
_known_calls = -1  # no cycle known


def wait_us(us):
    """Let the chip run `us` microseconds (-1: until the host sends) while the firmware waits."""
    global _known_cycle, _known_calls
    link = _chip.backend
    _known_cycle = link.idle(us)
    _known_calls = link.calls


def _cycles():
    global _known_calls
    link = _chip.backend
    if _known_calls == link.calls:
        _known_calls = -1  # once: a loop that polls the clock must reach the chip
        return _known_cycle
    return link.clock_cycles()


def ticks_cpu():
    return _cycles() & _MASK


def ticks_us():
    return _cycles() // _CYCLES_PER_US & _MASK


def ticks_ms():
    return _cycles() // (_CYCLES_PER_US * 1000) & _MASK


def ticks_add(ticks, delta):
    if not -_HALF <= delta < _HALF:
        raise OverflowError("ticks interval overflow")
    return (ticks + delta) & _MASK


def ticks_diff(end, start):
    return ((end - start + _HALF) & _MASK) - _HALF


def sleep_us(us):
    if us > 0:
        wait_us(us)


def sleep_ms(ms):
    sleep_us(ms * 1000)


def sleep(seconds):
    sleep_us(int(seconds * 1000000))


# Calendar time is the host's (the Pico's RTC is not emulated).
time = _host.time
time_ns = _host.time_ns
gmtime = _host.gmtime
localtime = _host.localtime
mktime = _host.mktime
