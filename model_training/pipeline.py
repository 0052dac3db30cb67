"""The whole path from data to a verified model package, as `toaster train` runs it:

    data (a source) -> split by run -> train (float MLP) -> [leave-one-run-out]
      -> export (int8) -> verify (TFLM, LiteRT, float agreement, firmware bit-exact)
      -> package (model.tflite, model.json, float_model.json)
      -> replay through the firmware's model policy (toaster packages) -> card

Each step is its own module; this one only wires them and shows progress.
"""

import contextlib
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from firmware.features import Features
from model_training import (card as card_mod, export as export_mod, package, runs as runs_mod,
                            stop_time, table as table_mod, train as train_mod)
from model_training.errors import DataError

SIM_FEATURES = {
    "period_ms": 100,
    "window": 10,
    "inputs": [
        {"kind": "elapsed"},
        {"kind": "level"},
        {"kind": "value", "channel": "temp_dc"},
        {"kind": "delta", "channel": "temp_dc"},
        {"kind": "rate", "channel": "temp_dc"},
        {"kind": "ratio", "channel": "c"},
        {"kind": "rate", "channel": "c"},
        {"kind": "ratio", "channel": "r"},
        {"kind": "ratio", "channel": "b"},
    ],
}
SIM_CONFIG = train_mod.Config(hidden=(16, 8), alpha=1e-4, learning_rate=1e-3, epochs=60,
                              patience=10, row_every=4)
LOGS_CONFIG = train_mod.Config(hidden=(8,), alpha=1e-2, epochs=40, patience=5)
# "stop" answers in a row that end a toast. On the logs (500 ms ticks) 2 s: single noisy
# ticks stopped toasts early, and leave-one-run-out error spread 8.5-10.1 s over training
# seeds (7.9-8.3 s with it). On the toaster no measurable difference (held-out stop time
# MAE 1.43 s with 1, 1.41 s with 2, 1.42 s with 3), so the plain rule.
SIM_CONSECUTIVE = 1
LOGS_CONSECUTIVE = 4
SIM_RUNS = 400
POLICY_PERIOD_MS = 100     # the firmware's control period: packages the toaster can run
REPLAY_RUNS = 2            # held-out runs replayed through the firmware's model policy
TEST_SHARE = 0.2


@dataclass
class Source:
    kind: str                       # "simulated" | "logs"
    path: str | None = None         # logs folder
    runs: int = SIM_RUNS            # simulated runs
    seed: int = 0                   # data seed (simulated)
    log_format: str | None = None   # logs: name or path of a log format
    base: str | None = None         # telemetry: the package the sessions ran
    unrated: str = "weak"           # telemetry: sessions without feedback, "weak" | "drop"
    feedback: object = None         # telemetry: the feedback.Dataset, once loaded
    factory: object = None          # telemetry: the base's simulated Source, relabelled

    def describe(self):
        if self.kind == "simulated":
            return {"source": "simulated", "runs": self.runs, "seed": self.seed,
                    "simulator": "hardware.simulator batch, scenario.sample(runs, seed)"}
        if self.kind == "telemetry":
            out = {"source": "telemetry", "folder": str(Path(self.path).resolve()),
                   "base": str(Path(self.base).resolve())}
            if self.feedback is not None:
                out.update(factory=self.factory.describe(), feedback=self.feedback.summary(),
                           sessions=self.feedback.sessions())
            return out
        return {"source": "logs", "folder": str(Path(self.path).resolve()),
                "format": self.log_format or "perfect-toast-machine"}


class Progress:
    """Step lines and tqdm bars on stderr; quiet=True shows nothing."""

    def __init__(self, quiet=False, stream=None):
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.times = {}

    def say(self, text):
        if not self.quiet:
            print(text, file=self.stream, flush=True)

    @contextlib.contextmanager
    def step(self, name, total=None, unit="it"):
        t0 = time.perf_counter()
        bar = None
        if not self.quiet and total:
            from tqdm import tqdm

            bar = tqdm(total=total, desc=name, unit=unit, file=self.stream, leave=False,
                       dynamic_ncols=True)
        try:
            yield (bar.update if bar else (lambda n=1: None))
        finally:
            if bar:
                bar.close()
        self.times[name] = round(time.perf_counter() - t0, 2)
        self.say("%-24s %6.1f s" % (name, self.times[name]))


