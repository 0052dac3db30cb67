"""One toast in one Toaster, open loop, recorded like the batch path (faults honoured).

    record = toast(Scenario(start="freezer"), until_delta_e=20)
    record.outcome()          # delta_e, heat_seconds, time_to_target_s, peaks ...
    record.runs               # batch.Runs with one toast: samples, truth, heater
    record.events             # relay, fuse, carriage, faults ...

The heater is driven directly (Toaster.drive) as in batch.run, so a fault-free toast gives
the same bits as toast i of a batch; scheduled faults (scenario.faults) act on the way.
"""

from dataclasses import dataclass

import numpy as np

from hardware.simulator import tcs34725
from hardware.simulator.batch import CHANNELS, SAMPLE_MS, TRUTH, Runs
from hardware.simulator.toaster import Toaster


@dataclass
class Record:
    runs: Runs
    events: list
    target: float | None

    def outcome(self):
        """The numbers a script wants about this toast."""
        truth, heater = self.runs.truth, self.runs.heater[0]
        de = truth["delta_e"][0]
        reached = np.flatnonzero(de >= self.target) if self.target is not None else []
        return {
            "delta_e": round(float(de[-1]), 3),
            "heat_seconds": round(float(heater.sum() * self.runs.sample_ms / 1000.0), 3),
            "time_to_target_s": round(float(self.runs.t_ms[reached[0]]) / 1000.0, 3) if len(reached) else None,
            "peak_surface_c": round(float(truth["surface_c"][0].max()), 1),
            "peak_core_c": round(float(truth["core_c"][0].max()), 1),
            "peak_element_c": round(float(truth["element_c"][0].max()), 1),
            "peak_chamber_c": round(float(truth["chamber_c"][0].max()), 1),
            "peak_ntc_c": round(float(truth["ntc_c"][0].max()), 1),
            "peak_housing_c": round(float(truth["housing_c"][0].max()), 1),
            "water_lost": round(float(truth["water_lost"][0][-1]), 3),
            "fuse_open": any(e["kind"] == "fuse_open" for e in self.events),
        }


def toast(scenario, heat_s=None, until_delta_e=None, sample_ms=SAMPLE_MS, tail_s=10.0, max_s=600.0,
          gain=4, atime=0xF6, parts=None):
    """Toast one slice: heat for heat_s, or until the true DE reaches until_delta_e (at most
    max_s), then tail_s more with the heater off; sample every sample_ms."""
    if (heat_s is None) == (until_delta_e is None):
        raise ValueError("give one of heat_s or until_delta_e")
    t = Toaster(scenario, parts)
    t.i2c_write(tcs34725.ADDRESS, bytes([0x80 | tcs34725.ATIME, atime]))
    t.i2c_write(tcs34725.ADDRESS, bytes([0x80 | tcs34725.CONTROL, tcs34725.GAINS.index(gain)]))
    t.i2c_write(tcs34725.ADDRESS, bytes([0x80 | tcs34725.ENABLE, tcs34725.PON | tcs34725.AEN]))
    t.drive(True)
    heat_ms = None if heat_s is None else float(round(heat_s * 1000.0))
    rows = {name: [] for name in ("ntc",) + CHANNELS + TRUTH + ("heater",)}
    times = []
    stopped = False
    off_at = None
    while True:
        now = t.t_ms
        registers = t.colour_registers() or bytes(8)
        samples = {"ntc": t.adc("ntc")}
        samples.update({name: int.from_bytes(registers[2 * i:2 * i + 2], "little")
                        for i, name in enumerate(CHANNELS)})
        th = t.thermal
        truth = {"delta_e": th.de, "surface_c": th.t0, "core_c": th.t2, "element_c": th.te,
                 "chamber_c": th.tc, "housing_c": th.th, "ntc_c": t.ntc_temp(), "water_lost": th.water_lost}
        if heat_ms is not None:
            on_len = min(max(heat_ms - now, 0.0), sample_ms)
        else:
            stopped = stopped or th.de >= until_delta_e or now >= max_s * 1000.0
            on_len = 0.0 if stopped else float(sample_ms)
        if not t.heater_powered():
            on_len = 0.0
        for name, value in list(samples.items()) + list(truth.items()):
            rows[name].append(value)
        rows["heater"].append(on_len / sample_ms)
        times.append(now)
        if off_at is None and on_len < sample_ms:
            off_at = now + on_len
        if off_at is not None and now >= off_at + tail_s * 1000.0:
            break
        if on_len < sample_ms:
            t.advance(int(on_len))
            t.drive(False)
            t.advance(sample_ms - int(on_len))
        else:
            t.advance(sample_ms)
    arrays = {k: np.array([v]) for k, v in rows.items()}
    runs = Runs([scenario], np.array(times), {k: arrays[k].astype(np.int64) for k in ("ntc",) + CHANNELS},
                {k: arrays[k] for k in TRUTH}, arrays["heater"], sample_ms)
    return Record(runs, t.events, until_delta_e)
