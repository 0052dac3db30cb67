# AVERAGE_POOL_2D and MAX_POOL_2D over the window clipped to the image, on raw int8 values
# (TFLM does not requantize here), then the fused activation clamp.
import micropython
from array import array

from . import kernel_util as ku

# Parameter words.
N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL, LO, HI, MAX = range(15)


@micropython.viper
def _pool(x: ptr8, out: ptr8, p: ptr32):
    h = p[1]
    w = p[2]
    ch = p[3]
    kh = p[6]
    kw = p[7]
    lo = p[12]
    hi = p[13]
    is_max = p[14]
    o = 0
    for n in range(p[0]):
        for oy in range(p[4]):
            iy0 = oy * p[8] - p[10]
            fy0 = 0
            if iy0 < 0:
                fy0 = 0 - iy0
            fy1 = kh
            if iy0 + kh > h:
                fy1 = h - iy0
            for ox in range(p[5]):
                ix0 = ox * p[9] - p[11]
                fx0 = 0
                if ix0 < 0:
                    fx0 = 0 - ix0
                fx1 = kw
                if ix0 + kw > w:
                    fx1 = w - ix0
                count = (fy1 - fy0) * (fx1 - fx0)
                for c in range(ch):
                    acc = 0
                    if is_max:
                        acc = -128
                    for fy in range(fy0, fy1):
                        i = ((n * h + iy0 + fy) * w + ix0 + fx0) * ch + c
                        for fx in range(fx0, fx1):
                            v = (x[i] ^ 0x80) - 0x80
                            if is_max:
                                if v > acc:
                                    acc = v
                            else:
                                acc += v
                            i += ch
                    if not is_max:
                        if acc > 0:
                            acc = (acc + (count >> 1)) // count
                        else:
                            acc = 0 - (((count >> 1) - acc) // count)
                    acc += 128
                    if acc < lo:
                        acc = lo
                    if acc > hi:
                        acc = hi
                    out[o] = acc ^ 0x80
                    o += 1


class Pool:
    def __init__(self, x, out, p):
        self.x, self.out, self.p = x, out, p

    def bind(self):
        self.args = (self.x.buf, self.out.buf, self.p)

    def run(self):
        a = self.args
        _pool(a[0], a[1], a[2])


def prepare(interp, op, name):
    x = ku.tensor(interp, op, name, 0)
    out = ku.tensor(interp, op, name, 0, output=True)
    ku.int8(op, name, x)
    o = op.options
    if len(x.shape) != 4 or o is None:
        ku.fail(op, name, "needs a 4-D input and its options")
    n, h, w, c = x.shape
    pad, sw, sh, kw, kh, act = [o.scalar(i, "b" if i in (0, 5) else "i") for i in range(6)]
    oh, pt = ku.padding(op, name, pad, h, kh, sh, 1)
    ow, pl = ku.padding(op, name, pad, w, kw, sw, 1)
    ku.expect_shape(op, name, out, [n, oh, ow, c])
    lo, hi = ku.activation(op, name, act, out)
    p = array("i", [n, h, w, c, oh, ow, kh, kw, sh, sw, pt, pl, lo + 128, hi + 128,
                    op.code == 17])
    return Pool(x, out, p)
