"""Chip-model link for the virtual board (runs under MicroPython).

The `machine`/`rp2` stand-ins call `_chip.backend.<method>(args)`; in the
virtual board that backend is a ChipLink, which sends each call as one text
line to the chip-model process and waits for its one-line reply:

    request:  "<method> <arg> <arg>...\n"   (ints, or names without spaces)
    reply:    "=<int>\n", "=\n" (None) or "!<message>\n" (raises OSError)
"""

_PUT_RETRY_US = 10  # a full TX FIFO: let the chip run this long before trying again


class ChipLink:
    def __init__(self, request_path, reply_path):
        self._out = open(request_path, "wb")
        self._in = open(reply_path, "rb")
        self._owed = 0  # replies to calls a KeyboardInterrupt cut short
        self.calls = 0  # calls made (emulated_time: a clock read is current until the next call)

    def call(self, name, args):
        self.calls += 1
        parts = [name]
        for arg in args:
            parts.append(str(int(arg)) if isinstance(arg, bool) else str(arg))
        while self._owed:  # never take an earlier call's reply for this one
            self._in.readline()
            self._owed -= 1
        self._out.write((" ".join(parts) + "\n").encode())
        self._owed = 1
        reply = self._in.readline()
        self._owed = 0
        if not reply:
            raise OSError("chip model gone")
        if reply[:1] == b"!":
            message = reply[1:].strip().decode()
            if message == "KeyboardInterrupt":  # the virtual board is stopping
                raise KeyboardInterrupt
            raise OSError(message)
        value = reply[1:].strip()
        return int(value) if value else None

    def sm_put(self, pio, sm, word):
        # A full TX FIFO blocks put() on the chip until the SM pulls a word.
        while not self.call("sm_put", (pio, sm, word)):
            self.call("idle", (_PUT_RETRY_US,))
        return True

    def __getattr__(self, name):
        def remote(*args):
            return self.call(name, args)

        return remote
