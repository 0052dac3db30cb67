"""The baselines the model is measured against (firmware/baselines.py runs them), tuned on
the training scenarios and written as policy packages: model.json with a "kind" and the
parameters, no model.tflite.

    runs = training_runs(400, seed=0)                 # the model's training scenarios
    write(folder, "timer", tune_timer(runs), source)  # or "rule", tune_rule(runs)

The training scenarios are simulated as for the model, but each toast heats on until it is
burnt (or the simulation's time limit), so that a stop past its target counts fully.
Tuning replays each run's recorded ticks: a candidate's stop is the first tick
at which the policy would say stop, its browning the run's true DE at that tick plus the
run's carry-over (model_training/sources/simulated.py). Per level the candidate with the
lowest mean absolute browning error wins: the figure the evaluation reports.
"""

import hashlib
import json
from pathlib import Path

import numpy as np

from model_training import table, targets

TIMER_STEP_MS = 500
RULE_WINDOW = 10          # ticks the clear channel is smoothed over (1 s)
RULE_MIN_MS = 10000       # the rule never stops in the first 10 s (start-up glare, noise)
RULE_RATIOS = np.arange(200, 1021, 2)   # candidate thresholds, x 1024


def training_runs(n, seed=0):
    """n runs of the training scenarios (scenario.sample(n, seed)), heated until burnt."""
    from model_training.sources import simulated

    return simulated.generate(n, seed, overshoot_de=targets.BURNT_DE)


def _final_de(run, stop_index):
    """True browning after stopping at tick stop_index (None: the run's end)."""
    de = run.truth["delta_e"]
    i = len(de) - 1 if stop_index is None else min(stop_index, len(de) - 1)
    return de[i] + run.meta.get("carry_de", 0.0)


def _best(candidates, runs_by_level, stop_of):
    """Per level 1-7 (index 0-6): the candidate with the lowest browning MAE and that MAE.
    stop_of(run, candidate) is the tick index at which the run stops."""
    best, maes = [], []
    for level in targets.LEVELS:
        runs = runs_by_level.get(level, [])
        if not runs:
            raise ValueError("no training run at level %d" % level)
        target = targets.target(level)
        errors = [np.mean([abs(_final_de(r, stop_of(r, c)) - target) for r in runs])
                  for c in candidates]
        k = int(np.argmin(errors))
        best.append(candidates[k])
        maes.append(round(float(errors[k]), 2))
    return best, maes


def _by_level(runs):
    out = {}
    for run in runs:
        out.setdefault(run.level, []).append(run)
    return out


def tune_timer(runs):
    """{"times_ms": [7 times], "training_mae": [...]}: the fixed time per level."""
    longest = max(int(r.toast_ms[-1]) for r in runs)
    candidates = list(range(TIMER_STEP_MS, longest + TIMER_STEP_MS, TIMER_STEP_MS))

    def stop_of(run, t_ms):
        i = int(np.searchsorted(run.toast_ms, t_ms))
        return i if i < len(run.toast_ms) else None

    times, maes = _best(candidates, _by_level(runs), stop_of)
    return {"times_ms": [int(t) for t in times], "training_mae": maes}


def tune_rule(runs):
    """{"window", "min_ms", "ratio_x1024": [7 thresholds], "training_mae"}: stop once the
    smoothed clear reading falls to a level's share of the reading at the start."""
    spec = {"window": RULE_WINDOW, "inputs": [{"kind": "ratio", "channel": "c"}]}
    traces = {}
    for run in runs:
        ratio, ms, _ = table.trace(run, spec)
        traces[run.name] = (ratio[:, 0], ms)

    def stop_of(run, threshold):
        ratio, ms = traces[run.name]
        hits = np.flatnonzero((ratio <= threshold) & (ms >= RULE_MIN_MS))
        return int(hits[0]) + 1 if len(hits) else None   # trace row k is tick k + 1

    ratios, maes = _best(list(RULE_RATIOS), _by_level(runs), stop_of)
    return {"window": RULE_WINDOW, "min_ms": RULE_MIN_MS,
            "ratio_x1024": [int(r) for r in ratios], "training_mae": maes}


def write(folder, kind, params, source):
    """A baseline policy package in folder: model.json only. source: how the training
    scenarios were made (pipeline.Source.describe())."""
    body = {"kind": kind, **params}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:8]
    manifest = {"format": 1, "id": "%s-%s" % (kind, digest), "name": kind, **body,
                "tuned_on": source}
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest
