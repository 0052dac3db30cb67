"""The virtual device harness (host/virtual_device.py) with the console on pipes: the real
simulator, the real MicroPython, resets and restarts, commands, a host that stops
reading. Restarts are checked with a tiny firmware of our own (it does exactly what a
test asks); the rest with the checkout's firmware."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from host import image
from host.errors import ToasterError
from host.virtual_device import DeviceTimeout, SimulatorError, VirtualDevice

TINY_APP = b"""
# Says HELLO to the simulator, reports the reset cause in a boot frame, then does what
# the host asks: hang (the watchdog runs out), reset (machine.reset() as the sim board
# does it), heat (heater enable on).
import os, select, socket, struct, sys

from firmware import protocol


def main():
    sim = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path = os.getenv("TOASTER_SIM_SOCKET").encode()
    sim.connect(struct.pack("H", socket.AF_UNIX) + path + b"\\x00")

    def call(line):
        sim.write(line.encode() + b"\\n")
        return sim.readline().decode().split()

    hello = call("HELLO mcu 1")
    sys.stdout.write(protocol.encode("B", 0, int(hello[1]), "-", (
        1, "tiny", __file__.split("/")[0], "sim", hello[2], "tiny", "-", "ok")))
    poll = select.poll()
    poll.register(sys.stdin, select.POLLIN)
    line = b""
    while True:
        if not poll.poll(1000):
            continue
        c = sys.stdin.buffer.read(1)
        if c == b"\\x03":
            raise KeyboardInterrupt
        if c != b"\\n":
            line += c
            continue
        if line == b"hang":
            call("WDT 500")
            while True:
                call("SLEEP 100")
        if line == b"reset":
            call("RESET HARD")
            sys.exit()
        if line == b"heat":
            call("SET heat_en 1")
        line = b""