def load(source, progress):
    """(runs, feature spec, training config, consecutive stops) of a source."""
    if source.kind == "simulated":
        from model_training.sources import simulated

        if source.runs < 10:
            raise DataError("simulated data needs at least 10 runs")
        with progress.step("simulate %d toasts" % source.runs, source.runs, "toast") as tick:
            runs = simulated.generate(source.runs, source.seed, progress=tick)
        return runs, SIM_FEATURES, SIM_CONFIG, SIM_CONSECUTIVE
    if source.kind == "logs":
        from model_training.sources import logs

        fmt = logs.load_format(source.log_format or logs.DEFAULT_FORMAT)
        with progress.step("read logs"):
            runs = logs.read(source.path, fmt)
        if len(runs) < 3:
            raise DataError("%s holds %d runs: training needs at least 3"
                            % (source.path, len(runs)))
        if "features" not in fmt:
            raise DataError("log format %s proposes no features" % fmt.get("name"))
        return runs, fmt["features"], LOGS_CONFIG, LOGS_CONSECUTIVE
    if source.kind == "telemetry":
        # The sessions' feedback moves the base's level targets (model_training/feedback.py);
        # the factory's simulated runs, relabelled to them, and the sessions' own traces
        # train the new model, which reads what the base model read.
        from model_training import feedback

        _, base = package.read(source.base)
        with progress.step("read telemetry"):
            source.feedback = feedback.read(source.path, base, source.unrated,
                                            base["features"]["period_ms"])
        if len(source.feedback.runs) < 3:
            raise DataError("%s holds %d usable sessions: training needs at least 3"
                            % (source.path, len(source.feedback.runs)))
        source.factory = factory_of(base)
        factory = feedback.relabel(load(source.factory, progress)[0], source.feedback.targets)
        spec = {k: v for k, v in base["features"].items() if k not in ("mean", "std", "quantize")}
        return (factory + source.feedback.runs, spec, SIM_CONFIG,
                base["decision"].get("consecutive", SIM_CONSECUTIVE))
    raise DataError("unknown source %r" % source.kind)


@dataclass
class Result:
    folder: Path
    manifest: dict
    card: dict
    times: dict = field(default_factory=dict)


