# Frames on the console UART, shared by the firmware and the host (MicroPython/CPython
# common subset). The format is documented in firmware/PROTOCOL.md; bump VERSION on any
# change to the framing or to a field list.
#
#   ~<kind>,<seq>,<ms>,<model>,<field>,...*<CRC32>\n
#
# CRC-32 (binascii.crc32, IEEE) of everything between "~" and "*", as 8 upper-case hex
# digits. Fields never contain "~", "*", "," or a line break. A line longer than MAX_LINE
# is invalid, so a reader can resynchronise at the next "~" after any damage.
import binascii

try:
    from micropython import const
except ImportError:
    def const(x):  # type: ignore[misc]  # micropython.const is generic
        return x

VERSION = const(1)
MAX_LINE = const(240)
START = b"~"
_HEX = b"0123456789ABCDEF"

# Every frame starts with the same header fields; the kind's own fields follow.
HEADER = ("kind", "seq", "ms", "model")
FIELDS = {
    # device -> host
    "B": ("proto", "fw", "slot", "board", "reset", "boot_id", "policy", "selftest"),
    "T": ("session", "state", "tt_ms", "temp_dc", "adc", "r", "g", "b", "c", "level",
          "heat", "out", "policy", "guard", "dropped"),
    "S": ("state", "level", "lever", "temp_dc", "fault", "boot_id", "cmd_seq", "dropped",
          "overruns", "fw"),
    "E": ("session", "from", "to", "reason"),
    "F": ("session", "code", "detail"),
    "K": ("session", "level", "rating", "stop_ms", "stop_reason", "temp_dc", "c0", "c_stop"),
    "R": ("cmd_seq", "result", "detail"),
    # host -> device
    "C": ("boot_id", "verb", "arg"),
}


class FrameError(ValueError):
    """What is wrong with a line: `code` is one word for error frames, str() a sentence."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def encode(kind, seq, ms, model, fields):
    """One frame as bytes, terminator included."""
    # One formatting pass: the device sends ten frames a second from a small heap.
    raw = (("%s,%d,%d,%s" + ",%s" * len(fields)) % ((kind, seq, ms, model) + tuple(fields))
           ).encode()
    return b"~%s*%08X\n" % (raw, binascii.crc32(raw) & 0xFFFFFFFF)


def decode(line):
    """The fields of one frame (bytes, with or without the line break) as a list of str.

    Raises FrameError naming what is wrong (code): length, framing, crc, ascii, kind or
    fields.
    """
    if len(line) > MAX_LINE:
        raise FrameError("length", "frame longer than %d bytes" % MAX_LINE)
    line = line.rstrip(b"\r\n")
    star = len(line) - 9
    if len(line) < 12 or line[0:1] != START or line[star:star + 1] != b"*":
        raise FrameError("framing", "not a frame")
    raw = line[1:star]
    digits = line[star + 1:]
    for c in digits:  # int() alone would take " 1A" or "+1A": a damaged frame could pass
        if c not in _HEX:
            raise FrameError("crc", "bad CRC digits")
    if binascii.crc32(raw) & 0xFFFFFFFF != int(digits, 16):
        raise FrameError("crc", "CRC mismatch")
    try:
        fields = raw.decode().split(",")
    except UnicodeError:
        raise FrameError("ascii", "not ASCII")
    names = FIELDS.get(fields[0])
    if names is None:
        raise FrameError("kind", "unknown kind %r" % fields[0])
    if len(fields) != len(HEADER) + len(names):
        raise FrameError("fields", "kind %s needs %d fields, got %d"
                         % (fields[0], len(HEADER) + len(names), len(fields)))
    if not (fields[1].isdigit() and fields[2].isdigit()):
        raise FrameError("fields", "seq and ms must be unsigned decimal integers")
    return fields


def as_dict(fields):
    """Name the fields of a decoded frame (host side)."""
    return dict(zip(HEADER + FIELDS[fields[0]], fields))
