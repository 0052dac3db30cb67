"""The slot selector (/main.py, firmware/boot/main.py) on MicroPython: it boots a complete
slot in every state a device folder can be left in, including an install interrupted at
any step (host/image.install follows the same rules as `toaster flash`)."""

import json
import os
import pathlib
import subprocess

import pytest

from host import image
from host import micropython as mp

# A stand-in app that checks every file of the slot it was booted from against its
# manifest, so that "booted" means "booted a complete slot".
APP = b"""
import binascii, hashlib, json


def main():
    import __main__
    import firmware
    slot, reason = __main__.BOOTED
    with open(slot + "/manifest.json") as f:
        manifest = json.load(f)
    complete = True
    for rel, digest in manifest["files"].items():
        with open(slot + "/" + rel, "rb") as f:
            seen = binascii.hexlify(hashlib.sha256(f.read()).digest()).decode()
        complete = complete and seen == digest
    print(json.dumps({"slot": slot, "reason": reason, "version": manifest["version"],
                      "complete": complete, "file": firmware.__file__}))
"""


def app(version, app_source=APP):
    return image.Image("sim", version, {
        "firmware/__init__.py": b"",
        "firmware/app.py": app_source,
        "firmware/data.py": b"DATA = %r\n" % (version.encode() * 50),
        "firmware/v%s.py" % version: b"",   # a file only this version has
        "board.json": b'{"board": "sim"}',
    })


def boot(fs, micropython):
    """Run the device folder's main.py; the app's report (a dict), or the selector's last
    line (str) when no app ran."""
    proc = subprocess.run([micropython, "-X", "heapsize=%s" % mp.DEVICE_HEAP, "main.py"],
                          cwd=fs, env=dict(os.environ, MICROPYPATH=""), capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    return json.loads(last) if last.startswith("{") else last


@pytest.fixture
def device(tmp_path):
    """A device folder with version 1 in slot a and version 2 in slot b (active)."""
    fs = tmp_path / "fs"
    image.install(app("1"), fs)
    image.install(app("2"), fs)
    return fs


def test_boots_the_active_slot(device, micropython):
    report = boot(device, micropython)
    assert report == {"slot": "b", "reason": "active", "version": "2", "complete": True,
                      "file": "b/firmware/__init__.py"}
    (device / "active").write_text("a")
    assert boot(device, micropython)["version"] == "1"


def test_active_missing_mid_switch_boots_the_new_slot(device, micropython):
    (device / "active").unlink()
    (device / "active.new").write_text("b")
    report = boot(device, micropython)
    assert (report["slot"], report["reason"]) == ("b", "active.new")


@pytest.mark.parametrize("content", [b"", b"c", b"\x00\xff garbage", b"bb"])
def test_garbage_pointer_falls_back_to_a_complete_slot(device, micropython, content):
    (device / "active").write_bytes(content)
    report = boot(device, micropython)
    assert (report["slot"], report["reason"], report["complete"]) == ("a", "fallback", True)


def test_slot_without_manifest_is_skipped(device, micropython):
    (device / "b" / "manifest.json").unlink()
    assert boot(device, micropython)["slot"] == "a"


def test_slot_missing_a_listed_file_is_skipped(device, micropython):
    (device / "b" / "firmware" / "data.py").unlink()
    assert boot(device, micropython)["slot"] == "a"


def test_slot_whose_firmware_cannot_import_is_forgotten(tmp_path, micropython):
    fs = tmp_path / "fs"
    image.install(app("1"), fs)
    broken = app("2", APP + b"\ndef broken(:\n")
    image.install(broken, fs)
    report = boot(fs, micropython)
    # The package of the broken slot was dropped from sys.modules: a/'s own was imported.
    assert report["slot"] == "a" and report["file"] == "a/firmware/__init__.py"


def test_slot_built_for_another_port_is_skipped(tmp_path, micropython):
    fs = tmp_path / "fs"
    image.install(app("1"), fs)
    source = tmp_path / "app.py"
    source.write_bytes(APP + b"\n@micropython.viper\ndef f(x: int) -> int:\n    return x\n")
    xtensa = image.compile_all({"firmware/app.py": source}, "xtensawin")
    other = app("2")
    del other.files["firmware/app.py"]
    other.files.update(xtensa)
    image.install(other, fs)
    assert boot(fs, micropython)["slot"] == "a"


def test_no_bootable_slot_stays_at_the_repl(device, micropython):
    for slot in "ab":
        (device / slot / "manifest.json").unlink()
    assert "no bootable slot" in boot(device, micropython)


class Interrupted(Exception):
    pass


def interrupt_after(monkeypatch, steps):
    """Make install() fail at its steps-th filesystem change, leaving a half-written file
    when that change is a write."""
    count = [0]

    def step():
        count[0] += 1
        return count[0] > steps

    write_bytes, unlink, replace = pathlib.Path.write_bytes, pathlib.Path.unlink, os.replace

    def torn_write(path, data):
        if step():
            write_bytes(path, data[:len(data) // 2])
            raise Interrupted
        return write_bytes(path, data)

    def stopping_unlink(path, *args, **kwargs):
        if step():
            raise Interrupted
        return unlink(path, *args, **kwargs)

    def stopping_replace(src, dst):
        if step():
            raise Interrupted
        return replace(src, dst)

    monkeypatch.setattr(pathlib.Path, "write_bytes", torn_write)
    monkeypatch.setattr(pathlib.Path, "unlink", stopping_unlink)
    monkeypatch.setattr(image.os, "replace", stopping_replace)
    return count


def test_install_interrupted_at_every_step_boots_old_or_new(tmp_path, micropython,
                                                            monkeypatch):
    steps = 0
    while True:
        fs = tmp_path / str(steps)
        image.install(app("1"), fs)
        image.install(app("2"), fs)
        # Slot a holds version 1 and is inactive: version 3 goes there.
        with monkeypatch.context() as m:
            interrupt_after(m, steps)
            try:
                image.install(app("3"), fs)
                break
            except Interrupted:
                pass
        report = boot(fs, micropython)
        assert report["complete"], (steps, report)
        assert (report["slot"], report["version"]) in (("b", "2"), ("a", "3")), (steps, report)
        image.install(app("3"), fs)  # the flash is tried again and completes
        report = boot(fs, micropython)
        assert (report["slot"], report["version"]) == ("a", "3"), (steps, report)
        steps += 1
    # Every step was interrupted once: remove a/manifest.json, remove a/firmware/v1.py,
    # write data.py, write v3.py, switch manifest.json, switch active.
    assert steps == 6
