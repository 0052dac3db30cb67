# Prepare, per operator: check everything about it and compute what its kernel needs, once,
# at load time (TFLM's Init/Prepare). Returns the step to run, or None when the operator
# is resolved at load time (reshapes share their input's bytes, shape arithmetic is done).
from ..errors import ModelError

RESHAPES = (22, 43)             # RESHAPE, SQUEEZE: the output shares the input's bytes
SHAPE_ARITHMETIC = (45, 77, 83)  # STRIDED_SLICE, SHAPE, PACK: int32 values at load time
SUPPORTED = (0, 1, 2, 3, 4, 6, 9, 14, 17, 18, 19, 21, 22, 25, 28, 34, 40, 41, 43, 45, 77, 83,
             114)


def prepare(interp, op):
    code = op.code
    if code in (3, 4, 9):
        from . import conv as family
    elif code in (1, 17):
        from . import pool as family
    elif code == 40:
        from . import reduce as family
    elif code in (0, 18, 41):
        from . import binary as family
    elif code in (6, 14, 19, 21, 28, 114):
        from . import lut as family
    elif code == 25:
        from . import softmax as family
    elif code in (2, 34):
        from . import copy as family
    elif code in (22, 43, 45, 77, 83):
        from . import shape as family
    else:
        raise ModelError("unsupported operator: %s" % op_name(code))
    return family.prepare(interp, op)


def op_name(code):
    from ..names import op_name
    return op_name(code)
