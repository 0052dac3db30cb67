# Prepare of ADD, SUB and MUL. Each input's part of TFLM's integer arithmetic depends on
# its own byte only, so it becomes a 256-entry table per input.
from array import array

from .. import quant
from ..kernels import binary as k
from ..kernels import requantize as rq
from . import util as ku


def _smaller_than_one(op, m, q):
    # QuantizeMultiplierSmallerThanOneExp: TFLM stops unless 0 < value < 1.
    if not m or quant.bitlen(m) + q > 0:
        ku.fail(op, "scales give a rescaling factor outside (0, 1)")
    return quant.quantize_multiplier(m, q)


def _strides(shape, rank):
    # Element strides of `shape` aligned to the right of an output of `rank` dimensions,
    # 0 where the input is broadcast.
    shape = [1] * (rank - len(shape)) + list(shape)
    strides, s = [0] * rank, 1
    for d in range(rank - 1, -1, -1):
        strides[d] = s if shape[d] != 1 else 0
        s *= shape[d]
    return shape, strides


def prepare(interp, op):
    x1 = ku.tensor(interp, op, 0)
    x2 = ku.tensor(interp, op, 1)
    out = ku.tensor(interp, op, 0, output=True)
    s1, zp1 = ku.int8(op, x1)
    s2, zp2 = ku.int8(op, x2)
    so, zpo = ku.int8(op, out)
    rank = len(out.shape)
    if len(x1.shape) > rank or len(x2.shape) > rank:
        ku.fail(op, "inputs have more dimensions than the output")
    shape1, strides1 = _strides(x1.shape, rank)
    shape2, strides2 = _strides(x2.shape, rank)
    for d in range(rank):
        for s in (shape1[d], shape2[d]):
            if s != out.shape[d] and s != 1:
                ku.fail(op, "shapes %s and %s do not broadcast to %s"
                        % (x1.shape, x2.shape, out.shape))
    act = op.options.scalar(0, "b") if op.options else 0
    lo, hi = ku.activation(op, act, out)
    values = [v - 256 if v > 127 else v for v in range(256)]
    if op.code == 18:       # MUL
        mult = quant.multiplier(s1, s2, so)
        t1 = [v - zp1 for v in values]
        t2 = [v - zp2 for v in values]
    else:
        big = max(s1, s2)   # positive float32 bit patterns order like their values
        if op.code == 0:    # ADD rescales in double
            mb, eb = quant.f32(big)
            m1, e1 = quant.f32(s1)
            m2, e2 = quant.f32(s2)
            mo, eo = quant.f32(so)
            r1 = quant.round_float(m1, mb, e1 - eb - 1)
            r2 = quant.round_float(m2, mb, e2 - eb - 1)
            ro = quant.round_float(mb, mo, eb + 1 - eo - 20)
        else:               # SUB rescales in float
            r1 = quant.f32_div(s1, big, 0, 1)
            r2 = quant.f32_div(s2, big, 0, 1)
            ro = quant.f32_div(big, so, 1, 20)
        m1 = _smaller_than_one(op, *r1)
        m2 = _smaller_than_one(op, *r2)
        mult = _smaller_than_one(op, *ro)
        t1 = [quant.mbqm((v - zp1) << 20, *m1) for v in values]
        t2 = [quant.mbqm((v - zp2) << 20, *m2) for v in values]
        if op.code == 41:
            t2 = [-v for v in t2]
    p = array("i", bytes(4 * (2 + 4 * rank + 512)))
    p[k.MODE] = op.code == 18
    p[k.RANK] = rank
    for d in range(rank):
        p[k.DIMS + 3 * d] = out.shape[d]
        p[k.DIMS + 3 * d + 1] = strides1[d]
        p[k.DIMS + 3 * d + 2] = strides2[d]
    base = k.DIMS + 3 * rank
    for b in range(256):
        p[base + b] = t1[b]
        p[base + 256 + b] = t2[b]
    interp.reserve_scratch(min(out.size, k.CHUNK))
    return k.Binary(x1, x2, out, p, rq.params([mult], zpo, lo, hi))