"""


def tiny_image():
    return image.Image("sim", "tiny", {
        "firmware/__init__.py": b"",
        "firmware/app.py": TINY_APP,
        "firmware/protocol.py": (image.FIRMWARE / "protocol.py").read_bytes(),
        "board.json": b"{}",
    })


@pytest.fixture
def tiny(micropython):
    with VirtualDevice(image=tiny_image()) as dev:
        assert dev.expect("B", timeout=20)["reset"] == "POWERON"
        yield dev


@pytest.fixture(scope="module")
def firmware_image():
    return image.build("sim")


@pytest.fixture
def device(micropython, firmware_image):
    with VirtualDevice(image=firmware_image) as dev:
        yield dev


def test_watchdog_reset_restarts_the_firmware_with_the_heater_off(tiny):
    tiny.write(b"heat\n")
    tiny.write(b"hang\n")
    assert tiny.expect("B", timeout=20)["reset"] == "WDT"
    assert tiny.truth()["outputs"]["heat_en"] == 0
    assert tiny.exits[-1][1] == "WDT"


def test_machine_reset_restarts_the_firmware(tiny):
    tiny.write(b"reset\n")
    assert tiny.expect("B", timeout=20)["reset"] == "HARD"


def test_soft_reset_at_the_repl_restarts_the_firmware(tiny):
    tiny.write(b"\x03")            # KeyboardInterrupt: to the REPL, as on a board
    tiny.write(b"print(6 * 7)\n")
    tiny.wait_output(b"42")
    tiny.write(b"\x04")            # Ctrl-D: soft reset
    assert tiny.expect("B", timeout=20)["reset"] == "SOFT"
    assert tiny.boots == 2 and tiny.exits == [(0, "SOFT")]


def test_machine_reset_typed_at_the_repl(tiny):
    # The unix port has no machine.reset(): the virtual board provides it.
    tiny.write(b"\x03")
    tiny.write(b"import machine; machine.reset()\n")
    assert tiny.expect("B", timeout=20)["reset"] == "HARD"


def test_simulator_reset_of_any_cause_reboots(tiny):
    for cause in ("BROWNOUT", "HARD", "WDT"):
        tiny.control("RESET " + cause)
        assert tiny.expect("B", timeout=20)["reset"] == cause
    assert [cause for _, cause in tiny.exits] == ["BROWNOUT", "HARD", "WDT"]


def test_toast_with_the_checkout_firmware(device, firmware_image):
    boot = device.expect("B", timeout=20)
    assert (boot["fw"], boot["slot"], boot["board"], boot["reset"], boot["selftest"]) == (
        firmware_image.version, "a", "sim", "POWERON", "ok")
    device.control("DIAL 4")
    waiter = device.sim.client()
    device.control("LEVER DOWN")
    frames = device.until(lambda f: f["kind"] == "E" and f["from"] == "toasting",
                          timeout=60)
    assert frames[-1]["to"] == "done", frames[-1]
    ticks = [f for f in frames if f["kind"] == "T" and f["state"] == "toasting"]
    assert len(ticks) > 100 and all(f["heat"] in "01" for f in ticks)
    # The E frame leaves in the tick that decides; the outputs go with that tick's wait.
    waiter.ok("WAIT carriage_up 20000")
    waiter.close()
    assert device.truth()["heater_on"] is False


def test_commands_carry_boot_id_and_sequence(device):
    device.expect("B", timeout=20)
    first = device.send("status")
    reply = device.expect(lambda f: f["kind"] == "R", timeout=10)
    assert (reply["cmd_seq"], reply["result"]) == (str(first), "ok")
    second = device.send("start", 9)   # out of range: refused, nothing changes
    reply = device.expect(lambda f: f["kind"] == "R", timeout=10)
    assert (second, reply["result"], reply["detail"]) == (first + 1, "err", "range")


def test_host_that_stops_reading_makes_the_device_drop_frames(micropython, firmware_image):
    with VirtualDevice(image=firmware_image, pipe_size=4096) as dev:
        dev.expect("B", timeout=20)
        dev.pause_reading()
        t0 = int(dev.control("TIME"))
        time.sleep(1.0)
        # The firmware went on: virtual time ran far beyond what 4 KB of frames cover...
        assert int(dev.control("TIME")) - t0 > 40 * 500
        dev.resume_reading()
        # ...and it counted what it could not send (the frames still in the pipe left before
        # most of the drops: the count shows in a later one).
        dev.expect(lambda f: f["kind"] == "T" and int(f["dropped"]) > 10, timeout=20)


def test_a_reader_that_falls_behind_loses_nothing_in_lockstep(micropython, firmware_image):
    # The console is paced: lockstep time waits for a reader a quarter of the pipe behind,
    # as a serial link carries everything; one that reads nothing for two seconds is taken
    # for gone, and then the firmware drops frames again.
    with VirtualDevice(image=firmware_image) as dev:
        dev.expect("B", timeout=20)
        dev.pause_reading()
        t0 = int(dev.control("TIME"))
        time.sleep(1.0)
        held = int(dev.control("TIME")) - t0
        dev.resume_reading()
        frames = dev.until(lambda f: f["kind"] == "T" and int(f["ms"]) > t0 + held + 5000)
        seqs = [int(f["seq"]) for f in frames]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
        assert {f["dropped"] for f in frames if f["kind"] == "T"} == {"0"}
        dev.pause_reading()
        dev.control("LEVER DOWN")   # a toast: a frame every tick
        time.sleep(3.5)
        assert int(dev.control("TIME")) - t0 > held + 60 * 1000
        dev.resume_reading()
        assert int(dev.expect(lambda f: f["kind"] == "T" and f["dropped"] != "0")["dropped"])


ORPHAN = """
import os, sys
from host.virtual_device import VirtualDevice
dev = VirtualDevice().start()
dev.expect("B", timeout=30)
dev.control("LEVER DOWN")
print(dev.sim.proc.pid, dev._proc.pid, flush=True)
os.kill(os.getpid(), 9)   # the host dies without a word
"""


def test_a_device_whose_host_has_died_ends(micropython):
    # In lockstep the simulator and the firmware would otherwise run on at full speed.
    out = subprocess.run([sys.executable, "-c", ORPHAN], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1], timeout=60).stdout
    pids = [int(p) for p in out.split()]
    assert len(pids) == 2, out
    deadline = time.monotonic() + 5
    while any(map(_running, pids)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in pids if _running(pid)]


def _running(pid):
    try:
        state = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"   # a zombie has ended; reaping it is its new parent's business


def test_sync_brings_every_frame_written_so_far(device):
    # In lockstep the firmware runs far ahead of the reader: after sync() the queue holds
    # the frame of the last tick that wrote one before the call (idle: every 500 ms).
    device.expect("T", timeout=20)
    last = 0
    for _ in range(20):
        now = int(device.control("TIME"))
        device.sync()
        while device.frames.queue:
            frame = device.next(0)
            last = int(frame["ms"]) if frame["kind"] == "T" else last
        assert last >= now - 600, (now, last)


def test_frames_are_queued_up_to_a_bound(micropython, firmware_image):
    with VirtualDevice(image=firmware_image, pipe_size=4096) as dev:
        dev.frames.limit = 50
        time.sleep(1.0)
        assert len(dev.frames.queue) < 50 + 50   # the last read may overshoot by a pipe
        dev.frames.limit = 10 ** 6
        tick = dev.expect(lambda f: f["kind"] == "T" and int(f["dropped"]) > 0, timeout=20)
        assert int(tick["dropped"]) > 0


def test_scenario_options_reach_the_simulator(micropython):
    with VirtualDevice(image=tiny_image(), sim_args=["--bread", "brioche", "--level", "6"]
                       ) as dev:
        dev.expect("B", timeout=20)
        scenario = json.loads(dev.control("SCENARIO"))
        assert (scenario["bread"], scenario["level"]) == ("brioche", 6)


def test_bad_scenario_is_the_simulators_message(micropython):
    with pytest.raises(SimulatorError, match="brioch"):
        VirtualDevice(image=tiny_image(), sim_args=["--bread", "brioch"]).start()


def test_control_error_is_raised(tiny):
    with pytest.raises(SimulatorError, match="unknown command"):
        tiny.control("FROB")


def test_existing_device_folder_is_used_as_it_is(tmp_path, micropython):
    fs = tmp_path / "fs"
    image.install(tiny_image(), fs)
    (fs / "note.txt").write_text("kept")
    with VirtualDevice(fs) as dev:
        assert dev.expect("B", timeout=20)["fw"] == "tiny"
    assert (fs / "note.txt").read_text() == "kept" and image.active_slot(fs) == "a"


def test_folder_that_is_not_a_device_is_refused(tmp_path):
    (tmp_path / "thesis.tex").write_text("precious")
    with pytest.raises(ToasterError, match="neither empty nor a device folder"):
        VirtualDevice(tmp_path).start()
    assert (tmp_path / "thesis.tex").read_text() == "precious"


def test_one_device_per_folder(tiny):
    with pytest.raises(ToasterError, match="in use by another virtual device"):
        VirtualDevice(tiny.fs).start()
    assert tiny.control("STATUS")   # the first one runs on


def test_timeout_says_what_the_console_showed(tiny):
    tiny.write(b"\x03")
    with pytest.raises(DeviceTimeout, match="KeyboardInterrupt"):
        tiny.expect("T", timeout=0.5)


def test_realtime_device_keeps_to_the_wall_clock(micropython, firmware_image):
    with VirtualDevice(image=firmware_image, realtime=True) as dev:
        first = dev.expect("T", timeout=20)
        t0 = time.monotonic()
        last = dev.expect(lambda f: f["kind"] == "T" and int(f["ms"]) >= int(first["ms"]) + 1500,
                          timeout=20)
        wall_ms = (time.monotonic() - t0) * 1000
        assert abs(wall_ms - (int(last["ms"]) - int(first["ms"]))) < 300
