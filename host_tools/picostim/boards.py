"""Board profiles (boards/<name>.json): the single source of pin maps and limits."""

import json
from pathlib import Path

BOARDS_DIR = Path(__file__).resolve().parents[2] / "boards"


def board_path(name_or_path):
    path = Path(name_or_path)
    if path.suffix == ".json":
        return path
    return BOARDS_DIR / f"{name_or_path}.json"


def load_board(name_or_path="pico"):
    path = board_path(name_or_path)
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in BOARDS_DIR.glob("*.json")))
        raise FileNotFoundError(f"no board profile {name_or_path!r} (known: {known})")
    return json.loads(path.read_text())


def contact_select_pins(board):
    """{contact: (anode-select gpio, cathode-select gpio)}"""
    base = board["contacts"]["select_base_pin"]
    return {k: (base + 2 * k, base + 2 * k + 1) for k in range(board["contacts"]["count"])}
