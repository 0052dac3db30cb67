"""Quantized multipliers and the int32 arithmetic of the firmware interpreter.

TFLM derives its multipliers in double (and, for per-tensor FULLY_CONNECTED, a float32
product); ESP32 and RP2040 MicroPython have float32 floats, the unix port double. The
firmware derives them with integers from the float32 bit patterns, so the result is the
same on every port: these tests check the integer derivation against the C++ semantics
(CPython floats are doubles, numpy gives float32) and show the naive float32 derivation
a float32 port would do is wrong."""

import ast
import json
import math
import struct
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.tflite import quant
from host import micropython as mp

QUANT = Path(quant.__file__)
SCALES = st.floats(1e-9, 1e4, allow_subnormal=False).map(lambda v: float(np.float32(v)))


def bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def quantize_multiplier(d):
    # TFLM's QuantizeMultiplier on a C++ double (a CPython float).
    if d == 0:
        return 0, 0
    q, shift = math.frexp(d)
    qf = int(math.floor(abs(q) * (1 << 31) + 0.5))
    if qf == 1 << 31:
        qf, shift = qf // 2, shift + 1
    if shift < -31:
        return 0, 0
    return qf, shift


@settings(max_examples=400, deadline=None)
@given(SCALES, SCALES, SCALES)
def test_multipliers_match_tflm_double_arithmetic(a, b, c):
    assert quant.multiplier(bits(a), bits(b), bits(c)) == quantize_multiplier(a * b / c)
    assert quant.multiplier(bits(a), None, bits(c)) == quantize_multiplier(a / c)
    # Per-tensor FULLY_CONNECTED: float32(a * b) first.
    product = float(np.float32(a) * np.float32(b))
    assert quant.fc_multiplier(bits(a), bits(b), bits(c)) == quantize_multiplier(product / c)


def test_hello_world_first_layer_uses_the_float32_product():
    from host import model_check

    model = (Path(__file__).resolve().parents[2] / "shared" / "models"
             / "hello_world_int8.tflite").read_bytes()
    tensors = model_check.describe(model)["tensors"]
    a, b, c = (tensors[i]["scale"] for i in (0, 6, 7))   # input, filter, output of layer 0
    assert quant.fc_multiplier(bits(a), bits(b), bits(c))[0] == 2039655759
    assert quantize_multiplier(a * b / c)[0] == 2039655736          # all-double product


def test_a_float32_port_would_derive_other_multipliers():
    # What `in_s * w_s / out_s` gives in float32 arithmetic (ESP32, RP2040 MicroPython)
    # differs from TFLM for many real scale triples; the integer derivation never does.
    rng = np.random.default_rng(0)
    scales = rng.uniform(1e-4, 1e-1, size=(2000, 3)).astype(np.float32)
    naive_wrong = 0
    for a, b, c in scales:
        reference = quantize_multiplier(float(a) * float(b) / float(c))
        naive = quantize_multiplier(float(np.float32(np.float32(a * b) / c)))
        naive_wrong += naive != reference
        assert quant.multiplier(bits(a), bits(b), bits(c)) == reference
    assert naive_wrong > 100


def test_quant_has_no_float_arithmetic():
    # Nothing in quant.py can depend on the port's float width: no float constant, no
    # true division, no float().
    tree = ast.parse(QUANT.read_text())
    for node in ast.walk(tree):
        assert not (isinstance(node, ast.Constant) and isinstance(node.value, float)), node.lineno
        assert not isinstance(node, ast.Div), node.lineno
        assert not (isinstance(node, ast.Name) and node.id == "float"), node.lineno


def test_multipliers_are_the_same_on_micropython(micropython):
    rng = np.random.default_rng(1)
    triples = [[bits(float(v)) for v in t]
               for t in rng.uniform(1e-6, 10, size=(300, 3)).astype(np.float32)]
    code = """
import json
from firmware.tflite import quant
t = json.loads(%r)
print(json.dumps([[quant.multiplier(a, b, c), quant.fc_multiplier(a, b, c)] for a, b, c in t]))
""" % json.dumps(triples)
    proc = mp.run(code, heapsize="2M")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got == [[list(quant.multiplier(*t)), list(quant.fc_multiplier(*t))] for t in triples]


