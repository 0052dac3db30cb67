"""Model packages: a folder with model.tflite and its manifest model.json (the format is
model_training/PACKAGE.md), plus what the host keeps beside them (float_model.json, the
card). Only model.tflite and model.json go to the device."""

import datetime
import hashlib
import json
import subprocess
from pathlib import Path

import numpy as np

from model_training import targets
from model_training.errors import DataError
from model_training.train import Config, FloatModel

FORMAT = 1
MODEL = "model.tflite"
MANIFEST = "model.json"
FLOAT_MODEL = "float_model.json"
ROOT = Path(__file__).resolve().parent.parent


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def model_id(tflite, features, decision):
    """8 hex digits naming what the device runs: the model bytes and how its inputs and
    output are read. Telemetry carries it in every frame."""
    h = hashlib.sha256(tflite)
    h.update(json.dumps({"features": features, "decision": decision}, sort_keys=True).encode())
    return h.hexdigest()[:8]


def code_version():
    """git describe of the checkout (with -dirty), or the installed version."""
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=12"],
                             cwd=ROOT, capture_output=True, text=True, timeout=10)
        if out.returncode == 0 and out.stdout.strip():
            return "git:" + out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    from importlib import metadata

    try:
        return "smart-toaster " + metadata.version("smart-toaster")
    except metadata.PackageNotFoundError:
        return "unknown"


def level_targets():
    return {str(level): {"target_de": targets.target(level), "band_de": list(targets.band(level))}
            for level in targets.LEVELS}


def manifest(tflite, float_model, spec, quant, thr_q, name, provenance, metrics, size):
    decision = {"threshold": float_model.threshold, "threshold_q": thr_q,
                "consecutive": float_model.consecutive,
                "rule": "stop once the int8 output has been below threshold_q on "
                        "`consecutive` ticks in a row; keep toasting until then"}
    return {
        "format": FORMAT,
        "id": model_id(tflite, spec, decision),
        "name": name,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "sha256": sha256(tflite),
        "features": spec,
        "input": {"shape": [1, len(spec["inputs"])], "type": "int8", **quant["input"]},
        "output": {"shape": [1, 1], "type": "int8", **quant["output"],
                   "meaning": "probability that toasting should continue"},
        "decision": decision,
        "labels": {"1": "keep toasting", "0": "stop"},
        "levels": level_targets(),
        "provenance": provenance,
        "metrics": metrics,
        "size": size,
    }


def write(folder, tflite, meta, float_model=None):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MODEL).write_bytes(tflite)
    (folder / MANIFEST).write_text(json.dumps(meta, indent=1) + "\n")
    if float_model is not None:
        write_float(folder, float_model)


def write_float(folder, model, config=None):
    data = {"spec": model.spec, "mean": model.mean.tolist(), "std": model.std.tolist(),
            "weights": [w.tolist() for w in model.weights], "holdout": model.holdout,
            "biases": [b.tolist() for b in model.biases],
            "threshold": model.threshold, "consecutive": model.consecutive,
            "history": model.history,
            "config": (config or Config()).to_dict() if config is not False else None}
    Path(folder, FLOAT_MODEL).write_text(json.dumps(data) + "\n")


def read_float(folder):
    path = Path(folder, FLOAT_MODEL)
    try:
        data = json.loads(path.read_text())
        return FloatModel(data["spec"], np.array(data["mean"]), np.array(data["std"]),
                          [np.array(w) for w in data["weights"]],
                          [np.array(b) for b in data["biases"]], data["threshold"],
                          data.get("consecutive", 1),
                          [tuple(h) for h in data.get("history", [])],
                          data.get("holdout", []))
    except OSError:
        raise DataError("%s has no %s: it was not written by `toaster train`"
                        % (folder, FLOAT_MODEL)) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError("%s is damaged: %s" % (path, exc)) from None


def read(folder):
    """(tflite bytes, manifest) of a package, checked: both files present, the manifest
    of this format, the SHA-256 matching."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError("%s is not a model package folder" % folder)
    try:
        tflite = (folder / MODEL).read_bytes()
        meta = json.loads((folder / MANIFEST).read_text())
    except OSError as exc:
        raise DataError("%s is not a model package: %s is missing"
                        % (folder, Path(exc.filename).name)) from None
    except ValueError as exc:
        raise DataError("%s/%s is not valid JSON: %s" % (folder, MANIFEST, exc)) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise DataError("%s/%s: not a format-%d manifest" % (folder, MANIFEST, FORMAT))
    for key in ("id", "name", "sha256", "features", "input", "output", "decision"):
        if key not in meta:
            raise DataError("%s/%s has no %r" % (folder, MANIFEST, key))
    if sha256(tflite) != meta["sha256"]:
        raise DataError("%s: model.tflite does not match the SHA-256 in model.json" % folder)
    return tflite, meta
