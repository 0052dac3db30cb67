"""Boot on the real simulator: the start-up self-test against manifest.json, the boot frame,
and Ctrl-C on the console (the way mpremote takes over a running board)."""

import firmware_sim as fs
from host import image
from host.virtual_device import VirtualDevice


def installed(tmp_path, policy=None):
    """A device folder with the app installed; returns (folder, active slot folder)."""
    folder = tmp_path / "fs"
    slot = image.install(fs.app_image(policy), folder)
    return folder, folder / slot


def test_clean_boot_reports_who_it_is(micropython, tmp_path):
    folder, slot = installed(tmp_path)
    manifest = image.read_manifest(folder, slot.name)
    with VirtualDevice(fs=folder) as dev:
        boot = dev.expect("B")
    assert boot["selftest"] == "ok" and boot["reset"] == "POWERON"
    assert (boot["fw"], boot["slot"], boot["board"]) == (manifest["version"], slot.name, "sim")
    assert len(boot["boot_id"]) == 8 and int(boot["boot_id"], 16) >= 0


def test_a_changed_firmware_file_keeps_the_toaster_safe(micropython, tmp_path):
    folder, slot = installed(tmp_path)
    with open(slot / "board.json", "a") as f:
        f.write(" ")  # still valid JSON: only the hash tells
    with VirtualDevice(fs=folder) as dev:
        boot = dev.expect("B")
        fault = dev.expect("F")
        dev.control("LEVER DOWN")
        frames = dev.until(lambda f: f["kind"] == "T" and int(f["ms"]) >= 10000)
        events = dev.events()
    assert boot["selftest"] == "firmware"
    assert fault["code"] == "selftest"
    assert {f["state"] for f in fs.ticks(frames)} == {"fault"}
    assert not any(e["kind"] == "relay_close" for e in events)


def test_a_file_the_manifest_does_not_list_keeps_the_toaster_safe(micropython, tmp_path):
    folder, slot = installed(tmp_path)
    (slot / "firmware" / "extra.py").write_text("print('not part of the image')\n")
    with VirtualDevice(fs=folder) as dev:
        boot = dev.expect("B")
    assert boot["selftest"] == "firmware"


def test_a_changed_model_file_means_the_fallback_toasts(micropython, tmp_path):
    folder, slot = installed(tmp_path, policy=fs.ALWAYS)
    (slot / "model" / "model.json").write_bytes(b'{"stand_in": false}\n')
    with VirtualDevice(fs=folder) as dev:
        boot = dev.expect("B")
        fault = dev.expect("F")
        frames = fs.toast(dev, level=4)
    assert (boot["selftest"], boot["policy"]) == ("model", "fallback")
    assert (fault["code"], fault["detail"]) == ("model", "selftest")
    assert frames[-1]["reason"] == "policy"  # the fallback ended it, not the time limit
    assert {f["policy"] for f in fs.ticks(frames)} == {"fallback"}


def test_ctrl_c_drops_the_heater_and_leaves_a_repl(micropython):
    with fs.device() as dev:
        dev.expect("B")
        dev.control("DIAL 4")
        dev.control("LEVER DOWN")
        dev.expect(lambda f: f["kind"] == "T" and f["state"] == "toasting"
                   and int(f["tt_ms"]) >= 3000)
        assert dev.truth()["heater_on"]
        dev.write(b"\x03")
        dev.wait_output(b">>> ", timeout=10)  # the REPL of `micropython -i main.py`
        truth = dev.truth()
        assert not truth["heater_on"] and not truth["carriage_down"]
        assert truth["outputs"]["heat_en"] == 0 and truth["outputs"]["hold"] == 0


def test_a_damaged_module_stops_the_boot_and_says_why(micropython, tmp_path):
    folder = tmp_path / "fs"
    slot = folder / image.install(image.build("sim", compile=True), folder)
    module = slot / "firmware" / "guard.mpy"
    data = bytearray(module.read_bytes())
    data[1] ^= 0xFF   # the .mpy version byte: as a module for another MicroPython would be
    module.write_bytes(bytes(data))
    with VirtualDevice(fs=folder) as dev:
        fault = dev.expect("F")
        dev.control("LEVER DOWN")
        events = dev.events()
    assert (fault["code"], fault["session"]) == ("boot", "0"), fault
    assert not any(e["kind"] == "relay_close" for e in events)
