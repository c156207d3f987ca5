"""The emergency-stop button (hardware adapter): the BOOTSEL button, or a GPIO
to ground with the internal pull-up, as the board profile's "button" says."""

import machine
import rp2


class Button:
    def __init__(self, spec):
        self._pin = None
        if spec != "bootsel":
            self._pin = machine.Pin(spec, machine.Pin.IN, machine.Pin.PULL_UP)
        self._was = False

    def pressed(self):
        if self._pin is None:
            return bool(rp2.bootsel_button())
        return self._pin.value() == 0

    def pushed(self):
        """True once per press (on the edge)."""
        now = self.pressed()
        edge = now and not self._was
        self._was = now
        return edge
