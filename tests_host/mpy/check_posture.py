# Posture classification (posture.py) under MicroPython (and CPython): run
# as a script from firmware/lib. Prints "OK <count>" when every check passes;
# raises otherwise.
import math
import sys

sys.path.insert(0, ".")  # run from firmware/lib
from picostim import posture
from picostim.posture import LEFT, MOVING, PRONE, RIGHT, SUPINE, UPRIGHT, Posture

checks = 0
MICROPYTHON = sys.implementation.name == "micropython"
VECTORS = {
    UPRIGHT: (1000, 0, 0),
    SUPINE: (0, 0, -1000),
    PRONE: (0, 0, 1000),
    LEFT: (0, -1000, 0),
    RIGHT: (0, 1000, 0),
}


def ok(condition, what):
    global checks
    if not condition:
        raise AssertionError(what)
    checks += 1


def feed(p, vector, t0, t1, step=50):
    """Samples of one vector from t0 to t1 (inclusive); returns [(t, change)]."""
    changes = []
    t = t0
    while t <= t1:
        got = p.update(vector[0], vector[1], vector[2], t)
        if got:
            changes.append((t, got))
        t += step
    return changes


def tilt(degrees, a, b):
    """1 g tilted `degrees` from axis vector a toward axis vector b (mg ints)."""
    r = math.radians(degrees)
    c, s = math.cos(r), math.sin(r)
    return (round(a[0] * c + b[0] * s), round(a[1] * c + b[1] * s), round(a[2] * c + b[2] * s))


# ---- every class from a clean vector ---------------------------------------------
for name in VECTORS:
    p = Posture(settle_ms=1000)
    changes = feed(p, VECTORS[name], 0, 2000)
    ok(changes == [(1000, name)], "%s: %r" % (name, changes))
    ok(p.stable == name and p.candidate == name and not p.moving, name)

