"""`toaster flash` against the virtual device: a real MicroPython behind a pseudo-terminal,
the same raw REPL, filesystem and boot path as a board."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import tty
from pathlib import Path

import pytest

from host import cli, flash, image, link, model_check
from host.demo import push_lever, wait_for_loop
from host.link import DeviceFull, NoMicroPython, PortBusy, open_serial
from host.telemetry.framing import listen
from host.virtual_device import VirtualDevice

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / ".." / "shared" / "models"


@pytest.fixture
def device(tmp_path):
    """A virtual toaster with the checkout's firmware (compiled) in slot a."""
    with VirtualDevice(tmp_path / "fs", console="pty") as dev:
        yield dev


def boot_frame(dev, action=None, timeout=15):
    """Reboot the device (`action`, default the reset button) and return its B frame."""
    ser = open_serial(dev.port, timeout=0.05)
    try:
        (action or (lambda: dev.control("RESET HARD")))()
        heard = listen(ser, timeout, until=lambda f: f["kind"] == "B")
    finally:
        ser.close()
    boots = [f for f in heard if f["kind"] == "B"]
    assert boots, "no boot frame"
    return boots[-1]


def heard(dev, match, timeout=10):
    """The first frame on the device's port that match(frame) accepts (None if none)."""
    ser = open_serial(dev.port, timeout=0.05)
    try:
        return next((f for f in listen(ser, timeout, until=match) if match(f)), None)
    finally:
        ser.close()


