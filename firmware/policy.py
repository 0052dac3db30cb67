# The toasting decision behind one interface (ARCHITECTURE.md "Policy"). A policy can only
# stop a toast early: the guard alone bounds heating. The loop times every call and treats
# anything but True/False, an exception or a late answer as a model fault.
import math

try:
    from micropython import const
except ImportError:
    def const(x):  # type: ignore[misc]  # micropython.const is generic
        return x


class Policy:
    name = "fallback"  # reported in telemetry

    def start(self, level, sample):
        """A toast begins at level (1-7); sample is the first reading."""

    def decide(self, sample):
        """True to keep toasting, False to stop."""
        return False


# The fallback: a time per level, adjusted by the measured temperature. It counts toasting
# time weighted by the chamber temperature, +5 % per C: browning speeds up with heat
# (Arrhenius; Zanoni et al. 1995 give about 3 %/C at the bread surface near 200 C), and the
# chamber reading, lagging the surface, rises faster on a strong heater or in a warm
# toaster, so those reach each level's dose sooner. Of the weights tried (0-8 %/C), 5 %/C
# burns the fewest toasts of the simulator's scenarios (firmware/README.md). The doses are
# equivalent milliseconds at 100 C, calibrated on the simulator's reference toast
# (tests/fallback_calibration.py computes them; tests/test_firmware_fallback.py checks
# they still fit).
TARGET_MS = (0, 7500, 9400, 11400, 13500, 15700, 18200, 21100)
_PER_C = 0.05
_REF_C = 100
_STEP_DC = const(50)   # the weight table has a point every 5 C, 0-350 C
WEIGHTS = tuple(int(1024 * math.exp(_PER_C * (5 * i - _REF_C)) + 0.5) for i in range(71))


def weight(temp_dc):
    """Weight (1024 = 1 at 100 C) of a millisecond at this chamber temperature."""
    if temp_dc <= 0:
        return WEIGHTS[0]
    i = temp_dc // _STEP_DC
    if i >= len(WEIGHTS) - 1:
        return WEIGHTS[-1]
    w = WEIGHTS[i]
    return w + (WEIGHTS[i + 1] - w) * (temp_dc - i * _STEP_DC) // _STEP_DC


class Fallback(Policy):
    name = "fallback"

    def __init__(self):
        self.dose = 0     # equivalent ms at 100 C so far
        self.target = 0

    def start(self, level, sample):
        self.dose = 0
        self.target = TARGET_MS[level]

    def decide(self, sample):
        self.dose += weight(sample.temp_dc) * sample.dt_ms >> 10
        return self.dose < self.target
