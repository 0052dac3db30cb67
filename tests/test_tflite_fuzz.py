"""Fuzzing the firmware interpreter's loader: thousands of mutated model files (bit flips,
truncation, overwritten offsets and sizes, huge values) must each either load and run, or
be rejected with ModelError. Any other exception, a crash of MicroPython or a hang fails."""

import subprocess
from pathlib import Path

import numpy as np

from host import micropython as mp
from model_training import tflite_graph as tg

SHARED = Path(__file__).resolve().parents[2] / "shared" / "models"
MUTANTS_PER_MODEL = 1000

RUNNER = """
import os, sys
from array import array
from firmware.tflite import Interpreter, ModelError
folder = sys.argv[1]
for name in sorted(os.listdir(folder)):
    data = open(folder + "/" + name, "rb").read()
    try:
        it = Interpreter(data)
    except ModelError as e:
        print(name, "rejected")
        continue
    except Exception as e:
        print(name, "CRASH at load:", type(e).__name__, e)
        continue
    try:
        for i in range(it.inputs):
            buf = it.input(i)
            for k in range(len(buf)):
                buf[k] = (k * 7 % 256 - 128) / 64 if isinstance(buf, array) else k * 7 % 256 - 128
        it.invoke()
        it.invoke()
        print(name, "ran")
    except Exception as e:
        print(name, "CRASH at invoke:", type(e).__name__, e)
"""

INTERESTING = [0, 1, 2, 3, 4, 8, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0x80000000,
               0xFFFFFFFF, 0xFFFFFFFC, 0x10000000, 0x00FFFFFF]


def zoo():
    # One small int8 graph with most operator kinds, quantized by the real quantizer.
    rng = np.random.default_rng(7)
    g = tg.Graph()
    x = g.input("x", [1, 6, 6, 2])
    h = g.conv_2d(x, rng.normal(size=(3, 3, 3, 2)), rng.normal(size=3), (1, 1), "same",
                  activation="relu")
    h = g.depthwise_conv_2d(h, rng.normal(size=(1, 3, 3, 6)), rng.normal(size=6), (2, 2),
                            depth_multiplier=2)
    h = g.pad(h, [[0, 0], [1, 0], [0, 1], [0, 0]])
    h = g.max_pool_2d(h, (2, 2))
    h = g.add(h, g.tanh(h))
    h = g.concatenation([h, g.logistic(h)], axis=3)
    m = g.mean(h, [1, 2], keep_dims=False)
    y1 = g.fully_connected(g.reshape(h, [1, -1], dynamic=True), rng.normal(size=(4, 48)))
    y2 = g.fully_connected(m, rng.normal(size=(4, 12)), rng.normal(size=4))
    g.output(g.softmax(g.sub(g.mul(y1, y2), y2)), "p")
    return tg.quantize(g.build(), rng.normal(size=(16, 1, 6, 6, 2)), int8_io=True)


def mlp():
    # Float input and output: QUANTIZE and DEQUANTIZE around the int8 layers.
    rng = np.random.default_rng(8)
    g = tg.Graph()
    x = g.input("features", [1, 5])
    h = g.fully_connected(x, rng.normal(size=(8, 5)), rng.normal(size=8), activation="relu")
    g.output(g.logistic(g.fully_connected(h, rng.normal(size=(1, 8)), [0.0])), "done")
    return tg.quantize(g.build(), rng.normal(size=(32, 5)))


def mutants(model, rng, count):
    n = len(model)
    for k in range(count):
        b = bytearray(model)
        kind = k % 6
        if kind == 0:                                   # bit flips
            for _ in range(rng.integers(1, 5)):
                i = rng.integers(n)
                b[i] ^= 1 << rng.integers(8)
        elif kind == 1:                                 # an offset or size made hostile
            i = 4 * rng.integers(n // 4)
            v = INTERESTING[rng.integers(len(INTERESTING))] if rng.random() < 0.7 \
                else int(rng.integers(0, 2 * n))
            b[i:i + 4] = (v & 0xFFFFFFFF).to_bytes(4, "little")
        elif kind == 2:                                 # truncated
            b = b[:rng.integers(0, n)]
        elif kind == 3:                                 # 16-bit vtable entries
            i = 2 * rng.integers(n // 2)
            b[i:i + 2] = int(rng.choice([0, 2, 4, 0xFFFF, 0x7FFF, 0x100])).to_bytes(2, "little")
        elif kind == 4:                                 # a run of random bytes
            i = rng.integers(n)
            run = rng.integers(1, 32)
            b[i:i + run] = rng.integers(0, 256, size=run, dtype=np.uint8).tobytes()
        else:                                           # a chunk copied elsewhere
            i, j = rng.integers(n, size=2)
            run = rng.integers(4, 64)
            b[j:j + run] = model[i:i + run]
        yield bytes(b)


def test_mutated_models_load_and_run_or_raise_model_error(micropython, tmp_path):
    bases = [(SHARED / "hello_world_int8.tflite").read_bytes(), zoo(), mlp()]
    rng = np.random.default_rng(2024)
    count = 0
    for m, base in enumerate(bases):
        for k, data in enumerate(mutants(base, rng, MUTANTS_PER_MODEL)):
            (tmp_path / ("%d-%04d.tflite" % (m, k))).write_bytes(data)
            count += 1
    (tmp_path / "runner.py").write_text(RUNNER)
    folder = tmp_path / "mutants"
    folder.mkdir()
    for f in tmp_path.glob("*.tflite"):
        f.rename(folder / f.name)
    proc = subprocess.run(mp.command([str(tmp_path / "runner.py"), str(folder)], "8M"),
                          env=mp.environment(), capture_output=True, text=True, timeout=240)
    lines = proc.stdout.splitlines()
    crashes = [line for line in lines if "CRASH" in line]
    assert not crashes, "\n".join(crashes[:20])
    assert len(lines) == count, "MicroPython died after %d of %d files:\n%s" % (
        len(lines), count, proc.stderr[-2000:])
    outcomes = [line.split()[1] for line in lines]
    # The mutations reach deep enough: many files are rejected, and many still run.
    assert outcomes.count("rejected") > count // 4
    assert outcomes.count("ran") > count // 10
