"""Run a .tflite model in the firmware interpreter (on MicroPython), in TFLM (the oracle)
and in LiteRT, and compare them: the library behind `toaster model check`."""

import contextlib
import ctypes
import hashlib
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from host import micropython as mp
from host.errors import ToasterError

# TFLM sizes its arena up front; this is plenty for every model the toaster can hold.
TFLM_ARENA = 4 << 20
FIRMWARE_HEAP = "2M"

_DTYPES = {"float32": np.float32, "int32": np.int32, "int8": np.int8, "uint8": np.uint8,
           "int16": np.int16, "int64": np.int64}

# Runs on MicroPython: jobs.json lists models with their input and output files; each
# model is loaded once, fed every sample, and reported as one JSON line.
_RUNNER = """
import json, sys, time
from array import array
from firmware.tflite import Interpreter, ModelError

def nbytes(buf):
    return 4 * len(buf) if isinstance(buf, array) else len(buf)

for job in json.load(open(sys.argv[1])):
    t0 = time.ticks_us()
    try:
        it = Interpreter(open(job["model"], "rb").read())
    except ModelError as e:
        print(json.dumps({"error": str(e)}))
        continue
    load = time.ticks_diff(time.ticks_us(), t0)
    ins = [it.input(i) for i in range(it.inputs)]
    outs = [it.output(i) for i in range(it.outputs)]
    times = []
    with open(job["inputs"], "rb") as src, open(job["outputs"], "wb") as dst:
        for k in range(job["samples"]):
            for buf in ins:
                buf[:] = array("f", src.read(nbytes(buf))) if isinstance(buf, array) \\
                    else src.read(nbytes(buf))
            for r in range(job["repeat"]):
                t = time.ticks_us()
                it.invoke()
                times.append(time.ticks_diff(time.ticks_us(), t))
            for buf in outs:
                dst.write(bytes(buf))
    print(json.dumps({"arena": it.arena_size, "load_us": load, "invoke_us": times}))
"""


def _schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    return schema


