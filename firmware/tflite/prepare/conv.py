# CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED (a 1x1 convolution over the batch rows).
# Prepare folds the input zero point into the bias: sum((x - zp) * w) + b equals
# sum((x + 128) * w) + b - (zp + 128) * sum(w), and x + 128 is the input byte with its top
# bit flipped. Taps that fall outside the image (padding) are skipped, as TFLM skips them,
# so outputs touching the border use the unfolded form.
import micropython
import struct
from array import array

from .. import quant
from ..model import INT32
from . import kernel_util as ku
from . import requantize as rq

# Geometry words at the start of the parameter array, then folded and raw bias.
N, H, W, IC, OH, OW, OC, KH, KW, SH, SW, DH, DW, PT, PL, OFF, DM = range(17)
BIAS = 17


@micropython.viper
def _conv(a):
    xp = ptr8(0)
    wp = ptr8(0)
    p = ptr32(a[4])
    acc = ptr32(a[3])
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
                for c in range(oc):
                    wc = w0 + uint(c * kh * kw * ic)
                    if inside:
                        s = p[bias_f + c]
                    else:
                        s = p[bias_r + c]
                    for fy in range(fy0, fy1):
                        xr = x0 + uint(((n * h + iy0 + fy * dh) * w + ix0 + fx0 * dw) * ic)
                        wr = wc + uint((fy * kw + fx0) * ic)
                        for r in range(runs):
                            xp = ptr8(xr)
                            wp = ptr8(wr)
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
                            xr += uint(dw * ic)
                            wr += uint(ic)
                    acc[o + c] = s
            rq.requantize(a[3], a[2], row, a[5])


@micropython.viper
def _depthwise(a):
    xp = ptr8(0)
    wp = ptr8(0)
    ap = ptr32(0)
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
                ap = ptr32(a0 + uint(ox * oc * 4))
                for c in range(oc):
                    ap[c] = p[bias + c]
                for fy in range(fy0, fy1):
                    for fx in range(fx0, fx1):
                        xp = ptr8(x0 + uint(((n * h + iy0 + fy * dh) * w + ix0 + fx * dw) * ic))
                        wp = ptr8(w0 + uint((fy * kw + fx) * oc))
                        if dm == 1:
                            if inside:
                                for c in range(oc):
                                    ap[c] += (xp[c] ^ 0x80) * ((wp[c] ^ 0x80) - 0x80)
                            else:
                                for c in range(oc):
                                    ap[c] += ((xp[c] ^ 0x80) - shift) * ((wp[c] ^ 0x80) - 0x80)
                        else:
                            k = 0
                            for c in range(ic):
                                u = (xp[c] ^ 0x80) - shift
                                for m in range(dm):
                                    ap[k] += u * ((wp[k] ^ 0x80) - 0x80)
                                    k += 1
            rq.requantize(a[3], a[2], ow * oc, a[5])


@micropython.viper
def _row_sums(w: ptr8, sums: ptr32, per: int, units: int):
    # sums[c] = sum of the signed filter bytes of row c (per bytes each)
    k = 0
    for c in range(units):
        s = 0
        for i in range(per):
            s += (w[k] ^ 0x80) - 0x80
            k += 1
        sums[c] = s


@micropython.viper
def _column_sums(w: ptr8, sums: ptr32, n: int, units: int):
    # sums[c] = sum of the signed filter bytes at c, c + units, ... (depthwise filters)
    c = 0
    for k in range(n):
        sums[c] += (w[k] ^ 0x80) - 0x80
        c += 1
        if c == units:
            c = 0


class Conv:
    def __init__(self, interp, fn, x, w, out, p, q):
        self.interp, self.fn, self.x, self.w, self.out, self.p, self.q = (
            interp, fn, x, w, out, p, q)

    def bind(self):
        self.args = (self.x.buf, self.w.buf, self.out.buf, self.interp.scratch, self.p, self.q)

    def run(self):
        self.fn(self.args)


def _bias(op, name, interp, units):
    if len(op.inputs) < 3 or op.inputs[2] < 0:
        return [0] * units
    b = ku.tensor(interp, op, name, 2)
    if b.type != INT32 or b.data is None or b.size != units:
        ku.fail(op, name, "bias must be a constant int32 tensor of %d values" % units)
    return list(struct.unpack("<%di" % units, b.data))


