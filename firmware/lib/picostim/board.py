"""Board profile: the one JSON file (boards/<name>.json) that names every pin
and limit. Deployed to the board as /board.json."""

import json


def load(path="/board.json"):
    with open(path) as f:
        return json.load(f)
