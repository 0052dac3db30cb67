# Prepare of MEAN over any set of axes (TFLM's integer mean: the multiplier absorbs
# 1 / count as far as its precision allows).
from array import array

from .. import quant
from ..kernels import reduce as k
from ..kernels import requantize as rq
from . import util as ku
from .shape import value


def prepare(interp, op):
    x = ku.tensor(interp, op, 0)
    out = ku.tensor(interp, op, 0, output=True)
    in_s, in_zp = ku.int8(op, x)
    out_s, out_zp = ku.int8(op, out)
    rank = len(x.shape)
    axes = []
    for a in value(op, ku.tensor(interp, op, 1)):
        if not -rank <= a < rank:
            ku.fail(op, "axis %d out of range" % a)
        if a % rank not in axes:
            axes.append(a % rank)
    keep = [d for i, d in enumerate(x.shape) if i not in axes]
    if out.size != max(1, len(keep) and 1) * _product(keep):
        ku.fail(op, "output %s does not match %s without axes %s"
                % (out.shape, x.shape, axes))
    count = _product([x.shape[a] for a in axes])
    p = array("i", bytes(4 * (1 + 3 * rank)))
    p[0] = rank
    stride = 1
    for d in range(rank - 1, -1, -1):
        p[1 + 2 * d] = x.shape[d]
        p[2 + 2 * d] = 0 if d in axes else stride
        if d not in axes:
            stride *= x.shape[d]
    m, shift = quant.multiplier(in_s, None, out_s)
    bits = min(_floor_log2(count), 32, 31 + shift) if count else 0
    m, shift = (m << bits) // count if count else 0, shift - bits
    q = rq.params([(m, shift)], out_zp, -128, 127)
    interp.reserve_scratch(out.size)
    return k.Mean(x, out, p, q, -in_zp * count)


def _product(values):
    n = 1
    for v in values:
        n *= v
    return n


def _floor_log2(n):
    return quant.bitlen(n) - 1
