"""hardware/parts.json: the part values the simulator uses and the firmware build reads."""

import json
from functools import lru_cache
from pathlib import Path

PATH = Path(__file__).resolve().parent.parent / "parts.json"


@lru_cache(maxsize=1)
def load():
    """The parts as a dict (shared: do not modify)."""
    with open(PATH) as f:
        return json.load(f)
