"""Browning levels and what they mean: the target colour change (DE) per dial position.

The numbers are ARCHITECTURE.md's "Fixed numbers"; change them there and here together.
Level 4 (DE 20) is golden brown; DE >= 45 is burnt (DE_inf = 52 is the burnt limit of
Zanoni, Peri & Bruno 1995).
"""

LEVELS = range(1, 8)
TARGET_DE = {1: 8.0, 2: 12.0, 3: 16.0, 4: 20.0, 5: 24.0, 6: 28.0, 7: 32.0}
TOLERANCE_DE = 3.0
BURNT_DE = 45.0


def target(level):
    """The target DE of a browning level (1-7)."""
    try:
        return TARGET_DE[level]
    except KeyError:
        raise ValueError("browning level must be 1-7, not %r" % (level,)) from None


def band(level):
    """(low, high) DE of the level's target band."""
    de = target(level)
    return de - TOLERANCE_DE, de + TOLERANCE_DE


def in_band(level, de):
    low, high = band(level)
    return low <= de <= high
