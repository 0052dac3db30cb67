# Prepare of SOFTMAX: the input multiplier and the table of exponentials of the 256
# possible differences to the row maximum.
from array import array

from .. import quant
from ..kernels import requantize as rq
from ..kernels import softmax as k
from . import util as ku


def prepare(interp, op):
    x = ku.tensor(interp, op, 0)
    out = ku.tensor(interp, op, 0, output=True)
    in_s, in_zp = ku.int8(op, x)
    out_s, out_zp = ku.int8(op, out)
    if out_zp != -128:
        ku.fail(op, "output zero point must be -128")
    if x.shape != out.shape or not x.shape:
        ku.fail(op, "input and output shapes must match")
    depth = x.shape[-1]
    if not 0 < depth < 512:
        ku.fail(op, "rows of %d values are not supported (at most 511)" % depth)
    beta = op.options.scalar(0, "I") if op.options else 0
    if beta >= 0x7F800000 or beta == 0:
        ku.fail(op, "beta must be positive and finite")
    m, e = quant.ratio(beta, in_s)
    e += 26
    if quant.bitlen(m) + e > 31:    # min(beta * scale * 2**26, 2**31 - 1)
        m, e = 0x7FFFFFFF, 0
    if not ((m << e) > 1 if e >= 0 else m > (1 << -e)):
        ku.fail(op, "beta * input scale is too small")
    mult, shift = quant.quantize_multiplier(m, e)
    diff_min = -((31 << 26) >> shift)
    p = array("i", bytes(4 * (k.EXP + 512)))
    p[k.ROWS], p[k.DEPTH] = x.size // depth, depth
    p[k.C48_17], p[k.C32_17], p[k.ONE_Q29], p[k.HALF_Q31] = 1515870810, 1010580540, 1 << 29, 1 << 30
    for d in range(256):
        if -d >= diff_min:
            v = quant.exp_on_negative_values(quant.mbqm(-d, mult, shift), 5)
            p[k.EXP + d] = v
            p[k.EXP + 256 + d] = quant.rdbp(v, 12)
    interp.reserve_scratch(depth)
    return k.Softmax(x, out, p, rq.params([(1 << 30, 0)], -128, -128, 127))
