# The persistent flag (board.flag(), board.set_flag()): a register that survives an MCU
# reset but not a power-up (RTC memory, a watchdog scratch register, the simulator's FLAG),
# so that the firmware after a reset knows what the one before it was doing.
from micropython import const

TOASTING = const(1)   # bit 0: a toast was under way (the heater may have been on)
_FAULT_SHIFT = const(4)
# Bits 4-7: 1 + the index here of a hardware fault that a reset must not forget.
PERSISTED = ("relay_welded", "heating_while_off")


def fault(flag):
    """The hardware fault recorded in a flag, or None."""
    i = flag >> _FAULT_SHIFT & 15
    return PERSISTED[i - 1] if 0 < i <= len(PERSISTED) else None


def with_fault(flag, code):
    """The flag with a hardware fault recorded (codes not in PERSISTED leave it as is)."""
    if code not in PERSISTED:
        return flag
    return flag & ~(15 << _FAULT_SHIFT) | (PERSISTED.index(code) + 1) << _FAULT_SHIFT
