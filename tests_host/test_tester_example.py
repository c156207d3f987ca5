"""An example for testers: the board fixtures of picostim.pytest_plugin.

Copy this file, rename it test_<what>.py, and write tests with these fixtures:

- `board`: a connected Programmer in the patient role (virtual board, or a real
  one with `pytest --port /dev/ttyACM0`); stimulation is stopped afterwards;
- `clinician`: the same board logged in as the clinician (a real board needs
  `--key FILE`);
- `trace`: a fresh virtual board of its own that records every pin edge;
  `trace.pulses()` measures them (skipped with --port).

Run it: `.venv/bin/pytest -q tests_host/test_tester_example.py`.
"""

import pytest
from picostim.programmer import ProgrammerError

pytestmark = pytest.mark.serial

SETTING = {"amp": "1.5mA", "pw": "120us", "ipg": "10us", "rate": "100Hz", "cathodes": [2], "anodes": [3]}


def test_the_patient_may_not_change_the_rate(clinician):
    clinician.set(**SETTING, patient="amp", ramp="0ms")
    clinician.logout()  # now the patient's handheld
    with pytest.raises(ProgrammerError) as refused:
        clinician.set(rate="120Hz")
    assert refused.value.code == "LOCKED"
    assert clinician.status().rate_hz == 100  # nothing changed


def test_the_board_is_off_between_tests(board):
    assert board.status().state == "off"


def test_pulses_on_the_lead(trace):
    trace.board.login()
    trace.board.set(**SETTING, ramp="0ms")
    trace.board.on()
    trace.run_for(0.1)  # 100 ms of the board's time
    pulses = trace.pulses()
    assert len(pulses) >= 9
    for pulse in pulses:
        assert (pulse.cathodic_ns, pulse.interphase_ns, pulse.anodic_ns) == (120_000, 10_000, 120_000)
        assert (pulse.cathodes, pulse.anodes) == ([2], [3])
        assert pulse.balanced and not pulse.problems
