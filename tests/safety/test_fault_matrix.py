"""The fault-injection matrix on the virtual device (tests/safety/fault_matrix.py): one test
per fault case, each run in every scenario. Every run's measurements go to
out/safety/matrix/<case>.json for tests/safety/matrix_report.py (`make safety` prints the
table)."""

import json
from pathlib import Path

import pytest

import fault_matrix as fm

OUT = Path(__file__).parents[2] / "out" / "safety" / "matrix"


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in fm.CASES])
def test_fault(case, micropython):
    rows, failures = [], []
    for scenario in fm.SCENARIOS:
        row, problems = fm.run(case, scenario)
        row.update(scenario=scenario, problems=problems)
        rows.append(row)
        failures += ["%s: %s" % (scenario, p) for p in problems]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / (case.name + ".json")).write_text(json.dumps(rows, indent=1) + "\n")
    assert failures == [], "\n".join(failures)
