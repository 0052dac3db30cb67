"""Runs -> feature table, through the firmware's own feature extraction (firmware/features.py)
tick by tick, as the device computes them: no second implementation, no skew.

The first tick of a run starts the features (the firmware's Policy.start); every later
tick is a row, as every later tick is a decide() on the device.
"""

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from firmware.features import Features
from model_training.errors import DataError


PARALLEL_RUNS = 40


class Tick:
    """One tick's sample, with the fields the features read (a firmware Sample stand-in
    for recorded data: only the attributes are shared, never behaviour)."""

    def __init__(self):
        self.toast_ms = 0
        self.level = 0


@dataclass
class Table:
    x: np.ndarray        # (rows, inputs) raw integer features, as float64
    y: np.ndarray        # (rows,) 1 = keep toasting
    run: np.ndarray      # (rows,) index of the row's run in the runs given
    toast_ms: np.ndarray  # (rows,)

    def __len__(self):
        return len(self.y)

    def select(self, mask):
        return Table(self.x[mask], self.y[mask], self.run[mask], self.toast_ms[mask])


def trace(run, spec, quantized=False):
    """(raw features per tick 1..T-1, their toast_ms, and with quantized=True the int8
    model inputs quantize() writes, else None) of one run."""
    f = Features(spec)
    names = f.channels
    missing = [c for c in names if c not in run.channels]
    if missing:
        raise DataError("run %s has no channel %s (it has: %s)"
                         % (run.name, ", ".join(missing), ", ".join(sorted(run.channels))))
    columns = [run.channels[c].tolist() for c in names]
    times = run.toast_ms.tolist()
    s = Tick()
    s.level = run.level
    for c, col in zip(names, columns):
        setattr(s, c, col[0])
    f.start(run.level, s)
    out = np.empty((len(times) - 1, f.n), np.int64)
    q = np.empty((len(times) - 1, f.n), np.int8) if quantized else None
    buf = bytearray(f.n)
    row = [0] * f.n
    for k in range(1, len(times)):
        s.toast_ms = times[k]
        for c, col in zip(names, columns):
            setattr(s, c, col[k])
        f.update(s)
        f.raw_into(row)
        out[k - 1] = row
        if quantized:
            f.quantize(buf)
            q[k - 1] = np.frombuffer(buf, np.int8)
    return out, run.toast_ms[1:], q


def _traces(runs, spec):
    return [trace(run, spec)[0] for run in runs]


def build(runs, spec, workers=None):
    """The feature table of runs (rows: every tick after the first). Many runs are
    traced in two processes (the features are pure Python, one tick at a time)."""
    workers = max(1, min(workers or os.cpu_count() or 1, 2))
    if workers > 1 and len(runs) >= PARALLEL_RUNS:
        with ProcessPoolExecutor(workers) as pool:
            parts = [pool.submit(_traces, runs[k::workers], spec) for k in range(workers)]
            done = [p.result() for p in parts]
        xs = [None] * len(runs)
        for k, part in enumerate(done):
            xs[k::workers] = part
    else:
        xs = _traces(runs, spec)
    ys = [run.labels()[1:] for run in runs]
    idx = [np.full(len(x), i, np.int32) for i, x in enumerate(xs)]
    ms = [run.toast_ms[1:] for run in runs]
    return Table(np.concatenate(xs).astype(np.float64), np.concatenate(ys),
                 np.concatenate(idx), np.concatenate(ms))
