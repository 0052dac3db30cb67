# The int32 -> int8 output stage shared by every kernel that accumulates: per-channel
# MultiplyByQuantizedMultiplier (TFLM's double rounding), zero point, activation clamp.
#
# Viper ints are machine words: 32 bits on ESP32/RP2040, 64 on the unix port. Everything
# here stays inside int32 (uint32 for one partial product), so both give the same bits;
# the 64-bit product of SaturatingRoundingDoublingHighMul is built from 16-bit halves.
import micropython
from array import array

from ..errors import ModelError

# Layout of the parameter array `q` (int32): header, then 2 words per channel: the
# multiplier (0 <= m < 2**31) and its shift + 64.
CHANNELS = 0
ZP = 1          # output zero point + 128
LO = 2          # activation clamp + 128
HI = 3
SEXT = 4        # word bits - 32: (v << SEXT) >> SEXT sign-extends a loaded int32
BASE = 5        # where in the output the next call writes
HEADER = 6


@micropython.viper
def _word_bits() -> int:
    x = 1
    n = 0
    while x:
        x = x << 1
        n += 1
    return n


SEXT_SHIFT = _word_bits() - 32


def params(multipliers, zero_point, lo, hi):
    # multipliers: [(m, shift)] per channel, or one for all channels.
    q = array("i", bytes(4 * (HEADER + 2 * len(multipliers))))
    q[CHANNELS] = len(multipliers)
    q[ZP] = zero_point + 128
    q[LO] = lo + 128
    q[HI] = hi + 128
    q[SEXT] = SEXT_SHIFT
    k = HEADER
    for m, shift in multipliers:
        if not 0 <= m < 0x80000000 or not -32 < shift < 32:
            raise ModelError("multiplier %d * 2**%d out of range" % (m, shift))
        q[k] = m
        q[k + 1] = shift + 64
        k += 2
    return q


@micropython.viper
def requantize(acc: ptr32, out: ptr8, n: int, q: ptr32):
    # out[q[BASE] + i] = clamp(MBQM(acc[i], m[c], shift[c]) + zp) for i < n, c = i % channels.
    # Channel by channel, so each channel's numbers are loaded once.
    channels = q[0]
    zp = q[1]
    lo = q[2]
    hi = q[3]
    s = q[4]
    base = q[5]
    for c in range(channels):
        m = q[6 + 2 * c]
        mh = m >> 16
        ml = m & 0xFFFF
        shift = q[7 + 2 * c] - 64
        left = 0
        right = 0
        if shift > 0:
            left = shift
        else:
            right = 0 - shift
        mask = (1 << right) - 1
        half = mask >> 1
        i = c
        while i < n:
            x = ((acc[i] << left) << s) >> s
            ah = x >> 16
            al = x & 0xFFFF
            t1 = ah * ml
            t2 = al * mh
            low = (t1 & 0xFFFF) + (t2 & 0xFFFF) + int(uint(uint(al) * uint(ml)) >> 16)
            v = ((ah * mh + (t1 >> 16) + (t2 >> 16) + (low >> 16)) << 1) + (((low & 0xFFFF) + 0x4000) >> 15)
            if right:
                rem = v & mask
                v = v >> right
                if rem > half - (v >> 31):
                    v += 1
            v += zp
            if v < lo:
                v = lo
            if v > hi:
                v = hi
            out[base + i] = v ^ 0x80
            i += channels
    q[5] = base + n
