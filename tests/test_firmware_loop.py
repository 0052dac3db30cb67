"""The control loop (firmware/loop.py) with a scripted board, case by case on MicroPython
(tests/firmware_cases/loop_cases.py)."""

import mp_cases

# The test doubles record what the firmware does: more heap than a device has.
test_loop = mp_cases.tests("loop_cases", heapsize="8M")
