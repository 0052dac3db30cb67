# Bounds-checked reading of FlatBuffers tables (the .tflite container) straight from the
# model buffer. Every offset and length is checked before use; a bad one raises ModelError.
import struct

from .errors import ModelError


def u32(buf, pos):
    if pos < 0 or pos + 4 > len(buf):
        raise ModelError("offset %d outside the model (%d bytes)" % (pos, len(buf)))
    return struct.unpack_from("<I", buf, pos)[0]


class Table:
    # `what` names the table in messages ("tensor 3"); it is kept only as it came, often
    # a shared string, as a model has a table per tensor.
    def __init__(self, buf, pos, what):
        n = len(buf)
        if pos < 0 or pos + 4 > n or pos & 3:
            raise ModelError("%s: table offset %d is invalid" % (what, pos))
        vt = pos - struct.unpack_from("<i", buf, pos)[0]
        if vt < 0 or vt + 4 > n or vt & 1:
            raise ModelError("%s: vtable offset %d is invalid" % (what, vt))
        vt_len, t_len = struct.unpack_from("<HH", buf, vt)
        if vt_len < 4 or vt_len & 1 or vt + vt_len > n or t_len < 4 or pos + t_len > n:
            raise ModelError("%s: vtable at %d is invalid" % (what, vt))
        self.buf, self.pos, self.vt, self.lens, self.what = buf, pos, vt, vt_len << 16 | t_len, what

    def _field(self, i, size):
        # Position of field i, or 0 when absent; its `size` bytes lie inside the table.
        o = 4 + 2 * i
        if o + 2 > self.lens >> 16:
            return 0
        off = struct.unpack_from("<H", self.buf, self.vt + o)[0]
        if not off:
            return 0
        if off < 4 or off + size > self.lens & 0xFFFF:
            raise ModelError("%s at %d: field %d lies outside its table"
                             % (self.what, self.pos, i))
        return self.pos + off

    def scalar(self, i, fmt, default=0):
        p = self._field(i, struct.calcsize(fmt))
        return struct.unpack_from("<" + fmt, self.buf, p)[0] if p else default

    def _target(self, i):
        p = self._field(i, 4)
        if not p:
            return 0
        t = p + u32(self.buf, p)
        if t >= len(self.buf):
            raise ModelError("%s at %d: field %d points outside the model"
                             % (self.what, self.pos, i))
        return t

    def table(self, i, what):
        t = self._target(i)
        return Table(self.buf, t, what) if t else None

    def vector(self, i, size):
        # (start, count) of a vector of `size`-byte elements, or None when absent.
        t = self._target(i)
        if not t:
            return None
        n = u32(self.buf, t)
        start = t + 4
        if n > (len(self.buf) - start) // size:
            raise ModelError("%s at %d: field %d has %d elements, more than the model holds"
                             % (self.what, self.pos, i, n))
        return start, n

    def ints(self, i, fmt="i"):
        v = self.vector(i, struct.calcsize(fmt))
        if v is None:
            return None
        start, n = v
        return list(struct.unpack_from("<%d%s" % (n, fmt), self.buf, start)) if n else []

    def array(self, i, typecode):
        # A vector of scalars copied into an array (compact, unlike a list of ints).
        from array import array
        v = self.vector(i, struct.calcsize(typecode))
        if v is None:
            return array(typecode)
        start, n = v
        return array(typecode, bytes(self.buf[start:start + n * struct.calcsize(typecode)]))

    def string(self, i):
        v = self.vector(i, 1)
        if v is None:
            return ""
        start, n = v
        try:
            return str(self.buf[start:start + n], "utf-8")
        except Exception:
            return repr(bytes(self.buf[start:start + n]))

    def tables(self, i, what):
        v = self.vector(i, 4)
        if v is None:
            return []
        start, n = v
        return [self.element(start, k, what) for k in range(n)]

    def element(self, start, k, what):
        # Table k of a vector of tables starting at `start`.
        p = start + 4 * k
        return Table(self.buf, p + u32(self.buf, p), what)


def root(buf):
    if len(buf) < 8:
        raise ModelError("not a TFLite model: %d bytes" % len(buf))
    if bytes(buf[4:8]) != b"TFL3":
        raise ModelError("not a TFLite model: file identifier is %r, not 'TFL3'"
                         % bytes(buf[4:8]))
    return Table(buf, u32(buf, 0), "model")
