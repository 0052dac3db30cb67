"""Small TFLite models for every operator and option the firmware interpreter supports, as
hypothesis strategies of plain specs (dicts) and one `build(spec)` that turns a spec into
(model bytes, input samples). Float graphs are quantized by ai-edge-quantizer; the
`direct` family writes int8 graphs with quantization parameters calibration never
produces (extreme zero points and scales, saturation) and ops the quantizer leaves in
float (RELU6, SQUEEZE)."""

import numpy as np
from hypothesis import strategies as st

from host import model_check
from model_training import tflite_graph as tg

ACTIVATIONS = st.sampled_from([None, "relu", "relu6", "relu_n1_to_1"])
SEEDS = st.integers(0, 2**31 - 1)
SAMPLES = 6


def _spec(op, **strategies):
    return st.fixed_dictionaries({"op": st.just(op), "seed": SEEDS, **strategies})


def _conv_geometry(depthwise):
    @st.composite
    def geometry(draw):
        k = draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
        d = draw(st.tuples(st.integers(1, 2), st.integers(1, 2)))
        padding = draw(st.sampled_from(["same", "valid"]))
        lo = [(k[i] - 1) * d[i] + 1 if padding == "valid" else 1 for i in range(2)]
        size = [draw(st.integers(lo[i], lo[i] + 6)) for i in range(2)]
        return {"n": draw(st.integers(1, 2)), "size": size, "kernel": list(k),
                "dilation": list(d), "padding": padding,
                "stride": [draw(st.integers(1, 3)), draw(st.integers(1, 3))],
                "channels": draw(st.integers(1, 4)),
                "out_channels": draw(st.integers(1, 5)),
                "multiplier": draw(st.integers(1, 3)) if depthwise else 1}
    return geometry()


@st.composite
def _broadcast_shapes(draw):
    rank = draw(st.integers(1, 4))
    out = [draw(st.integers(1, 4)) for _ in range(rank)]
    shapes = []
    for _ in range(2):
        s = [d if draw(st.booleans()) else 1 for d in out]
        shapes.append(s[draw(st.integers(0, rank - 1)):] if draw(st.booleans()) else s)
    return shapes


@st.composite
def _small_shape(draw, min_rank=1, max_rank=4):
    return [draw(st.integers(1, 4)) for _ in range(draw(st.integers(min_rank, max_rank)))]


STRATEGIES = {
    "fully_connected": _spec(
        "fully_connected", batches=st.integers(1, 3), depth=st.integers(1, 40),
        units=st.integers(1, 20), act=ACTIVATIONS, keep_dims=st.booleans(),
        bias=st.booleans(), per_channel=st.booleans(), int8_io=st.booleans()),
    "conv_2d": _spec("conv_2d", g=_conv_geometry(False), act=ACTIVATIONS,
                     per_channel=st.booleans(), int8_io=st.booleans()),
    "depthwise_conv_2d": _spec("depthwise_conv_2d", g=_conv_geometry(True), act=ACTIVATIONS,
                               per_channel=st.booleans(), int8_io=st.booleans()),
    "pool": _spec("pool", kind=st.sampled_from(["average", "max"]), g=_conv_geometry(False),
                  act=ACTIVATIONS),
    "mean": _spec("mean", shape=_small_shape(2, 4), axes=st.lists(st.integers(-4, 3),
                  min_size=1, max_size=3), keep_dims=st.booleans()),
    "pad": _spec("pad", shape=_small_shape(1, 4),
                 pads=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=4,
                               max_size=4)),
    "reshape": _spec("reshape", shape=_small_shape(2, 4), dynamic=st.booleans()),
    "softmax": _spec("softmax", shape=_small_shape(1, 3), depth=st.integers(1, 12),
                     beta=st.sampled_from([1.0, 0.5, 2.0, 0.1, 10.0]), spread=st.floats(0.1, 8)),
    "activation": _spec("activation", kind=st.sampled_from(["logistic", "tanh", "relu"]),
                        shape=_small_shape(1, 3), spread=st.floats(0.05, 20),
                        int8_io=st.booleans()),
    "binary": _spec("binary", kind=st.sampled_from(["add", "sub", "mul"]),
                    shapes=_broadcast_shapes(), act=ACTIVATIONS, constant=st.booleans()),
    "concatenation": _spec("concatenation", shape=_small_shape(1, 4), count=st.integers(2, 3),
                           axis=st.integers(-4, 3), sizes=st.lists(st.integers(1, 3),
                                                                    min_size=3, max_size=3)),
    "direct": _spec("direct", kind=st.sampled_from(
        ["fully_connected", "conv_2d", "depthwise_conv_2d", "add", "sub", "mul", "logistic",
         "tanh", "relu", "relu6", "softmax", "mean", "average_pool", "max_pool", "quantize",
         "squeeze", "concatenation", "pad", "float_io"]),
        in_scale=st.floats(-12, 4), out_scale=st.floats(-12, 4), w_scale=st.floats(-10, 0),
        in_zp=st.integers(-128, 127), out_zp=st.integers(-128, 127), act=ACTIVATIONS),
}


