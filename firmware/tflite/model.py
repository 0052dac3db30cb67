# The parts of a .tflite model the interpreter uses (schema.fbs field numbers), read and
# checked at load time: tensors with their shapes, types, quantization and constant data,
# and operators with their inputs, outputs and options table.
from micropython import const

from . import flatbuffer
from .errors import ModelError

FLOAT32 = const(0)
INT32 = const(2)
INT64 = const(4)
INT8 = const(9)
TYPE_NAMES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 5: "string",
              6: "bool", 7: "int16", 8: "complex64", 9: "int8", 10: "float64",
              11: "complex128", 12: "uint64", 13: "resource", 14: "variant", 15: "uint32",
              16: "uint16", 17: "int4"}
ITEM_SIZE = {FLOAT32: 4, INT32: 4, INT64: 8, INT8: 1}
MAX_ELEMENTS = const(1 << 28)
# Far beyond any model a microcontroller runs; bounds the work of loading a hostile file.
MAX_TENSORS = const(2048)
MAX_OPERATORS = const(1024)


class Tensor:
    def __init__(self, index, name, shape, type, data, scales, zero_points, axis):
        self.index = index
        self.name = name
        self.shape = shape
        self.type = type
        self.data = data            # memoryview of constant data in the model, or None
        self.scales = scales        # float32 bit patterns (ints), [] when not quantized
        self.zero_points = zero_points
        self.axis = axis
        self.size = 1
        for d in shape:
            self.size *= d
        self.buf = None             # set by the interpreter: where the values live
        self.value = None           # int32 values known at load time (shape arithmetic)

    def describe(self):
        return "tensor %d '%s'" % (self.index, self.name)


class Operator:
    def __init__(self, index, code, version, inputs, outputs, options):
        self.index = index
        self.code = code
        self.version = version
        self.inputs = inputs
        self.outputs = outputs
        self.options = options      # flatbuffer.Table of builtin options, or None


class Model:
    def __init__(self, buf):
        self.buf = buf
        root = flatbuffer.root(buf)
        codes = []
        for t in root.tables(1, "operator code"):
            code = max(t.scalar(0, "b"), t.scalar(3, "i"))
            codes.append((code, t.scalar(2, "i", 1)))
        subgraphs = root.tables(2, "subgraph")
        if len(subgraphs) != 1:
            raise ModelError("the model has %d subgraphs; only one is supported"
                             % len(subgraphs))
        buffers = root.tables(4, "buffer")
        sg = subgraphs[0]
        v = sg.vector(0, 4)
        if v is not None and v[1] > MAX_TENSORS:
            raise ModelError("the model has %d tensors, more than %d" % (v[1], MAX_TENSORS))
        v = sg.vector(3, 4)
        if v is not None and v[1] > MAX_OPERATORS:
            raise ModelError("the model has %d operators, more than %d" % (v[1], MAX_OPERATORS))
        self.tensors = [self._tensor(k, t, buffers)
                        for k, t in enumerate(sg.tables(0, "tensor"))]
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
                k, codes[i][0], codes[i][1],
                self._indices(t.ints(1) or [], n, what + " input", True),
                self._indices(t.ints(2) or [], n, what + " output", False),
                t.table(4, what + " options")))

    def _indices(self, values, n, what, optional):
        for v in values:
            if not (0 <= v < n or (optional and v == -1)):
                raise ModelError("%s: tensor index %d out of range" % (what, v))
        return values

    def _tensor(self, k, t, buffers):
        name = t.string(3)
        what = "tensor %d '%s'" % (k, name)
        shape = t.ints(0) or []
        size = 1
        for d in shape:
            if d < 0:
                raise ModelError("%s: dynamic shape %s is not supported" % (what, shape))
            size *= d
            if size > MAX_ELEMENTS:
                raise ModelError("%s: shape %s is too large" % (what, shape))
        type = t.scalar(1, "b")
        data = None
        b = t.scalar(2, "I")
        if b:
            if b >= len(buffers):
                raise ModelError("%s: buffer index %d out of range" % (what, b))
            data = self._data(buffers[b], what)
            if data is not None and type in ITEM_SIZE and len(data) != size * ITEM_SIZE[type]:
                raise ModelError("%s: %d bytes of data for shape %s"
                                 % (what, len(data), shape))
        scales, zero_points, axis = [], [], 0
        q = t.table(4, what + " quantization")
        if q is not None:
            scales = q.ints(2, "I") or []
            zero_points = q.ints(3, "q") or []
            axis = q.scalar(6, "i")
            if q.scalar(4, "B"):
                raise ModelError("%s: custom or block quantization is not supported" % what)
            if len(scales) != len(zero_points):
                raise ModelError("%s: %d scales but %d zero points"
                                 % (what, len(scales), len(zero_points)))
            for s in scales:
                # Finite and positive: sign bit clear, exponent not all ones, not zero.
                if s >= 0x7F800000 or s == 0:
                    raise ModelError("%s: scale is not a positive finite number" % what)
        return Tensor(k, name, shape, type, data, scales, zero_points, axis)

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
