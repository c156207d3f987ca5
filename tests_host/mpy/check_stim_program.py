# Pure firmware modules under MicroPython (and CPython): run as a script.
# Prints "OK <count>" when every check passes; raises otherwise.
import sys

sys.path.insert(0, ".")  # run from firmware/lib
from fakes import LIMITS
from picostim.stim_program import E_CONTACTS, E_FIT, E_RANGE, E_VALUE, Program, StimError, select_mask, timing

checks = 0


def refused(code, **fields):
    global checks
    p = Program(**fields)
    try:
        p.validate(LIMITS, 8)
    except StimError as e:
        assert e.code == code, (fields, e.code, code)
        checks += 1
        return
    raise AssertionError("accepted %r" % (fields,))


def accepted(**fields):
    global checks
    Program(**fields).validate(LIMITS, 8)
    checks += 1


refused(E_RANGE, pw_us=9)
refused(E_RANGE, pw_us=1001)
refused(E_RANGE, ipg_us=-1)
refused(E_RANGE, ipg_us=1001)
refused(E_RANGE, rate_hz=1)
refused(E_RANGE, rate_hz=10001)
refused(E_RANGE, amp_ua=25501)
refused(E_RANGE, asym=9)
refused(E_VALUE, pw_us=21.5)
refused(E_VALUE, rate_hz=True)
refused(E_FIT, pw_us=1000, ipg_us=1000, rate_hz=400)
refused(E_FIT, pw_us=30, ipg_us=41, rate_hz=10000)
refused(E_CONTACTS, cathodes=(), anodes=(1,))
refused(E_CONTACTS, cathodes=(1,), anodes=(1,))
refused(E_CONTACTS, cathodes=(8,), anodes=(1,))
refused(E_CONTACTS, cathodes=(0, 0), anodes=(1,))
accepted(pw_us=30, ipg_us=39, rate_hz=10000)
accepted(pw_us=1000, ipg_us=1000, rate_hz=2, asym=8)
accepted(pw_us=10, ipg_us=0, rate_hz=10000, cathodes=(0, 1, 2), anodes=(3, 4, 5, 6, 7))

t = timing(Program(pw_us=210, ipg_us=20, rate_hz=60, asym=2), 125000000)
assert (t.cathodic, t.interphase, t.anodic, t.period) == (26250, 2500, 52500, 2083333), t
t = timing(Program(rate_hz=7919, pw_us=10), 125000000)
assert t.period == 15785  # 125e6 / 7919 = 15784.82 -> nearest
assert select_mask((0,), (1,)) == 0b0110
assert select_mask((7,), (0, 6)) == (1 << 15) | (1 << 12) | 1
p = Program(amp_ua=2500, asym=3)
assert p.anodic_amp_ua() == 833333  # nA
assert p.copy(pw_us=100).pw_us == 100 and p.pw_us == 210
try:
    p.copy(bogus=1)
    raise AssertionError("copy accepted an unknown key")
except StimError as e:
    assert e.code == E_VALUE
checks += 8
print("OK", checks)