def _filter_scales(op, name, w, in_s, out_s, units, axis, per_tensor_fc=False):
    if w.type != 9 or w.data is None:
        ku.fail(op, name, "filter must be a constant int8 tensor")
    if any(w.zero_points):
        ku.fail(op, name, "filter zero points must be 0")
    if len(w.scales) == 1:
        if per_tensor_fc:
            return [quant.fc_multiplier(in_s, w.scales[0], out_s)] * units
        return [quant.multiplier(in_s, w.scales[0], out_s)] * units
    if len(w.scales) != units or w.axis != axis:
        ku.fail(op, name, "filter needs one scale per output channel on dimension %d" % axis)
    return [quant.multiplier(in_s, s, out_s) for s in w.scales]


def _params(geometry, bias, wsums, off):
    p = array("i", bytes(4 * (BIAS + 2 * len(bias))))
    for k, v in enumerate(geometry):
        p[k] = v
    p[OFF] = off
    for c, b in enumerate(bias):
        p[BIAS + c] = b - off * wsums[c]
        p[BIAS + len(bias) + c] = b
    return p


def prepare(interp, op, name):
    x = ku.tensor(interp, op, name, 0)
    w = ku.tensor(interp, op, name, 1)
    out = ku.tensor(interp, op, name, 0, output=True)
    in_s, in_zp = ku.int8(op, name, x)
    out_s, out_zp = ku.int8(op, name, out)
    o = op.options
    geometry = [0] * 17
    if op.code == 9:        # FULLY_CONNECTED: [batches, depth] x [units, depth]
        if len(w.shape) != 2 or not w.shape[1] or x.size % w.shape[1]:
            ku.fail(op, name, "filter shape %s does not fit input %s" % (w.shape, x.shape))
        units, depth = w.shape
        batches = x.size // depth
        if out.size != batches * units:
            ku.fail(op, name, "output %s does not match %d x %d" % (out.shape, batches, units))
        act = o.scalar(0, "b") if o else 0
        if o and o.scalar(1, "b"):
            ku.fail(op, name, "shuffled weights are not supported")
        mults = _filter_scales(op, name, w, in_s, out_s, units, 0, per_tensor_fc=True)
        geometry[:DM + 1] = [1, 1, batches, depth, 1, batches, units, 1, 1, 1, 1, 1, 1, 0, 0,
                             0, 1]
        fn, per_filter = _conv, depth
    else:
        if len(x.shape) != 4 or len(w.shape) != 4 or len(out.shape) != 4 or o is None:
            ku.fail(op, name, "needs 4-D input, filter and output and its options")
        n, h, wd, ic = x.shape
        if op.code == 3:    # CONV_2D: filter [oc, kh, kw, ic]
            oc, kh, kw, fic = w.shape
            if fic != ic:
                ku.fail(op, name, "filter depth %d does not match input depth %d" % (fic, ic))
            pad, sw, sh = o.scalar(0, "b"), o.scalar(1, "i"), o.scalar(2, "i")
            act, dw, dh = o.scalar(3, "b"), o.scalar(4, "i", 1), o.scalar(5, "i", 1)
            dm, fn, axis, per_filter = 1, _conv, 0, kh * kw * ic
        else:               # DEPTHWISE_CONV_2D: filter [1, kh, kw, ic * dm]
            one, kh, kw, oc = w.shape
            dm = o.scalar(3, "i", 1)
            if one != 1 or dm < 1 or oc != ic * dm:
                ku.fail(op, name, "filter %s does not fit input depth %d with multiplier %d"
                        % (w.shape, ic, dm))
            pad, sw, sh = o.scalar(0, "b"), o.scalar(1, "i"), o.scalar(2, "i")
            act, dw, dh = o.scalar(4, "b"), o.scalar(5, "i", 1), o.scalar(6, "i", 1)
            fn, axis, per_filter = _depthwise, 3, kh * kw
        oh, pt = ku.padding(op, name, pad, h, kh, sh, dh)
        ow, pl = ku.padding(op, name, pad, wd, kw, sw, dw)
        ku.expect_shape(op, name, out, [n, oh, ow, oc])
        units = oc
        mults = _filter_scales(op, name, w, in_s, out_s, oc, axis)
        geometry[:DM + 1] = [n, h, wd, ic, oh, ow, oc, kh, kw, sh, sw, dh, dw, pt, pl, 0, dm]
    lo, hi = ku.activation(op, name, act, out)
    bias = _bias(op, name, interp, units)
    sums = array("i", bytes(4 * units))
    if fn is _depthwise:
        _column_sums(w.data, sums, w.size, units)
    else:
        _row_sums(w.data, sums, per_filter, units)
    p = _params(geometry, bias, sums, in_zp + 128)
    q = rq.params(mults, out_zp, lo, hi)
    interp.reserve_scratch(geometry[OW] * units)
    return Conv(interp, fn, x, w, out, p, q)
