"""Serial ports, which of them are likely MicroPython boards, and (on request) what a
port is saying: the toaster firmware's frames, heard without interrupting it."""

from dataclasses import dataclass

from serial.tools import list_ports

# USB vendor and (vendor, product) ids seen on the boards the toaster runs on.
MICROPYTHON_USB = {
    (0x2E8A, 0x0005): "rp2",      # MicroPython's own USB device on an RP2040
    (0x303A, 0x4001): "esp32s3",  # MicroPython's TinyUSB CDC on an ESP32-S2/S3
    (0xF055, 0x9800): None,       # MicroPython pyboard
}
VENDORS = {
    0x2E8A: ("rp2", "Raspberry Pi"),
    0x303A: ("esp32s3", "Espressif native USB"),
    0x10C4: ("esp32s3", "CP210x USB-UART bridge"),
    0x1A86: ("esp32s3", "CH340/CH9102 USB-UART bridge"),
    0x0403: (None, "FTDI USB-UART bridge"),
}


@dataclass
class Port:
    device: str
    board: str | None     # the board it probably is
    likely: str           # "MicroPython", "maybe", or "-"
    description: str


def describe(info):
    """A Port for one of pyserial's ListPortInfo."""
    vid, pid = info.vid, info.pid
    text = info.product or info.description or "-"
    if vid is not None:
        text += " (%04x:%04x%s)" % (vid, pid or 0, ", serial %s" % info.serial_number
                                     if info.serial_number else "")
    if (vid, pid) in MICROPYTHON_USB or (info.manufacturer or "").lower() == "micropython":
        board = MICROPYTHON_USB.get((vid, pid)) or VENDORS.get(vid, (None,))[0]
        return Port(info.device, board, "MicroPython", text)
    if vid in VENDORS:
        board, who = VENDORS[vid]
        return Port(info.device, board, "maybe", "%s: %s" % (who, text))
    return Port(info.device, None, "-", text)


def ports(all_ports=False):
    """The serial ports, likely boards first. Without all_ports, only USB ones: built-in
    UARTs (/dev/ttyS*) are never a toaster."""
    found = [describe(info) for info in list_ports.comports()
             if all_ports or info.vid is not None]
    rank = {"MicroPython": 0, "maybe": 1, "-": 2}
    return sorted(found, key=lambda p: (rank[p.likely], p.device))


def probe(device, seconds=1.2):
    """What a port says within `seconds` (an idle toaster ticks every 500 ms), without
    sending anything: one line."""
    from firmware import protocol
    from host.link import LinkError, open_serial
    from host.telemetry.framing import listen
    try:
        ser = open_serial(device, timeout=0.05)
    except LinkError as exc:
        return str(exc)
    try:
        heard = listen(ser, seconds)
    except OSError as exc:
        return "cannot read: %s" % exc
    finally:
        ser.close()
    if not heard:
        return "no toaster frames (not the toaster firmware, or not running)"
    boot = next((f for f in heard if f["kind"] == "B"), None)
    status = next((f for f in reversed(heard) if f["kind"] in ("T", "S")), None)
    parts = ["toaster firmware"]
    if boot is not None:
        if boot["proto"] != str(protocol.VERSION):
            parts.append("PROTOCOL %s (this host knows %d)" % (boot["proto"],
                                                               protocol.VERSION))
        parts.append("%s, fw %s in slot %s, boot %s" % (boot["board"], boot["fw"],
                                                        boot["slot"], boot["boot_id"]))
    last = status or heard[-1]
    parts.append("model %s" % last["model"])
    if status is not None:
        parts.append("state %s" % status["state"])
        if status.get("temp_dc") not in (None, "-"):
            parts.append("%.1f C" % (int(status["temp_dc"]) / 10))
    return ", ".join(parts)
