"""The control loop (firmware/loop.py) with a scripted board, case by case on MicroPython."""

import pytest

import mp_cases

CASES = mp_cases.names("loop_cases")


@pytest.fixture(scope="module")
def results(micropython):
    # The test doubles record what the firmware does: more heap than a device has.
    return mp_cases.run("loop_cases", heapsize="8M")


@pytest.mark.parametrize("case", CASES)
def test_loop(results, case):
    assert case in results, "case did not run"
    assert results[case] == "", results[case]
