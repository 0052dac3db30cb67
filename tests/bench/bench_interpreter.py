"""Benchmark: the firmware's int8 TFLite interpreter against TFLM, in the same run.

Per-invoke time of firmware/tflite on MicroPython (unix port, x64, viper kernels) and of
TensorFlow Lite Micro's C++ reference kernels (the tflite-micro wheel), for hello_world,
a toaster-sized MLP and person_detect, as ratios; arena sizes beside each other.

Times are CPU time of the process per invoke (MicroPython: /proc/self/schedstat; CPython:
thread_time), averaged over enough invokes to run for about a second each: on a shared
machine, wall time also counts waiting for a core. Wall-clock medians are printed too.
Requirement on person_detect: under 10x; goal: 3x.

    python tests/bench/bench_interpreter.py
"""

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from host import micropython as mp  # noqa: E402
from host import model_check  # noqa: E402
from tflite_cases import toaster_mlp  # noqa: E402

SHARED = Path(__file__).resolve().parents[3] / "shared" / "models"
TARGET_S = 1.0
LIMIT, GOAL = 10, 3

# Runs on MicroPython: load, warm up, then time invokes in CPU and wall time.
RUNNER = """
import json, sys, time
from firmware.tflite import Interpreter

def cpu_ns():
    with open("/proc/self/schedstat") as f:
        return int(f.read().split()[0])

t = time.ticks_us()
it = Interpreter(open(sys.argv[1], "rb").read())
load = time.ticks_diff(time.ticks_us(), t)
for i in range(it.inputs):
    buf = it.input(i)
    for k in range(len(buf)):
        buf[k] = k * 37 % 256 - 128
it.invoke()
count = 1
while True:
    c = cpu_ns()
    for _ in range(count):
        it.invoke()
    spent = cpu_ns() - c
    if spent > TARGET_NS or count > 1 << 20:
        break
    count *= 4
walls = []
for _ in range(min(count, 50)):
    t = time.ticks_us()
    it.invoke()
    walls.append(time.ticks_diff(time.ticks_us(), t))
walls.sort()
print(json.dumps({"cpu_us": spent / count / 1000, "wall_us": walls[len(walls) // 2],
                  "arena": it.arena_size, "load_ms": load / 1000}))
"""


def firmware(model):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(model)
        runner = Path(tmp) / "bench.py"
        runner.write_text(RUNNER.replace("TARGET_NS", str(int(TARGET_S * 1e9))))
        proc = subprocess.run(mp.command([str(runner), str(path)], "4M"),
                              env=mp.environment(), capture_output=True, text=True, timeout=600)
        if proc.returncode:
            raise SystemExit("firmware interpreter failed:\n" + proc.stderr)
        return json.loads(proc.stdout.strip().splitlines()[-1])


# Runs on MicroPython from .mpy files, as on a board: heap used after loading (model bytes
# excluded), then one invoke.
MEMORY = """
import gc, sys
gc.collect()
before = gc.mem_alloc()
from firmware.tflite import Interpreter
model = open(sys.argv[1], "rb").read()
it = Interpreter(model)
it.invoke()
gc.collect()
print(gc.mem_alloc() - before - len(model))
"""


HEAPS_KB = (64, 96, 1024)   # the firmware's goal and limit, the person_detect requirement