def toaster_mlp(seed=0):
    """An MLP the size of the toaster's model: 12 features, 16 and 8 ReLU units, a logistic
    output; int8 input and output, as model_training exports it."""
    rng = np.random.default_rng(seed)
    g = tg.Graph()
    x = g.input("features", [1, 12])
    h = g.fully_connected(x, rng.normal(size=(16, 12)) / 3, rng.normal(size=16) * 0.1, "relu")
    h = g.fully_connected(h, rng.normal(size=(8, 16)) / 4, rng.normal(size=8) * 0.1, "relu")
    g.output(g.logistic(g.fully_connected(h, rng.normal(size=(1, 8)) / 3, [0.0])), "done")
    return tg.quantize(g.build(), rng.normal(size=(200, 12)), int8_io=True)


# -- building

def build(spec):
    """(model bytes, samples) for a spec; samples are lists of one array per model input."""
    rng = np.random.default_rng(spec["seed"])
    model = globals()["_" + spec["op"]](spec, rng)
    samples = model_check.random_inputs(model, SAMPLES - 2, spec["seed"])
    # Saturation: every input at its extremes.
    for value in (-128, 127):
        sample = []
        for x in samples[0]:
            if x.dtype == np.int8:
                sample.append(np.full_like(x, value))
            else:
                sample.append(np.full_like(x, np.abs(samples[0][0]).max() * 2 * np.sign(value)))
        samples.append(sample)
    return model, samples


def _quantized(g, rng, shapes, int8_io=True, spread=1.0, per_channel=True):
    calibration = {name: rng.normal(size=(48, *shape)).astype(np.float32) * spread
                   for name, shape in shapes}
    if len(calibration) == 1:
        calibration = next(iter(calibration.values()))
    return tg.quantize(g.build(), calibration, int8_io=int8_io, per_channel=per_channel)


def _fully_connected(s, rng):
    g = tg.Graph()
    shape = [1, s["batches"], s["depth"]] if s["keep_dims"] else [s["batches"], s["depth"]]
    x = g.input("x", shape)
    w = rng.normal(size=(s["units"], s["depth"])) / np.sqrt(s["depth"])
    b = rng.normal(size=s["units"]) * 0.3 if s["bias"] else None
    g.output(g.fully_connected(x, w, b, s["act"], s["keep_dims"]), "y")
    return _quantized(g, rng, [("x", shape)], s["int8_io"], per_channel=s["per_channel"])


def _conv_input(g, geo):
    shape = [geo["n"], *geo["size"], geo["channels"]]
    return g.input("x", shape), shape


def _conv_2d(s, rng):
    geo = s["g"]
    g = tg.Graph()
    x, shape = _conv_input(g, geo)
    w = rng.normal(size=(geo["out_channels"], *geo["kernel"], geo["channels"])) * 0.4
    g.output(g.conv_2d(x, w, rng.normal(size=geo["out_channels"]) * 0.2, geo["stride"],
                       geo["padding"], geo["dilation"], s["act"]), "y")
    return _quantized(g, rng, [("x", shape)], s["int8_io"], per_channel=s["per_channel"])


