# TFLM's quantization arithmetic, exactly, with integers only (facts and sources:
# ../shared/reference/tflm-int8-arithmetic.md). Scales are read as float32 bit patterns and
# every derivation TFLM does in float or double arithmetic is done here on exact rationals
# with the same roundings, so the result does not depend on whether the port's float is
# float32 (ESP32, RP2040) or double (unix). Used at load time; the scalar helpers also
# build lookup tables.
try:
    from micropython import const
except ImportError:     # CPython: host tools and tests use these modules too
    def const(x):  # type: ignore[misc]  # micropython.const is generic
        return x

INT32_MIN = const(-0x80000000)
INT32_MAX = const(0x7FFFFFFF)
_DOUBLE = (53, -1074)    # significand bits, smallest exponent (subnormal quantum)
_SINGLE = (24, -149)


def bitlen(n):
    k = 0
    while n >= 0x10000:
        n >>= 16
        k += 16
    while n:
        n >>= 1
        k += 1
    return k


def f32(bits):
    # (m, e) with value m * 2**e, exactly, of a finite float32 bit pattern.
    ex = (bits >> 23) & 0xFF
    m = bits & 0x7FFFFF
    if ex:
        m |= 0x800000
    else:
        ex = 1
    return (-m if bits >> 31 else m), ex - 150


def round_float(num, den, e, fmt=_DOUBLE):
    # num/den * 2**e (num >= 0, den > 0) rounded to nearest-even in an IEEE format: (m, q).
    if not num:
        return 0, 0
    p, qmin = fmt
    q = bitlen(num) - bitlen(den) + e - p
    if (num << max(e - q, 0)) >= (den << (p + max(q - e, 0))):
        q += 1
    if q < qmin:
        q = qmin
    s = e - q
    n, d = (num << s, den) if s >= 0 else (num, den << -s)
    m, r = divmod(n, d)
    if 2 * r > d or (2 * r == d and m & 1):
        m += 1
    if m >> p:
        m >>= 1
        q += 1
    return m, q


def quantize_multiplier(m, q):
    # QuantizeMultiplier() of the double m * 2**q (> 0): (multiplier, shift).
    if not m:
        return 0, 0
    n = bitlen(m)
    shift = n + q
    if n <= 31:
        qf = m << (31 - n)
    else:
        qf = (m + (1 << (n - 32))) >> (n - 31)
    if qf == 1 << 31:
        qf >>= 1
        shift += 1
    if shift < -31:
        return 0, 0
    return qf, shift


def ratio(a, b, c=None):
    # double(a) * double(b) / double(c) of float32 bit patterns (b, c optional), as a
    # rounded double (m, q). The product of two float32 is exact in double.
    ma, ea = f32(a)
    if b is not None:
        mb, eb = f32(b)
        ma, ea = ma * mb, ea + eb
    if c is None:
        return ma, ea
    mc, ec = f32(c)
    return round_float(ma, mc, ea - ec)


def multiplier(a, b=None, c=None):
    # QuantizeMultiplier(double(a) [* double(b)] / double(c)).
    return quantize_multiplier(*ratio(a, b, c))


def f32_div(a, b, ea=0, eb=0):
    # float32(a * 2**ea / (b * 2**eb)) of float32 bit patterns a, b, as (m, q).
    ma, xa = f32(a)
    mb, xb = f32(b)
    return round_float(ma, mb, xa + ea - xb - eb, _SINGLE)


def fc_multiplier(in_s, w_s, out_s):
    # Per-tensor FULLY_CONNECTED: the input*filter product is a float32 first.
    mi, ei = f32(in_s)
    mw, ew = f32(w_s)
    mp, ep = round_float(mi * mw, 1, ei + ew, _SINGLE)
    mo, eo = f32(out_s)
    return quantize_multiplier(*round_float(mp, mo, ep - eo))


