"""MicroPython itself onto a bare board, before `toaster flash` copies the app:
esptool (as a library, with its verify step) for an ESP32-S3 .bin; for the Pico, the
.uf2 copied to its BOOTSEL drive, then waiting for MicroPython's serial port."""

import errno
import glob
import os
import struct
import time
from pathlib import Path

from host.errors import ToasterError
from host.link import LinkError, PortMissing

# UF2 (https://github.com/microsoft/uf2): 512-byte blocks, magic at both ends.
UF2_MAGIC = (0x0A324655, 0x9E5D5157, 0x0AB16F30)
UF2_FLAG_FAMILY = 0x2000
UF2_FAMILIES = {0xE48BFF56: "RP2040", 0xE48BFF57: "absolute", 0xE48BFF59: "RP2350-ARM-S",
                0xE48BFF5A: "RP2350-RISCV", 0xE48BFF5B: "RP2350-ARM-NS",
                0xC47E5767: "ESP32-S3"}
RP2040 = 0xE48BFF56
# Where desktops mount USB drives; the Pico's boot drive has INFO_UF2.TXT saying RPI-RP2.
DRIVE_GLOBS = ("/media/*/*", "/run/media/*/*", "/media/*", "/mnt/*", "/Volumes/*")
ESP32S3_OFFSET = 0x0  # MicroPython's esp32s3 .bin holds bootloader, partitions and app
PORT_TIMEOUT_S = 30
ESPTOOL_ATTEMPTS = 7


class InstallError(ToasterError):
    pass


# -- Raspberry Pi Pico: UF2 -----------------------------------------------------------------

