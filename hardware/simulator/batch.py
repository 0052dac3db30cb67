"""Many toasts at once, open loop, sampled exactly as the firmware samples.

    runs = run(scenarios, heat_s=150)                # or until_delta_e=20, or policy=f
    runs.samples["ntc"]        # (N, T) raw ADC counts at t_ms[k], noise included
    runs.samples["clear"]      # TCS34725 counts (also red, green, blue)
    runs.truth["delta_e"]      # ground truth at each sample (also surface_c, ntc_c, ...)
    runs.heater                # (N, T) share of each sample period the heater was on
    runs.summary()             # per toast: final DE, heating time, peaks

At every sample time t (every sample_ms from 0) the sensors are read first, then the
heater is set for [t, t + sample_ms): on for heat_s, until the true DE reaches
until_delta_e, or as policy(t_ms, samples, truth) says (a bool array). The heater is
powered directly (as `Toaster.drive`), bypassing relay and carriage: this is the data
path, not the safety path. The colour sensor is enabled at t = 0 with the given gain and
integration time. Toast i gives the same bits as `Toaster(scenarios[i])` driven the same
way (tests/test_sim_determinism.py).
"""

from dataclasses import dataclass

import numpy as np

from hardware.simulator import analog, colour, noise, parts as parts_file, tcs34725
from hardware.simulator.thermal import STEP_MS, Thermal
from hardware.simulator.toaster import r25_factor

SAMPLE_MS = 100
CHANNELS = ("clear", "red", "green", "blue")
TRUTH = ("delta_e", "surface_c", "core_c", "element_c", "chamber_c", "housing_c", "ntc_c", "water_lost")


@dataclass
class Runs:
    scenarios: list
    t_ms: np.ndarray            # (T,)
    samples: dict               # name -> (N, T) int32: ntc, clear, red, green, blue
    truth: dict                 # name -> (N, T) float64
    heater: np.ndarray          # (N, T) on-share of each sample period
    sample_ms: int

    def summary(self):
        """Per toast: final DE, heating seconds, peak surface / chamber sensor / element."""
        heat_s = self.heater.sum(axis=1) * self.sample_ms / 1000.0
        return [{"delta_e": float(self.truth["delta_e"][i, -1]), "heat_seconds": float(heat_s[i]),
                 "peak_surface_c": float(self.truth["surface_c"][i].max()),
                 "peak_ntc_c": float(self.truth["ntc_c"][i].max()),
                 "peak_element_c": float(self.truth["element_c"][i].max())}
                for i in range(len(self.scenarios))]


