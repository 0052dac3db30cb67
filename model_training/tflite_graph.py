"""Build small TFLite graphs with the official schema, and int8-quantize them.

Runs on CPython (host side). Graphs are written with the generated flatbuffer object API
that ships in the tflite-micro wheel; quantization is ai-edge-quantizer's static int8
recipe (int8 weights and activations, int32 bias) calibrated on a set of samples.

    import numpy as np
    from model_training import tflite_graph as tg

    g = tg.Graph()
    x = g.input("features", [1, 6])                      # float32 input
    h = g.fully_connected(x, w1, b1, activation="relu")  # w1: [16, 6], b1: [16]
    y = g.logistic(g.fully_connected(h, w2, b2))         # w2: [1, 16], b2: [1]
    g.output(y, "done")
    float_model = g.build()                              # bytes of a float32 .tflite
    model = tg.quantize(float_model, calibration)        # calibration: float array [N, 6]

`quantize(..., int8_io=True)` gives int8 input and output tensors; the default keeps them
float32, with QUANTIZE after the input and DEQUANTIZE before the output.
`quantize(..., per_channel=False)` quantizes weights per tensor instead of per channel.
Calibration takes each tensor's range over the whole calibration set, as the TFLite
converter does. Check the result with `toaster model check model.tflite` (TFLM, LiteRT
and the firmware interpreter side by side), or in code with host.model_check (`check`,
`run_tflm`, `run_litert`, `run_firmware`).

Every op takes its weights as float arrays. To write an int8 graph directly (tests use this
for quantization parameters no calibration produces, and for ops the quantizer does not
handle, such as RELU6 and SQUEEZE), give the input `q=(scale, zero_point)`, constants via
`g.const(int_array, q=...)`, and each op its output `q=(scale, zero_point)`.
"""

import contextlib
import io
import os
import sys
import tempfile
import warnings

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

SIGNATURE = "serving_default"

_OP = schema.BuiltinOperator
_ACTIVATIONS = {None: 0, "relu": 1, "relu_n1_to_1": 2, "relu6": 3, "tanh": 4}
_PADDING = {"same": schema.Padding.SAME, "valid": schema.Padding.VALID}
_TYPES = {np.float32: schema.TensorType.FLOAT32, np.int32: schema.TensorType.INT32,
          np.int8: schema.TensorType.INT8, np.int64: schema.TensorType.INT64}
_DTYPES = {v: k for k, v in _TYPES.items()}


class Tensor:
    """A tensor of a Graph under construction: its index, shape and element type."""

    def __init__(self, index, shape, dtype, q=None):
        self.index = index
        self.shape = list(shape)
        self.dtype = dtype
        self.q = q


def _conv_size(size, filt, stride, dilation, padding):
    eff = (filt - 1) * dilation + 1
    if padding == "same":
        return (size + stride - 1) // stride
    return (size - eff + stride) // stride


def _broadcast(a, b):
    return list(np.broadcast_shapes(tuple(a), tuple(b)))


