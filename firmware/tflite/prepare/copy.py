# Prepare of CONCATENATION and PAD (no requantizing: TFLM requires matching quantization).
import struct
from array import array

from ..kernels import copy as k
from ..model import INT32, INT64
from . import util as ku


def _params(fill, out_shape, in_shape, base):
    # Place a block of shape in_shape at element offset `base` of out_shape; the
    # last dimension of the block is contiguous in both.
    rank = len(in_shape) - 1
    p = array("i", bytes(4 * (k.DIMS + 3 * rank)))
    size = 1
    for d in out_shape:
        size *= d
    p[k.FILL], p[k.SIZE], p[k.RANK], p[k.RUN], p[k.BASE] = fill, size, rank, in_shape[-1], base
    stride = out_shape[-1]
    for d in range(rank - 1, -1, -1):
        p[k.DIMS + 2 * d] = in_shape[d]
        p[k.DIMS + 2 * d + 1] = stride
        stride *= out_shape[d]
    return p


def prepare(interp, op):
    out = ku.tensor(interp, op, 0, output=True)
    ku.int8(op, out)
    rank = len(out.shape)
    if not rank or not out.size:
        ku.fail(op, "output must have at least one dimension and one element")
    strides = [1] * rank
    for d in range(rank - 2, -1, -1):
        strides[d] = strides[d + 1] * out.shape[d + 1]
    pieces = []
    if op.code == 2:        # CONCATENATION
        o = op.options
        axis = o.scalar(0, "i") if o else 0
        if o and o.scalar(1, "b"):
            ku.fail(op, "fused activations are not supported")
        if not -rank <= axis < rank:
            ku.fail(op, "axis %d out of range" % axis)
        axis %= rank
        at = 0
        for i in range(len(op.inputs)):
            x = ku.tensor(interp, op, i)
            ku.same_quantization(op, x, out)
            if len(x.shape) != rank or any(x.shape[d] != out.shape[d]
                                           for d in range(rank) if d != axis):
                ku.fail(op, "%s does not fit %s" % (x.describe(), out.describe()))
            if x.size:
                pieces.append((x, _params(256, out.shape, x.shape, at * strides[axis])))
            at += x.shape[axis]
        if at != out.shape[axis]:
            ku.fail(op, "inputs do not add up to %s" % out.describe())
    else:                   # PAD
        x = ku.tensor(interp, op, 0)
        pads = ku.tensor(interp, op, 1)
        ku.same_quantization(op, x, out)
        if pads.data is None or pads.type not in (INT32, INT64) or pads.shape != [rank, 2]:
            ku.fail(op, "paddings must be a constant [%d, 2] integer tensor" % rank)
        values = struct.unpack("<%d%s" % (2 * rank, "i" if pads.type == INT32 else "q"),
                               pads.data)
        if len(x.shape) != rank or any(values[2 * d] < 0 or values[2 * d + 1] < 0
                                       or x.shape[d] + values[2 * d] + values[2 * d + 1]
                                       != out.shape[d] for d in range(rank)):
            ku.fail(op, "paddings %s do not turn %s into %s"
                    % (list(values), x.shape, out.shape))
        base = sum(values[2 * d] * strides[d] for d in range(rank))
        fill = (ku.int8(op, out)[1] + 256) & 0xFF
        if x.size:
            pieces.append((x, _params(fill, out.shape, x.shape, base)))
        else:
            ku.fail(op, "empty input")
    return k.Place(pieces, out)
