"""Closed-loop evaluation: the model package against the baselines, each flashed into the
real firmware and toasting the scenario suite (model_training/suite.py) on the virtual
toaster (host/closed_loop.py), as `toaster evaluate` runs it.

    policies = prepare(out, package)       # {"model": folder, "timer": folder, "rule": folder}
    results = run(policies, toasts=500)    # {"model": [ToastResult, ...], ...}
    summary = summarise(results)           # the figures; evaluate_report.py draws and writes

The baselines are tuned on the training scenarios of the package (its provenance names
the simulated runs and seed; model_training/baselines.py), never on the suite.
"""

from pathlib import Path

import numpy as np

from host import closed_loop
from model_training import baselines, package as package_mod, suite
from model_training.errors import DataError

POLICIES = ("model", "timer", "rule")
TUNING_RUNS = 400
GUARD_STOPS = ("time_limit",)   # the guard, not the policy, ended the toast


def training_source(package):
    """(runs, seed) of the simulated scenarios a package was trained on; the defaults of
    `toaster train` when it names none (trained on logs or telemetry)."""
    data = package_mod.read(package)[1].get("provenance", {}).get("data", {})
    if data.get("source") == "simulated":
        if data.get("seed") == suite.SEED:
            raise DataError("the package was trained on the suite's own scenarios (seed %d):"
                            " train it on another --data-seed" % suite.SEED)
        return data["runs"], data["seed"]
    return TUNING_RUNS, 0


def prepare(out, package=None, say=print):
    """The policy package folders: the model package (trained into out/model when None)
    and the two baselines tuned on its training scenarios (into out/timer, out/rule)."""
    out = Path(out)
    if package is None:
        from model_training import pipeline

        say("no --package: training one on simulated toasts into %s" % (out / "model"))
        package = pipeline.train_package(out / "model", pipeline.Source("simulated"),
                                         quiet=True).folder
    runs, seed = training_source(package)
    # scenario.sample(n, seed) grows by appending: at least TUNING_RUNS of the same ones.
    runs = max(runs, TUNING_RUNS)
    say("tuning the baselines on the training scenarios (%d simulated toasts, seed %d)"
        % (runs, seed))
    tuning = baselines.training_runs(runs, seed)
    source = {"source": "simulated", "runs": runs, "seed": seed}
    for kind, tune in (("timer", baselines.tune_timer), ("rule", baselines.tune_rule)):
        baselines.write(out / kind, kind, tune(tuning), source)
    return {"model": Path(package), "timer": out / "timer", "rule": out / "rule"}


def run(policies, toasts, workers=None, progress=None):
    """{policy: [ToastResult]} of every policy over the first `toasts` of the suite.
    progress(policy) returns a callable that takes the toasts done."""
    sessions = suite.sessions(toasts)
    out = {}
    for name, folder in policies.items():
        img = closed_loop.app_image(folder)
        out[name] = closed_loop.run(img, sessions, workers,
                                    progress(name) if progress else None)
    return out


def refusal(name, results):
    """Why a model's results cannot count as the model's (None when they can)."""
    if name != "model":
        return None
    fell = [r for r in results if r.fell_back]
    if not fell:
        return None
    first = fell[0]
    why = ("the boot frame announced the fallback (the model did not load)"
           if first.boot_policy == "fallback" else
           "model faults: %s" % ", ".join(sorted({d for r in fell for d in r.model_faults}))
           or "the fallback decided")
    return "%d of %d toasts were not decided by the model: %s" % (len(fell), len(results), why)


def _stats(results):
    err = np.array([r.error for r in results])
    times = np.array([r.duration_s for r in results if r.duration_s is not None])
    n = len(results)
    return {
        "toasts": n,
        "browning_mae": round(float(np.mean(np.abs(err))), 2),
        "browning_bias": round(float(np.mean(err)), 2),
        "browning_p90_abs": round(float(np.percentile(np.abs(err), 90)), 2),
        "in_band_rate": round(sum(not (r.underdone or r.overdone) for r in results) / n, 4),
        "burnt_rate": round(sum(r.burnt for r in results) / n, 4),
        "underdone_rate": round(sum(r.underdone for r in results) / n, 4),
        "overdone_rate": round(sum(r.overdone for r in results) / n, 4),
        "time_to_done_s": round(float(np.mean(times)), 1) if len(times) else None,
        "violations": sum(len(r.violations) for r in results),
        "guard_interventions": sum(1 for r in results if r.guard_ticks or r.faults
                                   or r.stop_reason in GUARD_STOPS),
        "max_ntc_on_c": round(max((r.max_ntc_on_c or 0.0) for r in results), 1),
        "late_pushes": sum(r.late_push for r in results),
        "stop_reasons": _count(r.stop_reason for r in results),
    }


def _count(items):
    out = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return out


def summarise(results):
    """{"suite": ..., "policies": {name: stats + by_group + refused}}."""
    out = {"suite": {"version": suite.VERSION, "seed": suite.SEED,
                     "toasts": len(next(iter(results.values())))}, "policies": {}}
    for name, rs in results.items():
        stats = _stats(rs)
        stats["refused"] = refusal(name, rs)
        stats["by_group"] = {g: _stats(members) for g in suite.GROUPS
                             if (members := [r for r in rs if g in r.tags["groups"]])}
        stats["by_level"] = {str(lv): _stats(members) for lv in range(1, 8)
                             if (members := [r for r in rs if r.level == lv])}
        out["policies"][name] = stats
    return out
