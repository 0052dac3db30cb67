"""Host command checking (firmware/commands.py), case by case on MicroPython
(tests/firmware_cases/commands_cases.py)."""

import mp_cases

test_commands = mp_cases.tests("commands_cases")