class Graph:
    """A one-subgraph TFLite model, built op by op."""

    def __init__(self, description="smart-toaster tflite_graph"):
        self._model = schema.ModelT()
        self._model.version = 3
        self._model.description = description
        self._model.buffers = [schema.BufferT()]
        self._model.operatorCodes = []
        self._sg = schema.SubGraphT()
        self._sg.name = "main"
        self._sg.tensors, self._sg.operators = [], []
        self._sg.inputs, self._sg.outputs = [], []
        self._inputs, self._outputs = [], []
        self._opcodes = {}

    # -- tensors

    def _tensor(self, name, shape, dtype, data=None, q=None, axis=0):
        t = schema.TensorT()
        t.name = name or "t%d" % len(self._sg.tensors)
        t.shape = [int(d) for d in shape]
        t.type = _TYPES[dtype]
        t.buffer = 0
        if data is not None:
            buf = schema.BufferT()
            buf.data = np.ascontiguousarray(data, dtype).view(np.uint8).ravel()
            self._model.buffers.append(buf)
            t.buffer = len(self._model.buffers) - 1
        if q is not None:
            scale, zp = q
            qp = schema.QuantizationParametersT()
            qp.scale = [float(s) for s in np.atleast_1d(scale)]
            qp.zeroPoint = [int(z) for z in np.atleast_1d(zp)]
            if len(qp.zeroPoint) == 1 and len(qp.scale) > 1:
                qp.zeroPoint = qp.zeroPoint * len(qp.scale)
            qp.quantizedDimension = axis
            t.quantization = qp
        self._sg.tensors.append(t)
        return Tensor(len(self._sg.tensors) - 1, shape, dtype, q)

    def input(self, name, shape, q=None):
        """A graph input: float32, or int8 with q=(scale, zero_point)."""
        t = self._tensor(name, shape, np.int8 if q else np.float32, q=q)
        self._sg.inputs.append(t.index)
        self._inputs.append((name, t.index))
        return t

    def output(self, t, name):
        self._sg.outputs.append(t.index)
        self._outputs.append((name, t.index))
        self._sg.tensors[t.index].name = name

    def const(self, array, dtype=None, q=None, axis=0, name=None):
        """A constant tensor. With q, `array` holds the quantized integers (int8 or int32)."""
        array = np.asarray(array)
        if dtype is None:
            dtype = np.int32 if array.dtype.kind in "iu" and q is None else np.float32
            if q is not None:
                dtype = np.int32 if array.dtype == np.int32 else np.int8
        return self._tensor(name, array.shape, dtype, data=array, q=q, axis=axis)

    def _const_like(self, value, like):
        if isinstance(value, Tensor):
            return value
        if like.dtype != np.float32:
            raise ValueError("an int8 graph takes its constants from g.const(..., q=...)")
        return self.const(np.asarray(value, np.float32))

    # -- operators

    def _op(self, code, inputs, out_shape, q=None, options=None, options_type=0, dtype=None,
            outputs=None):
        if code not in self._opcodes:
            oc = schema.OperatorCodeT()
            oc.builtinCode = code
            oc.deprecatedBuiltinCode = min(code, 127)
            oc.version = 1
            self._model.operatorCodes.append(oc)
            self._opcodes[code] = len(self._model.operatorCodes) - 1
        if outputs is None:
            if dtype is None:
                dtype = np.int8 if q is not None else np.float32
            outputs = [self._tensor(None, out_shape, dtype, q=q)]
        op = schema.OperatorT()
        op.opcodeIndex = self._opcodes[code]
        op.inputs = [-1 if t is None else t.index for t in inputs]
        op.outputs = [t.index for t in outputs]
        op.builtinOptionsType = options_type
        op.builtinOptions = options
        self._sg.operators.append(op)
        return outputs[0]

    def fully_connected(self, x, w, b=None, activation=None, keep_dims=False, q=None):
        w = self._const_like(w, x)
        b = None if b is None else self._const_like(b, x)
        o = schema.FullyConnectedOptionsT()
        o.fusedActivationFunction = _ACTIVATIONS[activation]
        o.keepNumDims = keep_dims
        units = w.shape[0]
        shape = x.shape[:-1] + [units] if keep_dims else [int(np.prod(x.shape)) // w.shape[1], units]
        return self._op(_OP.FULLY_CONNECTED, [x, w, b], shape, q, o,
                        schema.BuiltinOptions.FullyConnectedOptions)

    def conv_2d(self, x, w, b=None, stride=(1, 1), padding="same", dilation=(1, 1),
                activation=None, q=None):
        """x: NHWC; w: [out_channels, kh, kw, in_channels]."""
        w = self._const_like(w, x)
        b = None if b is None else self._const_like(b, x)
        o = schema.Conv2DOptionsT()
        o.padding = _PADDING[padding]
        o.strideH, o.strideW = stride
        o.dilationHFactor, o.dilationWFactor = dilation
        o.fusedActivationFunction = _ACTIVATIONS[activation]
        shape = [x.shape[0], _conv_size(x.shape[1], w.shape[1], stride[0], dilation[0], padding),
                 _conv_size(x.shape[2], w.shape[2], stride[1], dilation[1], padding), w.shape[0]]
        return self._op(_OP.CONV_2D, [x, w, b], shape, q, o, schema.BuiltinOptions.Conv2DOptions)

    def depthwise_conv_2d(self, x, w, b=None, stride=(1, 1), padding="same", dilation=(1, 1),
                          depth_multiplier=1, activation=None, q=None):
        """x: NHWC; w: [1, kh, kw, in_channels * depth_multiplier]."""
        w = self._const_like(w, x)
        b = None if b is None else self._const_like(b, x)
        o = schema.DepthwiseConv2DOptionsT()
        o.padding = _PADDING[padding]
        o.strideH, o.strideW = stride
        o.dilationHFactor, o.dilationWFactor = dilation
        o.depthMultiplier = depth_multiplier
        o.fusedActivationFunction = _ACTIVATIONS[activation]
        shape = [x.shape[0], _conv_size(x.shape[1], w.shape[1], stride[0], dilation[0], padding),
                 _conv_size(x.shape[2], w.shape[2], stride[1], dilation[1], padding), w.shape[3]]
        return self._op(_OP.DEPTHWISE_CONV_2D, [x, w, b], shape, q, o,
                        schema.BuiltinOptions.DepthwiseConv2DOptions)

    def _pool(self, code, x, size, stride, padding, activation, q):
        o = schema.Pool2DOptionsT()
        o.padding = _PADDING[padding]
        o.filterHeight, o.filterWidth = size
        o.strideH, o.strideW = stride
        o.fusedActivationFunction = _ACTIVATIONS[activation]
        shape = [x.shape[0], _conv_size(x.shape[1], size[0], stride[0], 1, padding),
                 _conv_size(x.shape[2], size[1], stride[1], 1, padding), x.shape[3]]
        return self._op(code, [x], shape, q, o, schema.BuiltinOptions.Pool2DOptions)

    def average_pool_2d(self, x, size, stride=None, padding="valid", activation=None, q=None):
        return self._pool(_OP.AVERAGE_POOL_2D, x, size, stride or size, padding, activation, q)

    def max_pool_2d(self, x, size, stride=None, padding="valid", activation=None, q=None):
        return self._pool(_OP.MAX_POOL_2D, x, size, stride or size, padding, activation, q)

    def mean(self, x, axes, keep_dims=False, q=None):
        axes = [a % len(x.shape) for a in axes]
        o = schema.ReducerOptionsT()
        o.keepDims = keep_dims
        shape = [1 if i in axes else d for i, d in enumerate(x.shape)
                 if keep_dims or i not in axes]
        return self._op(_OP.MEAN, [x, self.const(np.array(axes, np.int32))], shape, q, o,
                        schema.BuiltinOptions.ReducerOptions)

    def pad(self, x, paddings, q=None):
        """paddings: [[before, after]] per dimension."""
        paddings = np.array(paddings, np.int32)
        shape = [d + int(p.sum()) for d, p in zip(x.shape, paddings)]
        return self._op(_OP.PAD, [x, self.const(paddings)], shape, q, schema.PadOptionsT(),
                        schema.BuiltinOptions.PadOptions)

    def reshape(self, x, shape, dynamic=False, q=None):
        """RESHAPE to `shape` (one -1 allowed). dynamic=True computes the shape the way a
        Keras-converted model does: SHAPE -> STRIDED_SLICE (batch) -> PACK -> RESHAPE."""
        shape = list(shape)
        if -1 in shape:
            known = int(np.prod([d for d in shape if d != -1]))
            shape[shape.index(-1)] = int(np.prod(x.shape)) // known
        o = schema.ReshapeOptionsT()
        if not dynamic:
            o.newShape = shape
            return self._op(_OP.RESHAPE, [x, self.const(np.array(shape, np.int32))], shape, q, o,
                            schema.BuiltinOptions.ReshapeOptions)
        so = schema.ShapeOptionsT()
        so.outType = schema.TensorType.INT32
        dims = self._op(_OP.SHAPE, [x], [len(x.shape)], options=so,
                        options_type=schema.BuiltinOptions.ShapeOptions, dtype=np.int32)
        ss = schema.StridedSliceOptionsT()
        ss.shrinkAxisMask = 1
        batch = self._op(_OP.STRIDED_SLICE,
                         [dims] + [self.const(np.array([v], np.int32)) for v in (0, 1, 1)], [],
                         options=ss, options_type=schema.BuiltinOptions.StridedSliceOptions,
                         dtype=np.int32)
        po = schema.PackOptionsT()
        po.valuesCount, po.axis = len(shape), 0
        rest = [self.const(np.array(d, np.int32)) for d in shape[1:]]
        new_shape = self._op(_OP.PACK, [batch] + rest, [len(shape)], options=po,
                             options_type=schema.BuiltinOptions.PackOptions, dtype=np.int32)
        return self._op(_OP.RESHAPE, [x, new_shape], shape, q, o,
                        schema.BuiltinOptions.ReshapeOptions)

    def squeeze(self, x, axes=(), q=None):
        axes = [a % len(x.shape) for a in axes]
        o = schema.SqueezeOptionsT()
        o.squeezeDims = list(axes)
        shape = [d for i, d in enumerate(x.shape) if not (i in axes or (not axes and d == 1))]
        return self._op(_OP.SQUEEZE, [x], shape, q, o, schema.BuiltinOptions.SqueezeOptions)

    def softmax(self, x, beta=1.0, q=None):
        o = schema.SoftmaxOptionsT()
        o.beta = beta
        return self._op(_OP.SOFTMAX, [x], x.shape, q, o, schema.BuiltinOptions.SoftmaxOptions)

    def logistic(self, x, q=None):
        return self._op(_OP.LOGISTIC, [x], x.shape, q)

    def tanh(self, x, q=None):
        return self._op(_OP.TANH, [x], x.shape, q)

    def relu(self, x, q=None):
        return self._op(_OP.RELU, [x], x.shape, q)

    def relu6(self, x, q=None):
        return self._op(_OP.RELU6, [x], x.shape, q)

    def _binary(self, code, options, options_type, a, b, activation, q):
        b = self._const_like(b, a)
        options.fusedActivationFunction = _ACTIVATIONS[activation]
        return self._op(code, [a, b], _broadcast(a.shape, b.shape), q, options, options_type)

    def add(self, a, b, activation=None, q=None):
        return self._binary(_OP.ADD, schema.AddOptionsT(), schema.BuiltinOptions.AddOptions,
                            a, b, activation, q)

    def sub(self, a, b, activation=None, q=None):
        return self._binary(_OP.SUB, schema.SubOptionsT(), schema.BuiltinOptions.SubOptions,
                            a, b, activation, q)

    def mul(self, a, b, activation=None, q=None):
        return self._binary(_OP.MUL, schema.MulOptionsT(), schema.BuiltinOptions.MulOptions,
                            a, b, activation, q)

    def concatenation(self, xs, axis, activation=None, q=None):
        axis %= len(xs[0].shape)
        o = schema.ConcatenationOptionsT()
        o.axis = axis
        o.fusedActivationFunction = _ACTIVATIONS[activation]
        shape = list(xs[0].shape)
        shape[axis] = sum(x.shape[axis] for x in xs)
        return self._op(_OP.CONCATENATION, list(xs), shape, q, o,
                        schema.BuiltinOptions.ConcatenationOptions)

    def quantize(self, x, q):
        """QUANTIZE: float32 -> int8, or int8 -> int8 with new parameters."""
        return self._op(_OP.QUANTIZE, [x], x.shape, q)

    def dequantize(self, x):
        return self._op(_OP.DEQUANTIZE, [x], x.shape, dtype=np.float32)

    # -- serialization

    def build(self):
        """The model as .tflite bytes, with one signature naming inputs and outputs."""
        sig = schema.SignatureDefT()
        sig.signatureKey = SIGNATURE
        sig.subgraphIndex = 0
        sig.inputs, sig.outputs = [], []
        for names, target in ((self._inputs, sig.inputs), (self._outputs, sig.outputs)):
            for name, index in names:
                tm = schema.TensorMapT()
                tm.name, tm.tensorIndex = name, index
                target.append(tm)
        self._model.subgraphs = [self._sg]
        self._model.signatureDefs = [sig]
        return pack(self._model)


def pack(model):
    """Serialize a schema ModelT into .tflite bytes."""
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def unpack(data):
    """Parse .tflite bytes into a schema ModelT (the object API), e.g. to inspect or edit."""
    return schema.ModelT.InitFromPackedBuf(bytearray(data), 0)


def input_names(model):
    """Signature input names of .tflite bytes, in order."""
    sig = unpack(model).signatureDefs[0]
    return [tm.name.decode() if isinstance(tm.name, bytes) else tm.name for tm in sig.inputs]


def quantize(float_model, calibration, int8_io=False, per_channel=True):
    """Quantize a float model with ai-edge-quantizer's static int8 recipe.

    calibration: a float array [N, ...] of N samples for a one-input model (each sample
    reshaped to the input's shape), or a dict {input name: array [N, ...]}.
    Returns the int8 model as bytes.
    """
    from ai_edge_quantizer import calibrator, qtyping, quantizer, recipe_manager
    from ai_edge_quantizer.utils import qsv_utils

    model = unpack(float_model)
    names = input_names(float_model)
    shapes = {n: list(model.subgraphs[0].tensors[tm.tensorIndex].shape)
              for n, tm in zip(names, model.signatureDefs[0].inputs)}
    if not isinstance(calibration, dict):
        if len(names) != 1:
            raise ValueError("a model with %d inputs needs calibration as a dict" % len(names))
        calibration = {names[0]: calibration}
    count = {len(np.asarray(v)) for v in calibration.values()}
    if len(count) != 1:
        raise ValueError("every input needs the same number of calibration samples")
    samples = [{n: np.asarray(calibration[n][i], np.float32).reshape(shapes[n])
                for n in names} for i in range(count.pop())]

    qt = quantizer.Quantizer(bytearray(float_model))
    granularity = (qtyping.QuantGranularity.CHANNELWISE if per_channel
                   else qtyping.QuantGranularity.TENSORWISE)
    qt.add_static_config(".*", qtyping.TFLOperationName.ALL_SUPPORTED, 8, 8, granularity)
    if not int8_io:
        for end in (qtyping.TFLOperationName.INPUT, qtyping.TFLOperationName.OUTPUT):
            qt.update_quantization_recipe(".*", end, algorithm_key="no_quantize")
    # Ranges over the whole calibration set, as the TFLite converter takes them: the
    # quantizer's default (a moving average of per-sample ranges) shrinks the ranges of a
    # batch-1 model's tensors and saturates them.
    recipes = recipe_manager.RecipeManager()
    recipes.load_quantization_recipe(qt.get_quantization_recipe())
    with _quiet():
        calib = calibrator.Calibrator(bytes(float_model),
                                      qsv_update_func=qsv_utils.min_max_update)
        calib.calibrate({SIGNATURE: samples}, recipes)
        result = calib.get_model_qsvs()
        return bytes(qt.quantize(result, enable_progress_report=False).quantized_model)


@contextlib.contextmanager
def _quiet():
    # LiteRT (under the calibrator) and the quantizer's progress bars write to stderr on
    # every call; keep it for when something goes wrong, or for a terminal.
    if sys.stderr.isatty():
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    text = io.StringIO()
    with tempfile.TemporaryFile() as log, warnings.catch_warnings(), \
            contextlib.redirect_stderr(text):
        warnings.simplefilter("ignore", UserWarning)
        os.dup2(log.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            log.seek(0)
            sys.__stderr__.write(log.read().decode(errors="replace") + text.getvalue())
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
