"""model_training/tflite_graph.py: graphs built with the official schema, quantized by
ai-edge-quantizer, run in TFLM and LiteRT."""

import numpy as np
import pytest

from host import model_check
from model_training import tflite_graph as tg

OP = tg.schema.BuiltinOperator


def mlp(rng, features=6, hidden=16):
    g = tg.Graph()
    x = g.input("features", [1, features])
    h = g.fully_connected(x, rng.normal(size=(hidden, features)) * 0.5,
                          rng.normal(size=hidden) * 0.1, activation="relu")
    y = g.logistic(g.fully_connected(h, rng.normal(size=(1, hidden)) * 0.5, [0.1]))
    g.output(y, "done")
    return g.build()


def ops(model):
    m = tg.unpack(model)
    return [m.operatorCodes[op.opcodeIndex].builtinCode for op in m.subgraphs[0].operators]


def tensor(model, name):
    m = tg.unpack(model)
    return next(t for t in m.subgraphs[0].tensors if t.name.decode() == name)


@pytest.mark.parametrize("per_channel", [True, False])
def test_float_io_mlp_quantizes_and_matches_float_model(per_channel):
    rng = np.random.default_rng(0)
    float_model = mlp(rng)
    calibration = rng.normal(size=(200, 6)).astype(np.float32)
    model = tg.quantize(float_model, calibration, per_channel=per_channel)

    assert ops(model) == [OP.QUANTIZE, OP.FULLY_CONNECTED, OP.FULLY_CONNECTED, OP.LOGISTIC,
                          OP.DEQUANTIZE]
    weight_scales = tg.unpack(model).subgraphs[0].tensors[1].quantization.scale
    assert len(weight_scales) == (16 if per_channel else 1)
    tflm, litert = model_check.tflm(model), model_check.litert(model)
    floats = model_check.litert(float_model)
    for sample in calibration[:20]:
        x = [sample.reshape(1, 6)]
        got = model_check.run_tflm(model, x, tflm)[0]
        assert got.dtype == np.float32
        assert np.array_equal(got, model_check.run_litert(model, x, litert)[0])
        assert abs(got - model_check.run_litert(float_model, x, floats)[0]).max() < 0.03


def test_int8_io_mlp_runs_the_same_in_tflm_and_litert():
    rng = np.random.default_rng(1)
    model = tg.quantize(mlp(rng), rng.normal(size=(100, 6)), int8_io=True)
    assert ops(model) == [OP.FULLY_CONNECTED, OP.FULLY_CONNECTED, OP.LOGISTIC]
    out = tensor(model, "done")
    assert out.type == tg.schema.TensorType.INT8
    assert (out.quantization.scale[0], out.quantization.zeroPoint[0]) == (1 / 256, -128)
    tflm, litert = model_check.tflm(model), model_check.litert(model)
    for _ in range(20):
        x = [rng.integers(-128, 128, size=(1, 6), dtype=np.int8)]
        assert np.array_equal(model_check.run_tflm(model, x, tflm)[0],
                              model_check.run_litert(model, x, litert)[0])


def test_conv_model_with_dynamic_reshape_quantizes():
    rng = np.random.default_rng(2)
    g = tg.Graph()
    x = g.input("image", [1, 8, 8, 2])
    h = g.conv_2d(x, rng.normal(size=(4, 3, 3, 2)), rng.normal(size=4), stride=(2, 2),
                  activation="relu6")
    h = g.depthwise_conv_2d(h, rng.normal(size=(1, 3, 3, 8)), rng.normal(size=8),
                            depth_multiplier=2, activation="relu")
    h = g.average_pool_2d(h, (2, 2))
    g.output(g.softmax(g.reshape(h, [1, -1], dynamic=True)), "classes")
    model = tg.quantize(g.build(), rng.normal(size=(50, 8, 8, 2)), int8_io=True)
    assert {OP.CONV_2D, OP.DEPTHWISE_CONV_2D, OP.AVERAGE_POOL_2D, OP.SHAPE, OP.STRIDED_SLICE,
            OP.PACK, OP.RESHAPE, OP.SOFTMAX} <= set(ops(model))
    x = [rng.integers(-128, 128, size=(1, 8, 8, 2), dtype=np.int8)]
    out = model_check.run_tflm(model, x)[0]
    assert out.shape == (1, 32) and out.dtype == np.int8


def test_int8_graph_written_directly():
    # Quantization parameters given by hand, for ops the quantizer leaves in float.
    g = tg.Graph()
    x = g.input("x", [1, 1, 2, 3], q=(0.05, 10))
    y = g.squeeze(g.relu6(x, q=(0.05, 10)), [0, 1], q=(0.05, 10))
    g.output(y, "y")
    model = g.build()
    assert ops(model) == [OP.RELU6, OP.SQUEEZE]
    got = model_check.run_tflm(model, [np.array([[[[-128, 10, 11], [100, 127, 50]]]], np.int8)])
    assert got[0].tolist() == [[10, 10, 11], [100, 127, 50]]  # clamped to [0.0, 6.0]


def test_calibration_must_name_inputs_of_a_two_input_model():
    g = tg.Graph()
    a, b = g.input("a", [1, 2]), g.input("b", [1, 2])
    g.output(g.add(a, b), "sum")
    with pytest.raises(ValueError, match="dict"):
        tg.quantize(g.build(), np.zeros((4, 2)))