def _depthwise_conv_2d(s, rng):
    geo = s["g"]
    g = tg.Graph()
    x, shape = _conv_input(g, geo)
    oc = geo["channels"] * geo["multiplier"]
    w = rng.normal(size=(1, *geo["kernel"], oc)) * 0.5
    g.output(g.depthwise_conv_2d(x, w, rng.normal(size=oc) * 0.2, geo["stride"],
                                 geo["padding"], geo["dilation"], geo["multiplier"], s["act"]),
             "y")
    return _quantized(g, rng, [("x", shape)], s["int8_io"], per_channel=s["per_channel"])


def _pool(s, rng):
    geo = s["g"]
    g = tg.Graph()
    x, shape = _conv_input(g, geo)
    # Pooling keeps the input's quantization, so it sits behind an op that sets it.
    h = g.conv_2d(x, rng.normal(size=(2, 1, 1, geo["channels"])), [0.1, -0.2])
    pool = g.average_pool_2d if s["kind"] == "average" else g.max_pool_2d
    g.output(pool(h, geo["kernel"], geo["stride"], geo["padding"], s["act"]), "y")
    return _quantized(g, rng, [("x", shape)])


def _mean(s, rng):
    shape = s["shape"]
    axes = sorted({a % len(shape) for a in s["axes"] if -len(shape) <= a < len(shape)}) or [0]
    g = tg.Graph()
    x = g.input("x", shape)
    g.output(g.mean(g.tanh(x), axes, s["keep_dims"]), "y")
    return _quantized(g, rng, [("x", shape)])


def _pad(s, rng):
    shape = s["shape"]
    g = tg.Graph()
    x = g.input("x", shape)
    g.output(g.pad(g.tanh(x), s["pads"][:len(shape)]), "y")
    return _quantized(g, rng, [("x", shape)])


def _reshape(s, rng):
    shape = s["shape"]
    g = tg.Graph()
    x = g.input("x", shape)
    h = g.relu(x)
    new = [shape[0], -1] if s["dynamic"] else list(reversed(shape))
    g.output(g.reshape(h, new, dynamic=s["dynamic"]), "y")
    return _quantized(g, rng, [("x", shape)])


def _softmax(s, rng):
    shape = s["shape"][:-1] + [s["depth"]]
    g = tg.Graph()
    x = g.input("x", shape)
    g.output(g.softmax(x, s["beta"]), "y")
    return _quantized(g, rng, [("x", shape)], spread=s["spread"])


def _activation(s, rng):
    shape = s["shape"]
    g = tg.Graph()
    x = g.input("x", shape)
    g.output(getattr(g, s["kind"])(x), "y")
    return _quantized(g, rng, [("x", shape)], s["int8_io"], spread=s["spread"])


def _binary(s, rng):
    a_shape, b_shape = s["shapes"]
    g = tg.Graph()
    a = g.input("a", a_shape)
    inputs = [("a", a_shape)]
    if s["constant"]:
        b = rng.normal(size=b_shape).astype(np.float32)
    else:
        b = g.input("b", b_shape)
        inputs.append(("b", b_shape))
    g.output(getattr(g, s["kind"])(a, b, s["act"]), "y")
    return _quantized(g, rng, inputs)


def _concatenation(s, rng):
    shape = s["shape"]
    axis = s["axis"] % len(shape)
    g = tg.Graph()
    inputs, parts = [], []
    for k in range(s["count"]):
        part = list(shape)
        part[axis] = s["sizes"][k]
        t = g.input("x%d" % k, part)
        inputs.append(("x%d" % k, part))
        # Different branches give the inputs different scales: QUANTIZE ops requantize.
        parts.append(g.tanh(t) if k % 2 else t)
    g.output(g.concatenation(parts, axis), "y")
    return _quantized(g, rng, inputs)


