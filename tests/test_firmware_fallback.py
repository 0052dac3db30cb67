"""The fallback policy (firmware/policy.py): its table fits the simulator's reference toast,
and it decides the same on MicroPython as on CPython (the calibration runs on CPython)."""

import json

import pytest

import fallback_calibration as calibration
from firmware import policy
from firmware.sample import Sample
from hardware.simulator import Scenario
from host import micropython as mp
from model_training import targets


@pytest.mark.parametrize("level", range(1, 8))
def test_reference_toast_lands_in_the_level_band(level):
    de, _ = calibration.toast(Scenario(), level)
    assert targets.in_band(level, de), (
        "level %d ends at DE %.1f: the simulator changed; recalibrate with "
        "`.venv/bin/python tests/fallback_calibration.py` and update policy.TARGET_MS"
        % (level, de))


# A chamber warming from 20 C at 1 C/s, then holding at 200 C, with 0.3 C of wobble.
TRACE = [min(2000, 200 + 10 * i) + (i % 3 - 1) * 3 for i in range(1200)]


def _stop_tick(level):
    fallback, s = policy.Fallback(), Sample()
    s.dt_ms = 100
    for i, temp_dc in enumerate(TRACE):
        s.temp_dc = temp_dc
        if i == 0:
            fallback.start(level, s)
        if not fallback.decide(s):
            return i
    return None


def test_same_decisions_on_micropython(micropython):
    code = ("import json\nfrom firmware import policy\nfrom firmware.sample import Sample\n"
            "trace = json.loads(%r)\nout = []\n"
            "for level in range(1, 8):\n"
            "    f, s = policy.Fallback(), Sample()\n"
            "    s.dt_ms = 100\n"
            "    stop = None\n"
            "    for i, t in enumerate(trace):\n"
            "        s.temp_dc = t\n"
            "        if i == 0:\n"
            "            f.start(level, s)\n"
            "        if not f.decide(s):\n"
            "            stop = i\n"
            "            break\n"
            "    out.append(stop)\n"
            "print(json.dumps([list(policy.WEIGHTS), out]))\n" % json.dumps(TRACE))
    result = mp.run(code)
    assert result.returncode == 0, result.stderr
    weights, stops = json.loads(result.stdout)
    assert weights == list(policy.WEIGHTS)
    assert stops == [_stop_tick(level) for level in range(1, 8)]
    assert all(stops) and stops == sorted(stops)  # darker levels toast longer