def train_package(out, source, seed=0, loo=None, firmware_check=True, quiet=False,
                  config=None, name=None, parent=None):
    """Train, export, verify and write a package folder. loo: leave-one-run-out figures
    (default: for logs). Raises DataError when a step or a check fails."""
    progress = Progress(quiet)
    t_start = time.perf_counter()
    runs, spec, default_config, consecutive = load(source, progress)
    try:
        Features(spec)
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError("bad feature spec for %s data: %s" % (source.kind, exc)) from None
    if source.kind == "telemetry" and parent is None:
        parent = package.read(source.base)[1]["id"]
    config = config or default_config
    data_hash = runs_mod.dataset_hash(runs)
    loo = source.kind == "logs" if loo is None else loo

    # Simulated data: a test split never seen in training. Logs are few: the shipped model
    # learns from all of them and leave-one-run-out measures how it generalizes.
    if source.kind == "simulated":
        train_runs, test_runs = runs_mod.split(runs, (1 - TEST_SHARE, TEST_SHARE), seed)
    else:
        train_runs, test_runs = runs, []
    with progress.step("train", config.epochs, "epoch") as tick:
        t0 = time.perf_counter()
        model = train_mod.fit(train_runs, spec, config, seed, progress=tick)
        model.consecutive = consecutive
        train_s = time.perf_counter() - t0
    held = [r for r in train_runs if r.name in set(model.holdout)]
    check_runs = test_runs or held

    evaluation = {}
    if loo:
        with progress.step("leave-one-run-out", len(runs), "run") as tick:
            rows, summary = train_mod.leave_one_run_out(runs, spec, config, seed, tick,
                                                        consecutive)
        evaluation["leave_one_run_out"] = {"summary": summary, "runs": rows,
                                           "by_group": stop_time.by_group(rows)}
    with progress.step("export int8"):
        tflite, qspec, quant, thr_q = export_mod.export(
            model, export_mod.calibration_rows(train_runs, spec, seed), seed)
    with progress.step("verify", 3) as tick:
        checks, keeps = export_mod.verify(tflite, model, qspec, thr_q, check_runs, seed,
                                          firmware_check, progress=lambda _: tick(1))
    baseline = stop_time.timer(train_runs)
    if test_runs:
        # The int8 model's decisions in TFLM from the verification: the package as shipped.
        rows, summary = stop_time.score(test_runs, keeps, baseline, consecutive)
        evaluation["held_out"] = {"summary": summary, "runs": rows,
                                  "by_group": stop_time.by_group(rows)}

    size = {"tflite_bytes": len(tflite), "parameters": model.parameters(), "macs": model.macs(),
            "arena_bytes": checks.get("firmware_arena_bytes"),
            "tflm_arena_bytes": checks.get("tflm_arena_bytes"),
            "inference_us": checks.get("firmware_invoke_us"),
            "inference_measured_on": "firmware interpreter, MicroPython unix port, heap %s"
                                     % checks.get("firmware_heap", "-")}
    headline = evaluation.get("held_out") or evaluation.get("leave_one_run_out") or {}
    metrics = {"evaluated_on": "held_out" if test_runs else
               ("leave_one_run_out" if loo else "none"),
               **{k: v for k, v in headline.get("summary", {}).items() if not isinstance(v, list)},
               "timer": baseline, "verification": checks, "training_seconds": round(train_s, 2),
               "epochs": len(model.history)}
    provenance = {"data": source.describe(), "dataset_sha256": data_hash, "runs": len(runs),
                  "split": {"train": len(train_runs), "test": len(test_runs), "seed": seed,
                            "by": "run", "early_stopping_runs": len(held)},
                  "training_seed": seed, "training": config.to_dict(),
                  "code_version": package.code_version(), "parent": parent,
                  "library": "scikit-learn MLPClassifier; ai-edge-quantizer static int8"}
    name = name or "mlp%s" % "x".join(str(h) for h in config.hidden)
    meta = package.manifest(tflite, model, qspec, quant, thr_q, name, provenance, metrics, size)
    if source.feedback is not None:
        meta["levels"] = source.feedback.levels()
    folder = Path(out)
    package.write(folder, tflite, meta)
    package.write_float(folder, model, config)
    if firmware_check and qspec.get("period_ms") == POLICY_PERIOD_MS:
        with progress.step("firmware policy replay"):
            checks.update(policy_replay(folder, check_runs[:REPLAY_RUNS],
                                        keeps[:REPLAY_RUNS], consecutive))
        size["decide_us"] = checks.pop("decide_us")
        package.write(folder, tflite, meta)
    progress.times["total"] = round(time.perf_counter() - t_start, 2)
    card = card_mod.build(meta, evaluation, model.history, progress.times)
    card_mod.write(folder, card)
    return Result(folder, meta, card, progress.times)


def policy_replay(folder, runs, keeps, consecutive):
    """The package through firmware/model_policy.py on MicroPython over runs: its answers
    must be the host's (TFLM decisions, debounced), every tick. Returns the figures."""
    from model_training import replay

    results = replay.on_firmware(folder, runs)
    for run, keep, got in zip(runs, keeps, results):
        expected = stop_time.debounce(keep, consecutive)
        if not np.array_equal(got["keep"], expected):
            tick = int(np.flatnonzero(got["keep"] != expected)[0]) + 1
            raise DataError("the firmware's model policy decides differently from TFLM on "
                            "run %s, tick %d" % (run.name, tick))
    return {"policy_replay_ticks": int(sum(len(k) for k in keeps)),
            "policy_replay_alloc_bytes": max(r["grown"] for r in results),
            "decide_us": float(np.median([r["decide_us"] for r in results]))}


def factory_of(meta):
    """The simulated Source at the root of a package's lineage: the runs whose true DE
    can be relabelled to a household's targets."""
    data = meta.get("provenance", {}).get("data", {})
    data = data.get("factory", data)
    if data.get("source") != "simulated":
        raise DataError("learning from telemetry needs a base model trained on simulated "
                        "toasts (their true browning is relabelled); %s was trained on %s"
                        % (meta.get("id"), data.get("source", "unknown data")))
    return Source("simulated", runs=data["runs"], seed=data["seed"])


def source_of(meta):
    """The Source a package was trained from, from its provenance."""
    data = meta.get("provenance", {}).get("data", {})
    if data.get("source") == "simulated":
        return Source("simulated", runs=data["runs"], seed=data["seed"])
    if data.get("source") == "logs":
        return Source("logs", path=data["folder"], log_format=data.get("format"))
    raise DataError("the package's provenance names no data source it can be rebuilt from")


