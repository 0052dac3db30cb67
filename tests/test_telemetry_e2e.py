"""End to end on the virtual device, through the `toaster` command line: an interrupted
flash that recovers, a toast at a level with the user's feedback, recorded by
`toaster telemetry record` (ended with Ctrl-C), then report and export."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet
import pytest

from host import cli, flash, image
from host.demo import push_lever, wait_for_loop
from host.link import open_serial
from host.telemetry import sessions
from host.telemetry.framing import listen
from host.virtual_device import VirtualDevice

ROOT = Path(__file__).resolve().parents[1]
LEVEL = 5


class Pulled(Exception):
    pass


def _pull_at_loop(step, detail=None):
    if (step, detail) == ("written", "firmware/loop.mpy"):
        raise Pulled()


def _rebooted(device):
    ser = open_serial(device.port, timeout=0.05)
    try:
        device.control("RESET HARD")
        return next(f for f in listen(ser, 15, until=lambda f: f["kind"] == "B")
                    if f["kind"] == "B")
    finally:
        ser.close()


def _wait(predicate, timeout=30):
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_flash_toast_record_report_export(tmp_path, capsys):
    out = tmp_path / "telemetry"
    with VirtualDevice(tmp_path / "fs", console="pty") as device:
        old = image.read_manifest(device.fs, "a")["version"]
        with pytest.raises(Pulled):
            flash.flash(device.port, "sim", version="e2e-2", hook=_pull_at_loop,
                        say=lambda s: None)
        assert _rebooted(device)["fw"] == old
        plan, boot = flash.flash(device.port, "sim", version="e2e-2", say=lambda s: None)
        assert (boot["slot"], boot["fw"]) == ("b", "e2e-2")
        assert "firmware/app.mpy" in plan.same  # copied before the pull, not again

        recorder = subprocess.Popen(
            [sys.executable, "-m", "host.cli", "telemetry", "record", "--port", device.port,
             "--out", str(out)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        try:
            _wait(lambda: list(out.glob("raw-*.bin")))
            # The toaster is switched on with the recorder listening: its boot frame
            # names the boot (a recorder that joins later calls it unknown-<time>).
            device.control("RESET HARD")
            _wait(lambda: any(r["kind"] == "B" for r in sessions.read_records(
                out / sessions.DEVICE_LOG)[0]))
            wait_for_loop(device)
            push_lever(device, LEVEL)
            browning = device.truth()["delta_e"]
            device.control("PRESS fb_dark")

            def rated():
                found = sessions.load(out) if out.exists() else []
                return found and any(r["kind"] == "K" for r in found[-1].records)
            _wait(rated)
        finally:
            recorder.send_signal(signal.SIGINT)
            stdout, stderr = recorder.communicate(timeout=30)
    assert recorder.returncode == 0, stderr
    assert "1 toast session" in stdout and "damaged frames 0" in stdout, stdout
    boot = next(r for r in sessions.read_records(out / sessions.DEVICE_LOG)[0]
                if r["kind"] == "B")
    assert (boot["slot"], boot["fw"], boot["reset"]) == ("b", plan.version, "HARD")

    assert cli.main(["telemetry", "report", str(out), "--plot", str(tmp_path / "t.png")]) == 0
    report = capsys.readouterr().out
    row = next(line for line in report.splitlines() if line.startswith(boot["boot_id"]))
    words = row.split()
    assert words[2:4] == ["fallback", str(LEVEL)] and "done" in words and "dark" in words
    assert (tmp_path / "t.png").stat().st_size > 20_000

    assert cli.main(["telemetry", "export", str(out), "--format", "parquet"]) == 0
    ticks = pyarrow.parquet.read_table(out / "ticks.parquet").to_pylist()
    (toast,) = pyarrow.parquet.read_table(out / "sessions.parquet").to_pylist()
    assert (toast["boot_id"], toast["level"], toast["end_state"], toast["rating"]) == \
        (boot["boot_id"], LEVEL, "done", "dark")
    # Lockstep time waits for a recorder that falls behind (console pacing): nothing is lost.
    assert toast["complete"] and toast["missing"] == 0 and toast["model"] == boot["model"]
    toasting = [t for t in ticks if t["state"] == "toasting"]
    assert len(toasting) == toast["ticks"] - (len(ticks) - len(toasting))
    # One tick per 100 ms control period while toasting.
    assert abs(len(toasting) - toast["duration_s"] * 10) <= 2
    assert all(t["model"] == boot["model"] and t["boot_id"] == boot["boot_id"] for t in ticks)
    assert browning > 0
