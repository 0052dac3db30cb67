# MEAN of int8 over any set of axes (TFLM's integer mean: the sum, rescaled once).
import micropython
from array import array

from .. import quant
from . import kernel_util as ku
from . import requantize as rq
from .shape import _value


@micropython.viper
def _sum(x: ptr8, acc: ptr32, p: ptr32, n: int):
    # acc[j] += x[i] over the input in order, where j steps through the output by the
    # strides in p: p[0] = rank, then per dimension (size, output stride).
    rank = p[0]
    idx = ptr32(uint(p) + uint(4 * (1 + 2 * rank)))
    for d in range(rank):
        idx[d] = 0
    j = 0
    for i in range(n):
        acc[j] += (x[i] ^ 0x80) - 0x80
        d = rank - 1
        while d >= 0:
            idx[d] += 1
            j += p[2 + 2 * d]
            if idx[d] < p[1 + 2 * d]:
                break
            j -= p[2 + 2 * d] * idx[d]
            idx[d] = 0
            d -= 1


class Mean:
    def __init__(self, interp, x, out, p, q, start):
        self.interp, self.x, self.out, self.p, self.q, self.start = interp, x, out, p, q, start

    def bind(self):
        self.args = (self.x.buf, self.interp.scratch, self.p, self.x.size, self.out.buf,
                     self.out.size, self.q)

    def run(self):
        a = self.args
        acc = a[1]
        for j in range(a[5]):
            acc[j] = self.start
        _sum(a[0], acc, a[2], a[3])
        a[6][rq.BASE] = 0
        rq.requantize(acc, a[4], a[5], a[6])


def prepare(interp, op, name):
    x = ku.tensor(interp, op, name, 0)
    out = ku.tensor(interp, op, name, 0, output=True)
    in_s, in_zp = ku.int8(op, name, x)
    out_s, out_zp = ku.int8(op, name, out)
    rank = len(x.shape)
    axes = []
    for a in _value(op, name, ku.tensor(interp, op, name, 1)):
        if not -rank <= a < rank:
            ku.fail(op, name, "axis %d out of range" % a)
        if a % rank not in axes:
            axes.append(a % rank)
    keep = [d for i, d in enumerate(x.shape) if i not in axes]
    if out.size != max(1, len(keep) and 1) * _product(keep):
        ku.fail(op, name, "output %s does not match %s without axes %s"
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
    k = min(_floor_log2(count), 32, 31 + shift) if count else 0
    m, shift = (m << k) // count if count else 0, shift - k
    q = rq.params([(m, shift)], out_zp, -128, 127)
    interp.reserve_scratch(out.size)
    return Mean(interp, x, out, p, q, -in_zp * count)


def _product(values):
    n = 1
    for v in values:
        n *= v
    return n


def _floor_log2(n):
    return quant.bitlen(n) - 1
