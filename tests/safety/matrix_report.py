"""The fault-injection matrix as a table: the rows tests/safety/test_fault_matrix.py
measured (out/safety/matrix/*.json), printed and written to out/safety/MATRIX.md.

Run: python tests/safety/matrix_report.py  (after the matrix tests; `make safety` does
both). Exit 1 when a case is missing or a run broke a pass criterion."""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # run as a script: the tests' helpers
import fault_matrix as fm  # noqa: E402

OUT = ROOT / "out" / "safety"
HEADER = ("| fault | scenario | outcome | toast end | state after | worst chamber C "
          "| heater on s | off after fault ms | faults reported |")


def rows():
    """Measured rows in the matrix's order, and the cases with no measurements."""
    found, missing = [], []
    for case in fm.CASES:
        path = OUT / "matrix" / (case.name + ".json")
        if path.exists():
            found += json.loads(path.read_text())
        else:
            missing.append(case.name)
    return found, missing


def outcome(row):
    if row["problems"]:
        return "HAZARD: " + "; ".join(row["problems"])
    return "safe: the thermal fuse opened" if row["fuse_open"] else "safe"


def line(row):
    off = row["heater_off_after_fault_ms"]
    return "| %s | %s | %s | %s | %s | %.1f | %.1f | %s | %s |" % (
        row["case"], row["scenario"], outcome(row), row["toast_end"], row["state_after"],
        row["worst_chamber_c"], row["heater_on_s"], "-" if off is None else off,
        " ".join(row["codes"]) or "-")


def main():
    found, missing = rows()
    hazards = [r for r in found if r["problems"]]
    table = [HEADER, "|" + "---|" * (HEADER.count("|") - 1)] + [line(r) for r in found]
    summary = "%d runs (%d faults x %d scenarios), %d hazards%s" % (
        len(found), len(fm.CASES) - len(missing), len(fm.SCENARIOS), len(hazards),
        "; not measured: " + ", ".join(missing) if missing else "")
    text = "# Fault-injection matrix\n\n%s\n\n%s\n" % (summary, "\n".join(table))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "MATRIX.md").write_text(text)
    print(text)
    return 1 if hazards or missing else 0


if __name__ == "__main__":
    sys.exit(main())
