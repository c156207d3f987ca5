"""Command dispatcher: one protocol line in, one answer line out (pure).

    commands = Commands(therapy, stim, auth, hello="picostim fw=... proto=1 board=pico contacts=8")
    commands.answer("SET amp=2.5mA", now_ms)   # "OK state=off ..." or "ERR <code> <message>"

The patient role (the handheld programmer) may turn stimulation on and off,
step the amplitude and change what the clinician allowed, select programs and
groups and restore the clinic settings. The clinician role (LOGIN + AUTH)
may do everything. A refused command changes nothing. See docs/PROTOCOL.md.
"""

import gc
from array import array

import protocol
from stim_program import E_RANGE, StimError
from therapy import CLINICIAN, E_ROLE, PATIENT, SLOTS

E_MEMORY = "MEMORY"
_NAMES = (
    "HELLO STATUS SET ON OFF STOP AMP PROGRAM PROGRAMS GROUP GROUPS RESTORE LIMITS TRAIN LOGIN AUTH LOGOUT DIAG"
).split()


class Commands:
    def __init__(self, therapy, stim, auth, hello, diag=None, describe_safety=None):
        self.therapy = therapy
        self.stim = stim
        self.auth = auth
        self.hello = hello
        self.diag = diag  # callable returning "key=value ..." diagnostics
        self.describe_safety = describe_safety  # callable(report) -> "key=value ..."
        self.report = therapy.check(therapy.program())
        # Custom train intervals (us), built with TRAIN ADD, and the buffer they
        # become cycles in: see allocate_train().
        self.train_capacity = therapy.limits.get("train_length", (1, 1024))[1]
        self.train = None
        self.train_cycles = None
        self.train_length = 0
        self.table = {}
        for name in _NAMES:
            self.table[name] = getattr(self, "_" + name.lower())

    def allocate_train(self):
        """The custom-train buffers, allocated once (the service does it at boot,
        so a long train never needs a big free block on a fragmented heap)."""
        if self.train is None:
            self.train = array("I", range(self.train_capacity))
            self.train_cycles = array("I", range(self.train_capacity))

    def role(self, now):
        return self.auth.role(now)

    def answer(self, line, now=0):
        if not line.split():
            return protocol.err(protocol.E_EMPTY, "empty line")
        name, args = protocol.split(line)
        handler = self.table.get(name)
        if handler is None:
            return protocol.err(protocol.E_UNKNOWN, "unknown command %r (known: %s)" % (name, " ".join(_NAMES)))
        for _attempt in (0, 1):
            try:
                role = self.role(now)
                if role == CLINICIAN:
                    self.auth.touch(now)
                return protocol.ok(handler(args, now, role))
            except StimError as e:
                return protocol.err(e.code, e.message)
            except MemoryError:  # a fragmented heap: collect once and try again
                gc.collect()
        return protocol.err(E_MEMORY, "out of memory; the command did not complete (see STATUS)")

    def status(self, now=0):
        stim, therapy = self.stim, self.therapy
        slot = therapy.active
        values = slot.program.as_dict()
        for key in slot.settings:
            values[key] = slot.settings[key]
        text = "state=%s pending=%d %s program=%d name=%s group=%s role=%s phase=%s out_amp=%duA stop=%s" % (
            stim.state(),
            1 if stim.pending() else 0,
            protocol.format_settings(values),
            slot.number,
            slot.name,
            therapy.group or "-",
            self.role(now),
            stim.phase or "-",
            stim.output_amp_ua(),
            stim.stop_reason,
        )
        if self.describe_safety and self.report is not None:
            text += " " + self.describe_safety(self.report)
        return text

    # -- helpers -------------------------------------------------------------------------
    def _no_args(self, args):
        if args:
            raise StimError(protocol.E_SYNTAX, "no arguments expected, got %r" % " ".join(args))

    def _clinician(self, role, what):
        if role != CLINICIAN:
            raise StimError(E_ROLE, "%s needs the clinician role (LOGIN, then AUTH)" % what)

    def _changed(self, report, now):
        self.report = report
        self.stim.apply(now)
        return self.status(now)

    # -- commands ----------------------------------------------------------------------------
    def _hello(self, args, now, role):
        self._no_args(args)
        self.auth.logout()  # a programmer (re)connected: no clinician session carries over
        return self.hello

    def _status(self, args, now, role):
        self._no_args(args)
        return self.status(now)

    def _set(self, args, now, role):
        return self._changed(self.therapy.change(protocol.parse_settings(args), role), now)

    def _on(self, args, now, role):
        self._no_args(args)
        self.stim.start(now)
        return self.status(now)

    def _off(self, args, now, role):
        self._no_args(args)
        self.stim.stop(now)
        return self.status(now)

    def _stop(self, args, now, role):
        self._no_args(args)
        self.stim.emergency_stop("command")
        return self.status(now)

    def _amp(self, args, now, role):
        if len(args) != 1 or args[0].upper() not in ("UP", "DOWN"):
            raise StimError(protocol.E_SYNTAX, "use AMP UP or AMP DOWN")
        return self._changed(self.therapy.step_amplitude(1 if args[0].upper() == "UP" else -1, role), now)

    def _program(self, args, now, role):
        if len(args) != 1 or not protocol.all_in(args[0], "0123456789") or len(args[0]) > 2:
            raise StimError(protocol.E_SYNTAX, "use PROGRAM <1..%d>" % SLOTS)
        self.report = self.therapy.select(int(args[0]))
        self.stim.restart(now)
        return self.status(now)

    def _programs(self, args, now, role):
        self._no_args(args)
        names = ["%d=%s" % (slot.number, slot.name) for slot in self.therapy.slots]
        return "active=%d %s" % (self.therapy.active.number, " ".join(names))

    def _group(self, args, now, role):
        if len(args) == 1:
            self.report = self.therapy.select_group(args[0])
            self.stim.restart(now)
            return self.status(now)
        if len(args) == 2 and protocol.all_in(args[1], "0123456789") and len(args[1]) <= 2:
            self._clinician(role, "defining a group")
            self.therapy.define_group(protocol.parse_name("group", args[0]), int(args[1]))
            return self._groups((), now, role)
        raise StimError(protocol.E_SYNTAX, "use GROUP <name> to select, GROUP <name> <program> to define")

    def _groups(self, args, now, role):
        self._no_args(args)
        groups = self.therapy.groups
        listed = " ".join(["%s=%d" % (name, groups[name]) for name in sorted(groups)])
        return ("active=%s %s" % (self.therapy.group or "-", listed)).strip()

    def _restore(self, args, now, role):
        self._no_args(args)
        self.report = self.therapy.restore()
        self.stim.apply(now)
        return self.status(now)

    def _limits(self, args, now, role):
        self._no_args(args)
        slot = self.therapy.active
        values = {"patient_keys": slot.patient_keys}
        for field in slot.window:
            values[field + "_min"], values[field + "_max"] = slot.window[field]
        return "program=%d %s" % (slot.number, protocol.format_settings(values, protocol.LIMIT_KEYS))

    def _train(self, args, now, role):
        """TRAIN | TRAIN CLEAR | TRAIN ADD <t> <t> ... | TRAIN PLAY [LOOP]"""
        verb = args[0].upper() if args else ""
        self.allocate_train()
        train = self.train
        assert train is not None
        longest = self.train_capacity
        if verb == "":
            return "length=%d max=%d" % (self.train_length, longest)
        if verb not in ("CLEAR", "ADD", "PLAY"):
            raise StimError(protocol.E_SYNTAX, "use TRAIN, TRAIN CLEAR, TRAIN ADD <t>..., TRAIN PLAY [LOOP]")
        self._clinician(role, "TRAIN " + verb)
        if verb == "CLEAR" and len(args) == 1:
            self.train_length = 0
        elif verb == "ADD" and len(args) > 1:
            n = self.train_length
            if n + len(args) - 1 > longest:
                raise StimError(E_RANGE, "a train holds at most %d intervals" % longest)
            for i in range(1, len(args)):  # a bad one adds nothing: the length moves last
                train[n + i - 1] = protocol.parse_quantity("interval", args[i], protocol.TIME_UNITS)
            self.train_length = n + len(args) - 1
        elif verb == "PLAY" and len(args) <= 2 and (len(args) == 1 or args[1].upper() == "LOOP"):
            intervals = memoryview(train)[: self.train_length]
            self.stim.play_train(now, intervals, len(args) == 2, self.train_cycles)
            return self.status(now)
        else:
            raise StimError(protocol.E_SYNTAX, "use TRAIN, TRAIN CLEAR, TRAIN ADD <t>..., TRAIN PLAY [LOOP]")
        return "length=%d max=%d" % (self.train_length, longest)

    def _login(self, args, now, role):
        self._no_args(args)
        self.auth.logout()  # a new login attempt ends any clinician session first
        return "nonce=" + self.auth.challenge(now)

    def _auth(self, args, now, role):
        if len(args) != 1:
            raise StimError(protocol.E_SYNTAX, "use AUTH <hex HMAC-SHA256 of the nonce>")
        self.auth.respond(args[0], now)
        return "role=" + CLINICIAN

    def _logout(self, args, now, role):
        self._no_args(args)
        self.auth.logout()
        return "role=" + PATIENT

    def _diag(self, args, now, role):
        self._no_args(args)
        return self.diag() if self.diag else ""