def tree(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def version_of(fs, slot):
    return image.read_manifest(fs, slot)["version"]


def test_flash_writes_the_other_slot_and_skips_what_is_there(device):
    v1, v2 = version_of(device.fs, "a"), "test-2"
    said = []
    plan, boot = flash.flash(device.port, "sim", version=v2, say=said.append)
    assert (plan.slot, boot["slot"], boot["fw"]) == ("b", "b", v2)
    assert boot["selftest"] == "ok" and said[-1].startswith("booted slot b, version " + v2)
    assert image.active_slot(device.fs) == "b"
    # Slot a holds the same files: nothing is copied, only the manifest and the switch.
    plan, boot = flash.flash(device.port, "sim", say=said.append)
    assert (plan.slot, plan.write, boot["fw"]) == ("a", [], v1)
    assert len(plan.same) == len(image.read_manifest(device.fs, "a")["files"])
    # The board is found from the device when not given.
    plan, boot = flash.flash(device.port, version=v2, say=said.append)
    assert (plan.board, boot["slot"], boot["fw"]) == ("sim", "b", v2) and plan.write == []


def test_dry_run_prints_the_plan_and_changes_nothing(device, capsys):
    before = tree(device.fs)
    assert cli.main(["flash", "--port", device.port, "--board", "sim", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "into slot b" in out and "copy b/firmware/loop.mpy (" in out
    assert "the device boots slot a" in out
    assert tree(device.fs) == before
    # The firmware was restarted: it talks again.
    assert heard(device, lambda f: f["kind"] == "T")


def test_after_a_toast_the_device_is_restarted_first(device):
    """A toast started the MCU watchdog, which only a reset stops: flashing from the REPL
    it would interrupt must start from a fresh boot."""
    wait_for_loop(device)
    push_lever(device, 3)
    said = []
    plan, boot = flash.flash(device.port, "sim", version="after-toast", say=said.append)
    assert said[0].startswith("restarting the device first")
    assert (boot["slot"], boot["fw"]) == ("b", "after-toast")


class Pulled(Exception):
    """The cable, pulled at a checkpoint."""


CHECKPOINTS = [("connected", None), ("manifest_removed", None),
               ("writing", "firmware/loop.mpy"), ("written", "firmware/loop.mpy"),
               ("verified", None), ("manifest_written", None),
               ("active_new_written", None), ("switched", None)]


def test_an_interrupted_flash_always_leaves_a_complete_version(device):
    v1, v2 = version_of(device.fs, "a"), "test-2"
    for where in CHECKPOINTS:
        def hook(step, detail=None, where=where):
            if (step, detail) == where or (step, where[1]) == where and detail == where[1]:
                raise Pulled(step)
        with pytest.raises(Pulled):
            flash.flash(device.port, "sim", version=v2, hook=hook, say=lambda s: None)
        boot = boot_frame(device)
        switched = where == ("switched", None)
        assert (boot["slot"], boot["fw"]) == (("b", v2) if switched else ("a", v1)), where
        assert boot["selftest"] == "ok"
        if switched:  # back to slot a for the next round
            flash.flash(device.port, "sim", say=lambda s: None)
    # Interrupted many times, the next flash completes.
    plan, boot = flash.flash(device.port, "sim", version=v2, say=lambda s: None)
    assert (boot["slot"], boot["fw"]) == ("b", v2)


def test_power_lost_mid_copy(tmp_path):
    """The toaster loses power while a file is being written: the flash says so in one
    line, and powered up again the toaster boots the previous version."""
    fs = tmp_path / "fs"
    device = VirtualDevice(fs, console="pty").start()
    v1 = version_of(fs, "a")

    unplugged = []

    def unplug(step, detail=None):
        if (step, detail) == ("writing", "firmware/loop.mpy") and not unplugged:
            unplugged.append(device.stop())
    try:
        with pytest.raises(link.LinkLost, match="lost the connection to .* while writing"):
            flash.flash(device.port, "sim", version="test-2", hook=unplug, say=lambda s: None)
    finally:
        if not unplugged:
            device.stop()
    with VirtualDevice(fs, console="pty") as again:
        boot = boot_frame(again)
        assert (boot["slot"], boot["fw"], boot["selftest"]) == ("a", v1, "ok")
        plan, boot = flash.flash(again.port, "sim", version="test-2", say=lambda s: None)
        assert boot["fw"] == "test-2" and "firmware/app.mpy" in plan.same


def test_a_killed_flash_process_leaves_a_bootable_device(device):
    """`toaster flash` killed (a host crash, a pulled cable) at moments from just before
    the copy to about the switch; slot b starts empty, so there is a copy to cut."""
    versions = {version_of(device.fs, "a")}
    for delay in (0.0, 0.1, 0.2, 0.3, 0.5):
        proc = subprocess.Popen([sys.executable, "-u", "-m", "host.cli", "flash", "--port",
                                 device.port, "--board", "sim"],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for line in proc.stdout:  # the plan is printed just before the first write
            if line.startswith(b"  then:"):
                break
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        boot = boot_frame(device)
        assert boot["fw"] in versions and boot["selftest"] == "ok", boot


def model_package(folder, tflite, sha=None):
    folder.mkdir()
    (folder / "model.tflite").write_bytes(tflite)
    (folder / "model.json").write_text(json.dumps({
        "id": "hw000001", "name": "hello", "sha256": sha or hashlib.sha256(tflite).hexdigest()}))
    return folder


def test_a_bad_model_package_is_refused_before_the_device_is_touched(tmp_path, capsys):
    good = (MODELS / "hello_world_int8.tflite").read_bytes()
    port = str(tmp_path / "no-port")  # never reached
    cases = [
        (model_package(tmp_path / "sha", good, sha="0" * 64), "does not match the SHA-256"),
        (model_package(tmp_path / "junk", b"TFL3" + b"\0" * 60), "cannot read model.tflite"),
    ]
    missing = model_package(tmp_path / "missing", good)
    (missing / "model.tflite").unlink()
    cases.append((missing, "model.tflite is missing"))
    for folder, message in cases:
        assert cli.main(["flash", "--port", port, "--model", str(folder)]) == 1
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


def test_a_model_tflm_cannot_run_is_refused(tmp_path, monkeypatch, capsys):
    # TFLM is the oracle: without its answer bit-exactness is unknown, so no flashing.
    def tflm_fails(model):
        raise RuntimeError("Didn't find op for builtin opcode 'FULLY_CONNECTED'")
    monkeypatch.setattr(model_check, "tflm", tflm_fails)
    good = model_package(tmp_path / "pkg", (MODELS / "hello_world_int8.tflite").read_bytes())
    assert cli.main(["flash", "--port", str(tmp_path / "no-port"), "--model", str(good)]) == 1
    assert "TensorFlow Lite Micro cannot run model.tflite (Didn't find op" in \
        capsys.readouterr().err


def test_a_model_package_goes_into_the_slot(device, tmp_path):
    tflite = (MODELS / "hello_world_int8.tflite").read_bytes()
    package = model_package(tmp_path / "pkg", tflite)
    plan, boot = flash.flash(device.port, "sim", model=package, say=lambda s: None)
    assert "model/model.tflite" in plan.write and boot["slot"] == "b"
    assert (device.fs / "b/model/model.tflite").read_bytes() == tflite
    assert image.read_manifest(device.fs, "b")["files"]["model/model.tflite"] == \
        hashlib.sha256(tflite).hexdigest()


def test_port_missing_busy_or_without_micropython(device, tmp_path, monkeypatch, capsys):
    assert cli.main(["flash", "--port", str(tmp_path / "ttyACM9"), "--board", "sim"]) == 1
    assert "no such port" in capsys.readouterr().err
    held = open_serial(device.port)
    try:
        with pytest.raises(PortBusy, match="in use by another program"):
            flash.flash(device.port, "sim")
    finally:
        held.close()
    monkeypatch.setattr(link, "ENTER_TIMEOUT_S", 1)
    master, slave = os.openpty()  # nothing on the other end
    tty.setraw(slave)
    try:
        with pytest.raises(NoMicroPython, match="no MicroPython REPL answered"):
            flash.flash(os.ttyname(slave), "sim")
    finally:
        os.close(master)
        os.close(slave)


def test_wrong_board_is_refused_and_the_firmware_restarted(device):
    with pytest.raises(flash.FlashError, match="built for armv6m: is --board right"):
        flash.flash(device.port, "rp2", say=lambda s: None)
    assert heard(device, lambda f: f["kind"] == "T")  # restarted


def test_not_enough_space(device):
    """An 8 kB littlefs (as on a board) mounted on the device: the image does not fit."""
    with link.Link(device.port) as dev:
        dev.enter()
        dev.exec(RAM_DISK)
        dev.leave()
    with pytest.raises(DeviceFull, match="not enough space.*needs .* kB, .* kB free"):
        flash.flash(device.port, "sim", say=lambda s: None)
    # Without the check, the device's own ENOSPC says the same.
    with link.Link(device.port) as dev:
        dev.enter()
        dev.exec(RAM_DISK)
        with pytest.raises(DeviceFull, match="ran out of space while writing"):
            dev.write_file("big", b"x" * 20_000)


def test_toasting_is_not_interrupted(tmp_path):
    with VirtualDevice(tmp_path / "fs", console="pty", realtime=True) as device:
        assert heard(device, lambda f: f["kind"] == "T")  # booted: the lever counts now
        device.control("DIAL 4")
        device.control("LEVER DOWN")
        assert heard(device, lambda f: f["kind"] == "T" and f["state"] == "toasting")
        with pytest.raises(flash.FlashError, match="is toasting"):
            flash.flash(device.port, "sim", say=lambda s: None)
        assert heard(device, lambda f: f["kind"] == "T")["state"] == "toasting"


# A RAM block device with littlefs, mounted and made the working directory: the unix port
# then sees a board-sized filesystem where the slots live.
RAM_DISK = """
import gc, os
gc.collect()
class RAM:
    def __init__(s, n):
        s.data = bytearray(n * 512)
    def readblocks(s, b, buf, off=0):
        a = b * 512 + off
        buf[:] = s.data[a:a + len(buf)]
    def writeblocks(s, b, buf, off=0):
        a = b * 512 + (off or 0)
        s.data[a:a + len(buf)] = buf
    def ioctl(s, op, arg):
        return {4: len(s.data) // 512, 5: 512, 6: 0}.get(op)
bd = RAM(16)
os.VfsLfs2.mkfs(bd)
os.mount(os.VfsLfs2(bd), '/ram')
os.chdir('/ram')
"""
