# Eval of DEPTHWISE_CONV_2D: per output pixel, all channels accumulate tap by tap (the
# channels are contiguous in input and filter), then the shared output stage. Parameter
# layout and zero-point folding as in conv.py.
import micropython

from . import requantize as rq


@micropython.viper
def depthwise(xp: ptr8, wp: ptr8, ap: ptr32, a):
    # The three moving pointers are the arguments: viper keeps them in registers.
    p = ptr32(a[4])
    x0 = uint(ptr8(a[0]))
    w0 = uint(ptr8(a[1]))
    a0 = uint(ptr32(a[3]))
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
    dm = p[16]
    oc4 = uint(oc - (oc & 3))
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
                shift = 0
                bias = 17
                if not inside:
                    shift = off
                    bias = 17 + oc
                row = a0 + uint(ox * oc * 4)
                ap = ptr32(row)
                for c in range(oc):
                    ap[c] = p[bias + c]
                for fy in range(fy0, fy1):
                    for fx in range(fx0, fx1):
                        xp = ptr8(x0 + uint(((n * h + iy0 + fy * dh) * w + ix0 + fx * dw) * ic))
                        wp = ptr8(w0 + uint((fy * kw + fx) * oc))
                        ap = ptr32(row)
                        if dm != 1:
                            k = 0
                            for c in range(ic):
                                u = (xp[c] ^ 0x80) - shift
                                for m in range(dm):
                                    ap[k] += u * ((wp[k] ^ 0x80) - 0x80)
                                    k += 1
                        elif inside:
                            end = uint(xp) + oc4
                            while uint(xp) < end:
                                ap[0] += (xp[0] ^ 0x80) * ((wp[0] ^ 0x80) - 0x80)
                                ap[1] += (xp[1] ^ 0x80) * ((wp[1] ^ 0x80) - 0x80)
                                ap[2] += (xp[2] ^ 0x80) * ((wp[2] ^ 0x80) - 0x80)
                                ap[3] += (xp[3] ^ 0x80) * ((wp[3] ^ 0x80) - 0x80)
                                xp = ptr8(uint(xp) + 4)
                                wp = ptr8(uint(wp) + 4)
                                ap = ptr32(uint(ap) + 16)
                            end += uint(oc & 3)
                            while uint(xp) < end:
                                ap[0] += (xp[0] ^ 0x80) * ((wp[0] ^ 0x80) - 0x80)
                                xp = ptr8(uint(xp) + 1)
                                wp = ptr8(uint(wp) + 1)
                                ap = ptr32(uint(ap) + 4)
                        else:
                            end = uint(xp) + uint(oc)
                            while uint(xp) < end:
                                ap[0] += ((xp[0] ^ 0x80) - shift) * ((wp[0] ^ 0x80) - 0x80)
                                xp = ptr8(uint(xp) + 1)
                                wp = ptr8(uint(wp) + 1)
                                ap = ptr32(uint(ap) + 4)
            rq.requantize(a[3], a[2], ow * oc, a[5])
