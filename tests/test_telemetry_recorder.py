"""The recorder: where records go, the checks it makes, and a real port that goes away."""

import json
import os
import threading
import time
import tty

import pytest

import telemetry_frames as tf
from host.link import PortBusy, PortMissing, open_serial
from host.telemetry import sessions
from host.telemetry.recorder import Recorder, record_file, record_port


class Clock:
    def __init__(self, t=1_700_000_000.0):
        self.t = t

    def __call__(self):
        return self.t


def lines(path):
    return [json.loads(line) for line in open(path)]


def test_a_toast_gets_its_own_file_and_everything_else_the_device_log(tmp_path):
    rec = Recorder(tmp_path, clock=Clock())
    for frame in tf.toast_life():
        rec.feed(frame)
    # Written and flushed as they came, before the recorder closes.
    toast = lines(tmp_path / "session-a1b2c3d4-001.jsonl")
    device = lines(tmp_path / "device.jsonl")
    rec.close()
    assert [r["kind"] for r in toast] == ["E", "T", "T", "T", "E", "T", "E", "K"]
    assert [(r["kind"], r.get("state")) for r in device] == [
        ("B", None), ("T", "idle"), ("T", "idle")]
    assert all(r["boot_id"] == "a1b2c3d4" and r["model"] == "m1" for r in toast + device)
    assert toast[1]["temp_dc"] == 1500 and toast[1]["state"] == "toasting"
    assert toast[-1]["rating"] == "dark"
    assert rec.summary()["missing"] == 0 and rec.summary()["frames"] == 11
    assert open(rec.raw_path, "rb").read() == b"".join(tf.toast_life())


def test_ids_stay_text_and_numbers_become_numbers(tmp_path):
    rec = Recorder(tmp_path, clock=Clock())
    rec.feed(tf.boot("12345678", model="00000042"))
    rec.feed(tf.tick(1, 100, state="idle", model="00000042"))
    rec.close()
    b, t = lines(tmp_path / "device.jsonl")
    assert b["boot_id"] == "12345678" and t["boot_id"] == "12345678"
    assert t["model"] == "00000042" and t["seq"] == 1 and t["ms"] == 100


def test_gaps_repeats_and_resets_are_counted_and_good_frames_kept(tmp_path):
    rec = Recorder(tmp_path, clock=Clock())
    life = tf.toast_life()
    for frame in life[:4] + life[6:8] + [life[7]] + life[8:]:  # 2 lost, 1 repeated
        rec.feed(frame)
    # The device resets and its boot frame is lost: numbers start again.
    for seq in range(1, 5):
        rec.feed(tf.tick(seq, 50 + seq * 100, session=0, state="idle"))
    rec.close()
    s = rec.summary()
    assert (s["missing"], s["repeated"], s["unannounced_boots"]) == (3, 1, 1)
    assert s["frames"] == len(life) - 2 + 1 + 4
    after = lines(tmp_path / "device.jsonl")[-4:]
    assert [r["seq"] for r in after] == [1, 2, 3, 4]
    assert all(r["boot_id"].startswith("unknown-") for r in after)
    written = sum(len(lines(p)) for p in tmp_path.glob("*.jsonl"))
    assert written == s["frames"] - s["repeated"]


def test_link_loss_is_flagged_after_a_quiet_second(tmp_path):
    clock = Clock()
    rec = Recorder(tmp_path, clock=clock)
    life = tf.toast_life()
    for frame in life[:5]:
        rec.feed(frame)
    clock.t += 0.9
    rec.poll()
    assert "link ok" in rec.status()
    clock.t += 0.2
    rec.poll()
    assert "LINK LOST" in rec.status()
    clock.t += 3
    rec.feed(life[5])
    rec.close()
    events = [(r["event"], r["model"]) for r in lines(tmp_path / "session-a1b2c3d4-001.jsonl")
              if r["kind"] == "H"]
    assert events == [("link_lost", "m1"), ("link_back", "m1")]
    assert rec.summary()["link_lost"] == 1


def test_a_damaged_last_line_costs_only_itself(tmp_path):
    rec = Recorder(tmp_path, clock=Clock())
    for frame in tf.toast_life():
        rec.feed(frame)
    rec.close()
    path = tmp_path / "session-a1b2c3d4-001.jsonl"
    with open(path, "ab") as f:
        f.write(b'{"host_t": 17000')  # the recorder died while writing
    (session,) = sessions.load(tmp_path)
    assert len(session.records) == 8 and session.damaged == 1


