"""The frame codec is one module, run on both CPython and MicroPython."""

import binascii
import json

from firmware import protocol
from host import micropython as mp

CASES = [
    ("E", 7, 12345, "ab12cd34", ("3", "idle", "toasting", "lever_down")),
    ("R", 0, 0, "-", (1, "err", "range")),
]


def _framed(body):
    return b"~" + body + b"*" + b"%08X\n" % (binascii.crc32(body) & 0xFFFFFFFF)


def test_round_trip_on_cpython():
    for kind, seq, ms, model, fields in CASES:
        line = protocol.encode(kind, seq, ms, model, fields)
        decoded = protocol.decode(line)
        assert decoded == [kind, str(seq), str(ms), model] + [str(f) for f in fields]
        assert protocol.as_dict(decoded)["seq"] == str(seq)


def test_same_bytes_on_micropython(micropython):
    code = "import json\nfrom firmware import protocol\nfor c in json.loads(%r):\n" \
           "    print(protocol.encode(c[0], c[1], c[2], c[3], c[4]).decode(), end='')\n" \
           % json.dumps(CASES)
    result = mp.run(code)
    assert result.returncode == 0, result.stderr
    expected = "".join(protocol.encode(*case).decode() for case in CASES)
    assert result.stdout == expected


def test_damage_is_named():
    line = protocol.encode(*CASES[0])
    for bad, reason in [
        (line.replace(b"idle", b"idlx"), "CRC mismatch"),
        (line[:-4] + b"\n", "not a frame"),
        (b"~" + b"x" * 300 + b"\n", "longer than"),
        (protocol.encode("E", 1, 1, "-", ("only-one",)), "needs 8 fields"),
        (protocol.encode("Q", 1, 1, "-", ()), "unknown kind"),
        # int(" 0241B11", 16) is valid Python: a bit flip 0x30 -> 0x20 must not pass
        (line[:-9] + b" " + line[-8:], "bad CRC digits"),
        (_framed(b"E,+7,12345,-,3,idle,toasting,lever"), "unsigned decimal"),
    ]:
        try:
            protocol.decode(bad)
        except protocol.FrameError as exc:
            assert reason in str(exc)
        else:
            raise AssertionError("accepted %r" % bad)
