# Eval of AVERAGE_POOL_2D and MAX_POOL_2D over the window clipped to the image, on raw
# int8 values (TFLM does not requantize here), then the fused activation clamp.
import micropython

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
        self.args = (x, out, p)

    def bind(self, scratch):
        x, out, p = self.args
        self.args = (x.buf, out.buf, p)

    def run(self):
        a = self.args
        _pool(a[0], a[1], a[2])
