"""The firmware's `select` on the virtual board: a poll() that waits in
emulated time (see emulated_time).

When nothing is ready, poll(timeout) asks the chip model to run the chip for
up to `timeout` while the firmware waits; the model ends the wait early, with
the bytes already in the firmware's stdin, when the host sends some. The
readiness itself is the host's real poll of the stream.
"""

import select as _host

import emulated_time

POLLIN = _host.POLLIN
POLLOUT = _host.POLLOUT
POLLERR = _host.POLLERR
POLLHUP = _host.POLLHUP


class _Poll:
    def __init__(self):
        self._poll = _host.poll()

    def register(self, obj, mask=POLLIN | POLLOUT):
        self._poll.register(obj, mask)

    def modify(self, obj, mask):
        self._poll.modify(obj, mask)

    def unregister(self, obj):
        self._poll.unregister(obj)

    def poll(self, timeout=-1):
        ready = self._poll.poll(0)
        if ready or timeout == 0:
            return ready
        emulated_time.wait_us(-1 if timeout < 0 else timeout * 1000)
        return self._poll.poll(0)


def poll():
    return _Poll()