def _direct(s, rng):
    """An int8 graph written directly, with the spec's quantization parameters."""
    kind = s["kind"]
    in_q = (float(2.0 ** s["in_scale"]), s["in_zp"])
    out_q = (float(2.0 ** s["out_scale"] * rng.uniform(1, 2)), s["out_zp"])
    g = tg.Graph()
    shape = [1, 3, 4, 3]
    if kind == "float_io":
        # QUANTIZE from float32 and DEQUANTIZE to float32 at extreme parameters.
        x = g.input("x", shape)
        g.output(g.dequantize(g.relu(g.quantize(x, in_q), q=out_q)), "y")
        return g.build()
    x = g.input("x", shape, q=in_q)
    if kind in ("fully_connected", "conv_2d", "depthwise_conv_2d"):
        units = 4
        if kind == "fully_connected":
            wshape, axis, inner = [units, 36], 0, 36
            h = g.reshape(x, [1, 36], q=in_q)
        elif kind == "conv_2d":
            wshape, axis, inner = [units, 2, 2, 3], 0, 12
            h = x
        else:
            wshape, axis, inner, units = [1, 2, 2, 6], 3, 4, 6
            h = x
        w_scale = 2.0 ** s["w_scale"] * rng.uniform(1, 2, size=units)
        if rng.random() < 0.5:
            w_scale = w_scale[:1]
        w = g.const(rng.integers(-127, 128, size=wshape, dtype=np.int8), q=(w_scale, 0),
                    axis=axis)
        b_scale = np.float32(in_q[0]) * w_scale.astype(np.float32)
        bias = g.const(rng.integers(-2000, 2000, size=units, dtype=np.int32),
                       q=(np.broadcast_to(b_scale, (units,)), 0))
        if kind == "fully_connected":
            y = g.fully_connected(h, w, bias, s["act"], q=out_q)
        elif kind == "conv_2d":
            y = g.conv_2d(h, w, bias, (1, 2), "same", (1, 1), s["act"], q=out_q)
        else:
            y = g.depthwise_conv_2d(h, w, bias, (2, 1), "valid", (1, 1), 2, s["act"], q=out_q)
    elif kind in ("add", "sub", "mul"):
        other_q = (float(2.0 ** s["w_scale"]), int(rng.integers(-128, 128)))
        if kind != "mul":
            # TFLM requires 2 * max(input scales) < 2**20 * output scale.
            out_q = (max(out_q[0], 2.0 ** -18 * max(in_q[0], other_q[0])), out_q[1])
        b = g.const(rng.integers(-128, 128, size=[1, 1, 4, 1], dtype=np.int8), q=other_q)
        y = getattr(g, kind)(x, b, s["act"], q=out_q)
    elif kind in ("logistic", "tanh"):
        y = getattr(g, kind)(x, q=(1 / 256, -128) if kind == "logistic" else (1 / 128, 0))
    elif kind == "relu":
        y = g.relu(x, q=out_q)
    elif kind == "relu6":
        y = g.relu6(x, q=in_q)
    elif kind == "softmax":
        y = g.softmax(x, beta=float(rng.choice([1.0, 0.3, 3.0])), q=(1 / 256, -128))
    elif kind == "mean":
        y = g.mean(x, [1, 2], keep_dims=bool(rng.integers(2)), q=out_q)
    elif kind in ("average_pool", "max_pool"):
        pool = g.average_pool_2d if kind == "average_pool" else g.max_pool_2d
        y = pool(x, (2, 3), (1, 2), "same", s["act"], q=in_q)
    elif kind == "quantize":
        y = g.quantize(x, q=out_q)
    elif kind == "squeeze":
        y = g.squeeze(g.mean(x, [1], keep_dims=True, q=in_q), [1], q=in_q)
    elif kind == "concatenation":
        y = g.concatenation([x, g.relu6(x, q=in_q)], axis=int(rng.integers(4)), q=in_q)
    else:
        y = g.pad(x, [[0, 0], [1, 0], [0, 2], [1, 1]], q=in_q)
    g.output(y, "y")
    return g.build()
