"""`picostim demo`: the firmware's pulse engine on the emulated chip, a few
settings changes, a VCD trace, and the measured pulses."""

from __future__ import annotations

import json

from picostim.chip.model import SYS_HZ
from picostim.chip.session import EngineSession
from picostim.measure import format_table, measure, read_vcd, summary

STEPS: tuple[tuple[str, dict], ...] = (
    ("tonic 2.5 mA, 210 us, 60 Hz-class demo at 1 kHz", dict(pw_us=210, ipg_us=20, rate_hz=1000, amp_ua=2500)),
    ("narrower pulse, contacts 4-/5+", dict(pw_us=90, ipg_us=10, rate_hz=1000, cathodes=(4,), anodes=(5,))),
    ("asymmetric recovery (x4 longer, 1/4 amplitude)", dict(pw_us=60, ipg_us=0, rate_hz=2000, asym=4)),
)


def run_demo(board="pico", trace="demo.vcd"):
    session = EngineSession(board, trace_path=trace)
    base: dict = dict(amp_ua=2500, cathodes=(2,), anodes=(3,))
    for i, (title, change) in enumerate(STEPS):
        fields = {**base, **change}
        program, timing = session.program(**fields)
        print(f"SET {title}: {program.as_dict()}")
        if i == 0:
            session.engine.start(timing, program)
        else:
            session.engine.update(timing, program)
        session.run(SYS_HZ // 100, poll_every=SYS_HZ // 10000)  # 10 ms each
    session.engine.stop()
    session.run(SYS_HZ // 1000, poll_every=SYS_HZ // 100000)
    session.close()
    pulses = measure(read_vcd(trace), session.board)
    print(format_table(pulses[:5] + pulses[-5:]))
    print("summary:", json.dumps(summary(pulses)))
    print(f"trace written to {trace} (open it in PulseView or GTKWave)")
    return 0 if all(not p.problems and p.balanced for p in pulses) else 1