def describe(model):
    """Operators and tensors of model bytes, read with the official schema."""
    schema = _schema()
    m = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    types = {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    sg = m.subgraphs[0]
    tensors = []
    for i, t in enumerate(sg.tensors):
        q = t.quantization
        scales = [] if q is None or q.scale is None else [float(s) for s in q.scale]
        zps = [] if q is None or q.zeroPoint is None else [int(z) for z in q.zeroPoint]
        buf = m.buffers[t.buffer] if t.buffer < len(m.buffers) else None
        tensors.append({
            "index": i, "name": t.name.decode(errors="replace") if t.name else "",
            "shape": [int(d) for d in (t.shape if t.shape is not None else [])],
            "type": types.get(t.type, str(t.type)),
            "scale": scales[0] if len(scales) == 1 else scales,
            "zero_point": zps[0] if len(zps) == 1 else zps,
            "constant": buf is not None and buf.data is not None and len(buf.data) > 0})
    ops = []
    for i, op in enumerate(sg.operators or []):
        oc = m.operatorCodes[op.opcodeIndex]
        code = max(oc.builtinCode, oc.deprecatedBuiltinCode)
        ops.append({"index": i, "op": names.get(code, "CUSTOM_%d" % code),
                    "inputs": [int(v) for v in op.inputs],
                    "outputs": [int(v) for v in op.outputs]})
    return {"operators": ops, "tensors": tensors,
            "inputs": [int(v) for v in sg.inputs], "outputs": [int(v) for v in sg.outputs]}


def tflm(model):
    """A TFLM interpreter (the reference kernels of the tflite-micro wheel) for model bytes."""
    from tflite_micro.python.tflite_micro import runtime

    return runtime.Interpreter.from_bytes(bytes(model), arena_size=TFLM_ARENA)


def run_tflm(model, inputs, interpreter=None):
    """Outputs (numpy arrays) of one TFLM invoke with `inputs`, one array per model input."""
    it = interpreter or tflm(model)
    for i, x in enumerate(inputs):
        it.set_input(np.asarray(x), i)
    it.invoke()
    count = _schema().Model.GetRootAsModel(bytes(model), 0).Subgraphs(0).OutputsLength()
    return [np.array(it.get_output(i)) for i in range(count)]


def tflm_arena(interpreter):
    """(total, activations) bytes of arena TFLM used, from its allocation report."""
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        with _redirect(tmp):
            interpreter.print_allocations()
            ctypes.CDLL(None).fflush(None)
        tmp.seek(0)
        text = tmp.read().decode(errors="replace")
    sizes = {}
    for line in text.splitlines():
        for part in ("total", "head"):
            if "Arena allocation %s" % part in line:
                sizes[part] = int(line.split(part)[1].split()[0])
    return sizes.get("total"), sizes.get("head")


@contextlib.contextmanager
def _redirect(f):
    # The C++ side writes to the process's stdout and stderr directly.
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    os.dup2(f.fileno(), 1)
    os.dup2(f.fileno(), 2)
    try:
        yield
    finally:
        for fd, old in zip((1, 2), saved):
            os.dup2(old, fd)
            os.close(old)


def litert(model):
    """A LiteRT interpreter for model bytes (raises if LiteRT cannot load the model)."""
    from ai_edge_litert.interpreter import Interpreter

    with tempfile.TemporaryFile() as log, _redirect(log):  # its C++ side chats on stderr
        it = Interpreter(model_content=bytes(model))
        it.allocate_tensors()
    return it


def run_litert(model, inputs, interpreter=None):
    it = interpreter or litert(model)
    for detail, x in zip(it.get_input_details(), inputs):
        it.set_tensor(detail["index"], np.asarray(x, detail["dtype"]).reshape(detail["shape"]))
    it.invoke()
    return [np.array(it.get_tensor(d["index"])) for d in it.get_output_details()]


def run_firmware(jobs, heapsize=FIRMWARE_HEAP, repeat=1, timeout=600, compiled=False):
    """Run models in the firmware interpreter, all in one MicroPython process.

    jobs: [(model bytes, [sample inputs: [array per model input]])]. Returns one dict per
    job: {"outputs": [[array per output] per sample], "arena", "invoke_us", "load_us"}, or
    {"error": message} when the interpreter rejects the model. compiled=True runs the
    interpreter as .mpy files from mpy-cross, as a board does (compiling .py needs RAM).
    """
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = compile_interpreter(tmp / "mpy") if compiled else mp.ROOT
        manifest, shapes = [], []
        for k, (model, samples) in enumerate(jobs):
            info = describe(model)
            (tmp / ("m%d.tflite" % k)).write_bytes(bytes(model))
            with open(tmp / ("i%d.bin" % k), "wb") as f:
                for sample in samples:
                    for x, i in zip(sample, info["inputs"]):
                        dtype = _DTYPES[info["tensors"][i]["type"]]
                        f.write(np.ascontiguousarray(x, dtype).tobytes())
            manifest.append({"model": str(tmp / ("m%d.tflite" % k)),
                             "inputs": str(tmp / ("i%d.bin" % k)),
                             "outputs": str(tmp / ("o%d.bin" % k)),
                             "samples": len(samples), "repeat": repeat})
            shapes.append([info["tensors"][i] for i in info["outputs"]])
        (tmp / "jobs.json").write_text(json.dumps(manifest))
        (tmp / "runner.py").write_text(_RUNNER)
        proc = subprocess.run(mp.command([str(tmp / "runner.py"), str(tmp / "jobs.json")],
                                         heapsize),
                              env=mp.environment(path), capture_output=True, text=True,
                              timeout=timeout)
        lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        if len(lines) != len(jobs):
            raise ToasterError("the firmware interpreter crashed on MicroPython:\n%s"
                               % (proc.stderr.strip() or proc.stdout.strip()))
        for k, result in enumerate(lines):
            if "error" in result:
                continue
            raw = (tmp / ("o%d.bin" % k)).read_bytes()
            at, outputs = 0, []
            for _ in range(len(jobs[k][1])):
                sample = []
                for t in shapes[k]:
                    dtype = _DTYPES[t["type"]]
                    n = int(np.prod(t["shape"])) * np.dtype(dtype).itemsize
                    sample.append(np.frombuffer(raw[at:at + n], dtype).reshape(t["shape"]))
                    at += n
                outputs.append(sample)
            result["outputs"] = outputs
        return lines


def compile_interpreter(folder, arch="x64"):
    """The firmware interpreter compiled to .mpy under `folder` (a MICROPYPATH entry)."""
    from host import image

    firmware = mp.ROOT / "firmware"
    sources = {"firmware/__init__.py": firmware / "__init__.py"}
    for path in sorted((firmware / "tflite").rglob("*.py")):
        sources[path.relative_to(mp.ROOT).as_posix()] = path
    for rel, data in image.compile_all(sources, arch).items():
        (Path(folder) / rel).parent.mkdir(parents=True, exist_ok=True)
        (Path(folder) / rel).write_bytes(data)
    return Path(folder)


def random_inputs(model, count, seed=0):
    """`count` samples of random inputs covering each input's quantized range."""
    info = describe(model)
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(count):
        sample = []
        for i in info["inputs"]:
            t = info["tensors"][i]
            if t["type"] == "int8":
                sample.append(rng.integers(-128, 128, size=t["shape"], dtype=np.int8))
            else:
                scale, zp = _consumer_quantization(info, i)
                lo, hi = (-128 - zp) * scale, (127 - zp) * scale
                sample.append(rng.uniform(lo, hi, size=t["shape"]).astype(np.float32))
        samples.append(sample)
    return samples


def _consumer_quantization(info, tensor):
    # The int8 quantization a float input is quantized to (its QUANTIZE op), else [-1, 1].
    for op in info["operators"]:
        if op["op"] == "QUANTIZE" and op["inputs"][0] == tensor:
            out = info["tensors"][op["outputs"][0]]
            if isinstance(out["scale"], float):
                return out["scale"], out["zero_point"]
    return 1 / 127, 0


def check(model, runs=10, inputs=(), seed=0, heapsize=FIRMWARE_HEAP, path=None):
    """Compare the firmware interpreter, TFLM and LiteRT on `runs` random inputs plus the
    given ones (samples: [array per model input]). Returns the report that
    `toaster model check --json` prints (documented in firmware/tflite/README.md)."""
    try:
        info = describe(model)
    except Exception as exc:
        raise ToasterError("not a TFLite model: %s" % _first_line(exc)) from None
    samples = random_inputs(model, runs, seed) + list(inputs)
    report = {"model": {"path": None if path is None else str(path), "bytes": len(model),
                        "sha256": hashlib.sha256(model).hexdigest()},
              **info, "runs": len(samples), "bit_exact": False, "max_abs_diff": None}
    tflm_report = report["tflm"] = {"error": None}
    expected = None
    try:
        interp = tflm(model)
        expected = [run_tflm(model, sample, interp) for sample in samples]
        tflm_report["invoke_us"] = _median_us(interp.invoke, len(samples))
        tflm_report["arena_bytes"], tflm_report["activation_bytes"] = tflm_arena(interp)
    except Exception as exc:
        tflm_report["error"] = _first_line(exc)
    fw = run_firmware([(model, samples)], heapsize)[0]
    report["firmware"] = {"error": fw.get("error")}
    if "error" not in fw:
        report["firmware"].update({"arena_bytes": fw["arena"], "load_ms": fw["load_us"] / 1000,
                                   "invoke_us": statistics.median(fw["invoke_us"])})
        if expected is not None:
            report["max_abs_diff"] = _max_diff(fw["outputs"], expected)
            report["bit_exact"] = not any(report["max_abs_diff"])
    report["error"] = report["firmware"]["error"]
    try:
        lite = litert(model)
        got = [run_litert(model, s, lite) for s in samples]
        report["litert"] = {"loaded": True, "error": None,
                            "max_abs_diff": _max_diff(got, expected) if expected else None}
    except Exception as exc:  # LiteRT refuses some models TFLM runs (e.g. person_detect)
        report["litert"] = {"loaded": False, "error": _first_line(exc)[:120],
                            "max_abs_diff": None}
    return report


def _median_us(fn, count):
    times = []
    for _ in range(max(3, min(count, 20))):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e6)
    return statistics.median(times)


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _max_diff(got, expected):
    # Per output, the largest absolute difference over all samples.
    diffs = [0.0] * len(expected[0])
    for g, e in zip(got, expected):
        for k, (a, b) in enumerate(zip(g, e)):
            d = np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max(initial=0)
            diffs[k] = max(diffs[k], float(d))
    return [int(d) if d == int(d) else d for d in diffs]
