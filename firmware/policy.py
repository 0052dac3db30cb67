# The toasting decision behind one interface (ARCHITECTURE.md "Policy"). A policy can only
# stop a toast early: the guard alone bounds heating. The loop times every call and treats
# anything but True/False, an exception or a late answer as a model fault.
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


# The fallback: a time per level for a cold toaster, shortened when the chamber is already
# warm at the start (a second batch browns faster). Calibrated on the simulator by
# tests/test_firmware_toast.py against the level targets of model_training/targets.py.
TIME_MS = (0, 60000, 75000, 90000, 105000, 120000, 135000, 150000)
_COLD_DC = const(250)      # the times above hold for a chamber at 25 C ...
_WARM_PER_DC = const(3)    # ... and shrink by 0.3 %/C of start temperature above it
_MIN_SHARE = const(400)    # never below 40 % of the cold time (per mille)


class Fallback(Policy):
    name = "fallback"

    def __init__(self):
        self.stop_ms = 0

    def start(self, level, sample):
        warm = max(0, sample.temp_dc - _COLD_DC)
        share = max(_MIN_SHARE, 1000 - warm * _WARM_PER_DC // 10)
        self.stop_ms = TIME_MS[level] * share // 1000

    def decide(self, sample):
        return sample.toast_ms < self.stop_ms
