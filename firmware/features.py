# Feature extraction: the one implementation that training (CPython) and the device
# (MicroPython) both run, configured by the "features" object of a model package's
# model.json (format: model_training/PACKAGE.md). Integer arithmetic only, so that a
# float32 board, the double-precision unix port and CPython compute the same bits, and so
# that a tick allocates nothing (small ints live in the object word).
#
# Every channel is an integer attribute of the sample (firmware/sample.py on the device,
# one row of a log on the host); each keeps a ring of the last `window` readings. Kinds:
#   elapsed  toast time in 0.1 s
#   level    browning level 1-7
#   value    sum of the channel over the window (a smoothed reading, window x units)
#   delta    value now - value at the start of the toast
#   ratio    value now / value at the start, x 1024
#   rate     newer half of the window - older half (a smoothed slope)
# Raw features are clamped to +-RAW_MAX. quantize() maps them to the model's int8 input:
# q = clamp((raw * mult + bias) >> shift, -128, 127), with (mult, bias, shift) per input
# computed at export from the training mean and std and the input's scale and zero point.
try:
    from micropython import const
except ImportError:
    def const(x):
        return x

RAW_MAX = const(131071)
RATIO_ONE = const(1024)
KINDS = ("elapsed", "level", "value", "delta", "ratio", "rate")
_ELAPSED = const(0)
_LEVEL = const(1)
_VALUE = const(2)
_DELTA = const(3)
_RATIO = const(4)
_RATE = const(5)


class Features:
    def __init__(self, spec):
        window = spec.get("window", 2)
        if not isinstance(window, int) or window < 2 or window % 2:
            raise ValueError("features: window must be an even number of ticks >= 2")
        self.window = window
        self.half = window // 2
        self.channels = []
        self.kind = []
        self.slot = []   # the channel index of each input (0 for elapsed and level)
        for item in spec["inputs"]:
            kind = item.get("kind")
            if kind not in KINDS:
                raise ValueError("features: unknown kind %r" % (kind,))
            k = KINDS.index(kind)
            self.kind.append(k)
            if k <= _LEVEL:
                self.slot.append(0)
                continue
            ch = item.get("channel")
            if not isinstance(ch, str) or not ch:
                raise ValueError("features: %s needs a channel" % kind)
            if ch not in self.channels:
                self.channels.append(ch)
            self.slot.append(self.channels.index(ch))
        self.n = len(self.kind)
        if not self.n:
            raise ValueError("features: no inputs")
        nch = len(self.channels)
        self._ring = [[0] * window for _ in range(nch)]
        self._sum = [0] * nch
        self._new = [0] * nch    # sum of the newer half of the window
        self._start = [0] * nch
        self._pos = 0            # ring index of the oldest reading
        self._ms = 0
        self._level = 0
        self.q = None
        quant = spec.get("quantize")
        if quant is not None:
            if len(quant) != self.n or any(len(row) != 3 for row in quant):
                raise ValueError("features: quantize needs [mult, bias, shift] per input")
            self.q = [[int(v) for v in row] for row in quant]

    def start(self, level, sample):
        """A toast begins: every ring holds the first reading."""
        self._level = level
        self._ms = sample.toast_ms
        self._pos = 0
        for i in range(len(self.channels)):
            x = getattr(sample, self.channels[i])
            if not isinstance(x, int):
                raise ValueError("features: channel %s is not an integer" % self.channels[i])
            ring = self._ring[i]
            for j in range(self.window):
                ring[j] = x
            self._sum[i] = x * self.window
            self._new[i] = x * self.half
            self._start[i] = x * self.window

    def update(self, sample):
        """One tick's reading."""
        self._ms = sample.toast_ms
        pos = self._pos
        mid = pos + self.half
        if mid >= self.window:
            mid -= self.window
        for i in range(len(self.channels)):
            x = getattr(sample, self.channels[i])
            ring = self._ring[i]
            self._sum[i] += x - ring[pos]
            self._new[i] += x - ring[mid]
            ring[pos] = x
        pos += 1
        self._pos = pos if pos < self.window else 0

    def raw(self, i):
        """Input i's raw integer value now."""
        k = self.kind[i]
        c = self.slot[i]
        if k == _ELAPSED:
            v = self._ms // 100
        elif k == _LEVEL:
            v = self._level
        elif k == _VALUE:
            v = self._sum[c]
        elif k == _DELTA:
            v = self._sum[c] - self._start[c]
        elif k == _RATIO:
            v = self._sum[c] * RATIO_ONE // max(self._start[c], 1)
        else:
            v = 2 * self._new[c] - self._sum[c]
        if v > RAW_MAX:
            return RAW_MAX
        if v < -RAW_MAX:
            return -RAW_MAX
        return v

    def raw_into(self, out):
        for i in range(self.n):
            out[i] = self.raw(i)

    def quantize(self, out):
        """The int8 model input into out (a bytearray, as the interpreter's input buffer:
        two's complement bytes)."""
        q = self.q
        for i in range(self.n):
            row = q[i]
            v = (self.raw(i) * row[0] + row[1]) >> row[2]
            if v > 127:
                v = 127
            elif v < -128:
                v = -128
            out[i] = v & 0xFF