# scaled vectors (a different full scale, a heavier reading) classify the same
for name in VECTORS:
    v = VECTORS[name]
    p = Posture(settle_ms=0)
    ok(p.update(v[0] * 2, v[1] * 2, v[2] * 2, 0) == name, "2 g " + name)
    p = Posture(settle_ms=0)
    ok(p.update(v[0] * 6 // 10, v[1] * 6 // 10, v[2] * 6 // 10, 0) == name, "0.6 g " + name)

# ---- the stability timer ----------------------------------------------------------
p = Posture(settle_ms=3000)
ok(feed(p, VECTORS[UPRIGHT], 0, 2950) == [], "nothing stable before settle_ms")
ok(p.stable is None and p.candidate == UPRIGHT, "candidate only")
ok(p.update(1000, 0, 0, 3000) == UPRIGHT, "stable exactly at settle_ms")
ok(p.update(1000, 0, 0, 3050) is None, "reported once")
# a change held less than settle_ms never becomes stable
ok(feed(p, VECTORS[SUPINE], 4000, 6950) == [], "2950 ms supine")
ok(p.candidate == SUPINE and p.stable == UPRIGHT, "still upright")
ok(feed(p, VECTORS[UPRIGHT], 7000, 20000) == [], "back upright: no change")
ok(p.since_ms == 7000, "candidate restarted at 7000")
# held settle_ms: stable exactly then
ok(feed(p, VECTORS[SUPINE], 21000, 25000) == [(24000, SUPINE)], "supine after 3000 ms")
# irregular sample times: stable at the first sample at or after since + settle
p = Posture(settle_ms=1000)
ok(p.update(0, 1000, 0, 10) is None and p.update(0, 1000, 0, 1009) is None, "999 ms")
ok(p.update(0, 1000, 0, 1010) == RIGHT, "1000 ms")
# settle_ms 0: the first sample decides
ok(Posture(settle_ms=0).update(0, -1000, 0, 5) == LEFT, "settle 0")

# ---- hysteresis at the upright/supine boundary (45 degrees) -----------------------
up, down = (1000, 0, 0), (0, 0, -1000)  # upright and supine reference readings
p = Posture(settle_ms=0, margin_mg=150)
p.update(1000, 0, 0, 0)
t = 0
for angle in (40, 44, 46, 50, 44, 47, 43, 50, 40, 50):  # within +-6 degrees of 45: no flap
    t += 50
    v = tilt(angle, up, down)
    ok(p.update(v[0], v[1], v[2], t) is None and p.stable == UPRIGHT, "flapped at %d degrees" % angle)
for angle in (53, 60, 90):
    t += 50
    v = tilt(angle, up, down)
    p.update(v[0], v[1], v[2], t)
    ok(p.stable == SUPINE, "supine at %d degrees" % angle)
for angle in (50, 44, 40):  # on the way back it holds supine to ~39 degrees
    t += 50
    v = tilt(angle, up, down)
    p.update(v[0], v[1], v[2], t)
    ok(p.stable == SUPINE, "still supine at %d degrees" % angle)
t += 50
v = tilt(37, up, down)
ok(p.update(v[0], v[1], v[2], t) == UPRIGHT, "upright again at 37 degrees")
# margin 0: the nearest class at once
p = Posture(settle_ms=0, margin_mg=0)
p.update(1000, 0, 0, 0)
v = tilt(46, up, down)
ok(p.update(v[0], v[1], v[2], 50) == SUPINE, "margin 0")
# side to side through a diagonal: left/supine boundary
p = Posture(settle_ms=0)
p.update(0, 0, -1000, 0)
for angle in (40, 45, 50):
    v = tilt(angle, (0, 0, -1000), (0, -1000, 0))
    p.update(v[0], v[1], v[2], 100)
    ok(p.stable == SUPINE, "supine toward left at %d" % angle)
v = tilt(55, (0, 0, -1000), (0, -1000, 0))
ok(p.update(v[0], v[1], v[2], 200) == LEFT, "left at 55")

# ---- no class: head down, free fall, a sleeping part reading 0 -------------------
p = Posture(settle_ms=0)
ok(p.update(-1000, 0, 0, 0) is None and p.stable is None and p.candidate is None, "head down from nothing")
ok(p.update(0, 0, 0, 10) is None and p.candidate is None, "zero reading")
p.update(0, 1000, 0, 20)
ok(p.stable == RIGHT, "right")
for sample in ((-1000, 0, 0), (0, 0, 0), (100, 100, 100), (-800, 300, 300)):
    ok(p.update(sample[0], sample[1], sample[2], 30) is None and p.stable == RIGHT, "kept right: %r" % (sample,))

# ---- moving --------------------------------------------------------------------------


def bounce(p, base, amplitude_mg, hz, t0, t1, step=50):
    """A sinusoidal acceleration along the gravity direction (walking-like)."""
    changes = []
    t = t0
    while t <= t1:
        a = amplitude_mg * math.sin(2 * math.pi * hz * t / 1000.0)
        s = (1000 + a) / 1000.0
        got = p.update(round(base[0] * s), round(base[1] * s), round(base[2] * s), t)
        if got:
            changes.append((t, got))
        t += step
    return changes


p = Posture(settle_ms=1000, activity_mg=100, window=16)
feed(p, VECTORS[UPRIGHT], 0, 2000)
ok(p.stable == UPRIGHT, "upright before walking")
changes = bounce(p, VECTORS[UPRIGHT], 300, 2, 2050, 6000)
ok([c[1] for c in changes] == [MOVING], "walking: %r" % (changes,))
ok(p.moving and p.static == UPRIGHT, "moving over upright")
moved_at = changes[0][0]
ok(2050 + 1000 <= moved_at <= 2050 + 1000 + 16 * 50, "moving after settle_ms (+ the window): %d" % moved_at)
changes = feed(p, VECTORS[UPRIGHT], 6050, 10000)
ok([c[1] for c in changes] == [UPRIGHT], "still again: %r" % (changes,))
# a small bounce (std 71 mg < 100) is not moving; a big one is, lying too
p = Posture(settle_ms=0)
ok(MOVING not in [c[1] for c in bounce(p, VECTORS[SUPINE], 100, 2, 0, 5000)], "100 mg bounce")
ok(p.stable == SUPINE, "supine under a small bounce")
ok(bounce(p, VECTORS[SUPINE], 400, 1, 5050, 8000)[0][1] == MOVING, "tossing while lying")
# hysteresis on activity: leaves only below half the threshold
p = Posture(settle_ms=0, activity_mg=100)
bounce(p, VECTORS[UPRIGHT], 400, 2, 0, 3000)
ok(p.moving, "moving at 400 mg")
bounce(p, VECTORS[UPRIGHT], 110, 2, 3050, 6000)  # std ~78 mg: between 50 and 100
ok(p.moving, "still moving between the thresholds")
bounce(p, VECTORS[UPRIGHT], 40, 2, 6050, 9000)
ok(not p.moving and p.stable == UPRIGHT, "stopped below half")
# a window that is not full yet decides nothing about activity
p = Posture(settle_ms=0, window=16)
for i in range(15):
    p.update(1000 + (600 if i % 2 else -600), 0, 0, i * 50)
ok(not p.moving, "15 samples")
p.update(1600, 0, 0, 15 * 50)
ok(p.moving, "16 samples")

# ---- settings ----------------------------------------------------------------------
ok(posture.settings({}) == posture.DEFAULTS, "defaults")
s = posture.settings({"posture": {"settle_ms": 500, "note": "x"}})
ok(s["settle_ms"] == 500 and s["window"] == 16 and "note" not in s, "profile over defaults")
q = posture.from_profile({"posture": {"settle_ms": 500, "margin_mg": 80, "activity_mg": 60, "window": 8}})
ok((q.settle_ms, q.margin_mg, q.activity_mg, q.window) == (500, 80, 60, 8), "from_profile")
for bad in ({"settle_ms": -1}, {"margin_mg": 2000}, {"activity_mg": 0}, {"window": 1}, {"window": 65}):
    try:
        posture.from_profile({"posture": bad})
    except ValueError:
        ok(True, "")
    else:
        raise AssertionError("accepted %r" % (bad,))
ok(posture.isqrt(0) == 0 and posture.isqrt(1) == 1 and posture.isqrt(3) == 1 and posture.isqrt(4) == 2, "isqrt")
for n in (2, 99, 100, 101, 999999, 1000000, 192000000):
    r = posture.isqrt(n)
    ok(r * r <= n < (r + 1) * (r + 1), "isqrt %d" % n)
ok((p.stable, p.candidate, p.moving) == (MOVING, MOVING, True), "state after the 16-sample check")

# ---- no allocation per update (the firmware's heap is small) --------------------
if MICROPYTHON:
    import micropython

    p = Posture(settle_ms=100)
    samples = [(1000, 0, 0), (0, 0, -1000), (8000, -8000, 8000), (0, 0, 0), (-1000, 10, 10), (1400, 0, 0)]
    for i in range(40):  # warm up: fills the window
        v = samples[i % 6]
        p.update(v[0], v[1], v[2], i * 50)
    micropython.heap_lock()
    try:
        for i in range(40, 400):
            v = samples[i % 6]
            p.update(v[0], v[1], v[2], i * 50)
    finally:
        micropython.heap_unlock()
    ok(True, "update under heap_lock")

print("OK", checks)
