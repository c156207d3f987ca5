"""The line reader's terminal editing (Backspace, DEL) and echo, checked by
tests_host/mpy/check_line_reader.py under the MicroPython unix port and CPython."""

import pytest
from mpy_checks import INTERPRETERS, run_checks


@pytest.mark.parametrize("where", INTERPRETERS)
def test_line_reader_editing_and_echo(where):
    assert run_checks("check_line_reader.py", where) >= 36
