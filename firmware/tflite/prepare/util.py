# Load-time checks and derived numbers that several kernels share.
from ..errors import ModelError
from ..model import INT8, type_name
from .. import quant


def fail(op, message):
    from ..names import op_name
    raise ModelError("operator %d (%s): %s" % (op.index, op_name(op.code), message))


def tensor(interp, op, i, output=False):
    ids = op.outputs if output else op.inputs
    if i >= len(ids) or ids[i] < 0:
        fail(op, "missing %s %d" % ("output" if output else "input", i))
    return interp.tensors[ids[i]]


def int8(op, t):
    # (scale bits, zero point) of a per-tensor int8 activation tensor.
    if t.type != INT8:
        fail(op, "%s is %s, only int8 is supported"
             % (t.describe(), type_name(t.type)))
    scales, zero_points, axis = t.quantization()
    if len(scales) != 1:
        fail(op, "%s needs per-tensor quantization" % t.describe())
    zp = zero_points[0]
    if not -128 <= zp <= 127:
        fail(op, "%s: zero point %d out of int8 range" % (t.describe(), zp))
    return scales[0], zp


def same_quantization(op, a, b):
    if int8(op, a) != int8(op, b):
        fail(op, "%s and %s must share scale and zero point"
             % (a.describe(), b.describe()))


def activation(op, act, out):
    s, zp = int8(op, out)
    bounds = quant.activation_range(act, s, zp)
    if bounds is None:
        fail(op, "fused activation %d is not supported with output scale %r"
             % (act, quant.f32(s)[0] * 2.0 ** quant.f32(s)[1]))
    return bounds


def padding(op, padding, size, filt, stride, dilation):
    # (output size, padding before) as TFLM's ComputePaddingHeightWidth.
    if stride < 1 or dilation < 1 or filt < 1:
        fail(op, "stride, dilation and filter sizes must be positive")
    eff = (filt - 1) * dilation + 1
    if padding == 0:
        out = (size + stride - 1) // stride
    elif padding == 1:
        out = (size + stride - eff) // stride
    else:
        fail(op, "padding type %d is not supported" % padding)
    if out < 1:
        fail(op, "filter %d larger than input %d" % (eff, size))
    total = max((out - 1) * stride + eff - size, 0)
    return out, total // 2


def expect_shape(op, t, shape):
    if list(t.shape) != list(shape):
        fail(op, "%s has shape %s, expected %s" % (t.describe(), t.shape, shape))
