"""Counter-based Gaussian noise: a pure function of (seed, stream, index).

A sample's noise depends only on the toast's seed, the sensor channel and when it was
taken, never on how many other reads happened or how many toasters share a batch: the
same scenario gives the same bits alone, in a batch, stepped finely or coarsely.
"""

import functools
import math

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TWO53 = float(2 ** 53)

# One stream per noisy quantity.
NTC, DIAL, REF, CLEAR, RED, GREEN, BLUE, TOLERANCE = range(1, 9)


def _mix(x):
    """splitmix64's finaliser (wrapping uint64 arithmetic)."""
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


_MASK = (1 << 64) - 1


def _mix_int(x):
    """_mix on a Python int: the same 64-bit arithmetic, without numpy's per-call cost."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


@functools.lru_cache(maxsize=256)
def _stream_key(seed, stream):
    """The index-free half of a sample's hash: a toaster reads a few streams all toast long."""
    return _mix_int((seed * 0x100000001B3 + stream) & _MASK)


def gaussian(seed, stream, index):
    """Standard normal samples for (seed, stream, index); arguments broadcast like numpy
    arrays. The result is a float for int arguments, else an array."""
    if type(seed) is int and type(stream) is int and type(index) is int:
        h = _mix_int(_stream_key(seed, stream) ^ (index & _MASK))
        g = _mix_int(h)
        u1 = ((h >> 11) + 0.5) / _TWO53
        u2 = (g >> 11) / _TWO53
        # numpy's log and cos (their bits are the batch's); the root is correctly rounded.
        return math.sqrt(-2.0 * float(np.log(u1))) * float(np.cos(2.0 * np.pi * u2))
    with np.errstate(over="ignore"):
        s = np.asarray(seed, dtype=np.int64).astype(np.uint64)
        st = np.asarray(stream, dtype=np.int64).astype(np.uint64)
        i = np.asarray(index, dtype=np.int64).astype(np.uint64)
        h = _mix(_mix(s * np.uint64(0x100000001B3) + st) ^ i)
        g = _mix(h)
    u1 = ((h >> np.uint64(11)).astype(np.float64) + 0.5) / _TWO53
    u2 = (g >> np.uint64(11)).astype(np.float64) / _TWO53
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