def reexport(folder, out=None, firmware_check=True, quiet=False):
    """Export a package's float model again (calibration and verification on the data its
    provenance names, checked against the recorded data set hash) into out (default: in
    place). For a new quantizer, or to verify a package again."""
    progress = Progress(quiet)
    _, meta = package.read(folder)
    model = package.read_float(folder)
    source = source_of(meta)
    runs = load(source, progress)[0]
    if runs_mod.dataset_hash(runs) != meta["provenance"]["dataset_sha256"]:
        raise DataError("the data at %s is not the data the package was trained on (data "
                        "set hash differs)" % (source.path or "the simulator"))
    split = meta["provenance"]["split"]
    if split["test"]:
        train_runs, test_runs = runs_mod.split(
            runs, (split["train"] / len(runs), split["test"] / len(runs)), split["seed"])
    else:
        train_runs, test_runs = runs, []
    check_runs = test_runs or [r for r in runs if r.name in set(model.holdout)] or runs
    with progress.step("export int8"):
        tflite, qspec, quant, thr_q = export_mod.export(
            model, export_mod.calibration_rows(train_runs, model.spec, split["seed"]),
            split["seed"])
    with progress.step("verify", 3) as tick:
        checks, keeps = export_mod.verify(tflite, model, qspec, thr_q, check_runs,
                                          split["seed"], firmware_check,
                                          progress=lambda _: tick(1))
    metrics = dict(meta["metrics"], verification=checks)
    size = dict(meta["size"], tflite_bytes=len(tflite),
                arena_bytes=checks.get("firmware_arena_bytes"),
                tflm_arena_bytes=checks.get("tflm_arena_bytes"),
                inference_us=checks.get("firmware_invoke_us"))
    provenance = dict(meta["provenance"], code_version=package.code_version())
    new = package.manifest(tflite, model, qspec, quant, thr_q, meta["name"], provenance,
                           metrics, size)
    target = Path(out or folder)
    package.write(target, tflite, new)
    if firmware_check and qspec.get("period_ms") == POLICY_PERIOD_MS:
        with progress.step("firmware policy replay"):
            checks.update(policy_replay(target, check_runs[:REPLAY_RUNS],
                                        keeps[:REPLAY_RUNS], model.consecutive))
        size["decide_us"] = checks.pop("decide_us")
        package.write(target, tflite, new)
    if target != Path(folder):
        package.write_float(target, model, False)
    card = card_mod.read(folder)
    if card is not None:
        card.update(id=new["id"], created=new["created"], sha256=new["sha256"],
                    features=qspec["inputs"], metrics=metrics, size=size, provenance=provenance)
        card_mod.write(target, card)
    return Result(target, new, card or {}, progress.times)


def evaluate_logs(folder, logs_dir, log_format=None, quiet=False):
    """The package, as the device runs it (int8, TFLM), on a folder of labelled logs it
    was not trained on, per run and overall, beside the timer baseline of its manifest."""
    from model_training.sources import logs

    progress = Progress(quiet)
    tflite, meta = package.read(folder)
    fmt = logs.load_format(log_format or meta.get("provenance", {}).get("data", {}).get(
        "format") or logs.DEFAULT_FORMAT)
    with progress.step("read logs"):
        runs = logs.read(logs_dir, fmt)
    needed = {i["channel"] for i in meta["features"]["inputs"] if "channel" in i}
    missing = needed - set(fmt["channels"])
    if missing:
        raise DataError("the package reads channels %s, which log format %s does not have"
                        % (", ".join(sorted(missing)), fmt.get("name")))
    with progress.step("run the int8 model", len(runs), "run") as tick:
        keeps = stop_time.int8_keep(tflite, meta, runs, tick)
    baseline = meta.get("metrics", {}).get("timer")
    rows, summary = stop_time.score(runs, keeps, baseline,
                                    meta["decision"].get("consecutive", 1))
    trained_on = meta.get("provenance", {}).get("dataset_sha256")
    return {"model": meta["id"], "name": meta["name"], "folder": str(Path(logs_dir).resolve()),
            "dataset_sha256": runs_mod.dataset_hash(runs),
            "same_data_as_training": runs_mod.dataset_hash(runs) == trained_on,
            "timer_stop_s": baseline.get("stop_s") if baseline else None,
            "summary": summary, "by_group": stop_time.by_group(rows), "runs": rows}


def logs_json(result):
    """The documented --json form of evaluate_logs (model_training/PACKAGE.md)."""
    flat = {k: v for k, v in result.items() if k not in ("summary", "runs")}
    flat.update(result["summary"])
    flat["per_run"] = result["runs"]
    return flat
