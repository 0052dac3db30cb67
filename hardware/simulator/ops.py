"""Elementwise operations for one toaster (Python floats) or a batch (numpy arrays).

The physics and the sensor models are written once against these. Floats avoid numpy's
per-call cost for a single toaster; transcendental functions still go through numpy, whose
float64 kernels give the same bits for a scalar as for an array element, so toaster i of
a batch is bit-identical to the same scenario run alone (math.exp is not: it differs from
numpy's SIMD exp in the last bit for a few per cent of inputs). Square roots are correctly
rounded everywhere, and interp is numpy's arithmetic step for step (numpy/_core/src/
multiarray/compiled_base.c, arr_interp): both give numpy's bits without its call.
"""

import bisect
import contextlib
import math

import numpy as np


class Floats:
    minimum = staticmethod(min)
    maximum = staticmethod(max)

    @staticmethod
    def where(condition, a, b):
        return a if condition else b

    @staticmethod
    def clip(x, lo, hi):
        return min(max(x, lo), hi)

    @staticmethod
    def exp(x):
        return float(np.exp(x))

    @staticmethod
    def rint(x):
        return float(round(x))

    sqrt = staticmethod(math.sqrt)
    quiet = staticmethod(contextlib.nullcontext)   # float arithmetic raises no warnings

    @staticmethod
    def interp(x, xp, fp):
        if x != x:
            return x
        if x < xp[0]:
            return float(fp[0])
        if x >= xp[-1]:
            return float(fp[-1])
        j = bisect.bisect_right(xp, x) - 1
        if xp[j] == x:
            return float(fp[j])
        slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
        return slope * (x - xp[j]) + fp[j]


class Arrays:
    minimum = staticmethod(np.minimum)
    maximum = staticmethod(np.maximum)
    where = staticmethod(np.where)
    clip = staticmethod(np.clip)
    exp = staticmethod(np.exp)
    rint = staticmethod(np.rint)
    sqrt = staticmethod(np.sqrt)
    interp = staticmethod(np.interp)

    @staticmethod
    def quiet():
        return np.errstate(invalid="ignore")


def ops_for(x):
    """Floats for a Python number, Arrays for anything else."""
    return Floats if isinstance(x, (int, float)) else Arrays
