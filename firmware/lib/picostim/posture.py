"""Posture from accelerometer samples (pure; MicroPython and CPython; integer math).

    posture = from_profile(profile)             # the profile's "posture" section, else DEFAULTS
    # every settings(profile)["sample_ms"]:
    changed = posture.update(x, y, z, now_ms)   # mg in body axes (accel.py); now_ms never wraps
    if changed: ...                             # the new stable posture's name
    posture.stable                              # None until a posture has held settle_ms

Body axes: +X toward the head, +Y to the patient's left, +Z out of the back.
At rest the accelerometer reads +1 g along the axis that points up, so each
lying/upright class has a reference axis and a score, the component along it:

    upright  +X (x)     supine  -Z (-z)     prone  +Z (z)
    left     -Y (-y)    right   +Y (y)

A sample's class is the one with the highest score, if that score is within
60 degrees of the vector (4 * score^2 > |a|^2) and |a| >= MIN_MAG_MG; else
(head down, free fall, no data) the class stays what it was. Hysteresis: a
new class must score at least margin_mg * |a| / 1 g more than the current
one (150 mg: about 6 degrees either side of a 45-degree boundary, whatever
the magnitude).

"moving": the standard deviation of |a| over the last `window` samples is
above activity_mg; it ends when it falls below activity_mg / 2. Moving
overrides the lying/upright class (which is still tracked underneath).

Stability: the candidate (moving, else the class) becomes the stable posture
once it has been the candidate for settle_ms; a shorter change is ignored.
"""

UPRIGHT = "upright"
SUPINE = "supine"
PRONE = "prone"
LEFT = "left"
RIGHT = "right"
MOVING = "moving"
POSTURES = (UPRIGHT, SUPINE, PRONE, LEFT, RIGHT, MOVING)  # the first five: lying/upright classes

# sample_ms: how often the caller should read the accelerometer (window * sample_ms
# is the activity window: 0.8 s by default); Posture itself only sees now_ms.
DEFAULTS = {"sample_ms": 50, "settle_ms": 3000, "margin_mg": 150, "activity_mg": 100, "window": 16}
MIN_MAG_MG = 500  # below this (free fall, a sleeping part reading 0) no class is decided
# Components are clipped to +-8 g and each sample's deviation from the window
# mean to 4 g: every product stays a small int (< 2**30) on the RP2040.
_CLIP_MG = 8000
_DEV_CLIP_MG = 4000


def isqrt(n):
    """floor(sqrt(n)) for an int n >= 0."""
    if n <= 0:
        return 0
    x = 1
    while x * x < n:
        x <<= 1
    y = (x + n // x) >> 1
    while y < x:
        x = y
        y = (x + n // x) >> 1
    return x


class Posture:
    def __init__(self, settle_ms=3000, margin_mg=150, activity_mg=100, window=16):
        if not (
            0 <= settle_ms <= 3600000 and 0 <= margin_mg <= 1000 and 1 <= activity_mg <= 2000 and 2 <= window <= 64
        ):
            raise ValueError(
                "posture settings %r: settle_ms 0..3600000, margin_mg 0..1000, activity_mg 1..2000, window 2..64"
                % ((settle_ms, margin_mg, activity_mg, window),)
            )
        self.settle_ms = settle_ms
        self.margin_mg = margin_mg
        self.activity_mg = activity_mg
        self.window = window
        self._mags = [0] * window  # ring of |a| in mg
        self._scores = [0] * 5  # per lying/upright class, this sample
        self._next = 0
        self._count = 0
        self._class = -1  # index of `static` in POSTURES
        self.static = None  # the lying/upright class of the latest samples (with hysteresis)
        self.moving = False
        self.candidate = None  # what the samples say now
        self.since_ms = 0  # when the candidate became the candidate
        self.stable = None  # the posture that has held settle_ms

    def update(self, x, y, z, now_ms):
        """One sample (mg, body axes) at now_ms; returns the new stable posture
        when it changes, else None. Allocates nothing."""
        x = max(-_CLIP_MG, min(_CLIP_MG, x))
        y = max(-_CLIP_MG, min(_CLIP_MG, y))
        z = max(-_CLIP_MG, min(_CLIP_MG, z))
        mag2 = x * x + y * y + z * z
        mag = isqrt(mag2)
        n = self.window
        mags = self._mags
        mags[self._next] = mag
        self._next = (self._next + 1) % n
        if self._count < n:
            self._count += 1

        # the lying/upright class, with hysteresis
        s = self._scores
        s[0] = x
        s[1] = -z
        s[2] = z
        s[3] = -y
        s[4] = y
        best = 0
        for i in range(1, 5):
            if s[i] > s[best]:
                best = i
        top = s[best]
        now = self._class
        if mag >= MIN_MAG_MG and top > 0 and 4 * top * top > mag2 and best != now:
            if now < 0 or (top - s[now]) * 1000 >= self.margin_mg * mag:  # margin_mg at 1 g, scaled to |a|
                self._class = best
                self.static = POSTURES[best]

        # activity: the spread of |a| over a full window
        if self._count == n:
            total = 0
            for i in range(n):
                total += mags[i]
            mean = total // n
            dev2 = 0
            for i in range(n):
                d = min(_DEV_CLIP_MG, abs(mags[i] - mean))
                dev2 += d * d
            a = self.activity_mg
            if self.moving:
                a //= 2
                self.moving = dev2 >= n * a * a
            else:
                self.moving = dev2 > n * a * a

        candidate = MOVING if self.moving else self.static
        if candidate != self.candidate:
            self.candidate = candidate
            self.since_ms = now_ms
        if candidate is not None and candidate != self.stable and now_ms - self.since_ms >= self.settle_ms:
            self.stable = candidate
            return candidate
        return None


def settings(profile):
    """The profile's "posture" section over DEFAULTS."""
    section = profile.get("posture") or {}
    out = {}
    for key in DEFAULTS:
        out[key] = section.get(key, DEFAULTS[key])
    return out


def from_profile(profile):
    s = settings(profile)
    return Posture(s["settle_ms"], s["margin_mg"], s["activity_mg"], s["window"])
