# Host command checking on MicroPython (run by tests/test_firmware_commands.py): nothing
# malformed, foreign, replayed or out of range gets through, and only a valid new command
# spends its sequence number.
import binascii
import random

from fakes import command
from firmware import protocol
from firmware.commands import CommandError, Commands

BOOT = "a1b2c3d4"


def framed(body):
    """A frame with a valid CRC around any body."""
    return b"~" + body + b"*" + b"%08X" % (binascii.crc32(body) & 0xFFFFFFFF)


def rejected(c, line):
    try:
        c.parse(line)
    except CommandError as exc:
        return exc.seq, exc.reason
    raise AssertionError("accepted %r" % line)


def case_valid_commands():
    c = Commands(BOOT)
    assert c.parse(command(BOOT, 1, "start", "1")) == (1, "start", 1)
    assert c.parse(command(BOOT, 2, "start", "7")) == (2, "start", 7)
    assert c.parse(command(BOOT, 5, "cancel")) == (5, "cancel", None)
    assert c.parse(command(BOOT, 6, "feedback", "dark") + b"\r") == (6, "feedback", "dark")
    assert c.parse(command(BOOT, 7, "status")) == (7, "status", None)
    assert c.seq == 7


def case_levels_out_of_range():
    c = Commands(BOOT)
    for n, arg in enumerate(("0", "8", "-1", "+4", " 4", "4 ", "44", "4.0", "", "four", "-")):
        assert rejected(c, command(BOOT, n + 1, "start", arg)) == (n + 1, "range"), arg


def case_feedback_ratings_only():
    c = Commands(BOOT)
    assert rejected(c, command(BOOT, 1, "feedback", "burnt")) == (1, "range")
    assert rejected(c, command(BOOT, 2, "feedback", "-")) == (2, "range")


def case_other_boot_and_replay():
    c = Commands(BOOT)
    assert rejected(c, command("00000000", 1, "status")) == (1, "boot_id")
    assert c.seq == 0  # a foreign command spends nothing
    c.parse(command(BOOT, 10, "status"))
    assert rejected(c, command(BOOT, 10, "status")) == (10, "replay")
    assert rejected(c, command(BOOT, 3, "cancel")) == (3, "replay")
    assert rejected(c, command(BOOT, 11, "bake", "5")) == (11, "verb")
    assert rejected(c, command(BOOT, 11, "status")) == (11, "replay")  # 11 is spent


def case_malformed_frames():
    c = Commands(BOOT)
    good = command(BOOT, 1, "status")
    cases = [
        (good[:-1] + (b"0" if good[-1:] != b"0" else b"1"), "crc"),
        (good[:10], "framing"),
        (b"status", "framing"),
        (b"~" * 300, "length"),
        (protocol.encode("T", 1, 0, "-", ("x",) * 15).rstrip(b"\n"), "kind"),
        (protocol.encode("C", 1, 0, "-", (BOOT, "status")).rstrip(b"\n"), "fields"),
        (framed(b"C,x1,0,-," + BOOT.encode() + b",status,-"), "fields"),
        (framed(b"C,12345678901,0,-," + BOOT.encode() + b",status,-"), "seq"),
    ]
    for line, reason in cases:
        assert rejected(c, line) == ("-", reason), (line, reason)
    assert c.seq == 0


def case_random_bytes_never_pass():
    random.seed(3)
    c = Commands(BOOT)
    good = command(BOOT, 1, "start", "4")
    for n in range(3000):
        if n % 2:
            line = bytes(random.getrandbits(8) for _ in range(random.randint(0, 80)))
        else:  # a valid frame with one bit flipped (a 1e-3 BER hits a frame this way)
            line = bytearray(good)
            i = random.randint(0, len(line) - 1)
            line[i] ^= 1 << random.randint(0, 7)
            line = bytes(line)
        try:
            c.parse(line)
        except CommandError:
            continue
        raise AssertionError("accepted %r" % line)
    assert c.seq == 0