def test_a_raw_stream_can_be_read_again(tmp_path):
    rec = Recorder(tmp_path / "live", clock=Clock())
    data = b"noise\n" + b"".join(tf.toast_life())
    rec.feed(data)
    rec.close()
    again = record_file(rec.raw_path, tmp_path / "again")
    assert again.summary()["frames"] == rec.summary()["frames"]
    assert [r["kind"] for r in lines(tmp_path / "again/session-a1b2c3d4-001.jsonl")] == \
        [r["kind"] for r in lines(tmp_path / "live/session-a1b2c3d4-001.jsonl")]


# -- a real port -------------------------------------------------------------------------

class Cable:
    """A pseudo-terminal behind a stable path (as /dev/serial/by-id/... is for a USB
    board): pull() closes it and removes the path, plug() makes a new one there."""

    def __init__(self, path):
        self.path = str(path)
        self.master = None
        self.plug()

    def plug(self):
        self.master, slave = os.openpty()
        tty.setraw(slave)
        os.symlink(os.ttyname(slave), self.path)
        os.close(slave)

    def pull(self):
        os.remove(self.path)
        os.close(self.master)
        self.master = None

    def send(self, data):
        os.write(self.master, data)


def _recording(cable, folder, stop):
    result = {}

    def run():
        result["rec"] = record_port(cable.path, folder, stop=stop.is_set)
    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def _wait_for(predicate, timeout=5):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_recording_survives_a_cable_pull(tmp_path):
    cable = Cable(tmp_path / "ttyTOASTER")
    stop = threading.Event()
    thread, result = _recording(cable, tmp_path / "rec", stop)
    life = tf.toast_life()
    time.sleep(0.3)
    for frame in life[:5]:
        cable.send(frame)
    cable.send(life[5][:20])  # cut off mid-frame by the pull
    time.sleep(0.3)
    cable.pull()
    time.sleep(0.5)
    cable.plug()
    time.sleep(0.5)
    for frame in life[6:]:
        cable.send(frame)
    _wait_for(lambda: (tmp_path / "rec/session-a1b2c3d4-001.jsonl").exists() and any(
        r["kind"] == "K" for r in lines(tmp_path / "rec/session-a1b2c3d4-001.jsonl")))
    stop.set()
    thread.join(5)
    s = result["rec"].summary()
    assert s["port_lost"] == 1 and s["damaged"] == {"truncated": 1} and s["missing"] == 1
    assert s["frames"] == len(life) - 1
    events = [r["event"] for r in lines(tmp_path / "rec/session-a1b2c3d4-001.jsonl")
              if r["kind"] == "H"]
    assert events[:2] == ["port_lost", "port_back"]


def test_port_missing_or_busy_is_one_clear_error(tmp_path):
    with pytest.raises(PortMissing, match="no such port"):
        record_port(str(tmp_path / "nope"), tmp_path / "rec")
    cable = Cable(tmp_path / "tty")
    held = open_serial(cable.path)
    try:
        with pytest.raises(PortBusy, match="in use"):
            record_port(cable.path, tmp_path / "rec")
    finally:
        held.close()


def test_every_protocol_field_has_a_type():
    from firmware import protocol
    from host.telemetry import records
    names = set(protocol.HEADER).union(*protocol.FIELDS.values())
    assert names <= records.NUMBERS | records.TEXT, names - records.NUMBERS - records.TEXT
    assert not records.NUMBERS & records.TEXT


def test_another_protocol_version_is_flagged(tmp_path):
    from firmware import protocol
    rec = Recorder(tmp_path, clock=Clock())
    rec.feed(protocol.encode("B", 0, 5, "-", (99, "9.0", "a", "sim", "POWERON", "cafe0001",
                                              "fallback", "ok")))
    rec.close()
    assert rec.summary()["unknown_protocol"] == 1 and "UNKNOWN PROTOCOL" in rec.status()
    b, h = lines(tmp_path / "device.jsonl")
    assert h["event"] == "protocol" and "protocol 99" in h["detail"]


def test_cli_rebuilds_sessions_from_a_raw_stream(tmp_path, capsys):
    from host import cli
    raw = tmp_path / "raw-20260101T000000.bin"
    raw.write_bytes(b"boot noise\r\n" + b"".join(tf.toast_life()) + b"~T,99,9")
    assert cli.main(["telemetry", "record", "--replay", str(raw), "--out",
                     str(tmp_path / "again")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("recorded 11 frames into %s: 1 toast session" % (tmp_path / "again"))
    assert "damaged frames 0, missing 0, repeated 0, noise bytes 11" in out
    assert cli.main(["telemetry", "record", "--replay", str(tmp_path / "nope.bin"),
                     "--out", str(tmp_path / "x")]) == 1
    assert "no such file" in capsys.readouterr().err
