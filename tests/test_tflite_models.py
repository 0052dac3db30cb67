"""The firmware interpreter on TFLM's reference models, its API and its memory behaviour,
on real MicroPython."""

import json
from pathlib import Path

import numpy as np
import pytest

import tflite_cases
from host import micropython as mp
from host import model_check
from model_training import tflite_graph as tg

SHARED = Path(__file__).resolve().parents[2] / "shared" / "models"
HELLO = SHARED / "hello_world_int8.tflite"
PERSON = SHARED / "person_detect.tflite"


def run(code, heapsize="2M"):
    proc = mp.run(code, heapsize=heapsize, timeout=300)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc.stdout


def test_hello_world_is_bit_exact_for_every_input(micropython):
    model = HELLO.read_bytes()
    samples = [[np.array([[v]], np.int8)] for v in range(-128, 128)]
    result = model_check.run_firmware([(model, samples)], heapsize="96K", compiled=True)[0]
    interp = model_check.tflm(model)
    got = [int(o[0][0, 0]) for o in result["outputs"]]
    expected = [int(model_check.run_tflm(model, s, interp)[0][0, 0]) for s in samples]
    assert got == expected


def test_person_detect_is_bit_exact_in_a_1m_heap(micropython):
    model = PERSON.read_bytes()
    rng = np.random.default_rng(3)
    samples = [[rng.integers(-128, 128, size=(1, 96, 96, 1), dtype=np.int8)] for _ in range(3)]
    samples.append([np.full((1, 96, 96, 1), -128, np.int8)])
    result = model_check.run_firmware([(model, samples)], heapsize="1M")[0]
    assert "error" not in result, result
    interp = model_check.tflm(model)
    for sample, got in zip(samples, result["outputs"]):
        assert np.array_equal(got[0], model_check.run_tflm(model, sample, interp)[0])
    # Activations share one arena no larger than TFLM's own activation plan plus scratch.
    total, activations = model_check.tflm_arena(interp)
    assert result["arena"] <= activations + 4096


@pytest.mark.parametrize("path, heap", [(HELLO, "96K"), (PERSON, "1M")])
def test_invoke_allocates_nothing(micropython, path, heap):
    out = run("""
import micropython
from firmware.tflite import Interpreter
it = Interpreter(open(%r, "rb").read())
it.invoke()
micropython.heap_lock()
try:
    it.invoke()
    it.invoke()
finally:
    micropython.heap_unlock()
print("ok")
""" % str(path), heapsize=heap)
    assert out.strip() == "ok"


def test_invoke_allocates_nothing_in_any_kernel(micropython, tmp_path):
    # One model per kernel family, float input and output included.
    rng = np.random.default_rng(5)
    g = tg.Graph()
    x = g.input("x", [1, 5, 5, 2])
    h = g.conv_2d(x, rng.normal(size=(3, 3, 3, 2)), rng.normal(size=3), activation="relu")
    h = g.depthwise_conv_2d(h, rng.normal(size=(1, 3, 3, 6)), np.zeros(6), (2, 2),
                            depth_multiplier=2)
    h = g.pad(h, [[0, 0], [1, 0], [0, 1], [0, 0]])
    h = g.average_pool_2d(h, (2, 2), padding="same")
    h = g.concatenation([g.max_pool_2d(h, (2, 2), (1, 1), "same"), g.logistic(h)], axis=3)
    h = g.mul(g.add(h, g.tanh(h)), g.relu(h))
    m = g.mean(h, [1, 2], keep_dims=False)
    y = g.fully_connected(g.reshape(h, [1, -1], dynamic=True), rng.normal(size=(3, 48)))
    g.output(g.softmax(g.sub(y, g.fully_connected(m, rng.normal(size=(3, 12))))), "p")
    model = tg.quantize(g.build(), rng.normal(size=(16, 1, 5, 5, 2)))
    path = tmp_path / "all.tflite"
    path.write_bytes(model)
    ops = {op["op"] for op in model_check.describe(model)["operators"]}
    assert {"QUANTIZE", "DEQUANTIZE", "CONV_2D", "DEPTHWISE_CONV_2D", "PAD", "MEAN", "SOFTMAX",
            "AVERAGE_POOL_2D", "MAX_POOL_2D", "CONCATENATION", "ADD", "SUB", "MUL", "TANH",
            "LOGISTIC", "RELU", "FULLY_CONNECTED", "RESHAPE"} <= ops
    test_invoke_allocates_nothing(micropython, str(path), "512K")


def test_api_details_and_buffers(micropython):
    out = run("""
import json
from firmware.tflite import Interpreter, ModelError
it = Interpreter(open(%r, "rb").read())
inp = it.input(0)
inp[0] = -100
it.invoke()
print(json.dumps({"in": it.input_details(0), "out": it.output_details(0),
                  "arena": it.arena_size, "value": it.output(0)[0], "n": [it.inputs, it.outputs],
                  "error": issubclass(ModelError, ValueError)}))
""" % str(HELLO), heapsize="96K")
    got = json.loads(out)
    tflm = model_check.tflm(HELLO.read_bytes())
    for ours, theirs in ((got["in"], tflm.get_input_details(0)),
                         (got["out"], tflm.get_output_details(0))):
        q = theirs["quantization_parameters"]
        assert ours["scale"] == float(q["scales"][0])
        assert ours["zero_point"] == int(q["zero_points"][0])
        assert ours["shape"] == [int(d) for d in theirs["shape"]]
        assert ours["type"] == "int8"
    assert got["value"] == int(model_check.run_tflm(HELLO.read_bytes(),
                                                    [np.array([[-100]], np.int8)])[0][0, 0])
    assert got["n"] == [1, 1] and got["error"] and 0 < got["arena"] < 200


