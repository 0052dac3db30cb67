# Prepare of CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED: shapes, filter and bias
# checks, per-channel multipliers, the zero point folded into the bias.
import micropython
from array import array

from .. import quant
from ..kernels import pointwise as k
from ..kernels import requantize as rq
from ..model import INT32
from . import util as ku


@micropython.viper
def _row_sums(w: ptr8, sums: ptr32, per: int, units: int):
    # sums[c] = sum of the signed filter bytes of row c (per bytes each)
    j = 0
    for c in range(units):
        s = 0
        for i in range(per):
            s += (w[j] ^ 0x80) - 0x80
            j += 1
        sums[c] = s


@micropython.viper
def _column_sums(w: ptr8, sums: ptr32, n: int, units: int):
    # sums[c] = sum of the signed filter bytes at c, c + units, ... (depthwise filters)
    c = 0
    for j in range(n):
        sums[c] += (w[j] ^ 0x80) - 0x80
        c += 1
        if c == units:
            c = 0


def _bias(op, interp, units):
    if len(op.inputs) < 3 or op.inputs[2] < 0:
        return array("i", bytes(4 * units))
    b = ku.tensor(interp, op, 2)
    if b.type != INT32 or b.data is None or b.size != units:
        ku.fail(op, "bias must be a constant int32 tensor of %d values" % units)
    return array("i", bytes(b.data))


def _filter_scales(op, w, in_s, out_s, units, axis, per_tensor_fc=False):
    if w.type != 9 or w.data is None:
        ku.fail(op, "filter must be a constant int8 tensor")
    scales, zero_points, w_axis = w.quantization()
    if not scales or any(zero_points):
        ku.fail(op, "filter must be quantized with zero points 0")
    if len(scales) == 1:
        if per_tensor_fc:
            return [quant.fc_multiplier(in_s, scales[0], out_s)]
        return [quant.multiplier(in_s, scales[0], out_s)]
    if len(scales) != units or w_axis != axis:
        ku.fail(op, "filter needs one scale per output channel on dimension %d" % axis)
    return [quant.multiplier(in_s, s, out_s) for s in scales]


def _params(geometry, bias, wsums, off, padded):
    # The raw bias is needed only where taps fall into the padding.
    units = len(bias)
    p = array("i", bytes(4 * (k.BIAS + (2 if padded else 1) * units)))
    for i, v in enumerate(geometry):
        p[i] = v
    p[k.OFF] = off
    for c in range(units):
        p[k.BIAS + c] = bias[c] - off * wsums[c]
        if padded:
            p[k.BIAS + units + c] = bias[c]
    return p


def prepare(interp, op):
    x = ku.tensor(interp, op, 0)
    w = ku.tensor(interp, op, 1)
    out = ku.tensor(interp, op, 0, output=True)
    in_s, in_zp = ku.int8(op, x)
    out_s, out_zp = ku.int8(op, out)
    o = op.options
    geometry = [0] * 17
    if op.code == 9:        # FULLY_CONNECTED: [batches, depth] x [units, depth]
        if len(w.shape) != 2 or not w.shape[1] or x.size % w.shape[1]:
            ku.fail(op, "filter shape %s does not fit input %s" % (w.shape, x.shape))
        units, depth = w.shape
        batches = x.size // depth
        if out.size != batches * units:
            ku.fail(op, "output %s does not match %d x %d" % (out.shape, batches, units))
        act = o.scalar(0, "b") if o else 0
        if o and o.scalar(1, "b"):
            ku.fail(op, "shuffled weights are not supported")
        mults = _filter_scales(op, w, in_s, out_s, units, 0, per_tensor_fc=True)
        geometry[:k.DM + 1] = [1, 1, batches, depth, 1, batches, units, 1, 1, 1, 1, 1, 1, 0, 0,
                             0, 1]
        fn, axis, per_filter = k.pointwise, 0, depth
    else:
        if len(x.shape) != 4 or len(w.shape) != 4 or len(out.shape) != 4 or o is None:
            ku.fail(op, "needs 4-D input, filter and output and its options")
        n, h, wd, ic = x.shape
        if op.code == 3:    # CONV_2D: filter [oc, kh, kw, ic]
            oc, kh, kw, fic = w.shape
            if fic != ic:
                ku.fail(op, "filter depth %d does not match input depth %d" % (fic, ic))
            pad, sw, sh = o.scalar(0, "b"), o.scalar(1, "i"), o.scalar(2, "i")
            act, dw, dh = o.scalar(3, "b"), o.scalar(4, "i", 1), o.scalar(5, "i", 1)
            fn, dm, axis, per_filter = None, 1, 0, kh * kw * ic
        else:               # DEPTHWISE_CONV_2D: filter [1, kh, kw, ic * dm]
            one, kh, kw, oc = w.shape
            dm = o.scalar(3, "i", 1)
            if one != 1 or dm < 1 or oc != ic * dm:
                ku.fail(op, "filter %s does not fit input depth %d with multiplier %d"
                        % (w.shape, ic, dm))
            pad, sw, sh = o.scalar(0, "b"), o.scalar(1, "i"), o.scalar(2, "i")
            act, dw, dh = o.scalar(4, "b"), o.scalar(5, "i", 1), o.scalar(6, "i", 1)
            from ..kernels.depthwise import depthwise as fn
            axis, per_filter = 3, kh * kw
        oh, pt = ku.padding(op, pad, h, kh, sh, dh)
        ow, pl = ku.padding(op, pad, wd, kw, sw, dw)
        ku.expect_shape(op, out, [n, oh, ow, oc])
        units = oc
        mults = _filter_scales(op, w, in_s, out_s, oc, axis)
        geometry[:k.DM + 1] = [n, h, wd, ic, oh, ow, oc, kh, kw, sh, sw, dh, dw, pt, pl, 0, dm]
    if fn is None:          # CONV_2D: 1x1 without stride or padding is a matrix product
        if kh == kw == sh == sw == 1 and not pt and not pl:
            fn = k.pointwise
        else:
            from ..kernels.conv import conv as fn
    lo, hi = ku.activation(op, act, out)
    bias = _bias(op, interp, units)
    sums = array("i", bytes(4 * units))
    if axis == 3:
        _column_sums(w.data, sums, w.size, units)
    else:
        _row_sums(w.data, sums, per_filter, units)
    g = geometry
    padded = (g[k.PT] or g[k.PL] or (g[k.OH] - 1) * g[k.SH] + (g[k.KH] - 1) * g[k.DH] >= g[k.H]
              or (g[k.OW] - 1) * g[k.SW] + (g[k.KW] - 1) * g[k.DW] >= g[k.W])
    p = _params(geometry, bias, sums, in_zp + 128, padded)
    q = rq.params(mults, out_zp, lo, hi)
    interp.reserve_scratch(geometry[k.OW] * units)
    return k.Filter(fn, x, w, out, p, q)
