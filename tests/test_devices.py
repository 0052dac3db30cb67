"""`toaster devices`: ports from pyserial's list_ports, marked, and probed by listening."""

import os
import threading
import tty

import pytest
from serial.tools.list_ports_common import ListPortInfo

import telemetry_frames as tf
from host import cli, devices
from host.link import open_serial


def info(device, vid=None, pid=None, manufacturer=None, product=None, serial=None):
    port = ListPortInfo(device, skip_link_detection=True)
    port.vid, port.pid, port.manufacturer, port.product = vid, pid, manufacturer, product
    port.serial_number = serial
    return port


@pytest.fixture
def usb(monkeypatch):
    found = [
        info("/dev/ttyS0"),
        info("/dev/ttyUSB0", 0x10C4, 0xEA60, "Silicon Labs", "CP2102N USB to UART"),
        info("/dev/ttyACM1", 0x1234, 0x0001, "Acme", "Gadget"),
        info("/dev/ttyACM0", 0x2E8A, 0x0005, "MicroPython", "Board in FS mode", "E661"),
    ]
    monkeypatch.setattr(devices.list_ports, "comports", lambda: found)


def test_micropython_boards_come_first_and_uarts_only_with_all(usb):
    listed = devices.ports()
    assert [(p.device, p.board, p.likely) for p in listed] == [
        ("/dev/ttyACM0", "rp2", "MicroPython"), ("/dev/ttyUSB0", "esp32s3", "maybe"),
        ("/dev/ttyACM1", None, "-")]
    assert "2e8a:0005, serial E661" in listed[0].description
    assert "/dev/ttyS0" in [p.device for p in devices.ports(all_ports=True)]


class Toaster(str):
    """The path of a pseudo-terminal with a 'toaster' ticking on the other end."""

    def reboot(self):
        os.write(self.master, tf.boot("0badcafe"))


@pytest.fixture
def toaster(tmp_path):
    master, slave = os.openpty()
    tty.setraw(slave)
    path = Toaster(os.ttyname(slave))
    path.master = master
    os.set_blocking(master, False)
    stop = threading.Event()

    def talk():
        seq = 1
        while not stop.wait(0.1):
            try:  # nobody reading: the frame is dropped, as the firmware does
                os.write(master, tf.tick(seq, seq * 500, session=0, state="idle"))
            except BlockingIOError:
                pass
            seq += 1
    thread = threading.Thread(target=talk, daemon=True)
    thread.start()
    yield path
    stop.set()
    thread.join()
    os.close(master)
    os.close(slave)


def test_probe_names_the_firmware_without_sending(toaster):
    assert devices.probe(toaster, seconds=0.3) == \
        "toaster firmware, model m1, state idle, 180.0 C"
    threading.Timer(0.2, toaster.reboot).start()  # a boot while listening tells more
    assert devices.probe(toaster, seconds=0.6) == \
        "toaster firmware, sim, fw 1.0 in slot a, boot 0badcafe, model m1, state idle, 180.0 C"


def test_probe_of_a_silent_busy_or_missing_port(tmp_path):
    master, slave = os.openpty()
    path = os.ttyname(slave)
    assert devices.probe(path, seconds=0.2).startswith("no toaster frames")
    held = open_serial(path)
    try:
        assert "in use by another program" in devices.probe(path, seconds=0.2)
    finally:
        held.close()
        os.close(master)
        os.close(slave)
    assert devices.probe(str(tmp_path / "gone")).startswith("no such port")


def test_cli_lists_and_probes_a_given_port(usb, toaster, capsys):
    assert cli.main(["devices", toaster]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["PORT", "BOARD", "LIKELY", "DESCRIPTION"]
    assert out[1].startswith("/dev/ttyACM0") and "MicroPython" in out[1]
    assert "no such port" in out[2]  # /dev/ttyACM0 does not exist here
    assert any(line.startswith(toaster) and "given" in line for line in out)
    assert out[-1].split("-> ")[1] == "toaster firmware, model m1, state idle, 180.0 C"
