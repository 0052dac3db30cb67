# Eval of CONV_2D in general (any filter size, stride, dilation, padding): int8
# multiply-accumulate rows, then the shared output stage. Parameter layout, zero-point
# folding and the step: pointwise.py.
import micropython

from . import requantize as rq


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
