"""When does a model stop a toast, and how far is that from the ideal stop? Beside the
fixed-timer baseline a user would otherwise have.

A model stops a run once it has answered "stop" on `consecutive` ticks in a row (the
decision rule of firmware/model_policy.py; the loop ends the toast on that tick); a run
it never stops ends at its last tick (the time limit, for a real toast) and is counted as
such. The int8 path runs the package as the device
does: features and their int8 quantization from firmware/features.py, the model in TFLM.
"""

import numpy as np

from model_training import table as table_mod, targets


def int8_keep(tflite, meta, runs, progress=None):
    """Per run: the int8 model's decision per tick (True = keep toasting), ticks 1..T-1."""
    from host import model_check

    it = model_check.tflm(tflite)
    thr = meta["decision"]["threshold_q"]
    out = []
    for run in runs:
        _, _, q = table_mod.trace(run, meta["features"], quantized=True)
        keep = np.empty(len(q), bool)
        for k, row in enumerate(q):
            it.set_input(row.reshape(1, -1), 0)
            it.invoke()
            keep[k] = int(it.get_output(0).reshape(-1)[0]) >= thr
        out.append(keep)
        if progress:
            progress(1)
    return out


def float_keep(model, runs):
    out = []
    for run in runs:
        x, _, _ = table_mod.trace(run, model.spec)
        out.append(model.prob(x) >= model.threshold)
    return out


def debounce(keep, consecutive):
    """Per tick, the answer the policy gives: False only from the tick that completes
    `consecutive` raw "stop" answers in a row."""
    keep = np.asarray(keep, bool)
    if consecutive <= 1:
        return keep
    out = np.ones(len(keep), bool)
    streak = 0
    for k, v in enumerate(keep):
        streak = 0 if v else streak + 1
        out[k] = streak < consecutive
    return out


def first_stop(run, keep):
    """(stop ms, stopped) for a run's decisions on ticks 1..T-1."""
    below = np.flatnonzero(~np.asarray(keep))
    if len(below):
        return int(run.toast_ms[1 + below[0]]), True
    return int(run.toast_ms[-1]), False


def timer(runs):
    """The fixed-timer baselines trained on runs: one time for all, and one per level
    (levels with no run use the overall time). Seconds."""
    stops = [(r.level, r.stop_ms / 1000.0) for r in runs if r.stop_ms is not None]
    if not stops:
        return None
    overall = float(np.mean([s for _, s in stops]))
    if not any(level for level, _ in stops):
        return {"stop_s": round(overall, 2)}
    by_level = {}
    for level in targets.LEVELS:
        mine = [s for lv, s in stops if lv == level]
        by_level[str(level)] = round(float(np.mean(mine)), 2) if mine else round(overall, 2)
    return {"stop_s": round(overall, 2), "stop_s_by_level": by_level}


def timer_stop_s(baseline, run):
    if run.level and baseline.get("stop_s_by_level"):
        return baseline["stop_s_by_level"].get(str(run.level), baseline["stop_s"])
    return baseline["stop_s"]


def _de_at(run, stop_ms):
    """Final DE of a simulated run stopped at stop_ms: DE then, plus its carry-over."""
    if "delta_e" not in run.truth:
        return None
    k = min(int(np.searchsorted(run.toast_ms, stop_ms)), run.ticks - 1)
    return float(run.truth["delta_e"][k] + run.meta.get("carry_de", 0.0))