def round_away(num, den):
    # round(num / den) half away from zero (den > 0).
    if num >= 0:
        return (2 * num + den) // (2 * den)
    return -((-2 * num + den) // (2 * den))


def quantize_value(num, den, e, scale, zero_point):
    # TFLM's zero_point + round(float32(value / scale)) of value = num/den * 2**e, unclamped.
    ms, es = f32(scale)
    neg = num < 0
    m, q = round_float(abs(num), den * ms, e - es, _SINGLE)
    r = round_away(m << q, 1) if q >= 0 else round_away(m, 1 << -q)
    return zero_point + (-r if neg else r)


def activation_range(act, scale, zero_point):
    # CalculateActivationRangeQuantized for int8: (lo, hi), or None where TFLM refuses the
    # bounds (they overflow int32) or the activation.
    def bound(value):
        q = quantize_value(value, 1, 0, scale, 0)
        return None if abs(q) > 0x80000000 else q + zero_point

    if act == 0:
        return -128, 127
    if act == 1:
        return max(-128, zero_point), 127
    if act == 2:
        lo, hi = bound(-1), bound(1)
        return None if lo is None or hi is None else (max(-128, lo), min(127, hi))
    if act == 3:
        hi = bound(6)
        return None if hi is None else (max(-128, zero_point), min(127, hi))
    return None


# -- integer kernels of TFLM and gemmlowp, on Python ints standing for int32

def srdhm(a, b):
    # SaturatingRoundingDoublingHighMul
    if a == b == INT32_MIN:
        return INT32_MAX
    p = a * b + (0x40000000 if a * b >= 0 else 1 - 0x40000000)
    return p >> 31 if p >= 0 else -((-p) >> 31)


def rdbp(x, e):
    # RoundingDivideByPOT
    mask = (1 << e) - 1
    return (x >> e) + ((x & mask) > (mask >> 1) + (x < 0))


def mbqm(x, m, shift):
    # MultiplyByQuantizedMultiplier (double rounding); x * 2**shift wraps like int32.
    if shift > 0:
        x = ((x << shift) + 0x80000000) % 0x100000000 - 0x80000000
    return rdbp(srdhm(x, m), max(-shift, 0))


def _wrap(x):
    return (x + 0x80000000) % 0x100000000 - 0x80000000


def _sat_shl(x, e):
    # SaturatingRoundingMultiplyByPOT with a positive exponent.
    t = (1 << (31 - e)) - 1
    if x > t:
        return INT32_MAX
    if x < -t:
        return INT32_MIN
    return x << e


def _exp_quarter(a):
    # exp_on_interval_between_negative_one_quarter_and_0_excl, Q0.31
    c = 1895147668
    x = _wrap(a + (1 << 28))
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_4 = rdbp(x4, 2)
    poly = rdbp(_wrap(srdhm(_wrap(x4_4 + x3), 715827883) + x2), 1)
    return _wrap(c + srdhm(c, _wrap(x + poly)))


_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
               (2, 39332535), (3, 720401), (4, 242))


def exp_on_negative_values(a, int_bits):
    # exp(a) of a <= 0 in Q(int_bits).(31 - int_bits), result in Q0.31
    frac = 31 - int_bits
    quarter = 1 << (frac - 2)
    amq = _wrap((a & (quarter - 1)) - quarter)
    result = _exp_quarter(_sat_shl(amq, int_bits) if int_bits else amq)
    remainder = _wrap(amq - a)
    for exponent, mult in _EXP_BARREL:
        if int_bits > exponent and remainder & (1 << (frac + exponent)):
            result = srdhm(result, mult)
    if int_bits > 5 and a < -(1 << (36 - int_bits)):
        result = 0
    return INT32_MAX if a == 0 else result


def _newton(a):
    # Shared Newton-Raphson of one_over_one_plus_x and one_minus_x_over_one_plus_x: Q2.29
    s = a + INT32_MAX
    half = (s + 1) >> 1 if s >= 0 else -((1 - s) >> 1)
    x = _wrap(1515870810 + srdhm(half, -1010580540))
    for _ in range(3):
        one_minus = _wrap((1 << 29) - srdhm(half, x))
        x = _wrap(x + _sat_shl(srdhm(x, one_minus), 2))
    return x


def one_over_one_plus_x(a):
    return _sat_shl(_newton(a), 1)


def logistic(a, int_bits):
    # gemmlowp::logistic of a in Q(int_bits), result in Q0.31
    if a == 0:
        return 1 << 30
    pos = exp_on_negative_values(-abs(a), int_bits)
    r = one_over_one_plus_x(pos)
    return r if a > 0 else _wrap(INT32_MAX - r)


def tanh(a, int_bits):
    # gemmlowp::tanh of a in Q(int_bits), result in Q0.31
    if a == 0:
        return 0
    e = exp_on_negative_values(-abs(a), int_bits + 1)
    t = _sat_shl(_wrap(_newton(e) - (1 << 29)), 2)
    return t if a > 0 else -t
