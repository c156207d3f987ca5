"""Command dispatcher: one protocol line in, one answer line out (pure).

    commands = Commands(therapy, stim, auth, hello="picostim fw=... proto=1 board=pico contacts=8",
                        log=EventLog(None, "/events.log"), save=store_settings)
    commands.answer("SET amp=2.5mA", now_ms)   # "OK state=off ..." or "ERR <code> <message>"
    commands.answer("LOG 1 16", now_ms)   # ("OK ", "count=16 ...", " | 1,...", ...): a long answer in parts
    commands.log_event("STOP", "device", "reason=button", now_ms)   # events the service sees

The patient role (the handheld programmer) may turn stimulation on and off,
step the amplitude and change what the clinician allowed, select programs and
groups and restore the clinic settings. The clinician role (LOGIN + AUTH)
may do everything. A refused command changes nothing. See docs/PROTOCOL.md.

With a log (event_log.EventLog), every accepted change is logged with the role
that made it, and so is every refused login; never a key or a login answer.
A failed log write does not undo or refuse the command: its code goes to
`faults` (STATUS shows the newest as fault=) and a FAULT record says how many
records were lost once the log writes again. Every accepted change of stored
settings (SET, AMP, PROGRAM, GROUP, RESTORE) marks them unsaved; `persist()`
then calls `save()` once for any number of changes and writes the log's held
records, so the flash is written after the answers, not before (the service
calls it when the host is quiet). `save()` may raise StimError with a stable
code (or OSError), which also goes to `faults`.
"""

import gc
from array import array

from . import protocol
from .stim_program import E_RANGE, StimError
from .therapy import CLINICIAN, E_ROLE, PATIENT, SLOTS

E_MEMORY = "MEMORY"
E_LOG_OPEN = "LOG_OPEN"  # no event log: it could not be opened at boot
E_SAVE = "SAVE"  # save() failed with an OSError
_NAMES = (
    "HELLO STATUS SET ON OFF STOP AMP PROGRAM PROGRAMS GROUP GROUPS RESTORE LIMITS TRAIN LOGIN AUTH LOGOUT DIAG LOG "
    "REPL ADAPTIVE IMPEDANCE ECHO"
).split()
DEVICE = "device"  # the role of events the board makes itself (boot, faults, the button)
LOG_PAGE = 16  # records in one LOG answer at most
LOG_NEWEST = 10  # records in the answer to a bare LOG
_SET_KEYS = protocol.STATUS_KEYS + protocol.LIMIT_KEYS + ("name",)  # what a SET record shows


