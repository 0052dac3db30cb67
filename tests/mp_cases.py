"""Run a tests/firmware_cases module on MicroPython, one pytest result per case_* function."""

import ast
import json
import subprocess
from pathlib import Path

import pytest

from host import micropython as mp

CASES = Path(__file__).parent / "firmware_cases"


def names(module):
    """The case_* functions of a cases module, read from its source (no import: it only
    runs on MicroPython)."""
    tree = ast.parse((CASES / (module + ".py")).read_text())
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef)
            and n.name.startswith("case_")]


def run(module, heapsize=mp.DEVICE_HEAP, timeout=120):
    """{case: error text ("" when it passed)} from one MicroPython process."""
    env = mp.environment("%s:%s" % (mp.ROOT, CASES))
    proc = subprocess.run(mp.command([str(CASES / "runner.py"), module], heapsize), env=env,
                          capture_output=True, text=True, timeout=timeout)
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            results[row["case"]] = row["error"]
    if proc.returncode != 0 or not results:
        raise AssertionError("MicroPython cases %s failed to run (exit %d):\n%s"
                             % (module, proc.returncode, proc.stderr[-3000:]))
    return results


def tests(module, heapsize=mp.DEVICE_HEAP):
    """A pytest test, one result per case of a cases module, all from one MicroPython run:
    `test_guard = mp_cases.tests("guard_cases")` in a test file."""
    results = {}

    @pytest.mark.parametrize("case", names(module))
    def test(case, micropython):
        if not results:
            results.update(run(module, heapsize))
        assert case in results, "case did not run"
        assert results[case] == "", results[case]

    return test
