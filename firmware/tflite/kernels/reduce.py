# Eval of MEAN: int8 sums over the reduced axes, rescaled once by the output stage.
import micropython

from . import requantize as rq


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
    def __init__(self, x, out, p, q, start):
        self.start = start
        self.args = (x, out, p, q)

    def bind(self, scratch):
        x, out, p, q = self.args
        self.args = (x.buf, scratch, p, x.size, out.buf, out.size, q)

    def run(self):
        a = self.args
        acc = a[1]
        for j in range(a[5]):
            acc[j] = self.start
        _sum(a[0], acc, a[2], a[3])
        a[6][rq.BASE] = 0
        rq.requantize(acc, a[4], a[5], a[6])