class Commands:
    def __init__(self, therapy, stim, auth, hello, diag=None, describe_safety=None, log=None, save=None):
        self.therapy = therapy
        self.stim = stim
        self.auth = auth
        self.hello = hello
        self.diag = diag  # callable returning "key=value ..." diagnostics
        self.describe_safety = describe_safety  # callable(report) -> "key=value ..."
        self.log = log  # an event_log.EventLog, or None
        self.save = save  # callable(): store the settings
        self.faults = []  # stable fault codes, most recent last, each once; empty: none
        self.leave = False  # REPL: the service loop ends after this answer
        self.echo = False  # ECHO ON: the service echoes typed bytes (line_reader) for a person at a terminal
        self.log_fault = None  # code of the failed log writes not yet recorded as FAULT
        self.log_lost = 0  # records lost since
        self._kept_settings = None  # (program, settings, STATUS text) of the last STATUS
        self.unsaved = False  # stored settings changed since the last save
        self.since = 0  # ms of the oldest change not yet on flash (settings or log)
        self.saves = 0  # persist() calls that wrote something
        self.save_ms = 0  # how long the last one took (DIAG)
        self.report = therapy.check(therapy.program())
        # Custom train intervals (us), built with TRAIN ADD, and the buffer they
        # become cycles in: see allocate_train().
        self.train_capacity = therapy.limits.get("train_length", (1, 1024))[1]
        self.train = None
        self.train_cycles = None
        self.train_length = 0
        # Lead impedance: the check (impedance.LeadCheck; the service sets it) and,
        # once it has run, the lead.LeadStatus of its verdicts, which stimulation
        # must respect (the lead module loads with the check, not before).
        self.lead_check = None
        self.lead = None
        self._lead_rule(therapy, stim)
        self.table = {}
        for name in _NAMES:
            self.table[name] = getattr(self, "_" + name.lower())

    def allocate_train(self):
        """The custom-train buffers, allocated once (the service does it at boot,
        so a long train never needs a big free block on a fragmented heap)."""
        if self.train is None:
            self.train = array("I", range(self.train_capacity))
            self.train_cycles = array("I", range(self.train_capacity))

    def _lead_rule(self, therapy, stim):
        """While stimulation is on, no change (SET, AMP, PROGRAM, GROUP, RESTORE,
        a posture) may bring in a contact the lead check flagged: the therapy's
        check refuses it before anything is stored. ON and TRAIN PLAY ask
        self.lead themselves."""
        check = therapy.safety_check

        def lead_check(program):
            if stim.on:
                self._lead_refuse(program)
            return check(program) if check else None

        therapy.safety_check = lead_check

    def _lead_refuse(self, program):
        if self.lead is not None:
            self.lead.refuse(program)  # StimError LEAD for a contact found open or shorted

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

    def _settings_text(self, slot):
        """The slot's settings as STATUS shows them; kept until the slot's program or
        settings change (both are replaced, never changed in place): on a Pico the
        text takes 8 ms to build, half of a STATUS."""
        program, settings = slot.program, slot.settings
        kept = self._kept_settings
        if kept is None or kept[0] is not program or kept[1] is not settings:
            values = program.as_dict()
            for key in settings:
                values[key] = settings[key]
            kept = self._kept_settings = (program, settings, protocol.format_settings(values))
        return kept[2]

    def status(self, now=0):
        """The STATUS text, formatted in one go: every concatenation of a text
        this long copies all of it (some 400 B, on the answer path)."""
        stim, therapy = self.stim, self.therapy
        slot = therapy.active
        numbers = therapy.numbers()
        adaptive = therapy.adaptive
        report = self.report if self.describe_safety else None
        return (
            "state=%s pending=%d %s program=%d name=%s group=%s members=%s role=%s phase=%s out_amp=%duA stop=%s"
            "%s%s posture=%s adaptive=%s fault=%s"
        ) % (
            stim.state(),
            1 if stim.pending() else 0,
            self._settings_text(slot),
            slot.number,
            slot.name,
            therapy.group or "-",
            _numbers(numbers) if numbers else "%d" % slot.number,
            self.role(now),
            stim.phase or "-",
            stim.output_amp_ua(),
            stim.stop_reason,
            "" if report is None else " ",
            "" if report is None else self.describe_safety(report),
            adaptive.posture or "-",
            "on" if adaptive.enabled else "off",
            self.faults[-1] if self.faults else "-",
        )

    # -- log and faults ----------------------------------------------------------------
    def fault(self, code):
        """Note a fault code (once: a repeated one moves to the end)."""
        faults = self.faults
        if code in faults:
            faults.remove(code)
        faults.append(code)

    def log_event(self, kind, role, detail="", now=0):
        """Log one event; its seq, or None without a log or when the write failed
        (the fault is noted; the caller goes on)."""
        log = self.log
        if log is None:
            return None
        self._waiting(now)
        code = E_MEMORY
        lost = 1
        for _attempt in (0, 1):
            try:
                if self.log_lost:
                    log.append("FAULT", DEVICE, "code=%s lost=%d" % (self.log_fault, self.log_lost), now)
                    self.log_lost = 0
                    self.log_fault = None
                return log.append(kind, role, detail, now)
            except StimError as e:  # event_log.LogError: the flash write failed
                code, lost = e.code, log.dropped
                break
            except OSError:
                code = "LOG_WRITE"
                break
            except MemoryError:
                gc.collect()
        self._lost(code, lost)
        return None

    def _lost(self, code, count):
        self.log_fault = code
        self.log_lost += count
        self.fault(code)

    def _waiting(self, now):
        """Something is about to wait for persist(): from `now`, unless something already does."""
        if not self.pending():
            self.since = now

    def pending(self):
        """Whether anything waits for persist(): settings or log records."""
        return self.unsaved or (self.log is not None and self.log.pending > 0)

    def persist(self, clock=None):
        """Write what waits: the settings (one save for every change since the
        last), then the log's held records. A failure is a fault, as when the
        write was on the answer path; `clock()` times it for DIAG."""
        if not self.pending():
            return
        start = clock() if clock else 0
        if self.unsaved and self.save is not None:
            self.unsaved = False
            try:
                self.save()
            except StimError as e:
                self.fault(e.code)
            except OSError:
                self.fault(E_SAVE)
        log = self.log
        if log is not None and log.pending:
            try:
                log.flush()
            except StimError as e:  # event_log.LogError
                self._lost(e.code, log.dropped)
        self.saves += 1
        self.save_ms = clock() - start if clock else 0

    def _accepted(self, kind, role, detail, now, stored=True):
        """An accepted change: store the settings (when they changed), then log it.
        A patient's choice of program and amplitude is AdaptiveStim's memory
        for the posture the patient is in."""
        if role == PATIENT and stored:
            therapy = self.therapy
            adaptive = therapy.adaptive
            if therapy.numbers() is not None:  # a group of several programs: its name and every member's amp
                amps = tuple([slot.program.amp_ua for slot in therapy.members()])
                adaptive.remember(adaptive.posture, therapy.group, amps)
            else:
                adaptive.remember(adaptive.posture, therapy.active.number, therapy.program().amp_ua)
        if stored and self.save is not None:
            self._waiting(now)
            self.unsaved = True
        self.log_event(kind, role, detail, now)

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

    # -- commands ----------------------------------------------------------------------------
    def _hello(self, args, now, role):
        self._no_args(args)
        self.auth.logout()  # a programmer (re)connected: no clinician session carries over
        self.echo = False  # nor a person's echo, which a program would read as answers
        if role == CLINICIAN:
            self.log_event("LOGOUT", role, "reason=hello", now)
        return self.hello

    def _echo(self, args, now, role):
        """ECHO | ECHO ON|OFF: echo typed characters (either role; not stored)."""
        if len(args) > 1 or (args and args[0].upper() not in ("ON", "OFF")):
            raise StimError(protocol.E_SYNTAX, "use ECHO, ECHO ON or ECHO OFF")
        if args:
            self.echo = args[0].upper() == "ON"
        return "echo=" + ("on" if self.echo else "off")

    def _status(self, args, now, role):
        self._no_args(args)
        return self.status(now)

    def _set(self, args, now, role):
        changes = protocol.parse_settings(args)
        self._changed(self.therapy.change(changes, role), now)
        self._accepted("SET", role, protocol.format_settings(changes, _SET_KEYS), now)
        return self.status(now)

    def _on(self, args, now, role):
        self._no_args(args)
        was_on = self.stim.on
        if not was_on:
            for slot in self.therapy.members():
                self._lead_refuse(slot.program)
        self.stim.start(now)
        if not was_on:
            program = self.therapy.program()
            detail = "program=%d amp=%duA" % (self.therapy.active.number, program.amp_ua)
            self._accepted("ON", role, detail, now, stored=False)
        return self.status(now)

    def _off(self, args, now, role):
        self._no_args(args)
        was_on = self.stim.on
        self.stim.stop(now)
        if was_on:
            self._accepted("OFF", role, "", now, stored=False)
        return self.status(now)

    def _stop(self, args, now, role):
        self._no_args(args)
        self.stim.emergency_stop("command")
        self._accepted("STOP", role, "reason=command", now, stored=False)
        return self.status(now)

    def _amp(self, args, now, role):
        """AMP UP|DOWN: the active program (a group's focused member); AMP UP|DOWN
        ALL: every member of the running group, ratios kept (GroupAdjust)."""
        every = len(args) == 2 and args[1].upper() == "ALL"
        if not (len(args) == 1 or every) or args[0].upper() not in ("UP", "DOWN"):
            raise StimError(protocol.E_SYNTAX, "use AMP UP, AMP DOWN, AMP UP ALL or AMP DOWN ALL")
        direction = 1 if args[0].upper() == "UP" else -1
        therapy = self.therapy
        self._changed(therapy.step_group(direction, role) if every else therapy.step_amplitude(direction, role), now)
        amps = ",".join(["%d" % slot.program.amp_ua for slot in therapy.members()])
        self._accepted("AMP", role, "amp=%suA" % amps if every else "amp=%duA" % therapy.program().amp_ua, now)
        return self.status(now)

    def _program(self, args, now, role):
        if len(args) != 1 or not protocol.is_number(args[0], 2):
            raise StimError(protocol.E_SYNTAX, "use PROGRAM <1..%d>" % SLOTS)
        if self.therapy.focus(int(args[0])):  # a member of the running group: nothing else changes
            self.report = self.therapy.check(self.therapy.program())
        else:
            self.report = self.therapy.select(int(args[0]))
            self.stim.restart(now)
        slot = self.therapy.active
        self._accepted("PROGRAM", role, "program=%d name=%s" % (slot.number, slot.name), now)
        return self.status(now)

    def _programs(self, args, now, role):
        self._no_args(args)
        names = ["%d=%s" % (slot.number, slot.name) for slot in self.therapy.slots]
        return "active=%d %s" % (self.therapy.active.number, " ".join(names))

    def _group(self, args, now, role):
        if len(args) == 1:
            self.report = self.therapy.select_group(args[0])
            self.stim.restart(now)
            detail = "select=%s program=%d" % (args[0], self.therapy.active.number)
            self._accepted("GROUP", role, detail, now)
            return self.status(now)
        numbers = _parse_numbers(args[1]) if len(args) == 2 else None
        if numbers is not None:
            self._clinician(role, "defining a group")
            name = protocol.parse_name("group", args[0])
            running = self.therapy.members()
            self.therapy.define_group(name, numbers)
            if self.therapy.members() != running:  # the selected group changed its members
                self.stim.restart(now)
            self._accepted("GROUP", role, "define=%s program=%s" % (name, _numbers(numbers)), now)
            return self._groups((), now, role)
        raise StimError(
            protocol.E_SYNTAX, "use GROUP <name> to select, GROUP <name> <program>[,<program>...] to define (1..4)"
        )

    def _groups(self, args, now, role):
        self._no_args(args)
        groups = self.therapy.groups
        listed = " ".join(["%s=%s" % (name, _numbers(groups[name])) for name in sorted(groups)])
        return ("active=%s %s" % (self.therapy.group or "-", listed)).strip()

    def _restore(self, args, now, role):
        self._no_args(args)
        self.report = self.therapy.restore()
        self.stim.apply(now)
        detail = "program=%d amp=%duA" % (self.therapy.active.number, self.therapy.program().amp_ua)
        self._accepted("RESTORE", role, detail, now)
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
            slowest = 1000000 // self.therapy.limits["rate_hz"][0]  # us: one period at the lowest rate
            for i in range(1, len(args)):  # a bad one adds nothing: the length moves last
                us = protocol.parse_quantity("interval", args[i], protocol.TIME_UNITS)
                if not 1 <= us <= slowest:
                    raise StimError(E_RANGE, "interval=%dus outside 1..%dus" % (us, slowest))
                train[n + i - 1] = us
            self.train_length = n + len(args) - 1
        elif verb == "PLAY" and len(args) <= 2 and (len(args) == 1 or args[1].upper() == "LOOP"):
            intervals = memoryview(train)[: self.train_length]
            self._lead_refuse(self.therapy.program())
            self.stim.play_train(now, intervals, len(args) == 2, self.train_cycles)
            detail = "play intervals=%d loop=%d" % (self.train_length, 1 if len(args) == 2 else 0)
            self._accepted("TRAIN", role, detail, now, stored=False)
            return self.status(now)
        else:
            raise StimError(protocol.E_SYNTAX, "use TRAIN, TRAIN CLEAR, TRAIN ADD <t>..., TRAIN PLAY [LOOP]")
        return "length=%d max=%d" % (self.train_length, longest)

    def _login(self, args, now, role):
        self._no_args(args)
        self.auth.logout()  # a new login attempt ends any clinician session first
        if role == CLINICIAN:
            self.log_event("LOGOUT", role, "reason=login", now)
        try:
            return "nonce=" + self.auth.challenge(now)
        except StimError as e:
            self._login_failed("login", e.code, role, now)
            raise

    def _auth(self, args, now, role):
        if len(args) != 1:
            raise StimError(protocol.E_SYNTAX, "use AUTH <hex HMAC-SHA256 of the nonce>")
        try:
            self.auth.respond(args[0], now)
        except StimError as e:
            self._login_failed("auth", e.code, role, now)
            raise
        self.log_event("LOGIN", CLINICIAN, "", now)
        return "role=" + CLINICIAN

    def _login_failed(self, step, code, role, now):
        """A refused LOGIN or AUTH: the step, the code and the failure count (never
        the answer that was sent)."""
        self.log_event("LOGIN_FAIL", role, "step=%s code=%s failures=%d" % (step, code, self.auth.failures()), now)

    def _logout(self, args, now, role):
        self._no_args(args)
        self.auth.logout()
        if role == CLINICIAN:
            self.log_event("LOGOUT", role, "reason=command", now)
        return "role=" + PATIENT

    def _diag(self, args, now, role):
        self._no_args(args)
        return self.diag() if self.diag else ""

    def posture_changed(self, posture, now):
        """A new stable posture (posture.py, after its stability timer): log
        it; with AdaptiveStim on, move to what the patient chose there last,
        with a ramp: a soft start for another program, a glide for another
        amplitude. Returns an event text, or None."""
        therapy = self.therapy
        adaptive = therapy.adaptive
        adaptive.posture = posture
        target = adaptive.target(posture, therapy.amp_window, therapy.members_of)
        self.log_event("POSTURE", DEVICE, posture, now)
        numbers = therapy.numbers()
        if target is None and numbers is not None:  # a group: each member down to this posture's limit
            amps = []
            for slot in therapy.members():
                amps.append(min(slot.program.amp_ua, adaptive.limit(posture, therapy.amp_window(slot.number)[1])))
            if amps == [slot.program.amp_ua for slot in therapy.members()]:
                return "POSTURE " + posture
            target = (therapy.group, tuple(amps))
        if target is not None and isinstance(target[0], str):
            return self._adaptive_group(posture, target[0], target[1], now)
        active = therapy.active.number
        if target is None:
            limit = adaptive.limit(posture, therapy.amp_window(active)[1])
            if therapy.program().amp_ua <= limit:
                return "POSTURE " + posture
            target = (active, limit)  # above this posture's limit: down to it, with a glide
        number, amp = target
        group, report, amp_before = therapy.group, self.report, self.stim.output_amp_ua()
        try:
            if number != active:
                self.report = therapy.select(number)
            self.report = therapy.change({"amp_ua": amp}, PATIENT)  # the patient's own window and locks
        except StimError as e:
            if number != active:  # all or nothing: back to the program it was on
                therapy.select(active)
                therapy.group, self.report = group, report
            self.log_event("ADAPTIVE", DEVICE, "posture=%s refused %s" % (posture, e.code), now)
            return "POSTURE " + posture
        if number != active:
            self.stim.restart(now)
        else:
            self.stim.glide(now, amp_before)
        self._accepted("ADAPTIVE", DEVICE, "posture=%s program=%d amp=%duA" % (posture, number, amp), now)
        return "POSTURE %s program=%d amp=%duA" % (posture, number, amp)

    def _adaptive_group(self, posture, name, amps, now):
        """AdaptiveStim to a group of several programs and its members'
        amplitudes, all or nothing: a soft start for another group, a glide
        of every member together for the one running."""
        therapy = self.therapy
        group, active, report = therapy.group, therapy.active.number, self.report
        switching = group != name
        before = self.stim.output_amps()
        try:
            if switching:
                self.report = therapy.select_group(name)
            self.report = therapy.set_amps(amps, PATIENT) or self.report  # the patient's own windows and locks
        except StimError as e:
            if switching:  # back to what ran
                therapy.select(active)
                therapy.group, self.report = group, report
            self.log_event("ADAPTIVE", DEVICE, "posture=%s refused %s" % (posture, e.code), now)
            return "POSTURE " + posture
        if switching:
            self.stim.restart(now)
        else:
            self.stim.glide(now, before)
        detail = "posture=%s group=%s amp=%suA" % (posture, name, ",".join(["%d" % a for a in amps]))
        self._accepted("ADAPTIVE", DEVICE, detail, now)
        return "POSTURE " + detail[8:]

    def _adaptive(self, args, now, role):
        """ADAPTIVE | ADAPTIVE ON|OFF|CLEAR | ADAPTIVE MAX <posture> <amp> (clinician)."""
        adaptive = self.therapy.adaptive
        verb = args[0].upper() if args else ""
        if verb == "":
            return adaptive.describe()
        self._clinician(role, "ADAPTIVE " + verb)
        if verb in ("ON", "OFF") and len(args) == 1:
            adaptive.enabled = verb == "ON"
        elif verb == "CLEAR" and len(args) == 1:
            adaptive.memory = {}
        elif verb == "MAX" and len(args) == 3:
            amp = protocol.parse_quantity("max", args[2], protocol.CURRENT_UNITS)
            adaptive.set_max(args[1].lower(), amp, self.therapy.limits["amplitude_ua"][1])
        else:
            raise StimError(protocol.E_SYNTAX, "use ADAPTIVE, ADAPTIVE ON|OFF|CLEAR, ADAPTIVE MAX <posture> <amp>")
        self._accepted("ADAPTIVE", role, " ".join(args), now)
        return adaptive.describe()

    def _impedance(self, args, now, role):
        """IMPEDANCE | IMPEDANCE <contact>: the lead check, every contact and
        adjacent pair, or one contact and its pairs (either role; refused while
        stimulating). Its verdicts decide which contacts stimulation may use."""
        check = self.lead_check
        if len(args) > 1 or (args and not protocol.is_number(args[0], 2)):
            raise StimError(protocol.E_SYNTAX, "use IMPEDANCE, or IMPEDANCE <contact>")
        from . import lead

        if check is None:
            raise StimError(lead.E_MEASURE, "no lead check on this board (board profile: impedance)")
        items = check.config.plan(int(args[0]) if args else None)
        state = self.stim.state()
        if state != "off":
            raise StimError(lead.E_BUSY, "stimulation is %s: OFF or STOP first" % state)
        results = check.measure(items)
        if self.lead is None:
            self.lead = lead.LeadStatus()
        self.lead.record(results)
        self.log_event("IMPEDANCE", role, lead.summary(results), now)
        return check.config.answer(results, check.current_na)

    def _repl(self, args, now, role):
        """Leave the service loop for MicroPython's REPL (deploying, debugging):
        stimulation stops, outputs go low. The clinician's, or anyone's on a
        board with no device key yet (Ctrl-C does not interrupt the service)."""
        self._no_args(args)
        if self.auth.has_key():
            self._clinician(role, "REPL")
        self.stim.emergency_stop("repl")
        self.leave = True
        self.log_event("REPL", role, "", now)
        return "leaving for the REPL; outputs low"

    def _log(self, args, now, role):
        """LOG | LOG <since> [<count>]: records oldest first, at most LOG_PAGE.

        OK count=<n> boot=<this boot> last=<newest seq> next=<seq of the next page>
           | <seq>,<boot>,<uptime_ms>,<kind>,<role>,<detail or -> | ..."""
        log = self.log
        if log is None:
            raise StimError(E_LOG_OPEN, "no event log: it could not be opened at boot")
        for arg in args:
            if not protocol.is_number(arg, 10):
                raise StimError(protocol.E_SYNTAX, "use LOG, or LOG <since seq> [<count 1..%d>]" % LOG_PAGE)
        if not args:
            since, count = max(1, log.last_seq - LOG_NEWEST + 1), LOG_NEWEST
        elif len(args) <= 2:
            since = int(args[0])
            count = int(args[1]) if len(args) == 2 else LOG_PAGE
            if not 1 <= count <= LOG_PAGE:
                raise StimError(E_RANGE, "count=%d outside 1..%d" % (count, LOG_PAGE))
        else:
            raise StimError(protocol.E_SYNTAX, "use LOG, or LOG <since seq> [<count 1..%d>]" % LOG_PAGE)
        try:
            records, next_seq = log.page(since, count)
        except StimError as e:  # event_log.LogError: the flash cannot be read
            self.fault(e.code)
            raise
        # in parts of one record each (protocol.ok): a page of long records is some 2 KB
        parts = ["count=%d boot=%d last=%d next=%d" % (len(records), log.boot, log.last_seq, next_seq)]
        for seq, boot, uptime_ms, kind, who, detail in records:
            parts.append(" | %d,%d,%d,%s,%s,%s" % (seq, boot, uptime_ms, kind, who, detail or "-"))
        return tuple(parts)


def _numbers(numbers):
    return ",".join(["%d" % n for n in numbers])


def _parse_numbers(text):
    """'1,2,3' -> (1, 2, 3); None unless 1..4 numbers of 1..2 digits."""
    parts = text.split(",")
    if not 1 <= len(parts) <= 4:
        return None
    for part in parts:
        if not protocol.is_number(part, 2):
            return None
    return tuple(int(part) for part in parts)
