"""The telemetry recorder: bytes in; checked records in session files and the raw stream
on disk. Fed by record_port() from a serial port, or by anything else that has bytes."""

import time
from collections import Counter
from pathlib import Path

import serial

from firmware import protocol
from host.errors import ToasterError
from host.telemetry import records
from host.telemetry.framing import FrameReader
from host.telemetry.sessions import SessionFiles

# No frame for this long: the link is flagged as lost (safety.md 24). An idle toaster
# sends a tick every 500 ms, so a quiet second is not a pause.
LINK_TIMEOUT_S = 1.0
_BOOT_ID = (protocol.HEADER + protocol.FIELDS["B"]).index("boot_id")
_PROTO = (protocol.HEADER + protocol.FIELDS["B"]).index("proto")
_RECENT = 256  # frames remembered for telling a repeated frame from a device reset


class Recorder:
    """Checks frames (CRC through the framing layer, sequence numbers, boots, link) and
    writes them. `clock` gives host time in seconds; tests pass their own."""

    def __init__(self, folder, clock=time.time, source=None, keep_raw=True):
        self.folder = Path(folder)
        self.files = SessionFiles(self.folder)
        self.clock = clock
        self.source = source
        self.raw_path = self.raw = None
        if keep_raw:
            stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(clock()))
            self.raw_path = self.folder / ("raw-%s.bin" % stamp)
            self.raw = open(self.raw_path, "ab")
        self.reader = FrameReader()
        self.reader.handle_frame = self._frame
        self.count = Counter()    # missing, repeated, boots, unannounced_boots, ...
        self.boot_id = None
        self.model = "-"
        self.last = {}            # the latest T record, for the status line
        self._seq = None
        self._recent = [None] * _RECENT
        self._now = clock()
        self._last_frame = None
        self._link = None         # None: no frame yet; True: frames coming; False: lost

    # -- input ---------------------------------------------------------------------------

    def feed(self, data):
        """Bytes from the device, in order."""
        self._now = self.clock()
        if self.raw is not None:
            self.raw.write(data)
            self.raw.flush()
        self.reader.data_received(data)

    def poll(self):
        """Call often (at least every few hundred ms): flags a quiet link."""
        self._now = now = self.clock()
        if self._link and now - self._last_frame > LINK_TIMEOUT_S:
            self._link = False
            self.count["link_lost"] += 1
            self._event("link_lost", "no frame for %.1f s" % (now - self._last_frame))

    def port_lost(self, reason):
        """The port went away (cable pulled, device gone): a frame in progress is lost."""
        self._now = self.clock()
        self.reader.flush()
        self.count["port_lost"] += 1
        self._event("port_lost", reason)

    def port_back(self):
        self._now = self.clock()
        self._event("port_back", self.source)

    def close(self):
        # A frame still arriving when the recording stops is not damage: it is in the raw
        # stream, cut where the recording ends.
        self.reader.discard()
        self.files.close()
        if self.raw is not None:
            self.raw.close()

    # -- checks --------------------------------------------------------------------------

    def _frame(self, fields, line):
        kind = fields[0]
        seq = int(fields[1])
        now = self._now
        if kind == "B":
            self._new_boot(fields[_BOOT_ID])
            self.count["missing"] += seq  # frames of this boot sent before its B frame
        elif self._seq is None:
            self._new_boot(self._unknown_boot(now))  # joined a device already running
        elif seq != self._seq + 1:
            if seq > self._seq:
                self.count["missing"] += seq - self._seq - 1
            elif self._recent[seq % _RECENT] == line:
                self.count["repeated"] += 1  # the very same frame again: keep the first
                return
            else:
                # Numbers start again without a B frame: the device reset and its boot
                # frame was lost. The frames are good; they belong to a boot we can't name.
                self.count["unannounced_boots"] += 1
                self._new_boot(self._unknown_boot(now))
                self.count["missing"] += seq
        self._seq = seq
        self._recent[seq % _RECENT] = line
        self.model = fields[3]
        if self._link is False:
            self._event("link_back", "after %.1f s" % (now - self._last_frame))
        self._link = True
        self._last_frame = now
        record = records.from_frame(fields, now, self.boot_id)
        if kind == "T":
            self.last = record
        self.files.write(record)
        if kind == "B" and fields[_PROTO] != str(protocol.VERSION):
            self.count["unknown_protocol"] += 1
            self._event("protocol", "the device speaks protocol %s, this host %d: update "
                        "the host tools" % (fields[_PROTO], protocol.VERSION))

    def _new_boot(self, boot_id):
        self.count["boots"] += 1
        self.boot_id = boot_id
        self._recent = [None] * _RECENT

    @staticmethod
    def _unknown_boot(now):
        """A name for a boot whose B frame the recorder did not see: its first frame's
        host time, to the millisecond."""
        return "unknown-%s%03d" % (time.strftime("%Y%m%dT%H%M%S", time.localtime(now)),
                                   int(now * 1000) % 1000)

    def _event(self, event, detail):
        self.files.write(records.host_event(event, self._now, self.boot_id, self.model,
                                            detail))

    # -- reporting -----------------------------------------------------------------------

    def status(self):
        """One line: state, temperature, counters."""
        t = self.last
        if self._link is None:
            link = "waiting for frames"
        elif self._link:
            link = "link ok"
        else:
            link = "LINK LOST"
        state = t.get("state", "-")
        if state == "toasting":
            state = "toasting L%s %.0f s" % (t["level"], (t["tt_ms"] or 0) / 1000)
        temp = "%.1f C" % (t["temp_dc"] / 10) if t.get("temp_dc") is not None else "- C"
        if self.count["unknown_protocol"]:
            link += " | UNKNOWN PROTOCOL VERSION"
        return "%s | %s | frames %d | gaps %d | damaged %d | sessions %d | %s" % (
            state, temp, self.reader.frames, self.count["missing"],
            sum(self.reader.errors.values()), len(self.files.sessions), link)

    def summary(self):
        """What was recorded, as a dict (printed at the end of `telemetry record`)."""
        return {
            "frames": self.reader.frames,
            "damaged": dict(self.reader.errors),
            "missing": self.count["missing"],
            "repeated": self.count["repeated"],
            "noise_bytes": self.reader.noise,
            "boots": self.count["boots"],
            "unannounced_boots": self.count["unannounced_boots"],
            "link_lost": self.count["link_lost"],
            "port_lost": self.count["port_lost"],
            "unknown_protocol": self.count["unknown_protocol"],
            "sessions": [str(p) for p in self.files.sessions],
            "raw": str(self.raw_path) if self.raw_path else None,
        }


