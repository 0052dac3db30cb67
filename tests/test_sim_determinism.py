"""Same scenario and seed -> the same bits: alone or in a batch, in 10 ms steps or one call."""

import numpy as np

from hardware.simulator import batch, scenario
from hardware.simulator.scenario import level_delta_e
from hardware.simulator.toast import toast
from hardware.simulator.toaster import Toaster


def test_a_toast_alone_equals_the_same_toast_in_a_batch():
    scenarios = scenario.sample(5, 42) + [scenario.Scenario(batch=3, start="freezer", slices=1),
                                          scenario.Scenario(slices=0)]
    targets = [level_delta_e(s.level) for s in scenarios]
    runs = batch.run(scenarios, until_delta_e=targets)
    for i, s in enumerate(scenarios):
        alone = toast(s, until_delta_e=targets[i]).runs
        n = min(alone.t_ms.size, runs.t_ms.size)
        for table, whole in ((alone.samples, runs.samples), (alone.truth, runs.truth)):
            for name, values in table.items():
                assert np.array_equal(values[0, :n], whole[name][i, :n]), (i, name)


def drive_closed_loop(t, step_ms):
    """A firmware-like pin sequence at 1 ms resolution, advanced step_ms at a time."""
    t.press_lever()
    t.set_output("hold", 1)
    t.set_output("heat_en", 1)
    log = []
    for ms in range(0, 60000, step_ms):
        if ms % 20 == 0 and ms < 45000:
            t.set_output("heartbeat", 1 - t.output("heartbeat"))
        if ms % 100 == 0:
            log.append(t.snap()[:10] + (t.snap()[10],))
        t.advance(step_ms)
    truth = t.truth()
    return log, truth["delta_e"], truth["surface_c"], truth["heater_on_ms"], t.events


def test_stepping_in_1_ms_or_10_ms_or_20_ms_gives_the_same_bits():
    runs = [drive_closed_loop(Toaster(scenario.Scenario(seed=4)), step) for step in (1, 10, 20)]
    assert runs[0] == runs[1] == runs[2]


def test_one_long_advance_equals_many_short_ones():
    a, b = Toaster(), Toaster()
    for t in (a, b):
        t.drive(True)
    a.advance(90000)
    for _ in range(9000):
        b.advance(10)
    assert a.truth() == b.truth() and a.adc("ntc") == b.adc("ntc")
