# Prepare of AVERAGE_POOL_2D and MAX_POOL_2D.
from array import array

from ..kernels import pool as k
from . import util as ku


def prepare(interp, op):
    x = ku.tensor(interp, op, 0)
    out = ku.tensor(interp, op, 0, output=True)
    ku.int8(op, x)
    o = op.options
    if len(x.shape) != 4 or o is None:
        ku.fail(op, "needs a 4-D input and its options")
    n, h, w, c = x.shape
    pad, sw, sh, kw, kh, act = [o.scalar(i, "b" if i in (0, 5) else "i") for i in range(6)]
    oh, pt = ku.padding(op, pad, h, kh, sh, 1)
    ow, pl = ku.padding(op, pad, w, kw, sw, 1)
    ku.expect_shape(op, out, [n, oh, ow, c])
    lo, hi = ku.activation(op, act, out)
    p = array("i", [n, h, w, c, oh, ow, kh, kw, sh, sw, pt, pl, lo + 128, hi + 128,
                    op.code == 17])
    return k.Pool(x, out, p)
