# Eval of CONV_2D and FULLY_CONNECTED (a 1x1 convolution over the batch rows): int8
# multiply-accumulate rows, then the shared output stage. `pointwise` serves 1x1
# convolutions without stride or padding and FULLY_CONNECTED, `conv` all others.
# DEPTHWISE_CONV_2D (depthwise.py) shares the parameter layout and the Conv step.
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
def conv(xp: ptr8, wp: ptr8, acc: ptr32, a):
    # The moving input and filter pointers are arguments: viper keeps them in registers.
    p = ptr32(a[4])
    x0 = uint(ptr8(a[0]))
    w0 = uint(ptr8(a[1]))
    h = p[1]
    w = p[2]
    ic = p[3]
    oh = p[4]
    ow = p[5]
    oc = p[6]
    kh = p[7]
    kw = p[8]
    sh = p[9]
    sw = p[10]
    dh = p[11]
    dw = p[12]
    off = p[15]
    bias_f = 17
    bias_r = 17 + oc
    row = ow * oc
    filt = uint(kh * kw * ic)
    ptr32(a[5])[5] = 0
    for n in range(p[0]):
        for oy in range(oh):
            iy0 = oy * sh - p[13]
            fy0 = 0
            if iy0 < 0:
                fy0 = (dh - 1 - iy0) // dh
            fy1 = kh
            if iy0 + (kh - 1) * dh >= h:
                fy1 = (h - iy0 + dh - 1) // dh
            for ox in range(ow):
                ix0 = ox * sw - p[14]
                fx0 = 0
                if ix0 < 0:
                    fx0 = (dw - 1 - ix0) // dw
                fx1 = kw
                if ix0 + (kw - 1) * dw >= w:
                    fx1 = (w - ix0 + dw - 1) // dw
                inside = fy0 == 0 and fy1 == kh and fx0 == 0 and fx1 == kw
                if dw == 1:
                    runs = 1
                    run = (fx1 - fx0) * ic
                else:
                    runs = fx1 - fx0
                    run = ic
                run4 = run - (run & 3)
                o = ox * oc
                bias = bias_f
                if not inside:
                    bias = bias_r
                for c in range(oc):
                    acc[o + c] = p[bias + c]
                # Tap rows outer, channels inner: the input addresses are computed once per
                # row of taps, the filter rows follow each other.
                for fy in range(fy0, fy1):
                    xr = x0 + uint(((n * h + iy0 + fy * dh) * w + ix0 + fx0 * dw) * ic)
                    wr0 = w0 + uint((fy * kw + fx0) * ic)
                    for r in range(runs):
                        wr = wr0
                        for c in range(oc):
                            xp = ptr8(xr)
                            wp = ptr8(wr)
                            s = acc[o + c]
                            if inside:
                                xe = xr + uint(run4)
                                while uint(xp) < xe:
                                    s += ((xp[0] ^ 0x80) * ((wp[0] ^ 0x80) - 0x80)
                                          + (xp[1] ^ 0x80) * ((wp[1] ^ 0x80) - 0x80)
                                          + (xp[2] ^ 0x80) * ((wp[2] ^ 0x80) - 0x80)
                                          + (xp[3] ^ 0x80) * ((wp[3] ^ 0x80) - 0x80))
                                    xp = ptr8(uint(xp) + 4)
                                    wp = ptr8(uint(wp) + 4)
                                xe = xr + uint(run)
                                while uint(xp) < xe:
                                    s += (xp[0] ^ 0x80) * ((wp[0] ^ 0x80) - 0x80)
                                    xp = ptr8(uint(xp) + 1)
                                    wp = ptr8(uint(wp) + 1)
                            else:
                                xe = xr + uint(run)
                                while uint(xp) < xe:
                                    s += ((xp[0] ^ 0x80) - off) * ((wp[0] ^ 0x80) - 0x80)
                                    xp = ptr8(uint(xp) + 1)
                                    wp = ptr8(uint(wp) + 1)
                            acc[o + c] = s
                            wr += filt
                        xr += uint(dw * ic)
                        wr0 += uint(ic)
            rq.requantize(a[3], a[2], row, a[5])


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


class Conv:
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
