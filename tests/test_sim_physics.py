"""The simulator against the published figures (issue 2, ../shared/reference/toaster-physics.md)."""

import numpy as np
import pytest

from hardware.simulator import batch, parts, scenario, thermal
from hardware.simulator.ops import Arrays, Floats
from hardware.simulator.scenario import Scenario, level_delta_e
from hardware.simulator.toast import toast

REFERENCE = Scenario()          # white 12 mm, room (20 C), 1000 W at 230 V, cold toaster, level 4
STEP_S = thermal.STEP_MS / 1000.0


def time_to(record, delta_e):
    reached = np.flatnonzero(record.runs.truth["delta_e"][0] >= delta_e)
    return record.runs.t_ms[reached[0]] / 1000.0 if reached.size else None


@pytest.fixture(scope="module")
def reference():
    return toast(REFERENCE, until_delta_e=20)


@pytest.mark.parametrize("ops", [Floats, Arrays])
def test_isothermal_time_to_de20_at_185c_is_zanoni_within_5_percent(ops):
    # Zanoni 1995: k = 42,000 exp(-64,151 / (R T)), DE_inf 52; DE 20 at 185 C after ~238 s.
    k = 42000.0 * np.exp(-64151.0 / (8.314462618 * (185.0 + 273.15)))
    exact = -np.log(1.0 - 20.0 / 52.0) / k
    assert exact == pytest.approx(238, abs=1.5)
    de, steps = 0.0 if ops is Floats else np.zeros(3), 0
    while np.min(de) < 20.0:
        de = thermal.browning_step(de, 185.0 + 273.15, 1.0, STEP_S, ops)
        steps += 1
    assert steps * STEP_S == pytest.approx(exact, rel=0.05)


def test_browning_onset_and_the_fruit_loaf_factor():
    rate = lambda c, f=1.0: thermal.browning_rate(c + 273.15, f)
    assert rate(100.0) == 0.0 and rate(104.9) == 0.0             # no colour before ~105 C
    assert rate(120.0) > 0.0
    assert rate(200.0, 2.0) == pytest.approx(2.0 * rate(200.0))


def test_medium_toast_from_room_at_1000w_is_golden_in_120_to_180_s(reference):
    start, end = time_to(reference, 15), time_to(reference, 25) or np.inf
    assert 120.0 <= time_to(reference, 20) <= 180.0
    assert start < 180.0 and end > 120.0                          # the DE 15-25 band overlaps it
    assert 15.0 <= reference.outcome()["delta_e"] <= 25.0         # popped at 20, a little carry-over


def test_frozen_bread_takes_20_to_60_s_longer(reference):
    frozen = toast(REFERENCE.with_(start="freezer"), until_delta_e=20)
    assert 20.0 <= time_to(frozen, 20) - time_to(reference, 20) <= 60.0


def test_a_second_batch_browns_more_in_the_same_time(reference):
    seconds = time_to(reference, 20)
    first = toast(REFERENCE, heat_s=seconds).outcome()["delta_e"]
    second = toast(REFERENCE.with_(batch=2, gap_s=30.0), heat_s=seconds).outcome()["delta_e"]
    assert second > first + 5.0


def test_the_surface_sits_near_100c_while_wet_then_climbs(reference):
    truth = reference.runs.truth
    surface = truth["surface_c"][0]
    t = reference.runs.t_ms / 1000.0
    plateau = (surface > 99.0) & (surface <= 100.0 + 1e-9)
    assert plateau.sum() * 0.1 >= 20.0                            # 100 ms samples
    assert t[plateau].max() < time_to(reference, 1)               # browning only after it


def test_late_cycle_surface_temperatures_are_190_to_230c(reference):
    # The browning window: the last third of the heating to golden.
    golden = time_to(reference, 20)
    t = reference.runs.t_ms / 1000.0
    late = (t >= golden * 2 / 3) & (t <= golden)
    assert 190.0 <= reference.runs.truth["surface_c"][0][late].mean() <= 230.0


def test_the_element_glows_600_to_850c_and_power_goes_with_voltage_squared(reference):
    assert 600.0 <= reference.outcome()["peak_element_c"] <= 850.0
    th = thermal.Thermal([REFERENCE.with_(mains_v=207.0)], parts.load())
    assert th.heater_w(1.0) == pytest.approx(1000.0 * 0.81)


def test_water_leaves_and_the_core_stays_below_100c(reference):
    out = reference.outcome()
    assert 0.1 <= out["water_lost"] <= 0.5                        # 4-15 % of the slice's weight
    assert out["peak_core_c"] < 100.0


def test_normal_use_keeps_the_chamber_sensor_clearly_below_the_cutoff():
    # The documented distribution at the longest level after two level-7 batches: the
    # hardest normal use. The software cutoff is 250 C.
    scenarios = [s.with_(level=7, prev_level=7, batch=3) for s in scenario.sample(24, 5)]
    runs = batch.run(scenarios, until_delta_e=level_delta_e(7), sample_ms=1000, max_s=900)
    assert runs.truth["ntc_c"].max() < 225.0
    assert runs.truth["housing_c"].max() < parts.load()["thermal_fuse"]["functioning_c"] - 15.0


def test_a_runaway_reaches_the_cutoff_on_the_sensor_before_the_fuse_opens():
    # Heater stuck on (relay welded, carriage jammed), bread in, for an hour.
    fuse_c = parts.load()["thermal_fuse"]["functioning_c"]
    weakest = Scenario(heater_w=600.0, mains_v=207.0)
    scenarios = [weakest] + scenario.sample(11, 6)
    runs = batch.run(scenarios, heat_s=3600, sample_ms=1000, max_s=3600)
    t = runs.t_ms / 1000.0
    for i in range(len(scenarios)):
        at_cutoff = t[np.argmax(runs.truth["ntc_c"][i] >= 250.0)]
        at_fuse = t[np.argmax(runs.truth["housing_c"][i] >= fuse_c)]
        assert runs.truth["ntc_c"][i].max() >= 250.0 and runs.truth["housing_c"][i].max() >= fuse_c
        assert at_cutoff < at_fuse
        assert runs.heater[i][t > at_fuse + 1].max() == 0.0       # one-shot: never again