# -- the int32 output stage --------------------------------------------------------------

INT32 = st.integers(-2**31, 2**31 - 1)
EDGES = st.sampled_from([-2**31, -2**31 + 1, -2**30, -1, 0, 1, 2**30, 2**31 - 1, 12345, -54321])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.one_of(INT32, EDGES), st.integers(0, 2**31 - 1),
                          st.integers(-31, 30), st.integers(-128, 127)),
                min_size=64, max_size=64))
def test_requantize_kernel_matches_the_reference(micropython, cases):
    # The viper output stage against quant.mbqm (Python integers), on every shift and on
    # the int32 extremes; one call per case so each has its own multiplier.
    code = """
import json
from array import array
from firmware.tflite.kernels import requantize as rq
out = []
for x, m, s, zp in json.loads(%r):
    q = rq.params([(m, s)], zp, -128, 127)
    acc = array("i", [x])
    b = bytearray(1)
    rq.requantize(acc, b, 1, q)
    out.append(b[0] - 256 if b[0] > 127 else b[0])
print(json.dumps(out))
""" % json.dumps(cases)
    proc = mp.run(code, heapsize="2M")
    assert proc.returncode == 0, proc.stderr
    expected = [min(127, max(-128, quant.mbqm(x, m, s) + zp)) for x, m, s, zp in cases]
    assert json.loads(proc.stdout) == expected


@settings(max_examples=300, deadline=None)
@given(st.one_of(INT32, EDGES), st.integers(0, 2**31 - 1), st.integers(-31, 30))
def test_the_16_bit_split_stays_inside_int32(x, m, shift):
    # kernels/requantize.py, step by step, with every intermediate checked: on a 32-bit
    # port viper ints wrap at 32 bits, so the result is the same only if none overflows.
    def i32(v):
        assert -2**31 <= v < 2**31, v
        return v

    left, right = max(shift, 0), max(-shift, 0)
    x0, x = x, ((x << left) + 2**31) % 2**32 - 2**31    # TFLM's int32 shift
    ah, al = x >> 16, x & 0xFFFF
    mh, ml = m >> 16, m & 0xFFFF
    t1, t2 = i32(ah * ml), i32(al * mh)
    t3 = al * ml
    assert 0 <= t3 < 2**32                               # an unsigned 32-bit product
    low = i32((t1 & 0xFFFF) + (t2 & 0xFFFF) + (t3 >> 16))
    high = i32(ah * mh + (t1 >> 16) + (t2 >> 16) + (low >> 16))
    v = (high << 1) + (((low & 0xFFFF) + 0x4000) >> 15)
    assert v == quant.srdhm(x, m)
    if right:
        mask = (1 << right) - 1
        v = (v >> right) + ((v & mask) > (mask >> 1) - (v >> 31))
    assert v == quant.mbqm(x0, m, shift)


def test_softmax_fixed_point_multiply_matches_the_reference(micropython):
    rng = np.random.default_rng(4)
    pairs = [[int(a), int(b)] for a, b in rng.integers(-2**31 + 1, 2**31, size=(400, 2))]
    pairs += [[a, b] for a in (-2**31 + 1, -1, 0, 1, 2**30, 2**31 - 1)
              for b in (-2**31 + 1, -2**30, -1, 1, 2**31 - 1)]
    code = """
import json
from firmware.tflite.kernels.softmax import _srdhm
print(json.dumps([_srdhm(a, b) for a, b in json.loads(%r)]))
""" % json.dumps(pairs)
    proc = mp.run(code, heapsize="2M")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [quant.srdhm(a, b) for a, b in pairs]
