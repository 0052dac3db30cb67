"""Runs from a folder of labelled CSV logs, one file per run.

What the columns mean is a log format (JSON, model_training/formats/): the time column,
the state column and which states mean "toasting" and "stop", and the sensor channels,
each an integer column of the run after multiplying by its scale (sensors report counts;
the features compute in integers). The format also proposes the default feature spec for
its channels. A run starts at the first toasting row; its ideal stop is the first stop
row after that (for the Perfect Toast Machine: the burnt onset).
"""

import csv
import json
from pathlib import Path

import numpy as np

from model_training.errors import DataError
from model_training.runs import Run

FORMATS = Path(__file__).resolve().parent.parent / "formats"
DEFAULT_FORMAT = "perfect-toast-machine"


def load_format(name_or_path=DEFAULT_FORMAT):
    """A log format by name (model_training/formats/NAME.json) or path, checked."""
    path = Path(name_or_path)
    if not path.suffix:
        path = FORMATS / (str(name_or_path) + ".json")
    try:
        fmt = json.loads(path.read_text())
    except OSError as exc:
        known = ", ".join(sorted(p.stem for p in FORMATS.glob("*.json")))
        raise DataError("log format %s: %s (known formats: %s)"
                        % (name_or_path, exc.strerror, known)) from None
    except ValueError as exc:
        raise DataError("log format %s is not valid JSON: %s" % (path, exc)) from None
    try:
        for key in ("time", "state", "channels"):
            if key not in fmt:
                raise KeyError(key)
        fmt["time"]["column"], fmt["state"]["column"]
        fmt["state"]["toasting"], fmt["state"]["stop"]
        for name, ch in fmt["channels"].items():
            ch["column"], float(ch["scale"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError("log format %s: missing or bad %s" % (path, exc)) from None
    return fmt


def _number(text):
    try:
        return float(text)
    except ValueError:
        return float("nan")


def files(folder):
    """The CSV logs under a folder (recursively), sorted by relative path."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError("%s is not a folder of logs" % folder)
    found = sorted(folder.rglob("*.csv"))
    if not found:
        raise DataError("no .csv logs under %s" % folder)
    return found


def read(folder, fmt=None):
    """Every log under folder as a Run (name: its path relative to folder)."""
    fmt = fmt if isinstance(fmt, dict) else load_format(fmt or DEFAULT_FORMAT)
    folder = Path(folder)
    return [read_one(path, fmt, str(path.relative_to(folder))) for path in files(folder)]


def read_one(path, fmt, name=None):
    name = name or Path(path).name
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError("%s: cannot read: %s" % (path, exc)) from None
    if len(rows) < 3:
        raise DataError("%s: no data rows" % path)
    header = [h.strip() for h in rows[0]]
    body = [r for r in rows[1:] if r]
    if body and len(body[-1]) < len(header):
        body.pop()  # a recording cut off in its last line
    columns = {}
    time_col, state_col = fmt["time"]["column"], fmt["state"]["column"]
    wanted = [time_col, state_col] + [ch["column"] for ch in fmt["channels"].values()]
    filled = 0
    for col in wanted:
        if col not in header:
            raise DataError("%s: no column %r (has: %s)" % (path, col, ", ".join(header)))
        k = header.index(col)
        values = np.array([_number(r[k] if k < len(r) else "") for r in body], float)
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad) and col in (time_col, state_col):
            raise DataError("%s: column %s: no number on data row %d"
                            % (path, col, bad[0] + 1))
        if len(bad) == len(values):
            raise DataError("%s: column %s holds no numbers" % (path, col))
        if len(bad):
            # A sensor that missed a reading: hold its last one (the first valid one at
            # the start), as a device would.
            good = np.flatnonzero(np.isfinite(values))
            values[bad] = values[good[np.maximum(np.searchsorted(good, bad) - 1, 0)]]
            filled += len(bad)
        columns[col] = values
    state = columns[fmt["state"]["column"]]
    toasting = np.isin(state, fmt["state"]["toasting"])
    if not toasting.any():
        raise DataError("%s: no toasting rows (state %s)" % (path, fmt["state"]["toasting"]))
    first = int(np.argmax(toasting))
    times = columns[fmt["time"]["column"]] * float(fmt["time"].get("ms_per_unit", 1))
    toast_ms = np.round(times[first:] - times[first]).astype(np.int64)
    if np.any(np.diff(toast_ms) <= 0):
        raise DataError("%s: the time column does not rise" % path)
    stop = np.flatnonzero(np.isin(state[first:], fmt["state"]["stop"]))
    channels = {}
    for ch_name, ch in fmt["channels"].items():
        values = columns[ch["column"]][first:] * float(ch["scale"])
        channels[ch_name] = np.round(values).astype(np.int64)
    group = Path(name).parent.name or Path(name).stem.split(".")[0]
    return Run(name=name, toast_ms=toast_ms, channels=channels,
               stop_ms=int(toast_ms[stop[0]]) if len(stop) else None, group=group,
               meta={"source": "logs", "format": fmt.get("name", ""), "filled_cells": filled})
