"""Command dispatcher: one protocol line in, one answer line out (pure).

    commands = Commands(stim, hello="picostim fw=0.3.0 proto=1 board=pico contacts=8")
    commands.answer("SET amp=2.5mA")   # "OK state=off pending=0 amp=2500uA ..."

Every answer is "OK ..." or "ERR <code> <message>"; a refused command
changes nothing. See docs/PROTOCOL.md for the commands.
"""

import protocol
from stim_program import StimError


class Commands:
    def __init__(self, stim, hello, diag=None):
        self.stim = stim
        self.hello = hello
        self.diag = diag  # callable returning "key=value ..." diagnostics
        self.names = ("HELLO", "STATUS", "SET", "ON", "OFF", "STOP", "AMP", "DIAG")  # for messages, in order
        self.table = {
            "HELLO": self._hello,
            "STATUS": self._status,
            "SET": self._set,
            "ON": self._on,
            "OFF": self._off,
            "STOP": self._stop,
            "AMP": self._amp,
            "DIAG": self._diag,
        }

    def answer(self, line):
        if not line.split():
            return protocol.err(protocol.E_EMPTY, "empty line")
        name, args = protocol.split(line)
        handler = self.table.get(name)
        if handler is None:
            return protocol.err(protocol.E_UNKNOWN, "unknown command %r (known: %s)" % (name, " ".join(self.names)))
        try:
            return protocol.ok(handler(args))
        except StimError as e:
            return protocol.err(e.code, e.message)

    def status(self):
        stim = self.stim
        head = "state=%s pending=%d " % (stim.state(), 1 if stim.pending() else 0)
        return head + protocol.format_settings(stim.settings())

    def _no_args(self, args):
        if args:
            raise StimError(protocol.E_SYNTAX, "no arguments expected, got %r" % " ".join(args))

    def _hello(self, args):
        self._no_args(args)
        return self.hello

    def _status(self, args):
        self._no_args(args)
        return self.status()

    def _set(self, args):
        self.stim.set(protocol.parse_settings(args))
        return self.status()

    def _on(self, args):
        self._no_args(args)
        self.stim.start()
        return self.status()

    def _off(self, args):
        self._no_args(args)
        self.stim.stop()
        return self.status()

    def _stop(self, args):
        self._no_args(args)
        self.stim.stop()
        return self.status()

    def _amp(self, args):
        if len(args) != 1 or args[0].upper() not in ("UP", "DOWN"):
            raise StimError(protocol.E_SYNTAX, "use AMP UP or AMP DOWN")
        self.stim.amp_step(1 if args[0].upper() == "UP" else -1)
        return self.status()

    def _diag(self, args):
        self._no_args(args)
        return self.diag() if self.diag else ""
