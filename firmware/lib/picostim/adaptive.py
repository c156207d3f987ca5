"""AdaptiveStim: per posture, the program and amplitude the patient last
chose there, or the group of several programs and each one's amplitude
(pure; MicroPython and CPython).

    adaptive = Adaptive()
    adaptive.enabled = True                       # the clinician's switch
    adaptive.set_max("supine", 2000)              # the clinician's limit for a posture
    adaptive.remember("supine", 2, 1800)          # a patient adjustment, posture stable
    adaptive.target("supine", window)             # -> (program 2, 1800 uA), limits applied
    adaptive.remember("upright", "mix", (1000, 2500))  # a group: its name, its members' amplitudes
    adaptive.target("upright", window, members)   # -> ("mix", (1000, 2500)), each in its window

The stable posture comes from posture.py (after its stability timer); the
therapy moves to target() with a ramp (stimulator.glide or a soft start).
"""

from .stim_program import E_RANGE, E_VALUE, StimError

POSTURES = ("upright", "supine", "prone", "left", "right", "moving")


class Adaptive:
    def __init__(self):
        self.enabled = False
        self.posture = None  # the stable posture, None until the accelerometer has one
        self.memory = {}  # posture -> (program number, amp_ua) or (group name, (amp_ua, ...)) chosen there
        self.max_ua = {}  # posture -> the clinician's amplitude limit there (absent: the window's)

    def check_posture(self, posture):
        if posture not in POSTURES:
            raise StimError(E_VALUE, "posture %r is not one of %s" % (posture, ",".join(POSTURES)))

    def set_max(self, posture, amp_ua, board_max_ua):
        self.check_posture(posture)
        if not 0 <= amp_ua <= board_max_ua:
            raise StimError(E_RANGE, "max=%duA outside 0..%duA" % (amp_ua, board_max_ua))
        self.max_ua[posture] = amp_ua

    def limit(self, posture, high_ua):
        """The highest amplitude a patient (or AdaptiveStim) may set in `posture`."""
        if posture in self.max_ua and self.max_ua[posture] < high_ua:
            return self.max_ua[posture]
        return high_ua

    def remember(self, posture, program, amp_ua):
        """program: a number (amp_ua: its amplitude) or a group's name (amp_ua: a tuple, one per member)."""
        if self.enabled and posture is not None:
            self.memory[posture] = (program, amp_ua)

    def target(self, posture, window, members=None):
        """(program, amp_ua) to move to in `posture`, inside the program's
        patient window (low, high) and the posture's limit; for a group
        (name, amplitudes), each inside its member's; None: stay (also for
        a group since redefined with another number of programs).
        members(name): the group's program numbers, or None."""
        if not self.enabled or posture not in self.memory:
            return None
        program, amp = self.memory[posture]
        if isinstance(program, str):
            numbers = members(program) if members is not None else None
            if numbers is None or len(numbers) != len(amp):
                return None
            return program, tuple([self._inside(posture, window(numbers[i]), amp[i]) for i in range(len(amp))])
        return program, self._inside(posture, window(program), amp)

    def _inside(self, posture, window, amp):
        low, high = window
        return max(low, min(amp, self.limit(posture, high)))

    def describe(self):
        """'enabled=1 posture=supine upright=2:2500uA ... max_supine=2000uA'"""
        parts = ["enabled=%d posture=%s" % (1 if self.enabled else 0, self.posture or "-")]
        for posture in POSTURES:
            if posture in self.memory:
                program, amp = self.memory[posture]
                if isinstance(program, str):  # a group: every member's amplitude
                    parts.append("%s=%s:%suA" % (posture, program, ",".join(["%d" % a for a in amp])))
                else:
                    parts.append("%s=%d:%duA" % (posture, program, amp))
            else:
                parts.append(posture + "=-")
        for posture in POSTURES:
            if posture in self.max_ua:
                parts.append("max_%s=%duA" % (posture, self.max_ua[posture]))
        return " ".join(parts)
