# Elementwise ops on int8 input, which has only 256 values: LOGISTIC, TANH, RELU, RELU6,
# QUANTIZE int8 -> int8 and DEQUANTIZE int8 -> float32 become a table built at load time
# with TFLM's integer arithmetic, then one lookup per element. QUANTIZE float32 -> int8 is
# a binary search among the 255 float thresholds where the quantized value steps up.
import micropython
from array import array

from .. import quant
from ..model import FLOAT32, INT8
from . import kernel_util as ku
from .requantize import SEXT_SHIFT


@micropython.viper
def _lut8(x: ptr8, out: ptr8, n: int, table: ptr8):
    for i in range(n):
        out[i] = table[x[i]]


@micropython.viper
def _lut32(x: ptr8, out: ptr32, n: int, table: ptr32):
    for i in range(n):
        out[i] = table[x[i]]


@micropython.viper
def _search(x: ptr32, out: ptr8, n: int, t: ptr32):
    # t: [sign-extension shift, 255 ascending thresholds on the ordered float32 keys]
    s = t[0]
    for i in range(n):
        raw = x[i]
        key = int(uint(raw << (s + 1)) >> (s + 1))
        if (raw >> 31) & 1:
            key = 0 - key
        lo = 0
        hi = 255
        while lo < hi:
            mid = (lo + hi) >> 1
            if ((t[mid + 1] << s) >> s) <= key:
                lo = mid + 1
            else:
                hi = mid
        out[i] = (lo + 128) & 0xFF


class Lut:
    def __init__(self, fn, x, out, table):
        self.fn, self.x, self.out, self.table = fn, x, out, table

    def bind(self):
        self.args = (self.x.buf, self.out.buf, self.x.size, self.table)

    def run(self):
        a = self.args
        self.fn(a[0], a[1], a[2], a[3])


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

    def level(key):
        bits = key if key >= 0 else (-key) | 0x80000000
        m, e = quant.f32(bits)
        return quant.quantize_value(m, 1, e, scale, zp)

    ms, es = quant.f32(scale)
    for k in range(-127, 128):
        r = k - zp
        m, q = quant.round_float(abs(2 * r - 1) * ms, 2, es, (24, -149))
        if m >> 23:
            bits = min(((q + 150) << 23) | (m & 0x7FFFFF), 0x7F800000)
        else:
            bits = m
        key = bits if 2 * r - 1 > 0 else -bits
        while key > -0x7F800000 and level(key) >= k:
            key -= 1
        while key < 0x7F800000 and level(key) < k:
            key += 1
        t[k + 128] = key
    return t


def prepare(interp, op, name):
    x = ku.tensor(interp, op, name, 0)
    out = ku.tensor(interp, op, name, 0, output=True)
    if x.size != out.size:
        ku.fail(op, name, "input and output sizes differ")
    code = op.code
    if code == 114 and x.type == FLOAT32:
        s, zp = ku.int8(op, name, out)
        return Lut(_search, x, out, _float_thresholds(s, zp))
    in_s, in_zp = ku.int8(op, name, x)
    if code == 6:
        if out.type != FLOAT32:
            ku.fail(op, name, "DEQUANTIZE to int8 is not supported")
        ms, es = quant.f32(in_s)
        table = array("f", bytes(4 * 256))
        for b in range(256):
            v = (b - 256 if b >= 128 else b) - in_zp
            m, q = quant.round_float(abs(v) * ms, 1, es, (24, -149))
            table[b] = (-m if v < 0 else m) * 2.0 ** q
        return Lut(_lut32, x, out, table)
    out_s, out_zp = ku.int8(op, name, out)
    if code == 21:      # RELU6: clamps to [0, 6] in the input's quantization
        six = _clamp(quant.quantize_value(6, 1, 0, in_s, in_zp))
        f = lambda v: min(max(v, in_zp), six)
    elif code == 19 or code == 114:    # RELU, requantizing QUANTIZE
        m, shift = quant.multiplier(in_s, None, out_s)
        lo = max(-128, out_zp) if code == 19 else -128
        f = lambda v: min(max(quant.mbqm(v - in_zp, m, shift) + out_zp, lo), 127)
    elif code == 14:
        if out_zp != -128:
            ku.fail(op, name, "output zero point must be -128")
        f = _sigmoid_like(in_s, in_zp, quant.logistic, 8, -128)
    else:               # TANH
        f = _sigmoid_like(in_s, in_zp, quant.tanh, 7, 0)
    return Lut(_lut8, x, out, _int8_table(f))
