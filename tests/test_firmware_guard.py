"""The safety supervisor (firmware/guard.py), case by case on MicroPython."""

import pytest

import mp_cases

CASES = mp_cases.names("guard_cases")


@pytest.fixture(scope="module")
def results(micropython):
    return mp_cases.run("guard_cases")


@pytest.mark.parametrize("case", CASES)
def test_guard(results, case):
    assert case in results, "case did not run"
    assert results[case] == "", results[case]