def test_float_io_tensors_are_float_arrays(micropython, tmp_path):
    rng = np.random.default_rng(6)
    g = tg.Graph()
    x = g.input("features", [1, 3])
    g.output(g.logistic(g.fully_connected(x, rng.normal(size=(1, 3)), [0.1])), "done")
    model = tg.quantize(g.build(), rng.normal(size=(32, 3)))
    path = tmp_path / "mlp.tflite"
    path.write_bytes(model)
    out = run("""
from firmware.tflite import Interpreter
it = Interpreter(open(%r, "rb").read())
it.input(0)[0], it.input(0)[1], it.input(0)[2] = 0.5, -1.25, 2.0
it.invoke()
print(type(it.input(0)).__name__, it.input_details(0)["type"], repr(it.output(0)[0]))
""" % str(path))
    kind, dtype, value = out.split()
    expected = model_check.run_tflm(model, [np.array([[0.5, -1.25, 2.0]], np.float32)])[0]
    assert (kind, dtype) == ("array", "float32")
    assert float(value) == float(expected[0, 0])


def load_error(model, tmp_path):
    """The ModelError message the firmware interpreter gives for model bytes."""
    path = tmp_path / "model.tflite"
    path.write_bytes(model)
    return run("""
from firmware.tflite import Interpreter, ModelError
try:
    Interpreter(open(%r, "rb").read())
except ModelError as e:
    print(e)
""" % str(path))


def test_unsupported_operator_is_named_at_load_time(micropython, tmp_path):
    g = tg.Graph()
    x = g.input("x", [1, 4], q=(0.1, 0))
    g.output(g._op(tg.schema.BuiltinOperator.HARD_SWISH, [x], [1, 4], (0.1, 0)), "y")
    assert "unsupported operator: HARD_SWISH" in load_error(g.build(), tmp_path)


def test_unsupported_type_is_named_at_load_time(micropython, tmp_path):
    model = tg.unpack(HELLO.read_bytes())
    model.subgraphs[0].tensors[0].type = tg.schema.TensorType.INT16
    assert "type int16 is not supported" in load_error(tg.pack(model), tmp_path)


def test_operator_and_type_names_match_the_schema():
    from firmware.tflite import model, names

    ops = {v: k for k, v in vars(tg.schema.BuiltinOperator).items() if not k.startswith("_")}
    types = {v: k for k, v in vars(tg.schema.TensorType).items() if not k.startswith("_")}
    assert [names.op_name(c) for c in sorted(ops)] == [ops[c] for c in sorted(ops)]
    assert [model.type_name(c) for c in sorted(types)] == [types[c].lower() for c in sorted(types)]


def test_toaster_sized_mlp_in_the_device_heap(micropython, tmp_path):
    # The firmware's model policy runs the model every control tick on a 96K heap, with
    # the interpreter installed as .mpy files as on a board.
    model = tflite_cases.toaster_mlp()
    path = tmp_path / "mlp.tflite"
    path.write_bytes(model)
    folder = model_check.compile_interpreter(tmp_path / "mpy")
    proc = mp.run("""
import json, micropython
from firmware.tflite import Interpreter
it = Interpreter(open(%r, "rb").read())
outs = [0] * 64

def ticks(x, y):        # as a control loop would: in a function, nothing allocated
    for k in range(64):
        for i in range(12):
            x[i] = (k * 29 + i * 53) %% 256 - 128
        it.invoke()
        outs[k] = y[0]

micropython.heap_lock()
ticks(it.input(0), it.output(0))
micropython.heap_unlock()
print(json.dumps({"outs": outs}))
""" % str(path), heapsize="96K", path=folder)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    interp = model_check.tflm(model)
    expected = []
    for k in range(64):
        row = np.array([[(k * 29 + i * 53) % 256 - 128 for i in range(12)]], np.int8)
        expected.append(int(model_check.run_tflm(model, [row], interp)[0][0, 0]))
    assert got["outs"] == expected


def test_float_quantize_rounds_ties_like_tflm(micropython):
    # QUANTIZE float32 -> int8 at and around every half step of the scale, where rounding
    # half away from zero after a float32 division decides.
    scale, zp = 0.0372, 3
    g = tg.Graph()
    x = g.input("x", [1, 64])
    g.output(g.quantize(x, q=(scale, zp)), "q")
    model = g.build()
    s32 = np.float32(scale)
    halves = (np.arange(-140, 140, dtype=np.float32) + np.float32(0.5)) * s32
    values = np.concatenate([halves, np.nextafter(halves, np.float32(np.inf)),
                             np.nextafter(halves, np.float32(-np.inf)),
                             np.float32([0.0, -0.0, 1e-30, 1e6, -1e6])]).astype(np.float32)
    values = np.resize(values, (len(values) + 63) // 64 * 64).reshape(-1, 1, 64)
    samples = [[v] for v in values]
    # Beyond int32 after scaling TFLM converts with undefined behaviour (x86: -128 for any
    # huge value); this interpreter saturates.
    huge = np.float32([1e30, np.inf, -1e30, -np.inf] * 16).reshape(1, 64)
    result = model_check.run_firmware([(model, samples + [[huge]])])[0]
    interp = model_check.tflm(model)
    for sample, got in zip(samples, result["outputs"]):
        assert np.array_equal(got[0], model_check.run_tflm(model, sample, interp)[0])
    assert result["outputs"][-1][0].tolist() == [[127, 127, -128, -128] * 16]