def score(runs, keeps, baseline, consecutive=1):
    """Per-run rows and the summary for raw per-tick decisions `keeps` (the policy stops
    after `consecutive` stops in a row) against the timer baseline."""
    rows = []
    for run, keep in zip(runs, keeps):
        stop, stopped = first_stop(run, debounce(keep, consecutive))
        timer_s = timer_stop_s(baseline, run) if baseline else None
        row = {"run": run.name, "group": run.group, "level": run.level,
               "ideal_stop_s": None if run.stop_ms is None else run.stop_ms / 1000.0,
               "model_stop_s": stop / 1000.0, "stopped": stopped, "timer_stop_s": timer_s}
        if run.stop_ms is not None:
            row["error_s"] = round(row["model_stop_s"] - row["ideal_stop_s"], 2)
            if timer_s is not None:
                row["timer_error_s"] = round(timer_s - row["ideal_stop_s"], 2)
        de = _de_at(run, stop)
        if de is not None and run.level:
            row["delta_e"] = round(de, 2)
            row["de_error"] = round(de - targets.target(run.level), 2)
            if timer_s is not None:
                # A timer that outlasts the recording: the run's last DE is a lower bound.
                t_de = _de_at(run, timer_s * 1000.0)
                row["timer_de_error"] = round(t_de - targets.target(run.level), 2)
        labels = run.labels()[1:]
        pred = np.asarray(keep, int)
        row["ticks"] = int(len(labels))
        row["correct"] = int(np.sum(pred == labels))
        row["confusion"] = confusion(labels, pred)
        rows.append(row)
    return rows, summarize(rows)


def summarize(rows):
    timed = [r for r in rows if "error_s" in r]
    out = {"runs": len(rows), "runs_with_ideal_stop": len(timed),
           "never_stopped": sum(not r["stopped"] for r in rows)}
    if timed:
        err = np.array([r["error_s"] for r in timed])
        out["stop_time_mae_s"] = round(float(np.mean(np.abs(err))), 2)
        out["stop_time_bias_s"] = round(float(np.mean(err)), 2)
        out["stop_time_p90_abs_s"] = round(float(np.percentile(np.abs(err), 90)), 2)
        t_err = np.array([r["timer_error_s"] for r in timed if "timer_error_s" in r])
        if len(t_err):
            out["timer_stop_time_mae_s"] = round(float(np.mean(np.abs(t_err))), 2)
            out["timer_stop_time_bias_s"] = round(float(np.mean(t_err)), 2)
            out["improvement_s"] = round(out["timer_stop_time_mae_s"] - out["stop_time_mae_s"], 2)
            out["improvement_pct"] = round(100.0 * out["improvement_s"]
                                           / max(out["timer_stop_time_mae_s"], 1e-9), 1)
    with_de = [r for r in timed if "de_error" in r]
    if with_de:
        de = np.array([r["de_error"] for r in with_de])
        out["de_mae"] = round(float(np.mean(np.abs(de))), 2)
        out["de_bias"] = round(float(np.mean(de)), 2)
        out["in_band"] = round(float(np.mean(np.abs(de) <= targets.TOLERANCE_DE)), 4)
        out["burnt"] = int(sum(r["delta_e"] >= targets.BURNT_DE for r in with_de))
        t_de = np.array([r["timer_de_error"] for r in with_de if "timer_de_error" in r])
        if len(t_de):
            out["timer_de_mae"] = round(float(np.mean(np.abs(t_de))), 2)
            out["timer_in_band"] = round(float(np.mean(np.abs(t_de) <= targets.TOLERANCE_DE)), 4)
    ticks = sum(r["ticks"] for r in rows)
    out["tick_accuracy"] = round(sum(r["correct"] for r in rows) / max(ticks, 1), 4)
    out["confusion"] = np.sum([r["confusion"] for r in rows], axis=0).tolist()
    return out


def confusion(y, pred):
    """Tick counts [[continue called continue, continue called stop], [stop called
    continue, stop called stop]]."""
    y, pred = np.asarray(y), np.asarray(pred)
    return [[int(((y == 1) & (pred == 1)).sum()), int(((y == 1) & (pred == 0)).sum())],
            [int(((y == 0) & (pred == 1)).sum()), int(((y == 0) & (pred == 0)).sum())]]


def by_group(rows):
    groups = {}
    for r in rows:
        groups.setdefault(r["group"], []).append(r)
    return {g: summarize(rs) for g, rs in sorted(groups.items())}
