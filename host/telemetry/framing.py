"""Frames out of a byte stream, whatever its source (serial port, raw log file, fuzzer).

Shaped like pyserial's threaded Packetizer: feed bytes to data_received(), get whole
frames in handle_frame(). The rules of a frame are firmware/protocol.py's, applied
through protocol.decode(); this layer only cuts the stream and resynchronises.
"""

from collections import Counter

import serial.threaded

from firmware import protocol

_START = protocol.START
_LF = b"\n"


class FrameReader(serial.threaded.Protocol):
    """Cuts a byte stream into frames and checks them.

    A frame starts at "~" and ends at the line break. Any "~" starts a frame afresh, so
    after damage the reader is back in step at the next frame: a damaged frame never
    costs its neighbours. Counters: `frames` (intact), `errors` (damaged frames by
    FrameError code, plus "truncated" for a frame cut short by the next "~" or by the end
    of the stream), `noise` (bytes outside any frame: boot messages, REPL output, line
    noise).
    """

    def __init__(self):
        self.frames = 0
        self.errors = Counter()
        self.noise = 0
        self._pending = b""

    def handle_frame(self, fields, line):
        """An intact frame: `fields` as protocol.decode() returns them, `line` its bytes."""

    def handle_error(self, code, line):
        """A damaged frame, already counted under `code`."""

    def data_received(self, data):
        lines = (self._pending + data).split(_LF)
        pending = lines.pop()
        for line in lines:
            self._line(line)
        if len(pending) > protocol.MAX_LINE:
            # No frame is this long: keep only what could still become one.
            start = pending.rfind(_START)
            if start < 0 or len(pending) - start > protocol.MAX_LINE:
                self._line(pending)
                pending = b""
            else:
                self._before(pending[:start])
                pending = pending[start:]
        self._pending = pending

    def connection_lost(self, exc):
        """The stream ended (port closed, cable pulled): a frame in progress is lost."""
        self.flush()

    def flush(self):
        """Account for a partial frame at the end of the stream (a truncated frame)."""
        pending, self._pending = self._pending, b""
        self._before(pending)

    def discard(self):
        """Drop a partial frame without counting it (the stream was stopped on purpose)."""
        self._pending = b""

    def _line(self, line):
        start = line.rfind(_START)
        if start < 0:
            self.noise += len(line)
            return
        if start:
            self._before(line[:start])
            line = line[start:]
        try:
            fields = protocol.decode(line)
        except protocol.FrameError as exc:
            self._error(exc.code, line)
            return
        self.frames += 1
        self.handle_frame(fields, line)

    def _before(self, head):
        """What came before the last "~" of a line: noise, then frames cut short."""
        pieces = head.split(_START)
        self.noise += len(pieces[0])
        for piece in pieces[1:]:
            self._error("truncated" if len(piece) < protocol.MAX_LINE else "length",
                        _START + piece)

    def _error(self, code, line):
        self.errors[code] += 1
        self.handle_error(code, line)


def listen(ser, seconds, until=None):
    """Frames heard on an open pyserial port for up to `seconds`, as dicts of their
    fields (protocol.as_dict); stops early at the first frame for which until(frame) is
    true. Damage and noise are skipped."""
    import time
    heard = []
    reader = FrameReader()
    reader.handle_frame = lambda fields, line: heard.append(protocol.as_dict(fields))
    end = time.monotonic() + seconds
    timeout, ser.timeout = ser.timeout, 0.05
    try:
        while time.monotonic() < end:
            data = ser.read(ser.in_waiting or 1)
            if data:
                reader.data_received(data)
                if until is not None and any(until(f) for f in heard):
                    break
    finally:
        ser.timeout = timeout
    return heard
