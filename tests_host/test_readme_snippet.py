"""The README's Python snippet runs as written against the board under test
(only its port is replaced)."""

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.serial
README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_python_snippet_runs(board_port, capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) == 1, "one Python snippet expected in README.md"
    code = blocks[0]
    assert '"/dev/ttyACM0"' in code
    exec(compile(code.replace('"/dev/ttyACM0"', repr(board_port)), "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert printed.startswith("RANGE "), printed  # the refused 30 mA, caught as the snippet shows
    from serial_helpers import connect

    with connect(board_port) as board:
        board.login()
        board.stop()
