# Eval of FULLY_CONNECTED and of 1x1 CONV_2D without stride or padding: every output is
# the dot product of an input row (pixel) with a filter row, then the shared output stage.
# Also the parameter layout and the step of all filter kernels (conv.py, depthwise.py).
#
# Prepare folded the input zero point into the bias: sum((x - zp) * w) + b equals
# sum((x + 128) * w) + b - (zp + 128) * sum(w), and x + 128 is the input byte with its top
# bit flipped. Taps outside the image (padding) are skipped, as TFLM skips them, so
# outputs touching the border use the unfolded bias and subtract zp + 128 per tap.
import micropython

from . import requantize as rq

# Geometry words at the start of the parameter array, then folded and raw bias.
N, H, W, IC, OH, OW, OC, KH, KW, SH, SW, DH, DW, PT, PL, OFF, DM = range(17)
BIAS = 17


@micropython.viper
def pointwise(xp: ptr8, wp: ptr8, s: int, a):
    # A 1x1 convolution with stride 1 and no padding, or FULLY_CONNECTED: every output is
    # the dot product of an input pixel (row) with a filter row. The moving pointers and
    # the accumulator are the arguments: viper keeps them in registers.
    p = ptr32(a[4])
    acc = ptr32(a[3])
    x0 = uint(ptr8(a[0]))
    w0 = uint(ptr8(a[1]))
    ic = p[3]
    ow = p[5]
    oc = p[6]
    ic4 = uint(ic - (ic & 3))
    ptr32(a[5])[5] = 0
    xb = x0
    for row in range(p[0] * p[4]):
        o = 0
        for px in range(ow):
            wp = ptr8(w0)
            for c in range(oc):
                xp = ptr8(xb)
                s = p[17 + c]
                end = xb + ic4
                while uint(xp) < end:
                    s += ((xp[0] ^ 0x80) * ((wp[0] ^ 0x80) - 0x80)
                          + (xp[1] ^ 0x80) * ((wp[1] ^ 0x80) - 0x80)
                          + (xp[2] ^ 0x80) * ((wp[2] ^ 0x80) - 0x80)
                          + (xp[3] ^ 0x80) * ((wp[3] ^ 0x80) - 0x80))
                    xp = ptr8(uint(xp) + 4)
                    wp = ptr8(uint(wp) + 4)
                end = xb + uint(ic)
                while uint(xp) < end:
                    s += (xp[0] ^ 0x80) * ((wp[0] ^ 0x80) - 0x80)
                    xp = ptr8(uint(xp) + 1)
                    wp = ptr8(uint(wp) + 1)
                acc[o] = s
                o += 1
            xb += uint(ic)
        rq.requantize(a[3], a[2], ow * oc, a[5])


class Filter:
    def __init__(self, fn, x, w, out, p, q):
        self.fn = fn
        self.args = (x, w, out, p, q)

    def bind(self, scratch):
        x, w, out, p, q = self.args
        # The third argument: the accumulator of pointwise(), the scratch row of the others.
        third = 0 if self.fn is pointwise else scratch
        self.args = (x.buf, w.buf, out.buf, scratch, p, q, third)

    def run(self):
        a = self.args
        self.fn(a[0], a[1], a[6], a)
