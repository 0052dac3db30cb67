"""The framing layer against random bytes, bit flips, truncation and any read split:
no crash, every intact frame recovered, every damaged one counted."""

import random

from hypothesis import given, settings, strategies as st

from firmware import protocol
from host.telemetry.framing import FrameReader
from host.telemetry.recorder import Recorder
import telemetry_frames as tf

text = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_.-", min_size=1, max_size=12)


@st.composite
def frames(draw):
    kind = draw(st.sampled_from(sorted(protocol.FIELDS)))
    values = [draw(st.integers(-10**6, 10**9) | text) for _ in protocol.FIELDS[kind]]
    seq = draw(st.integers(0, 10**6))
    return protocol.encode(kind, seq, draw(st.integers(0, 2**30)), draw(text), values)


class Collect(FrameReader):
    def __init__(self):
        super().__init__()
        self.got = []

    def handle_frame(self, fields, line):
        self.got.append(line + b"\n")


def feed(data, cuts=()):
    reader = Collect()
    last = 0
    for cut in sorted(cuts) + [len(data)]:
        reader.data_received(data[last:cut])
        last = cut
    reader.flush()
    return reader


@settings(max_examples=300, deadline=None)
@given(st.lists(frames(), max_size=20), st.lists(st.integers(0, 4000), max_size=30))
def test_frames_survive_any_split_into_reads(sent, cuts):
    data = b"".join(sent)
    reader = feed(data, [c for c in cuts if c <= len(data)])
    assert reader.got == sent
    assert not reader.errors and reader.noise == 0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000), st.lists(st.integers(0, 3000), max_size=10))
def test_random_bytes_never_crash(data, cuts):
    reader = feed(data, [c for c in cuts if c <= len(data)])
    for line in reader.got:  # anything accepted really is a frame
        assert protocol.decode(line)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=300), frames()), max_size=12),
       st.lists(st.integers(0, 6000), max_size=20))
def test_garbage_between_frames_costs_no_frame(pairs, cuts):
    data = b"".join(junk + frame for junk, frame in pairs)
    reader = feed(data, [c for c in cuts if c <= len(data)])
    assert reader.got == [frame for _, frame in pairs]


def _damaged(n, rng, damage):
    """n frames with consecutive sequence numbers, some damaged by `damage`; the first and
    the last always intact, so that every gap shows."""
    sent, broken = [], set()
    for i in range(n):
        frame = tf.tick(i, i * 100)
        if 0 < i < n - 1 and rng.random() < 0.2:
            frame = damage(frame, rng)
            if not _same(frame, i):
                broken.add(i)
        sent.append(frame)
    return sent, broken


def _same(frame, i):
    """A flip can leave the content whole (the case of a CRC hex digit): not damage."""
    try:
        return protocol.decode(frame) == protocol.decode(tf.tick(i, i * 100))
    except protocol.FrameError:
        return False


def _flip(frame, rng):
    b = bytearray(frame)
    bit = rng.randrange(len(b) * 8)
    b[bit // 8] ^= 1 << bit % 8
    return bytes(b)


def _truncate(frame, rng):
    return frame[:rng.randrange(len(frame) - 1)]


def _check_damage(damage, tmp_path, seed):
    rng = random.Random(seed)
    sent, broken = _damaged(60, rng, damage)
    data = b"".join(sent)
    recorder = Recorder(tmp_path / str(seed), clock=lambda: 1000.0)
    got = []
    recorder.files.write = got.append
    pos = 0
    while pos < len(data):  # reads of any size
        step = rng.randrange(1, 300)
        recorder.feed(data[pos:pos + step])
        pos += step
    recorder.reader.flush()
    intact = [i for i in range(len(sent)) if i not in broken]
    assert [r["seq"] for r in got] == intact
    # Every damaged frame is counted: as damaged, or as missing from the sequence.
    # (A flip that makes a "~" inside a frame splits it in two damaged pieces.)
    summary = recorder.summary()
    assert summary["missing"] == len(broken)
    assert sum(summary["damaged"].values()) <= 2 * len(broken)


def test_bit_flips_cost_only_the_frame_they_hit(tmp_path):
    for seed in range(40):
        _check_damage(_flip, tmp_path, seed)


def test_truncated_frames_cost_only_themselves(tmp_path):
    for seed in range(40):
        _check_damage(_truncate, tmp_path, seed)


def test_error_codes_are_named():
    frame = tf.tick(1, 100)
    reader = feed(b"".join([
        frame[:30], frame,                                   # cut short by the next "~"
        frame.replace(b"toasting", b"toastinG"),             # CRC
        b"~" + b"x" * 400 + b"\n",                           # too long
        protocol.encode("Q", 1, 1, "-", ()),                 # unknown kind
        b"hello from the REPL\r\n", frame,
    ]))
    assert reader.frames == 2
    assert reader.errors == {"truncated": 1, "crc": 1, "length": 1, "kind": 1}
    assert reader.noise == len(b"hello from the REPL\r")


def test_overlong_line_without_end_is_bounded():
    reader = Collect()
    for _ in range(1000):
        reader.data_received(b"~" + b"y" * 99)  # never a line break
    assert len(reader._pending) <= protocol.MAX_LINE
    reader.data_received(b"\n" + tf.tick(5, 500))
    assert len(reader.got) == 1