def memory(model):
    """(heap used after loading in bytes, {heap KB: loads and runs}), with the interpreter as
    x64 .mpy files. Fragmentation makes the smallest workable heap jumpy, so fixed sizes."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.tflite"
        path.write_bytes(model)
        runner = Path(tmp) / "memory.py"
        runner.write_text(MEMORY)
        folder = model_check.compile_interpreter(Path(tmp) / "mpy")

        def run(kb):
            proc = subprocess.run(mp.command([str(runner), str(path)], "%dK" % kb),
                                  env=mp.environment(folder), capture_output=True, text=True,
                                  timeout=120)
            return int(proc.stdout) if proc.returncode == 0 else None

        return run(4096), {kb: run(kb) is not None for kb in HEAPS_KB}


def tflm(model):
    it = model_check.tflm(model)
    info = model_check.describe(model)
    for n, i in enumerate(info["inputs"]):
        shape = info["tensors"][i]["shape"]
        it.set_input((np.arange(np.prod(shape)) * 37 % 256 - 128).astype(np.int8)
                     .reshape(shape), n)
    it.invoke()
    count = 1
    while True:
        c = time.thread_time_ns()
        for _ in range(count):
            it.invoke()
        spent = time.thread_time_ns() - c
        if spent > TARGET_S * 1e9 or count > 1 << 22:
            break
        count *= 4
    walls = []
    for _ in range(min(count, 50)):
        t = time.perf_counter()
        it.invoke()
        walls.append((time.perf_counter() - t) * 1e6)
    total, activations = model_check.tflm_arena(it)
    return {"cpu_us": spent / count / 1000, "wall_us": statistics.median(walls),
            "arena": total, "activations": activations}


def macs(model):
    """Multiply-accumulates of the FC, CONV and DEPTHWISE ops of a model."""
    info = model_check.describe(model)
    t = info["tensors"]
    total = 0
    for op in info["operators"]:
        if op["op"] in ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D"):
            out = int(np.prod(t[op["outputs"][0]]["shape"]))
            w = t[op["inputs"][1]]["shape"]
            if op["op"] == "FULLY_CONNECTED":
                total += out * w[1]
            elif op["op"] == "CONV_2D":
                total += out * w[1] * w[2] * w[3]
            else:
                total += out * w[1] * w[2]
    return total


def main():
    models = [("hello_world_int8", (SHARED / "hello_world_int8.tflite").read_bytes()),
              ("toaster MLP 12-16-8-1", toaster_mlp()),
              ("person_detect", (SHARED / "person_detect.tflite").read_bytes())]
    rows = []
    for name, model in models:
        print("measuring %s ..." % name, file=sys.stderr)
        rows.append((name, macs(model), firmware(model), tflm(model), memory(model)))
    print("firmware/tflite on MicroPython %s (unix, x64 viper) vs TFLM reference kernels "
          "(tflite-micro wheel), same machine, same run" % ".".join(
              map(str, mp_version())))
    print("per invoke, CPU time (wall-clock median in brackets)\n")
    print("%-22s %10s  %21s  %21s  %6s  %10s  %18s" % (
        "model", "MACs", "firmware us", "TFLM us", "ratio", "arena fw B", "arena TFLM B (act)"))
    for name, n, fw, tf, _ in rows:
        print("%-22s %10s  %10.1f (%8.1f)  %10.1f (%8.1f)  %5.1fx  %10s  %9s (%6s)" % (
            name, format(n, ","), fw["cpu_us"], fw["wall_us"], tf["cpu_us"], tf["wall_us"],
            fw["cpu_us"] / tf["cpu_us"], format(fw["arena"], ","), format(tf["arena"], ","),
            format(tf["activations"], ",")))
    print("\nfirmware interpreter as x64 .mpy: heap used after loading (model bytes excluded); "
          "loads and runs in a heap of")
    print("%-22s %12s  %s" % ("model", "used", "  ".join("%5dK" % kb for kb in HEAPS_KB)))
    for name, n, fw, tf, (used, fits) in rows:
        print("%-22s %10s B  %s" % (name, format(used, ","), "  ".join(
            "%6s" % ("yes" if fits[kb] else "no") for kb in HEAPS_KB)))
    name, n, fw, tf, _ = rows[-1]
    ratio = fw["cpu_us"] / tf["cpu_us"]
    verdict = "meets the goal" if ratio <= GOAL else "within the limit" if ratio <= LIMIT \
        else "OVER THE LIMIT"
    print("\nperson_detect: %.1fx TFLM (limit %dx, goal %dx): %s; %.2f ns per MAC" % (
        ratio, LIMIT, GOAL, verdict, fw["cpu_us"] * 1000 / n))
    print("firmware arena: activations planned into one buffer, plus the int32 scratch row "
          "and float I/O; TFLM's also holds its tensor and node structs (activations in "
          "brackets)")
    return 0 if ratio <= LIMIT else 1


def mp_version():
    out = mp.run("import sys; print(sys.implementation.version[:3])").stdout.strip()
    return tuple(int(v) for v in out.strip("()").split(",") if v.strip())


if __name__ == "__main__":
    sys.exit(main())
