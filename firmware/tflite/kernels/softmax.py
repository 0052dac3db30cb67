# Eval of SOFTMAX over int8 rows (TFLM's reference kernel, gemmlowp fixed point): the
# exponentials come from a table, a fixed-point reciprocal of their sum scales them
# through the shared output stage.
import micropython

from . import requantize as rq

# Parameter words: rows, depth, then gemmlowp constants too big for viper literals, then
# the exp table (Q0.31) and the same rescaled to Q12.19 for the sum.
ROWS, DEPTH, C48_17, C32_17, ONE_Q29, HALF_Q31 = range(6)
EXP = 6


@micropython.viper
def _srdhm(a: int, b: int) -> int:
    # SaturatingRoundingDoublingHighMul of int32 a, b (|a|, |b| < 2**31), in int32 pieces.
    neg = (a ^ b) < 0
    if a < 0:
        a = 0 - a
    if b < 0:
        b = 0 - b
    ah = a >> 16
    al = a & 0xFFFF
    bh = b >> 16
    bl = b & 0xFFFF
    t1 = ah * bl
    t2 = al * bh
    t3 = int(uint(al) * uint(bl))
    t3l = t3 & 0xFFFF
    lo = (t1 & 0xFFFF) + (t2 & 0xFFFF) + int(uint(t3) >> 16)
    h2 = (ah * bh + (t1 >> 16) + (t2 >> 16) + (lo >> 16)) << 1
    cl = lo & 0xFFFF
    # |a*b| = (h2 / 2) * 2**32 + cl * 2**16 + t3l; round half up for a positive product,
    # half toward zero (i.e. up) for a negative one, as gemmlowp's nudge does.
    if not neg:
        return h2 + ((cl + 0x4000) >> 15)
    k = 0
    if cl > 0x4000 or (cl == 0x4000 and t3l):
        k = 1
    if cl > 0xC000 or (cl == 0xC000 and t3l):
        k = 2
    return 0 - (h2 + k)


@micropython.viper
def _sat_shl(x: int, e: int) -> int:
    t = (1 << (31 - e)) - 1
    if x > t:
        return (t << e) | ((1 << e) - 1)
    if x < 0 - t:
        return 0 - (t << e) - (1 << e)
    return x << e


@micropython.viper
def _softmax(a):
    x = ptr8(a[0])
    acc = ptr32(a[2])
    p = ptr32(a[3])
    q = ptr32(a[4])
    depth = p[1]
    e = ptr32(uint(p) + uint(4 * 6))
    r = ptr32(uint(e) + 1024)
    c48 = p[2]
    c32 = p[3]
    one = p[4]
    half31 = p[5]
    q[5] = 0
    i = 0
    for row in range(p[0]):
        mx = 0
        for c in range(depth):
            v = x[i + c] ^ 0x80
            if v > mx:
                mx = v
        total = 0
        for c in range(depth):
            d = mx - (x[i + c] ^ 0x80)
            total += r[d]
            acc[c] = e[d]
        # GetReciprocal(total, 12): total = 2**(31 - clz) * (1 + f), f in [0, 1)
        v = total
        clz = 1
        while (v >> 30) == 0:
            v = v << 1
            clz += 1
        f = (v - half31) << 1
        # one_over_one_plus_x_for_x_in_0_1(f), Newton-Raphson in Q2.29
        hd = (f >> 1) + half31
        y = c48 + int(_srdhm(hd, 0 - c32))
        for it in range(3):
            t = one - int(_srdhm(hd, y))
            y = y + int(_sat_shl(int(_srdhm(y, t)), 2))
        y = int(_sat_shl(y, 1))
        q[6] = y
        q[7] = 64 - (12 - clz + 23)
        rq.requantize(a[2], a[1], depth, a[4])
        i += depth


class Softmax:
    def __init__(self, x, out, p, q):
        self.args = (x, out, p, q)

    def bind(self, scratch):
        x, out, p, q = self.args
        self.args = (x.buf, out.buf, scratch, p, q)

    def run(self):
        _softmax(self.args)