def run(scenarios, heat_s=None, until_delta_e=None, policy=None, duration_s=None,
        sample_ms=SAMPLE_MS, gain=4, atime=0xF6, tail_s=5.0, max_s=600.0, parts=None, progress=None):
    """Simulate the scenarios open loop; see the module docstring. heat_s and
    until_delta_e may be scalars or per-toast arrays. duration_s (default: until every
    heater is off, plus tail_s, at most max_s) bounds the run. progress(done_s, total_s)
    is called now and then."""
    if sum(x is not None for x in (heat_s, until_delta_e, policy)) != 1:
        raise ValueError("give exactly one of heat_s, until_delta_e or policy")
    if sample_ms % 1 or sample_ms <= 0:
        raise ValueError("sample_ms must be a positive whole number of ms")
    parts = parts or parts_file.load()
    n = len(scenarios)
    th = Thermal(scenarios, parts, batch=True)
    seeds = np.array([s.seed for s in scenarios], dtype=np.int64)
    r25 = np.array([r25_factor(s.seed, parts) for s in scenarios])
    lab0 = tuple(np.array([s.bread_type.lab0[c] for s in scenarios]) for c in range(3))
    empty = tuple(np.full(n, v) for v in colour.EMPTY_SLOT)
    sensor = tcs34725.TCS34725(None)
    sensor.write(bytes([0x80 | tcs34725.ATIME, atime]), 0)
    sensor.write(bytes([0x80 | tcs34725.CONTROL, tcs34725.GAINS.index(gain)]), 0)
    sensor.write(bytes([0x80 | tcs34725.ENABLE, tcs34725.PON | tcs34725.AEN]), 0)
    heat_ms = None if heat_s is None else np.broadcast_to(np.round(np.asarray(heat_s, float) * 1000.0), (n,))
    target = None if until_delta_e is None else np.broadcast_to(np.asarray(until_delta_e, float), (n,))
    limit_ms = (duration_s if duration_s is not None else max_s) * 1000.0
    if duration_s is None and heat_ms is not None:
        limit_ms = min(limit_ms, float(heat_ms.max()) + tail_s * 1000.0)

    snap = lambda: (th.tn, th.de, th.te)
    prev = cur = snap()
    grid = 0
    on_ms = np.zeros(n)
    stopped = np.zeros(n, dtype=bool)
    last_on = 0
    # (T, N) tables filled row by row; handed out transposed, (N, T).
    rows_max = int(np.ceil(limit_ms / sample_ms)) + 1
    tables = {name: np.zeros((rows_max, n), dtype=np.int32) for name in ("ntc",) + CHANNELS}
    tables.update({name: np.zeros((rows_max, n)) for name in TRUTH + ("heater",)})
    rows = 0
    t = 0
    while t < limit_ms:
        frac = min(max((t - grid) / STEP_MS, 0.0), 1.0)
        interp = lambda i, at_frac=frac: prev[i] + (cur[i] - prev[i]) * at_frac
        # The sensors, as the firmware reads them at t.
        ntc = analog.read(analog.ntc_counts(interp(0), parts, r25), seeds, noise.NTC, t * 16, parts)
        end = sensor.last_integration(t)
        if end is None:
            rgbc = [np.zeros(n, dtype=np.int64)] * 4
        else:
            at = min(max((end - grid) / STEP_MS, 0.0), 1.0)
            loaded = th.loaded > 0
            de = np.where(loaded, interp(1, at), 0.0)
            lab = tuple(np.where(loaded, a, b) for a, b in zip(lab0, empty))
            rgbc = colour.counts(de, lab, interp(2, at), gain, sensor.atime_ms, sensor.cycles, seeds,
                                 int(round(end * 10)), parts["colour_sensor"])
        truth = {"delta_e": th.de, "surface_c": th.t0, "core_c": th.t2, "element_c": th.te,
                 "chamber_c": th.tc, "housing_c": th.th, "ntc_c": interp(0), "water_lost": th.water_lost}
        samples = {"ntc": ntc, **dict(zip(CHANNELS, rgbc))}
        # The heater for [t, t + sample_ms).
        if heat_ms is not None:
            on_len = np.clip(heat_ms - t, 0.0, sample_ms)
        else:
            if target is not None:
                stopped |= th.de >= target
            else:
                stopped = ~np.asarray(policy(t, samples, truth), dtype=bool)
            on_len = np.where(stopped, 0.0, float(sample_ms))
        on_len = on_len * ~th.fuse_open * (th.mains_v > 0)
        for name, value in list(samples.items()) + list(truth.items()):
            tables[name][rows] = value
        tables["heater"][rows] = on_len / sample_ms
        rows += 1
        if on_len.any():
            last_on = t + sample_ms
        # Time passes to the next sample, with thermal steps on the grid.
        seg, stop = t, t + sample_ms
        while grid + STEP_MS <= stop:
            g = grid + STEP_MS
            on_ms += np.clip(np.minimum(g, t + on_len) - seg, 0.0, None)
            # The bread is down while the heater is on; it pops up when it stops.
            th.step(th.heater_w(on_ms / STEP_MS), in_slot=((g <= t + on_len) & (on_len > 0)) * 1.0)
            on_ms[:] = 0.0
            on_len = np.where(th.fuse_open, np.minimum(on_len, g - t), on_len)
            prev, cur = cur, snap()
            grid = seg = g
        on_ms += np.clip(np.minimum(stop, t + on_len) - seg, 0.0, None)
        t = stop
        if duration_s is None and heat_ms is None and not on_len.any() and t >= last_on + tail_s * 1000.0:
            break
        if progress and t % 10000 == 0:
            progress(t / 1000.0, limit_ms / 1000.0)
    out = {name: table[:rows].T for name, table in tables.items()}
    return Runs(list(scenarios), np.arange(rows) * sample_ms, {k: out[k] for k in ("ntc",) + CHANNELS},
                {k: out[k] for k in TRUTH}, out["heater"], sample_ms)
