"""The safety supervisor (firmware/guard.py), case by case on MicroPython
(tests/firmware_cases/guard_cases.py)."""

import mp_cases

test_guard = mp_cases.tests("guard_cases")
