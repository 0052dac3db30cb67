# Prepare of the elementwise ops: int8 input has only 256 values, so each op becomes a
# table built here with TFLM's integer arithmetic. QUANTIZE from float32 becomes the 255
# float thresholds (as ordered keys of the float32 bit patterns) between output values.
from array import array

from .. import quant
from ..kernels import lut as k
from ..kernels.requantize import SEXT_SHIFT
from ..model import FLOAT32
from . import util as ku


def _int8_table(f):
    # Table over raw bytes b (value b - 256 when b >= 128) of int8 results, as bytes.
    t = bytearray(256)
    for b in range(256):
        t[b] = f(b - 256 if b >= 128 else b) & 0xFF
    return t


def _clamp(v):
    return -128 if v < -128 else 127 if v > 127 else v


def _input_scaling(in_s):
    # frexp(in_s * 2**27) and the input radius of TFLM's int8 LOGISTIC and TANH.
    m, e = quant.f32(in_s)
    n = quant.bitlen(m)
    shift = n + e + 27
    mult = m << (31 - n)
    radius = (15 << 27) >> shift if shift >= 0 else (15 << 27) << -shift
    return mult, shift, radius


def _sigmoid_like(in_s, zp, f, int_bits_out, offset):
    mult, shift, radius = _input_scaling(in_s)

    def g(v):
        x = v - zp
        if x <= -radius:
            return -128
        if x >= radius:
            return 127
        y = f(quant.mbqm(x, mult, shift), 4)
        return _clamp(quant.rdbp(y, 31 - int_bits_out) + offset)
    return g


def _float_thresholds(scale, zp):
    # Smallest ordered key of a float32 x with zp + round(float32(x / scale)) >= k, for
    # k = -127 .. 127.
    t = array("i", bytes(4 * 256))
    t[0] = SEXT_SHIFT

    def quantized(key):
        bits = key if key >= 0 else (-key) | 0x80000000
        m, e = quant.f32(bits)
        return quant.quantize_value(m, 1, e, scale, zp)

    ms, es = quant.f32(scale)
    for level in range(-127, 128):
        r = level - zp
        m, q = quant.round_float(abs(2 * r - 1) * ms, 2, es, (24, -149))
        if m >> 23:
            bits = min(((q + 150) << 23) | (m & 0x7FFFFF), 0x7F800000)
        else:
            bits = m
        key = bits if 2 * r - 1 > 0 else -bits
        while key > -0x7F800000 and quantized(key) >= level:
            key -= 1
        while key < 0x7F800000 and quantized(key) < level:
            key += 1
        t[level + 128] = key
    return t


def prepare(interp, op):
    x = ku.tensor(interp, op, 0)
    out = ku.tensor(interp, op, 0, output=True)
    if x.size != out.size:
        ku.fail(op, "input and output sizes differ")
    code = op.code
    if code == 114 and x.type == FLOAT32:
        s, zp = ku.int8(op, out)
        return k.Lut(k.search, x, out, _float_thresholds(s, zp))
    in_s, in_zp = ku.int8(op, x)
    if code == 6:
        if out.type != FLOAT32:
            ku.fail(op, "DEQUANTIZE to int8 is not supported")
        ms, es = quant.f32(in_s)
        table = array("f", bytes(4 * 256))
        for b in range(256):
            v = (b - 256 if b >= 128 else b) - in_zp
            m, q = quant.round_float(abs(v) * ms, 1, es, (24, -149))
            table[b] = (-m if v < 0 else m) * 2.0 ** q
        return k.Lut(k.lut32, x, out, table)
    out_s, out_zp = ku.int8(op, out)
    if code == 21:      # RELU6: clamps to [0, 6] in the input's quantization
        six = _clamp(quant.quantize_value(6, 1, 0, in_s, in_zp))
        f = lambda v: min(max(v, in_zp), six)
    elif code == 19 or code == 114:    # RELU, requantizing QUANTIZE
        m, shift = quant.multiplier(in_s, None, out_s)
        lo = max(-128, out_zp) if code == 19 else -128
        f = lambda v: min(max(quant.mbqm(v - in_zp, m, shift) + out_zp, lo), 127)
    elif code == 14:
        if out_zp != -128:
            ku.fail(op, "output zero point must be -128")
        f = _sigmoid_like(in_s, in_zp, quant.logistic, 8, -128)
    else:               # TANH
        f = _sigmoid_like(in_s, in_zp, quant.tanh, 7, 0)
    return k.Lut(k.lut8, x, out, _int8_table(f))
