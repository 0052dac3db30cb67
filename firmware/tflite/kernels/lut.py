# Eval of elementwise ops on int8 input by table lookup (LOGISTIC, TANH, RELU, RELU6,
# requantizing QUANTIZE, DEQUANTIZE to float32), and of QUANTIZE float32 -> int8 by binary
# search among the thresholds where the quantized value steps up.
import micropython


@micropython.viper
def lut8(x: ptr8, out: ptr8, n: int, table: ptr8):
    for i in range(n):
        out[i] = table[x[i]]


@micropython.viper
def lut32(x: ptr8, out: ptr32, n: int, table: ptr32):
    for i in range(n):
        out[i] = table[x[i]]


@micropython.viper
def search(x: ptr32, out: ptr8, n: int, t: ptr32):
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
        self.fn = fn
        self.args = (x, out, table)

    def bind(self, scratch):
        x, out, table = self.args
        self.args = (x.buf, out.buf, x.size, table)

    def run(self):
        a = self.args
        self.fn(a[0], a[1], a[2], a[3])
