"""The model's output recomputed on the host from a recorded toast: a package trained with
`toaster train`, flashed with `toaster flash --model`, toasting on the virtual device; the
replay (firmware/features.py + TFLM on the recorded ticks) must agree with the stop the
device made, tick for tick."""

import pytest

from host import cli, flash
from host.demo import Recording, push_lever, wait_for_loop
from host.telemetry import sessions
from host.telemetry.model_output import Package, decided_ticks
from host.virtual_device import VirtualDevice


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    out = tmp_path_factory.mktemp("pkg") / "sim"
    assert cli.main(["train", "--source", "sim", "--runs", "30", "--out", str(out),
                     "--quiet"]) == 0
    return out


def test_replayed_output_explains_the_stop(package, tmp_path, capsys):
    out = tmp_path / "rec"
    with VirtualDevice(tmp_path / "fs", console="pty") as device:
        _, boot = flash.flash(device.port, "sim", model=package, say=lambda s: None)
        assert boot["policy"] != "fallback" and boot["selftest"] == "ok", boot
        recording = Recording(device.port, out)
        try:
            wait_for_loop(device)
            up_ms = push_lever(device, 4)
            toast = recording.toast(up_ms + 1000)
        finally:
            recording.stop()
    pkg = Package(package)
    replayed = pkg.replay(toast)
    ticks = decided_ticks(toast)
    assert replayed and len(replayed) == len(ticks) > 100
    assert all(t["policy"] == pkg.manifest["name"] and t["model"] == pkg.id for t in ticks)
    assert "as it should" in pkg.verdict(toast, replayed)
    # Everything the model said while toasting was "continue".
    stop_tick = ticks[-1]["state"] != "toasting"
    assert all(q >= pkg.threshold_q for _, q, _ in replayed[:len(replayed) - stop_tick])

    assert cli.main(["telemetry", "report", str(out), "--model", str(package), "--plot",
                     str(tmp_path / "toast.png")]) == 0
    text = capsys.readouterr().out
    assert "model output recomputed" in text and "as it should" in text
    assert (tmp_path / "toast.png").stat().st_size > 30_000
    # Another model's package replays nothing of this toast.
    other = sessions.load(out)[0]
    for t in other.records:
        t["model"] = "other"
    assert pkg.replay(other) is None
