# The interpreter: reads and checks a .tflite model, prepares every operator (all checks
# and derived numbers at load time), plans one arena for the activations, and runs the
# prepared steps. invoke() allocates nothing.
from array import array

from .errors import ModelError
from .model import FLOAT32, INT8, TYPE_NAMES, Model
from . import planner

_NAMES = {0: "ADD", 1: "AVERAGE_POOL_2D", 2: "CONCATENATION", 3: "CONV_2D",
          4: "DEPTHWISE_CONV_2D", 6: "DEQUANTIZE", 9: "FULLY_CONNECTED", 14: "LOGISTIC",
          17: "MAX_POOL_2D", 18: "MUL", 19: "RELU", 21: "RELU6", 22: "RESHAPE", 25: "SOFTMAX",
          28: "TANH", 34: "PAD", 40: "MEAN", 41: "SUB", 43: "SQUEEZE", 45: "STRIDED_SLICE",
          77: "SHAPE", 83: "PACK", 114: "QUANTIZE"}


def op_name(code):
    return _NAMES.get(code, "builtin operator %d" % code)


def _kernels(code):
    # The kernel module of an operator, imported only when a model uses it.
    if code in (3, 4, 9):
        from .ops import conv as k
    elif code in (1, 17):
        from .ops import pool as k
    elif code == 40:
        from .ops import reduce as k
    elif code in (0, 41, 18):
        from .ops import binary as k
    elif code in (6, 14, 19, 21, 28, 114):
        from .ops import lut as k
    elif code == 25:
        from .ops import softmax as k
    elif code in (2, 34):
        from .ops import copy as k
    elif code in (22, 43, 45, 77, 83):
        from .ops import shape as k
    else:
        raise ModelError("unsupported operator: %s" % op_name(code))
    return k


class Interpreter:
    def __init__(self, model):
        try:
            self._load(model)
        except MemoryError:
            raise ModelError("not enough memory to load the model")

    def _load(self, model):
        m = Model(model)
        self.model = model
        self.tensors = m.tensors
        self._inputs = [self.tensors[i] for i in m.inputs]
        self._outputs = [self.tensors[i] for i in m.outputs]
        self._alias = {}
        self._scratch = 0
        self.scratch = None
        steps = []
        for op in m.operators:
            name = op_name(op.code)
            if len(op.outputs) != 1:
                raise ModelError("operator %d (%s) has %d outputs, not 1"
                                 % (op.index, name, len(op.outputs)))
            step = _kernels(op.code).prepare(self, op, name)
            if step is not None:
                steps.append((step, op))
        self._steps = self._live(steps)
        self._allocate()
        self._run = [step for step, _ in self._steps]
        for step in self._run:
            step.bind()

    # -- services for the kernels' prepare()

    def reserve_scratch(self, words):
        # One int32 scratch array, shared by all steps, sized for the largest request.
        if words > self._scratch:
            self._scratch = words

    def alias(self, out, inp):
        # `out` holds the same bytes as `inp` (reshapes): no copy, no arena space.
        root = self._root(inp)
        if root is out:
            raise ModelError("%s is its own reshape" % out.describe())
        self._alias[out.index] = root.index

    def _root(self, t):
        while t.index in self._alias:
            t = self.tensors[self._alias[t.index]]
        return t

    # -- memory

    def _live(self, steps):
        # Drop steps whose outputs nothing needs (e.g. a DEQUANTIZE feeding only SHAPE,
        # which is answered at load time).
        needed = set(self._root(t).index for t in self._outputs)
        kept = []
        for step, op in reversed(steps):
            if any(self._root(self.tensors[i]).index in needed for i in op.outputs):
                kept.append((step, op))
                for i in op.inputs:
                    if i >= 0:
                        needed.add(self._root(self.tensors[i]).index)
        kept.reverse()
        return kept

    def _allocate(self):
        last = len(self._steps)
        first_use, last_use = {}, {}
        for t in self._inputs:
            first_use[self._root(t).index] = -1
        for n, (step, op) in enumerate(self._steps):
            for i in op.inputs:
                if i < 0:
                    continue
                t = self._root(self.tensors[i])
                if t.index in first_use:
                    last_use[t.index] = n
                elif t.data is None and t.value is None:
                    raise ModelError("operator %d reads %s before anything writes it"
                                     % (op.index, t.describe()))
            for i in op.outputs:
                t = self._root(self.tensors[i])
                if t.index in first_use or t.data is not None or t.value is not None:
                    raise ModelError("operator %d writes %s, which is an input, a constant "
                                     "or written twice" % (op.index, t.describe()))
                if not t.size:
                    raise ModelError("%s is empty" % t.describe())
                first_use[t.index] = last_use[t.index] = n
        for t in self._outputs:
            r = self._root(t)
            if r.index not in first_use and r.data is None:
                raise ModelError("nothing writes output %s at run time" % t.describe())
            last_use[r.index] = last
        roots, buffers, floats = [], [], 0
        for r in sorted(first_use):
            t = self.tensors[r]
            if t.data is not None:
                continue
            if t.type == FLOAT32:
                if t not in self._inputs and t not in self._outputs:
                    raise ModelError("%s: float32 is supported for model inputs and outputs "
                                     "only" % t.describe())
                floats += 4 * t.size
                t.buf = array("f", bytes(4 * t.size))
            elif t.type == INT8:
                roots.append(t)
                buffers.append((t.size, first_use[r], last_use.get(r, first_use[r])))
            else:
                raise ModelError("%s: type %s is not supported"
                                 % (t.describe(), TYPE_NAMES.get(t.type, t.type)))
        offsets, size = planner.plan(buffers)
        try:
            # int8 views of the arena: memoryview slices of an array("b") read and write
            # signed values.
            self._arena = array("b", bytes(size))
            self.scratch = array("i", bytes(4 * self._scratch))
        except MemoryError:
            raise ModelError("not enough memory: the model needs %d bytes of arena and %d of "
                             "scratch" % (size, 4 * self._scratch))
        arena = memoryview(self._arena)
        for t, at in zip(roots, offsets):
            t.buf = arena[at:at + t.size]
        for t in self.tensors:
            r = self._root(t)
            if r is not t:
                t.buf = r.buf if r.buf is not None else r.data
            elif t.buf is None and t.data is not None:
                t.buf = t.data
        self.arena_size = size + 4 * self._scratch + floats

    # -- the public API

    def input(self, i=0):
        return self._inputs[i].buf

    def output(self, i=0):
        return self._outputs[i].buf

    def _details(self, t):
        from .quant import f32
        d = {"name": t.name, "shape": tuple(t.shape), "index": t.index,
             "type": TYPE_NAMES.get(t.type, t.type), "scale": 0.0, "zero_point": 0}
        if t.scales:
            m, e = f32(t.scales[0])
            d["scale"] = m * 2.0 ** e
            d["zero_point"] = t.zero_points[0]
        return d

    def input_details(self, i=0):
        return self._details(self._inputs[i])

    def output_details(self, i=0):
        return self._details(self._outputs[i])

    @property
    def inputs(self):
        return len(self._inputs)

    @property
    def outputs(self):
        return len(self._outputs)

    def invoke(self):
        for step in self._run:
            step.run()
