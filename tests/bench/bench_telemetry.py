"""Benchmark: can the telemetry recorder keep up with a 921,600-baud link, 10x over?

Reference, measured in the same run: how fast pyserial alone reads the same stream over
a pseudo-terminal. The recorder's rate is whole frames per second through pyserial, the
framing layer (CRC), the sequence checks and the session files (one flushed JSON line
per frame, plus the raw stream). Goal: at least 10x the frame rate of 921,600 baud.

    python tests/bench/bench_telemetry.py
"""

import multiprocessing
import os
import sys
import tempfile
import time
import tty

import serial

from firmware import protocol
from host.telemetry.recorder import Recorder

BAUD = 921_600
GOAL = 10
FRAMES = 30_000


def stream(n):
    """A toast's worth of realistic frames: boot, the start event, then ticks."""
    out = [protocol.encode("B", 0, 12, "a3f9c2d1", (protocol.VERSION, "0.1.0+1c2d3e4f",
                                                   "a", "esp32s3", "POWERON", "5be0c1d2",
                                                   "tiny-cnn", "ok")),
           protocol.encode("E", 1, 700, "a3f9c2d1", (1, "idle", "toasting", "lever"))]
    for i in range(2, n):
        ms = 700 + 100 * i
        temp = 200 + (i * 7) % 2300
        out.append(protocol.encode("T", i, ms, "a3f9c2d1", (
            1, "toasting", ms - 700, temp, 2900 - temp // 2, 1200 - i % 400, 900 - i % 300,
            700 - i % 200, 2900 - i % 900, 4, 1, 1, "tiny-cnn", "ok", 0)))
    return b"".join(out)


def _write(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view[:65536]):]


def _through_pty(data, consume):
    """Send data through a pty (writer in its own process) and let consume(chunk) take
    what pyserial reads; returns seconds from the first byte read to the last."""
    master, slave = os.openpty()
    tty.setraw(slave)
    ser = serial.Serial(os.ttyname(slave), BAUD, timeout=1)
    writer = multiprocessing.Process(target=_write, args=(master, data))
    writer.start()
    got = 0
    start = None
    while got < len(data):
        chunk = ser.read(ser.in_waiting or 1)
        if not chunk:
            raise SystemExit("the pty stopped delivering after %d bytes" % got)
        if start is None:
            start = time.perf_counter()
        got += len(chunk)
        consume(chunk)
    seconds = time.perf_counter() - start
    writer.join()
    ser.close()
    os.close(master)
    os.close(slave)
    return seconds


def _from_memory(data, size, folder):
    """Seconds the recorder takes for data fed in reads of `size` bytes, no port."""
    rec = Recorder(folder)
    t0 = time.perf_counter()
    for i in range(0, len(data), size):
        rec.feed(data[i:i + size])
    seconds = time.perf_counter() - t0
    rec.close()
    return seconds


def main():
    data = stream(FRAMES)
    frame_bytes = len(data) / FRAMES
    need = BAUD / 10 / frame_bytes  # 8N1: 10 bits a byte
    with tempfile.TemporaryDirectory(prefix="bench-telemetry-") as tmp:
        raw_s = _through_pty(data, lambda chunk: None)
        rec = Recorder(os.path.join(tmp, "pty"))
        rec_s = _through_pty(data, rec.feed)
        rec.close()
        assert rec.reader.frames == FRAMES and not rec.reader.errors, rec.summary()
        memory = {size: _from_memory(data, size, os.path.join(tmp, str(size)))
                  for size in (4096, 64)}
    rows = [
        ("pyserial read, pty (reference)", FRAMES / raw_s),
        ("recorder: pyserial + parse + check + write", FRAMES / rec_s),
        ("recorder fed 4 kB reads from memory", FRAMES / memory[4096]),
        ("recorder fed 64-byte reads (USB packets)", FRAMES / memory[64]),
    ]
    print("%d frames of %.0f bytes; 921,600 baud carries %.0f frames/s" % (
        FRAMES, frame_bytes, need))
    print("%-44s %12s %10s %14s" % ("", "frames/s", "x raw", "x 921,600 Bd"))
    for name, fps in rows:
        print("%-44s %12.0f %10.2f %14.1f" % (name, fps, fps / rows[0][1], fps / need))
    headroom = rows[1][1] / need
    print("goal: recorder >= %dx the 921,600-baud frame rate: %.1fx, %s"
          % (GOAL, headroom, "met" if headroom >= GOAL else "NOT MET"))
    return 0 if headroom >= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
