"""Minimal cut sets of the fault tree in fault_tree.json (top-down expansion, MOCUS).

Run: python hardware/safety/cutsets.py  (prints the cut sets; exit 1 if any single
failure or any set of model events alone reaches the top event)."""

import json
import sys
from itertools import product
from pathlib import Path

TREE = Path(__file__).with_name("fault_tree.json")


def load(path=TREE):
    return json.loads(Path(path).read_text())


def cut_sets(tree, node=None):
    """Minimal cut sets of `node` (the top event by default) as sorted tuples."""
    gates = tree["gates"]
    node = node or tree["top"]
    if node not in gates:
        return [frozenset([node])]
    gate = gates[node]
    kind = "or" if "or" in gate else "and"
    children = [cut_sets(tree, child) for child in gate[kind]]
    if kind == "or":
        sets = [s for sets in children for s in sets]
    else:
        sets = [frozenset().union(*combo) for combo in product(*children)]
    return minimal(sets)


def minimal(sets):
    unique = sorted(set(sets), key=lambda s: (len(s), sorted(s)))
    kept = []
    for s in unique:
        if not any(k <= s for k in kept):
            kept.append(s)
    return kept


def hazards(tree):
    """Cut sets that break the safety claim: one failure, or model events only."""
    model = set(tree["model_events"])
    return [s for s in cut_sets(tree) if len(s) < 2 or s <= model]


def main():
    tree = load()
    for s in cut_sets(tree):
        print(len(s), " AND ".join(sorted(s)))
    bad = hazards(tree)
    print("single-failure or model-only cut sets:", len(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
