"""Calibrate and evaluate the fallback policy (firmware/policy.py) on the simulator.

The firmware's own Fallback and thermistor code (MicroPython/CPython common subset) run in
CPython against hardware.simulator.Toaster, tick by tick as the control loop runs them:
a sample every 100 ms, heater on with heartbeat edges every 20 ms until the policy says
stop, then the carriage pops up and the bread cools in the toaster. The closed-loop tests
(tests/test_firmware_toast.py) run the real firmware on MicroPython.

    .venv/bin/python tests/fallback_calibration.py           # TARGET_MS for the reference toast
    .venv/bin/python tests/fallback_calibration.py --evaluate 200   # + the scenario distribution
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from firmware import policy  # noqa: E402
from firmware.sample import Sample  # noqa: E402
from firmware.thermistor import Thermistor  # noqa: E402
from hardware.boards import compose  # noqa: E402
from hardware.simulator import Scenario, Toaster, scenario  # noqa: E402
from model_training.targets import BURNT_DE, TOLERANCE_DE, target  # noqa: E402

PERIOD_MS = 100
HEARTBEAT_MS = 20
MAX_TOAST_MS = 360000   # firmware/guard.py
COOL_MS = 60000         # after the toast, until browning has stopped


def toast(scn, level, target_ms=None):
    """(final DE, toast ms) of one toast stopped by the fallback, its dose target for the
    level replaced by target_ms when given."""
    ntc = Thermistor.from_config(compose("sim")["ntc"])
    t = Toaster(scn.with_(level=level))
    fallback, s = policy.Fallback(), Sample()
    t.press_lever()
    t.advance(PERIOD_MS)  # the firmware sees the carriage at its next tick
    s.dt_ms = PERIOD_MS
    elapsed = 0
    while elapsed < MAX_TOAST_MS:
        s.adc = t.adc("ntc")
        s.temp_dc = ntc.decicelsius(s.adc)
        s.toast_ms = elapsed
        if elapsed == 0:
            fallback.start(level, s)
            if target_ms is not None:
                fallback.target = target_ms
        if not fallback.decide(s):
            break
        t.set_output("hold", 1)
        t.set_output("heat_en", 1)
        for _ in range(PERIOD_MS // HEARTBEAT_MS):
            t.set_output("heartbeat", 1 - t.output("heartbeat"))
            t.advance(HEARTBEAT_MS)
        elapsed += PERIOD_MS
    t.set_output("heat_en", 0)
    t.set_output("hold", 0)
    t.advance(COOL_MS)
    return t.truth()["delta_e"], elapsed


def calibrate(scn=None):
    """TARGET_MS per level: the dose at which the reference toast ends at the level's
    target DE (bisection; the final DE grows with the dose)."""
    scn = scn or Scenario()
    table = [0]
    for level in range(1, 8):
        lo, hi = 1000, 400000
        while hi - lo > 50:
            mid = (lo + hi) // 2
            if toast(scn, level, mid)[0] < target(level):
                lo = mid
            else:
                hi = mid
        table.append(int(round((lo + hi) / 2 / 100.0)) * 100)
    return table


def evaluate(n, seed=11):
    """Share of toasts in band, burnt and too light (model_training/targets.py), over n
    scenarios of the documented distribution, each at its own dial level."""
    rows = []
    for scn in scenario.sample(n, seed):
        de, ms = toast(scn, scn.level)
        rows.append((scn.level, de, ms))
    inband = sum(abs(de - target(lv)) <= TOLERANCE_DE for lv, de, _ in rows) / n
    burnt = sum(de >= BURNT_DE for _, de, _ in rows) / n
    light = sum(de < target(lv) - TOLERANCE_DE for lv, de, _ in rows) / n
    longest = max(ms for _, _, ms in rows)
    return {"n": n, "in_band": inband, "burnt": burnt, "too_light": light,
            "longest_ms": longest}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluate", type=int, metavar="N", default=0,
                        help="also evaluate the committed table on N sampled scenarios")
    args = parser.parse_args()
    print("TARGET_MS = %s" % (tuple(calibrate()),))
    reference = [round(toast(Scenario(), lv)[0], 1) for lv in range(1, 8)]
    print("reference toast, committed table: DE per level %s" % reference)
    if args.evaluate:
        print(evaluate(args.evaluate))


if __name__ == "__main__":
    main()
