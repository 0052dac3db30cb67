"""Host command checking (firmware/commands.py), case by case on MicroPython."""

import pytest

import mp_cases

CASES = mp_cases.names("commands_cases")


@pytest.fixture(scope="module")
def results(micropython):
    return mp_cases.run("commands_cases")


@pytest.mark.parametrize("case", CASES)
def test_commands(results, case):
    assert case in results, "case did not run"
    assert results[case] == "", results[case]
