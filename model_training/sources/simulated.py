"""Runs from the virtual toaster (hardware/simulator), recorded as the firmware records them.

Scenarios come from the simulator's documented distribution (hardware.simulator.scenario).
Each toast is simulated open loop with the batch path, sampled every 100 ms exactly as
the firmware's loop samples: the thermistor's raw 12-bit counts (converted to 0.1 C with
the firmware's own firmware/thermistor.py and the sim board's board.json) and the
TCS34725's counts at the firmware's gain and integration time, noise included.

Labels come from the simulated browning. A toast heats until its true DE is OVERSHOOT_DE
past its level's target (so the data hold ticks where it should already have stopped),
at most MAX_S. The carriage pops the slice out when heating stops and the surface still
browns a little (the carry-over, ~0.2-2 DE): a second pass stops every toast where it
crosses its target and measures that carry-over, and the ideal stop is the first tick at
which DE + carry-over reaches the target. Ticks before it are "continue".
"""

import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from model_training import targets
from model_training.runs import Run

OVERSHOOT_DE = 10.0
MAX_S = 300.0
# The colour sensor as firmware/app.py sets it up: 24 x 2.4 ms integration, gain 16.
COLOUR_CYCLES = 24
COLOUR_GAIN = 16
# firmware/sample.py field <- batch sample name
COLOUR_FIELDS = (("c", "clear"), ("r", "red"), ("g", "green"), ("b", "blue"))


def _thermistor():
    from firmware.thermistor import Thermistor
    from hardware import boards

    return Thermistor.from_config(boards.compose("sim")["ntc"])


def decicelsius_table():
    """temp_dc for every 12-bit count, by the firmware's own conversion (loop.py: the
    reading in C, x 10, rounded); counts outside the valid band read as the band's edge,
    where the firmware would flag the sensor and never ask the model."""
    ntc = _thermistor()
    table = np.empty(4096, np.int64)
    for counts in range(4096):
        c = min(max(counts, ntc.valid_lo), ntc.valid_hi)
        table[counts] = int(round(ntc.celsius(c) * 10))
    return table


def generate(n, seed=0, workers=None, progress=None, overshoot_de=OVERSHOOT_DE):
    """n runs of scenario.sample(n, seed), in order. Same n and seed, same bits (scenario
    i depends only on (seed, i), and a toast gives the same bits alone or in a batch).
    overshoot_de: how far past its target each toast heats (at most to burnt)."""
    from hardware.simulator import scenario

    scenarios = scenario.sample(n, seed)
    workers = max(1, min(workers or os.cpu_count() or 1, 2, n))
    chunks = [list(range(k, n, workers)) for k in range(workers)]
    table = decicelsius_table()
    runs = [None] * n
    if workers == 1:
        results = [_simulate([scenarios[i] for i in chunks[0]], overshoot_de, progress)]
    else:
        with ProcessPoolExecutor(workers) as pool:
            futures = [pool.submit(_simulate, [scenarios[i] for i in chunk], overshoot_de)
                       for chunk in chunks]
            results = [f.result() for f in futures]
        if progress:
            progress(n)
    for chunk, result in zip(chunks, results):
        for i, data in zip(chunk, result):
            runs[i] = _run(i, seed, scenarios[i], data, table)
    return runs


def _simulate(scenarios, overshoot_de, progress=None):
    """Both passes for a batch of scenarios: per toast the samples while heating, the
    true DE, and the carry-over DE."""
    from hardware.simulator import batch

    target = np.array([targets.target(s.level) for s in scenarios])
    common = dict(gain=COLOUR_GAIN, atime=256 - COLOUR_CYCLES, max_s=MAX_S)
    a = batch.run(scenarios, until_delta_e=np.minimum(target + overshoot_de, targets.BURNT_DE),
                  **common)
    de = a.truth["delta_e"]
    crossed = de >= target[:, None]
    cross = np.where(crossed.any(axis=1), crossed.argmax(axis=1), -1)
    heat_s = np.where(cross > 0, a.t_ms[np.maximum(cross, 0)] / 1000.0, 0.0)
    b = batch.run(scenarios, heat_s=heat_s, **common)
    carry = np.where(cross > 0, b.truth["delta_e"][:, -1] - de[np.arange(len(de)), cross], 0.0)
    out = []
    for i in range(len(scenarios)):
        heating = np.flatnonzero(a.heater[i] > 0)
        end = int(heating[-1]) + 1 if len(heating) else 2
        out.append({
            "t_ms": a.t_ms[:end], "ntc": a.samples["ntc"][i, :end],
            "colour": {k: a.samples[k][i, :end] for _, k in COLOUR_FIELDS},
            "delta_e": de[i, :end], "carry": float(max(carry[i], 0.0)),
        })
    if progress:
        progress(len(scenarios))
    return out


def _run(i, seed, sc, data, table):
    # The firmware starts a toast on a tick with a fresh colour reading: the batch's
    # first sample (t = 0) precedes the first integration, so toasts start at t = 100 ms.
    t = data["t_ms"][1:]
    toast_ms = t - t[0]
    de = data["delta_e"][1:]
    target = targets.target(sc.level)
    ideal = np.flatnonzero(de + data["carry"] >= target)
    channels = {"adc": data["ntc"][1:], "temp_dc": table[data["ntc"][1:]]}
    channels.update({f: data["colour"][k][1:] for f, k in COLOUR_FIELDS})
    group = sc.start + (" warm" if sc.batch > 1 else "")
    return Run(name="sim-%d-%d" % (seed, i), toast_ms=toast_ms, channels=channels,
               level=sc.level, stop_ms=int(toast_ms[ideal[0]]) if len(ideal) else None,
               group=group, truth={"delta_e": de},
               meta={"source": "simulated", "scenario": sc.to_dict(), "carry_de": data["carry"]})
