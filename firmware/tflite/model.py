# The parts of a .tflite model the interpreter uses (schema.fbs field numbers), read and
# checked at load time: tensors with their shapes, types, quantization and constant data,
# and operators with their inputs, outputs and options table.
try:
    from micropython import const
except ImportError:     # CPython: host tools and tests use these modules too
    def const(x):  # type: ignore[misc]  # micropython.const is generic
        return x

from array import array

from . import flatbuffer
from .errors import ModelError

FLOAT32 = const(0)
INT32 = const(2)
INT64 = const(4)
INT8 = const(9)
ITEM_SIZE = {FLOAT32: 4, INT32: 4, INT64: 8, INT8: 1}
MAX_ELEMENTS = const(1 << 28)
# Far beyond any model a microcontroller runs; bounds the work of loading a hostile file.
MAX_TENSORS = const(2048)
MAX_OPERATORS = const(1024)


# schema.fbs TensorType, in code order.
_TYPES = ("float32 float16 int32 uint8 int64 string bool int16 complex64 int8 float64 "
          "complex128 uint64 resource variant uint32 uint16 int4 bfloat16 int2 uint4 "
          "float8_e4m3fn float8_e5m2")


def type_name(code):
    names = _TYPES.split()
    return names[code] if 0 <= code < len(names) else "type %d" % code


class Tensor:
    def __init__(self, index, table, shape, type, data):
        self.index = index
        # Where its flatbuffer table is: name and quantization are read on demand (a Table
        # object per tensor would take more RAM than a small model's arena).
        self.file, self.pos = table.buf, table.pos
        self.shape = shape
        self.type = type
        self.data = data            # memoryview of constant data in the model, or None
        self.size = 1
        for d in shape:
            self.size *= d
        self.buf = None             # set by the loader: where the values live
        self.value = None           # int32 values known at load time (shape arithmetic)

    def _table(self):
        return flatbuffer.Table(self.file, self.pos, "tensor")

    @property
    def name(self):
        return self._table().string(3)

    def describe(self):
        return "tensor %d '%s'" % (self.index, self.name)

    def quantization(self):
        # (scales as float32 bit patterns, zero points, axis); empty when not quantized.
        # Read on demand: per-channel parameters of every filter and bias would take more
        # RAM as lists than the arena of a small model.
        q = self._table().table(4, self.describe() + " quantization")
        if q is None:
            return array("I"), array("q"), 0
        if q.scalar(4, "B"):
            raise ModelError("%s: custom or block quantization is not supported"
                             % self.describe())
        scales, zero_points = q.array(2, "I"), q.array(3, "q")
        if len(scales) != len(zero_points):
            raise ModelError("%s: %d scales but %d zero points"
                             % (self.describe(), len(scales), len(zero_points)))
        for s in scales:
            # Finite and positive: sign bit clear, exponent not all ones, not zero.
            if s >= 0x7F800000 or s == 0:
                raise ModelError("%s: scale is not a positive finite number" % self.describe())
        return scales, zero_points, q.scalar(6, "i")


class Operator:
    def __init__(self, index, code, inputs, outputs, options):
        self.index = index
        self.code = code
        self.inputs = inputs
        self.outputs = outputs
        self.options = options      # flatbuffer.Table of builtin options, or None


class Model:
    def __init__(self, buf):
        self.buf = buf
        root = flatbuffer.root(buf)
        # The builtin code, or the deprecated byte for old files (127 marks "see builtin").
        codes = [max(t.scalar(0, "b"), t.scalar(3, "i")) for t in root.tables(1, "operator code")]
        subgraphs = root.tables(2, "subgraph")
        if len(subgraphs) != 1:
            raise ModelError("the model has %d subgraphs; only one is supported"
                             % len(subgraphs))
        self.root = root
        self.buffers = root.vector(4, 4) or (0, 0)
        sg = subgraphs[0]
        v = sg.vector(0, 4)
        if v is not None and v[1] > MAX_TENSORS:
            raise ModelError("the model has %d tensors, more than %d" % (v[1], MAX_TENSORS))
        v = sg.vector(3, 4)
        if v is not None and v[1] > MAX_OPERATORS:
            raise ModelError("the model has %d operators, more than %d" % (v[1], MAX_OPERATORS))
        self.tensors = [self._tensor(k, t) for k, t in enumerate(sg.tables(0, "tensor"))]
        n = len(self.tensors)
        self.inputs = self._indices(sg.ints(1) or [], n, "subgraph input", False)
        self.outputs = self._indices(sg.ints(2) or [], n, "subgraph output", False)
        if not self.inputs or not self.outputs:
            raise ModelError("the model has no inputs or no outputs")
        self.operators = []
        for k, t in enumerate(sg.tables(3, "operator")):
            i = t.scalar(0, "I")
            if i >= len(codes):
                raise ModelError("operator %d: opcode index %d out of range" % (k, i))
            what = "operator %d" % k
            self.operators.append(Operator(
                k, codes[i],
                self._indices(t.ints(1) or [], n, what + " input", True),
                self._indices(t.ints(2) or [], n, what + " output", False),
                t.table(4, what + " options")))

    def _indices(self, values, n, what, optional):
        for v in values:
            if not (0 <= v < n or (optional and v == -1)):
                raise ModelError("%s: tensor index %d out of range" % (what, v))
        return values

    def _tensor(self, k, t):
        shape = t.ints(0) or []
        size = 1
        for d in shape:
            if d < 0:
                raise ModelError("tensor %d: dynamic shape %s is not supported" % (k, shape))
            size *= d
            if size > MAX_ELEMENTS:
                raise ModelError("tensor %d: shape %s is too large" % (k, shape))
        type = t.scalar(1, "b")
        data = None
        b = t.scalar(2, "I")
        if b:
            if b >= self.buffers[1]:
                raise ModelError("tensor %d: buffer index %d out of range" % (k, b))
            data = self._data(self.root.element(self.buffers[0], b, "buffer"), "tensor %d" % k)
            if data is not None and type in ITEM_SIZE and len(data) != size * ITEM_SIZE[type]:
                raise ModelError("tensor %d: %d bytes of data for shape %s"
                                 % (k, len(data), shape))
        return Tensor(k, t, shape, type, data)

    def _data(self, t, what):
        v = t.vector(0, 1)
        if v is not None and v[1]:
            start, n = v
            return memoryview(self.buf)[start:start + n]
        offset, size = t.scalar(1, "Q"), t.scalar(2, "Q")
        if offset > 1:
            # Large models keep buffers after the flatbuffer, addressed from the file start.
            if offset + size > len(self.buf):
                raise ModelError("%s: buffer outside the model file" % what)
            return memoryview(self.buf)[offset:offset + size]
        return None
