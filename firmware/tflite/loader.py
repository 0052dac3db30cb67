# Loading a model: read and check the file, plan one arena for the activations, prepare
# every operator and bind the steps to their buffers. The arena is planned and allocated
# before the operators are prepared, while the heap is still in one piece. Interpreter()
# calls Loader() once and then unload(), which drops this and the other load-time modules
# so that only the kernels stay in RAM.
import gc
from array import array

from .errors import ModelError
from .model import FLOAT32, INT8, Model, type_name
from . import planner
from .prepare import RESHAPES, SHAPE_ARITHMETIC, SUPPORTED, op_name, prepare

# Modules of this package needed only while loading (with their submodules).
LOAD_TIME = ("loader", "model", "flatbuffer", "quant", "planner", "names", "prepare")


class Loader:
    def __init__(self, model):
        m = Model(model)
        self.tensors = m.tensors
        self.inputs = [self.tensors[i] for i in m.inputs]
        self.outputs = [self.tensors[i] for i in m.outputs]
        self._alias = {}
        self._scratch = 0
        for op in m.operators:
            if op.code not in SUPPORTED:
                raise ModelError("unsupported operator: %s" % op_name(op.code))
            if len(op.outputs) != 1 or not op.inputs or op.inputs[0] < 0:
                raise ModelError("operator %d (%s) needs an input and exactly one output"
                                 % (op.index, op_name(op.code)))
            if op.code in RESHAPES:
                self._share(self.tensors[op.outputs[0]], self.tensors[op.inputs[0]])
        live = self._live([op for op in m.operators
                           if op.code not in RESHAPES and op.code not in SHAPE_ARITHMETIC])
        self._allocate(live)
        steps = {}
        for op in m.operators:
            step = prepare(self, op)
            if step is not None:
                steps[op.index] = step
        self.steps = [steps[op.index] for op in live]
        self.scratch = array("i", bytes(4 * self._scratch))
        self.arena_size += 4 * self._scratch
        for step in self.steps:
            step.bind(self.scratch)

    def reserve_scratch(self, words):
        # For prepare(): one int32 scratch array, shared by all steps, sized for the largest
        # request.
        if words > self._scratch:
            self._scratch = words

    def _share(self, out, inp):
        # `out` holds the same bytes as `inp` (reshapes): no copy, no arena space.
        root = self._root(inp)
        if root is out:
            raise ModelError("%s is its own reshape" % out.describe())
        self._alias[out.index] = root.index

    def _root(self, t):
        while t.index in self._alias:
            t = self.tensors[self._alias[t.index]]
        return t

    def _live(self, ops):
        # The operators whose outputs something needs, in order (e.g. a DEQUANTIZE feeding
        # only SHAPE, which is answered at load time, is not run).
        needed = set(self._root(t).index for t in self.outputs)
        kept = []
        for op in reversed(ops):
            if self._root(self.tensors[op.outputs[0]]).index in needed:
                kept.append(op)
                for i in op.inputs:
                    if i >= 0:
                        needed.add(self._root(self.tensors[i]).index)
        kept.reverse()
        return kept

    def _lifetimes(self, ops):
        # First and last step touching each buffer (-1: a model input, written before).
        first_use, last_use = {}, {}
        for t in self.inputs:
            first_use[self._root(t).index] = -1
        for n, op in enumerate(ops):
            for i in op.inputs:
                if i < 0:
                    continue
                t = self._root(self.tensors[i])
                if t.index in first_use:
                    last_use[t.index] = n
                elif t.data is None and t.type not in (2, 4):
                    raise ModelError("operator %d reads %s before anything writes it"
                                     % (op.index, t.describe()))
            t = self._root(self.tensors[op.outputs[0]])
            if t.index in first_use or t.data is not None:
                raise ModelError("operator %d writes %s, which is an input, a constant or "
                                 "written twice" % (op.index, t.describe()))
            if not t.size:
                raise ModelError("%s is empty" % t.describe())
            first_use[t.index] = last_use[t.index] = n
        for t in self.outputs:
            r = self._root(t)
            if r.index not in first_use:
                raise ModelError("nothing writes output %s at run time" % t.describe())
            last_use[r.index] = len(ops)
        return first_use, last_use

    def _allocate(self, ops):
        first_use, last_use = self._lifetimes(ops)
        roots, buffers, floats = [], [], []
        for r in sorted(first_use):
            t = self.tensors[r]
            if t.type == FLOAT32:
                if t not in self.inputs and t not in self.outputs:
                    raise ModelError("%s: float32 is supported for model inputs and outputs "
                                     "only" % t.describe())
                floats.append(t)
            elif t.type == INT8:
                roots.append(t)
                buffers.append((t.size, first_use[r], last_use.get(r, first_use[r])))
            else:
                raise ModelError("%s: type %s is not supported" % (t.describe(), type_name(t.type)))
        offsets, size = planner.plan(buffers)
        gc.collect()
        # int8 views of the arena: memoryview slices of an array("b") read and write signed
        # values.
        self.arena = array("b", bytes(size))
        arena = memoryview(self.arena)
        for t, at in zip(roots, offsets):
            t.buf = arena[at:at + t.size]
        self.arena_size = size
        for t in floats:
            t.buf = array("f", bytes(4 * t.size))
            self.arena_size += 4 * t.size
        for t in self.tensors:
            r = self._root(t)
            if r is not t:
                t.buf = r.buf if r.buf is not None else r.data
            elif t.buf is None and t.data is not None:
                t.buf = t.data


def details(t):
    from .quant import f32
    d = {"name": t.name, "shape": tuple(t.shape), "index": t.index,
         "type": type_name(t.type), "scale": 0.0, "zero_point": 0}
    scales, zero_points, axis = t.quantization()
    if len(scales) == 1:
        m, e = f32(scales[0])
        d["scale"] = m * 2.0 ** e
        d["zero_point"] = zero_points[0]
    return d


def unload():
    import sys
    base = __name__[:__name__.rindex(".")]
    for name in list(sys.modules):
        if name.startswith(base + ".") and name[len(base) + 1:].split(".")[0] in LOAD_TIME:
            del sys.modules[name]
    package = sys.modules.get(base)
    for name in LOAD_TIME:
        if hasattr(package, name):
            delattr(package, name)
