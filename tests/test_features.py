"""firmware/features.py: one feature extraction for training and device. The same trace
through CPython and through the real MicroPython gives identical features; a tick
allocates nothing on MicroPython; the kinds mean what PACKAGE.md says."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from firmware.features import RAW_MAX, Features
from host import micropython as mp

CHANNELS = ("temp_dc", "c", "r", "b")
SPEC = {
    "window": 6,
    "inputs": [{"kind": "elapsed"}, {"kind": "level"}]
    + [{"kind": k, "channel": c} for c in CHANNELS for k in ("value", "delta", "ratio", "rate")],
}


def quantized_spec(seed=0):
    rng = np.random.default_rng(seed)
    spec = dict(SPEC)
    spec["quantize"] = [[int(rng.integers(2048, 4096)), int(rng.integers(-2**26, 2**26)),
                         int(rng.integers(8, 24))] for _ in SPEC["inputs"]]
    return spec


def make_trace(ticks=300, seed=1):
    """A sensor trace with what real ones have: drift, noise, a zero start, big counts."""
    rng = np.random.default_rng(seed)
    t = np.arange(ticks)
    data = {
        "temp_dc": (250 + 6 * t + rng.normal(0, 3, ticks)).astype(int),
        "c": (20000 - 40 * t + rng.normal(0, 80, ticks)).astype(int),
        "r": np.maximum(0, 9000 - 20 * t + rng.normal(0, 50, ticks)).astype(int),
        "b": np.concatenate([[0], rng.integers(0, 65535, ticks - 1)]),
    }
    return {"level": 5, "toast_ms": (100 * t).tolist(),
            "data": {k: [int(x) for x in v] for k, v in data.items()}}


class Tick:
    pass


# One driver for both interpreters (common subset): reads {"spec", "trace"} as JSON on
# stdin, prints the raw and the quantized rows of every tick after the first.
RUNNER = """
import json, sys
from firmware.features import Features
from firmware.sample import Sample
job = json.loads(sys.stdin.read())
spec, trace = job["spec"], job["trace"]
names = %r
f = Features(spec)
s = Sample()
s.level = trace["level"]
rows, qrows = [], []
buf = bytearray(f.n)
row = [0] * f.n
cols = [trace["data"][c] for c in names]
for k in range(len(trace["toast_ms"])):
    s.toast_ms = trace["toast_ms"][k]
    for i in range(len(names)):
        setattr(s, names[i], cols[i][k])
    if k == 0:
        f.start(trace["level"], s)
        continue
    f.update(s)
    f.raw_into(row)
    rows.append(list(row))
    if f.q is not None:
        f.quantize(buf)
        qrows.append(list(buf))
print(json.dumps({"rows": rows, "qrows": qrows}))
""" % (CHANNELS,)

# MicroPython only: the bytes the heap grows by over 200 ticks with the GC off.
ALLOC_RUNNER = """
import gc, json, sys
from firmware.features import Features
from firmware.sample import Sample
f = Features(json.loads(sys.stdin.read()))
s = Sample()
buf = bytearray(f.n)
row = [0] * f.n
f.start(4, s)

def ticks(n):
    for k in range(n):
        s.toast_ms = k * 100
        s.temp_dc = 300 + k
        s.c = 20000 - 7 * k
        f.update(s)
        f.raw_into(row)
        f.quantize(buf)

before = 0   # bind the global first: its dict entry is no tick's allocation
gc.collect()
gc.disable()
before = gc.mem_alloc()
ticks(200)
print(gc.mem_alloc() - before)
"""


def run(command, env, spec, trace):
    proc = subprocess.run(command, env=env, input=json.dumps({"spec": spec, "trace": trace}),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    return out["rows"], out["qrows"]


def run_cpython(spec, trace):
    env = dict(os.environ, PYTHONPATH=str(mp.ROOT))
    return run([sys.executable, "-c", RUNNER], env, spec, trace)


def run_micropython(spec, trace):
    return run(mp.command(["-c", RUNNER], "512K"), mp.environment(), spec, trace)


@pytest.mark.parametrize("seed", [1, 2])
def test_same_features_on_cpython_and_micropython(micropython, seed):
    spec, trace = quantized_spec(seed), make_trace(seed=seed)
    rows, qrows = run_cpython(spec, trace)
    mp_rows, mp_qrows = run_micropython(spec, trace)
    assert len(rows) == len(trace["toast_ms"]) - 1
    assert mp_rows == rows
    assert mp_qrows == qrows
    # The trace reaches the clamp and both ends of int8, so those paths are compared too.
    assert max(max(abs(v) for v in r) for r in rows) == RAW_MAX
    flat = [b for r in qrows for b in r]
    assert 127 in flat and 128 in flat


def test_a_tick_allocates_nothing_on_micropython(micropython):
    proc = mp.run(ALLOC_RUNNER, heapsize=mp.DEVICE_HEAP, input=json.dumps(quantized_spec()))
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) == 0


def test_kinds_on_a_ramp():
    spec = {"window": 4, "inputs": [{"kind": "elapsed"}, {"kind": "level"},
                                    {"kind": "value", "channel": "x"},
                                    {"kind": "delta", "channel": "x"},
                                    {"kind": "ratio", "channel": "x"},
                                    {"kind": "rate", "channel": "x"}]}
    f = Features(spec)
    s = Tick()
    s.toast_ms, s.x = 0, 100
    f.start(3, s)
    row = [0] * f.n
    assert (f.raw_into(row), row) == (None, [0, 3, 400, 0, 1024, 0])
    for k in range(1, 5):   # x: 110, 120, 130, 140
        s.toast_ms, s.x = 100 * k, 100 + 10 * k
        f.update(s)
    f.raw_into(row)
    # window sum 500; delta from 4 x 100; ratio x 1024; newer half 270 - older half 230
    assert row == [4, 3, 500, 100, 500 * 1024 // 400, 40]


def test_quantize_writes_twos_complement_and_clamps():
    spec = {"window": 2, "inputs": [{"kind": "elapsed"}] * 3,
            "quantize": [[1, 0, 0], [1, -300, 0], [1, 0, 1]]}
    f = Features(spec)
    s = Tick()
    s.toast_ms = 0
    f.start(1, s)
    s.toast_ms = 20000  # elapsed 200
    f.update(s)
    buf = bytearray(3)
    f.quantize(buf)
    assert list(np.frombuffer(buf, np.int8)) == [127, -100, 100]


@pytest.mark.parametrize("spec, message", [
    ({"window": 3, "inputs": [{"kind": "elapsed"}]}, "even"),
    ({"window": 4, "inputs": [{"kind": "speed", "channel": "c"}]}, "unknown kind"),
    ({"window": 4, "inputs": [{"kind": "delta"}]}, "needs a channel"),
    ({"window": 4, "inputs": []}, "no inputs"),
    ({"window": 4, "inputs": [{"kind": "elapsed"}], "quantize": [[1, 2]]}, "quantize"),
])
def test_bad_specs_are_refused(spec, message):
    with pytest.raises(ValueError, match=message):
        Features(spec)


def test_a_float_channel_is_refused():
    f = Features({"window": 2, "inputs": [{"kind": "value", "channel": "temp_c"}]})
    s = Tick()
    s.toast_ms, s.temp_c = 0, 21.5
    with pytest.raises(ValueError, match="not an integer"):
        f.start(1, s)
