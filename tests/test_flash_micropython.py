"""`toaster flash --micropython`: what can be checked without a chip. Images are made by
esptool's own writers (UF2Writer, ESP32S3FirmwareImage), never by hand."""

import os
import tty

import pytest
from esptool.bin_image import ELFSection, ESP32FirmwareImage, ESP32S3FirmwareImage
from esptool.uf2_writer import UF2Writer

from host import cli
from host import micropython_install as mi
from host.link import PortMissing

RP2040 = 0xE48BFF56
RP2350 = 0xE48BFF59


def uf2(path, family=RP2040, size=3000):
    with UF2Writer(family, str(path), chunk_size=256, md5_enabled=False) as writer:
        writer.add_file(0x10000000, bytes(range(256)) * (size // 256 + 1))
    return path


def esp_image(path, image_class=ESP32S3FirmwareImage):
    image = image_class()
    image.segments = [ELFSection(b".dram0.data", 0x3FC90000, b"\x5a" * 256, 0)]
    image.entrypoint = 0x40370000
    image.save(str(path))
    return path


@pytest.fixture
def drive(tmp_path):
    """A stand-in for the Pico's BOOTSEL drive."""
    folder = tmp_path / "RPI-RP2"
    folder.mkdir()
    (folder / "INFO_UF2.TXT").write_text("UF2 Bootloader v3.0\nModel: Raspberry Pi RP2\n"
                                         "Board-ID: RPI-RP2\n")
    return folder


def test_uf2_checks(tmp_path):
    good = uf2(tmp_path / "good.uf2").read_bytes()
    mi.check_uf2(good, "good.uf2")
    with pytest.raises(mi.InstallError, match="not for the RP2040.*RP2350-ARM-S"):
        mi.check_uf2(uf2(tmp_path / "p2.uf2", RP2350).read_bytes(), "p2.uf2")
    with pytest.raises(mi.InstallError, match="truncated: 5 of its 12 blocks"):
        mi.check_uf2(good[:5 * 512], "cut.uf2")
    with pytest.raises(mi.InstallError, match="not a multiple of 512"):
        mi.check_uf2(good[:700], "odd.uf2")
    with pytest.raises(mi.InstallError, match="no UF2 magic"):
        mi.check_uf2(b"\0" * 1024, "zeros.uf2")


def test_uf2_lands_on_the_drive_then_waits_for_the_port(tmp_path, drive):
    image = uf2(tmp_path / "firmware.uf2")
    said = []
    with pytest.raises(mi.InstallError, match="did not come up with MicroPython within 1 s"):
        mi.install_uf2(image, str(tmp_path / "ttyACM0"), drive=drive, say=said.append,
                       timeout=1)
    assert (drive / "firmware.uf2").read_bytes() == image.read_bytes()
    assert said[-1].startswith("the Pico reboots into MicroPython; waiting for")


def test_uf2_drive_is_found_among_mounted_ones(tmp_path, drive, monkeypatch):
    monkeypatch.setattr(mi, "DRIVE_GLOBS", (str(tmp_path / "*"),))
    assert mi.boot_drives() == [drive]
    (drive / "INFO_UF2.TXT").write_text("Board-ID: SOMETHING-ELSE\n")
    with pytest.raises(mi.InstallError, match="no RPI-RP2 boot drive mounted"):
        mi.install_uf2(uf2(tmp_path / "f.uf2"), "/dev/null", say=lambda s: None, timeout=0)


def test_esp32s3_image_checks(tmp_path):
    mi.check_esp32s3_image(esp_image(tmp_path / "s3.bin").read_bytes(), "s3.bin")
    with pytest.raises(mi.InstallError, match="another ESP32 chip .chip id 0"):
        mi.check_esp32s3_image(esp_image(tmp_path / "esp32.bin", ESP32FirmwareImage)
                               .read_bytes(), "esp32.bin")
    with pytest.raises(mi.InstallError, match="not an ESP32 firmware image"):
        mi.check_esp32s3_image(b"hello" * 100, "hello.bin")
    with pytest.raises(mi.InstallError, match="not an ESP32 firmware image"):
        mi.check_esp32s3_image(b"", "empty.bin")


def test_esptool_errors_are_one_line(tmp_path):
    image = esp_image(tmp_path / "s3.bin")
    with pytest.raises(PortMissing, match="no such port"):
        mi.install_esp32s3(image, str(tmp_path / "ttyUSB9"), attempts=1)
    master, slave = os.openpty()  # a port with no chip behind it
    tty.setraw(slave)
    try:
        with pytest.raises(mi.InstallError, match="no ESP32-S3 bootloader answered.*BOOT"):
            mi.install_esp32s3(image, os.ttyname(slave), attempts=1)
    finally:
        os.close(master)
        os.close(slave)


@pytest.mark.parametrize("argv, message", [
    (["--micropython", "fw.hex"], "takes an ESP32-S3 .bin or a Pico .uf2"),
    (["--micropython", "fw.uf2", "--board", "esp32s3"], "for rp2 boards, not --board esp32s3"),
    (["--micropython", "fw.uf2", "--erase"], "--erase is for ESP32-S3"),
    (["--micropython", "fw.bin", "--drive", "/tmp"], "--drive is for Pico"),
    (["--drive", "/tmp"], "go with --micropython"),
    (["--micropython", "missing.uf2"], "cannot read missing.uf2"),
])
def test_argument_mistakes(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("fw.hex", "fw.uf2", "fw.bin"):
        (tmp_path / name).write_bytes(b"x")
    assert cli.main(["flash", "--port", "/dev/null"] + argv) == 1
    assert message in capsys.readouterr().err


def test_dry_run_checks_the_image_and_touches_nothing(tmp_path, capsys):
    image = uf2(tmp_path / "fw.uf2")
    assert cli.main(["flash", "--port", "/dev/ttyACM7", "--micropython", str(image),
                     "--dry-run"]) == 0
    assert "would copy" in capsys.readouterr().out
    image = esp_image(tmp_path / "fw.bin")
    assert cli.main(["flash", "--port", "/dev/ttyUSB7", "--micropython", str(image),
                     "--dry-run", "--erase"]) == 0
    assert "at 0x0 on /dev/ttyUSB7 with esptool (erasing the flash first)" in \
        capsys.readouterr().out
