"""Toasting runs, whatever their source: the unit that data sets, splits and evaluation
count in (never ticks).

A run is one toast from its start: a time base, integer sensor channels named as the
sample fields the features read (firmware/sample.py for the toaster, a log format's
channel names for logs), the browning level (0 when the source has none) and the ideal
stop: the moment a good controller stops (the simulated toast reaches its target colour;
a labelled log turns burnt). Ticks before it are labelled "continue", the rest "stop".
"""

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Run:
    name: str                   # unique within its data set
    toast_ms: np.ndarray        # (T,) int64 time since the toast started, from 0
    channels: dict              # channel name -> (T,) int64
    level: int = 0              # browning level 1-7, 0 when the source has none
    stop_ms: int | None = None  # ideal stop; None when the run ends before it
    group: str = ""             # for per-group figures: bread, start, folder ...
    truth: dict = field(default_factory=dict)   # optional (T,) float ground truth ("delta_e")
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.toast_ms = np.asarray(self.toast_ms, np.int64)
        self.channels = {k: np.asarray(v, np.int64) for k, v in self.channels.items()}
        if len(self.toast_ms) < 2 or self.toast_ms[0] != 0 or np.any(np.diff(self.toast_ms) <= 0):
            raise ValueError("run %s: toast_ms must start at 0 and rise" % self.name)
        for name, values in self.channels.items():
            if values.shape != self.toast_ms.shape:
                raise ValueError("run %s: channel %s has %d values for %d ticks"
                                 % (self.name, name, len(values), len(self.toast_ms)))

    @property
    def ticks(self):
        return len(self.toast_ms)

    def labels(self):
        """1 = keep toasting, 0 = stop, per tick."""
        if self.stop_ms is None:
            return np.ones(self.ticks, np.int8)
        return (self.toast_ms < self.stop_ms).astype(np.int8)


def dataset_hash(runs):
    """SHA-256 of the runs as trained on: names, levels, stops, times and channels, in
    order. Two data sets with this hash hold the same bits."""
    h = hashlib.sha256()
    for run in runs:
        head = {"name": run.name, "level": run.level, "stop_ms": run.stop_ms,
                "channels": sorted(run.channels)}
        h.update(json.dumps(head, sort_keys=True).encode())
        h.update(run.toast_ms.astype("<i8").tobytes())
        for name in sorted(run.channels):
            h.update(run.channels[name].astype("<i8").tobytes())
    return h.hexdigest()


def split(runs, fractions=(0.8, 0.2), seed=0):
    """Runs shuffled with the seed and cut by the fractions: lists of runs, never ticks
    of one run on two sides. The same seed and runs always give the same split."""
    if any(f < 0 for f in fractions) or abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError("split fractions must be >= 0 and add up to 1")
    order = np.random.default_rng(seed).permutation(len(runs))
    cuts = np.round(np.cumsum(fractions) * len(runs)).astype(int)
    parts, start = [], 0
    for end in cuts:
        parts.append([runs[i] for i in order[start:end]])
        start = end
    return parts
