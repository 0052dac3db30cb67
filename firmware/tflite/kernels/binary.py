# Eval of ADD, SUB and MUL with broadcasting: per element, two table entries added (or
# multiplied), then the shared output stage in chunks.
import micropython

from . import requantize as rq

CHUNK = 256
# Parameter words: mode (0 add, 1 multiply), rank, then per output dimension (size,
# stride in input 1, stride in input 2), then the two tables, then the index counters.
MODE, RANK, DIMS = 0, 1, 2


@micropython.viper
def _binary(a):
    acc = ptr32(a[3])
    x1 = ptr8(a[0])
    x2 = ptr8(a[1])
    p = ptr32(a[4])
    n = int(a[5])
    mul = p[0]
    rank = p[1]
    t1 = ptr32(uint(p) + uint(4 * (2 + 3 * rank)))
    t2 = ptr32(uint(t1) + 1024)
    idx = ptr32(uint(t2) + 1024)
    for d in range(rank):
        idx[d] = 0
    ptr32(a[6])[5] = 0
    i1 = 0
    i2 = 0
    k = 0
    for i in range(n):
        if mul:
            acc[k] = t1[x1[i1]] * t2[x2[i2]]
        else:
            acc[k] = t1[x1[i1]] + t2[x2[i2]]
        k += 1
        if k == 256:
            rq.requantize(a[3], a[2], k, a[6])
            k = 0
        d = rank - 1
        while d >= 0:
            idx[d] += 1
            i1 += p[3 + 3 * d]
            i2 += p[4 + 3 * d]
            if idx[d] < p[2 + 3 * d]:
                break
            i1 -= p[3 + 3 * d] * idx[d]
            i2 -= p[4 + 3 * d] * idx[d]
            idx[d] = 0
            d -= 1
    if k:
        rq.requantize(a[3], a[2], k, a[6])


class Binary:
    def __init__(self, x1, x2, out, p, q):
        self.args = (x1, x2, out, p, q)

    def bind(self, scratch):
        x1, x2, out, p, q = self.args
        self.args = (x1.buf, x2.buf, out.buf, scratch, p, out.size, q)

    def run(self):
        _binary(self.args)