def open_port(port, baudrate=115200):
    """The port opened for reading, exclusively (so that a flash cannot cut in), or a
    ToasterError saying why not."""
    from host.link import open_serial
    return open_serial(port, baudrate=baudrate, timeout=0.1)


def record_port(port, folder, baudrate=115200, stop=None, on_status=None,
                status_every=0.25):
    """Record from `port` into `folder` until stop() is true or Ctrl-C (the usual way to
    end). Survives the port going away: waits for it and carries on. Returns the
    Recorder, closed."""
    ser = open_port(port, baudrate)  # a port that is not there at the start is a mistake
    recorder = Recorder(folder, source=port)
    try:
        _loop(port, baudrate, ser, recorder, stop, on_status, status_every)
    except KeyboardInterrupt:
        pass
    return recorder


def _loop(port, baudrate, ser, recorder, stop, on_status, status_every):
    from host.link import LinkError
    next_status = 0.0
    try:
        while not (stop and stop()):
            if ser is None:
                try:
                    ser = open_port(port, baudrate)
                    recorder.port_back()
                except LinkError:
                    time.sleep(0.2)
            if ser is not None:
                try:
                    data = ser.read(ser.in_waiting or 1)
                except (serial.SerialException, OSError) as exc:
                    ser.close()
                    ser = None
                    recorder.port_lost(str(exc).split("\n")[0] or type(exc).__name__)
                    continue
                if data:
                    recorder.feed(data)
            recorder.poll()
            if on_status is not None and time.monotonic() >= next_status:
                next_status = time.monotonic() + status_every
                on_status(recorder.status() if ser is not None
                          else "waiting for %s to come back | " % port + recorder.status())
    finally:
        if ser is not None:
            ser.close()
        recorder.close()


def record_file(path, folder):
    """Re-read a raw stream saved earlier (a raw-*.bin) into session files. Host times
    are those of the replay, not of the original recording."""
    if not Path(path).is_file():
        raise ToasterError("no such file: %s" % path)
    recorder = Recorder(folder, source=str(path), keep_raw=False)
    try:
        with open(path, "rb") as f:
            while True:
                data = f.read(65536)
                if not data:
                    break
                recorder.feed(data)
    except OSError as exc:
        raise ToasterError("cannot read %s: %s" % (path, exc.strerror or exc))
    finally:
        recorder.close()
    return recorder