def check_uf2(data, name):
    """Refuse a file that is not a complete RP2040 UF2 image."""
    if not data or len(data) % 512:
        raise InstallError("%s is not a UF2 image (its size is not a multiple of 512)" % name)
    families, blocks, total = set(), set(), None
    for offset in range(0, len(data), 512):
        m0, m1, flags, _, _, number, count, family = struct.unpack_from("<8I", data, offset)
        (m2,) = struct.unpack_from("<I", data, offset + 508)
        if (m0, m1, m2) != UF2_MAGIC:
            raise InstallError("%s is not a UF2 image (block %d has no UF2 magic)"
                               % (name, offset // 512))
        if flags & UF2_FLAG_FAMILY:
            families.add(family)
        if total is None:
            total = count
        if count != total or number >= count:
            raise InstallError("%s: inconsistent UF2 block numbers: damaged file" % name)
        blocks.add(number)
    if RP2040 not in families:
        raise InstallError("%s is not for the RP2040 of a Raspberry Pi Pico (it is for %s)"
                           % (name, ", ".join(UF2_FAMILIES.get(f, "0x%08X" % f)
                                              for f in sorted(families)) or "no family"))
    if len(blocks) != total:
        raise InstallError("%s is truncated: %d of its %d blocks" % (name, len(blocks), total))


def boot_drives():
    """Mounted RP2040 boot drives (folders with an INFO_UF2.TXT naming RPI-RP2)."""
    found = []
    for pattern in DRIVE_GLOBS:
        for folder in glob.glob(pattern):
            try:
                info = (Path(folder) / "INFO_UF2.TXT").read_text(errors="replace")
            except OSError:
                continue
            if "RPI-RP2" in info or "RP2040" in info:
                found.append(Path(folder))
    return found


def install_uf2(path, port, drive=None, say=print, timeout=PORT_TIMEOUT_S):
    """Copy a MicroPython .uf2 to the Pico's boot drive (or `drive`, a folder), then wait
    until `port` is there and MicroPython answers on it."""
    data = _read(path)
    check_uf2(data, path)
    if drive is None:
        say("looking for the Pico's boot drive (hold BOOTSEL while plugging it in)")
        end = time.monotonic() + timeout
        while not boot_drives():
            if time.monotonic() > end:
                raise InstallError("no RPI-RP2 boot drive mounted: hold BOOTSEL while "
                                   "plugging the Pico in (or name the drive with --drive)")
            time.sleep(0.5)
        drive = boot_drives()[0]
    drive = Path(drive)
    if not (drive / "INFO_UF2.TXT").is_file():
        raise InstallError("%s is not a UF2 boot drive (it has no INFO_UF2.TXT)" % drive)
    say("copying %s (%d kB) to %s" % (Path(path).name, len(data) // 1024, drive))
    target = drive / Path(path).name
    written = False
    try:
        with open(target, "wb") as f:
            f.write(data)
            written = True
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        # The Pico reboots as soon as it has the last block, so the drive can vanish
        # under the final flush; a failure before that is a real one.
        if not written or exc.errno not in (errno.EIO, errno.ENODEV, errno.ENOENT):
            raise InstallError("cannot write %s: %s" % (target, exc.strerror or exc))
    say("the Pico reboots into MicroPython; waiting for %s" % port)
    wait_for_micropython(port, timeout)


# -- ESP32-S3: esptool ----------------------------------------------------------------------

def check_esp32s3_image(data, name):
    """Refuse a file that is not an ESP32-S3 firmware image."""
    from esptool.bin_image import LoadFirmwareImage
    from esptool.targets.esp32s3 import ESP32S3ROM
    from esptool.util import FatalError
    try:
        img = LoadFirmwareImage("esp32s3", data)
    except (FatalError, struct.error, ValueError) as exc:
        raise InstallError("%s is not an ESP32 firmware image (%s)"
                           % (name, str(exc).splitlines()[0] or "too short"))
    if img.chip_id != ESP32S3ROM.IMAGE_CHIP_ID:
        raise InstallError("%s is built for another ESP32 chip (chip id %d), not the "
                           "ESP32-S3: download the ESP32_GENERIC_S3 firmware" % (name, img.chip_id))


def install_esp32s3(path, port, erase=False, say=print, attempts=ESPTOOL_ATTEMPTS,
                    timeout=PORT_TIMEOUT_S):
    """Write a MicroPython .bin at offset 0 with esptool, verify it, reset, and wait for
    MicroPython on `port`. erase=True erases the whole flash first (the filesystem too)."""
    from esptool.cmds import (attach_flash, detect_chip, reset_chip, run_stub, verify_flash,
                              write_flash)
    from esptool.util import FatalError
    data = _read(path)
    check_esp32s3_image(data, path)
    if not os.path.exists(port):
        raise PortMissing("no such port: %s (`toaster devices` lists the ports)" % port)
    try:
        with detect_chip(port, connect_attempts=attempts) as esp:
            if esp.CHIP_NAME != "ESP32-S3":
                raise InstallError("%s has an %s, not an ESP32-S3" % (port, esp.CHIP_NAME))
            esp = run_stub(esp)
            attach_flash(esp)
            write_flash(esp, [(ESP32S3_OFFSET, data)], erase_all=erase)
            verify_flash(esp, [(ESP32S3_OFFSET, data)])
            reset_chip(esp, "hard-reset")
    except FatalError as exc:
        message = str(exc).splitlines()[0]
        if "Failed to connect" in message:
            raise InstallError("no ESP32-S3 bootloader answered on %s: hold BOOT while "
                               "pressing RESET, then try again (%s)" % (port, message))
        raise InstallError("esptool: %s" % message)
    except OSError as exc:
        raise InstallError("esptool lost %s: %s" % (port, exc))
    say("MicroPython written and verified; waiting for it on %s" % port)
    wait_for_micropython(port, timeout)


# -- both ----------------------------------------------------------------------------------

def wait_for_micropython(port, timeout=PORT_TIMEOUT_S):
    """Wait until `port` exists and a MicroPython REPL answers on it."""
    from host.link import Link
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        if os.path.exists(port):
            try:
                with Link(port) as link:
                    link.enter()
                    link.leave()
                    return
            except LinkError as exc:
                last = exc
        time.sleep(0.3)
    raise InstallError("%s did not come up with MicroPython within %d s%s"
                       % (port, timeout, " (%s)" % last if last else ""))


def _read(path):
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InstallError("cannot read %s: %s" % (path, exc.strerror or exc))
