# Operators that only move shapes around. RESHAPE and SQUEEZE share their input's bytes
# (no copy); SHAPE, STRIDED_SLICE and PACK compute int32 shape vectors at load time, as the
# Keras reshape subgraph (SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE) needs.
import struct

from ..model import INT32, INT64
from . import util as ku


def value(op, t):
    if t.value is not None:
        return t.value
    if t.data is not None and t.type in (INT32, INT64):
        fmt = "i" if t.type == INT32 else "q"
        return list(struct.unpack("<%d%s" % (t.size, fmt), t.data))
    ku.fail(op, "%s must be known at load time (a constant or a shape)" % t.describe())


def _fold(op, out, value):
    if out.type not in (INT32, INT64) or len(value) != out.size:
        ku.fail(op, "%s does not match its computed value %s" % (out.describe(), value))
    out.value = value


def _strided_slice(op, interp):
    x, begin, end, strides = [ku.tensor(interp, op, i) for i in range(4)]
    out = ku.tensor(interp, op, 0, output=True)
    if len(x.shape) != 1 or op.options is None:
        ku.fail(op, "only 1-D shape vectors can be sliced")
    v = value(op, x)
    b, e, s = value(op, begin)[0], value(op, end)[0], value(op, strides)[0]
    o = op.options
    begin_mask, end_mask, shrink = o.scalar(0, "i"), o.scalar(1, "i"), o.scalar(4, "i")
    if o.scalar(2, "i") or o.scalar(3, "i") or s == 0:
        ku.fail(op, "ellipsis and new-axis masks and zero strides are not supported")
    n = len(v)
    if shrink & 1:
        i = b + n if b < 0 else b
        if not 0 <= i < n:
            ku.fail(op, "index %d out of range" % b)
        return [v[i]]
    b = (0 if s > 0 else n - 1) if begin_mask & 1 else b
    e = (n if s > 0 else -n - 1) if end_mask & 1 else e
    b = b + n if b < 0 else b
    e = e + n if e < 0 else e
    b = min(max(b, 0 if s > 0 else -1), n if s > 0 else n - 1)
    e = min(max(e, 0 if s > 0 else -1), n if s > 0 else n - 1)
    return [v[i] for i in range(b, e, s)]


def prepare(interp, op):
    out = ku.tensor(interp, op, 0, output=True)
    x = ku.tensor(interp, op, 0)
    if op.code == 77:       # SHAPE
        _fold(op, out, list(x.shape))
    elif op.code == 45:
        _fold(op, out, _strided_slice(op, interp))
    elif op.code == 83:     # PACK of scalars along axis 0
        values = []
        for i in range(len(op.inputs)):
            t = ku.tensor(interp, op, i)
            if t.shape:
                ku.fail(op, "only scalars can be packed")
            values += value(op, t)
        _fold(op, out, values)
    else:                   # RESHAPE, SQUEEZE
        if x.size != out.size or x.type != out.type:
            ku.fail(op, "%s cannot be reshaped to %s" % (x.describe(), out.describe()))
        if op.code == 22 and len(op.inputs) > 1 and op.inputs[1] >= 0:
            shape = value(op, ku.tensor(interp, op, 1))
            if -1 in shape:
                known = 1
                for d in shape:
                    known *= d if d != -1 else 1
                shape[shape.index(-1)] = x.size // known if known else 0
            if shape != out.shape:
                ku.fail(op, "new shape %s does not match %s" % (shape, out.describe()))
        if x.value is not None:
            out.value = x.value
    return None
