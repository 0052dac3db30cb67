"""The virtual device behind a pseudo-terminal: mpremote and pyserial use its port as a USB
board's, the port stays open across resets, a host that stops reading makes the device
drop frames; and `toaster virtual-device` as a user runs it."""

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import serial

from firmware import protocol
from host import image
from host.virtual_device import VirtualDevice


@pytest.fixture(scope="module")
def firmware_image():
    return image.build("sim")


@pytest.fixture
def device(micropython, firmware_image):
    with VirtualDevice(image=firmware_image, console="pty") as dev:
        yield dev


def mpremote(port, *args, timeout=30):
    proc = subprocess.run([sys.executable, "-m", "mpremote", "connect", port] + list(args),
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def frame(ser, match, timeout=20.0):
    """The first frame read from the port that match(frame dict) accepts."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = ser.readline()
        start = line.find(b"~")
        if start < 0:
            continue
        try:
            f = protocol.as_dict(protocol.decode(line[start:]))
        except protocol.FrameError:
            continue
        if match(f):
            return f
    raise AssertionError("no matching frame within %.0f s" % timeout)


def boot_frame(ser, reset, timeout=20.0):
    """The boot frame after a reset of this cause (pyserial flushes the port when it
    opens it, so an earlier boot frame may or may not be there)."""
    return frame(ser, lambda f: f["kind"] == "B" and f["reset"] == reset, timeout)


def test_mpremote_exec_copy_and_hash(device, tmp_path):
    assert mpremote(device.port, "resume", "exec", "print(6 * 7)").strip() == "42"
    local = tmp_path / "notes.txt"
    local.write_bytes(os.urandom(3000))
    mpremote(device.port, "resume", "fs", "cp", str(local), ":notes.txt")
    assert (device.fs / "notes.txt").read_bytes() == local.read_bytes()
    out = mpremote(device.port, "resume", "sha256sum", ":notes.txt")
    assert hashlib.sha256(local.read_bytes()).hexdigest() in out
    listing = mpremote(device.port, "resume", "fs", "ls")
    assert "notes.txt" in listing and "main.py" in listing and "a/" in listing


def test_mpremote_without_resume_and_reset(device):
    # Without `resume` mpremote soft-resets through the raw REPL first, as on a board
    # (which then stays in the raw REPL: main.py does not run).
    assert mpremote(device.port, "exec", "print('fresh')").strip() == "fresh"
    mpremote(device.port, "soft-reset")
    with serial.Serial(device.port, timeout=0.2) as ser:
        mpremote(device.port, "reset")   # machine.reset(): the firmware boots again
        boot_frame(ser, "HARD")
    # exec, soft-reset, and reset each soft-reset first; then machine.reset().
    assert [cause for _, cause in device.exits] == ["SOFT", "SOFT", "SOFT", "HARD"]


def test_pyserial_reads_boot_and_tick_frames_across_resets(device):
    with serial.Serial(device.port, timeout=0.2) as ser:
        device.control("RESET WDT")
        boot = boot_frame(ser, "WDT")
        assert (boot["slot"], boot["board"], boot["selftest"]) == ("a", "sim", "ok")
        tick = frame(ser, lambda f: f["kind"] == "T")
        assert int(tick["seq"]) > 0
        ser.write(b"\x03")             # Ctrl-C: heater off, to the REPL
        ser.write(b"\x04")             # Ctrl-D: soft reboot, the firmware starts again
        boot_frame(ser, "SOFT")
        assert os.path.exists(device.port)


def test_host_that_stops_reading_makes_the_device_drop_frames(device):
    with serial.Serial(device.port, timeout=0.2) as ser:
        frame(ser, lambda f: f["kind"] == "T")   # the firmware is up
        t0 = int(device.control("TIME"))
        device.control("LEVER DOWN")   # a toast: a tick frame every 100 ms
        # Lockstep time waits for a reader that is behind, for 2 s (the console is paced);
        # then the reader counts as gone.
        time.sleep(3.5)
        assert int(device.control("TIME")) - t0 > 60000   # the firmware went on
        ser.reset_input_buffer()
        tick = frame(ser, lambda f: f["kind"] == "T" and int(f["dropped"]) > 0)
        assert int(tick["dropped"]) > 0


def children(pid):
    """Process ids whose parent is pid (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid):
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_toaster_virtual_device_runs_until_a_signal_and_cleans_up(tmp_path, micropython, sig):
    fs = tmp_path / "new-device"
    proc = subprocess.Popen([sys.executable, "-m", "host.cli", "virtual-device", "--fs", str(fs),
                             "--bread", "sourdough"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    kids = []
    try:
        port = proc.stdout.readline().strip()
        assert port.startswith("/dev/pts/"), proc.stderr.read()
        kids = children(proc.pid)
        assert len(kids) == 2   # the simulator and MicroPython
        with serial.Serial(port, timeout=0.2) as ser:
            mpremote(port, "resume", "reset")
            boot_frame(ser, "HARD")
        kids = children(proc.pid)   # MicroPython is a new process after the reset
        assert len(kids) == 2
        proc.send_signal(sig)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:   # a failed test leaves nothing running behind
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                for pid in kids:
                    if alive(pid):
                        os.kill(pid, signal.SIGKILL)
    err = proc.stderr.read()
    assert "MCU reset (HARD)" in err and "stopped" in err
    assert "installed into slot a of %s" % fs in err
    socket_path = err.split("simulator control socket ")[1].split()[0]
    assert not any(alive(pid) for pid in kids)
    assert not os.path.exists(socket_path) and not os.path.exists(Path(socket_path).parent)
    # The new folder got the checkout's firmware, and keeps it.
    assert image.active_slot(fs) == "a" and (fs / "main.py").exists()


def test_toaster_virtual_device_refuses_a_bad_scenario(micropython):
    proc = subprocess.run([sys.executable, "-m", "host.cli", "virtual-device", "--thickness",
                           "2"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("toaster: ") and "thickness" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_toaster_telemetry_record_on_the_port(device, tmp_path):
    out = tmp_path / "rec"
    proc = subprocess.run([sys.executable, "-m", "host.cli", "telemetry", "record", "--port",
                           device.port, "--out", str(out), "--duration", "1.5", "--quiet"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in (out / "device.jsonl").read_text().splitlines()]
    ticks = [r for r in records if r["kind"] == "T"]
    assert len(ticks) > 20 and {r["state"] for r in ticks} == {"idle"}
    # Every frame the device sent was recorded: what is missing, the device dropped and
    # counted (lockstep outruns a busy reader).
    missing = int(re.search(r", missing (\d+),", proc.stdout).group(1))
    assert missing == ticks[-1]["dropped"] - ticks[0]["dropped"], proc.stdout


def test_scenario_options_reach_the_simulator_as_given():
    import argparse

    from hardware.simulator.options import add_scenario_arguments, scenario_from_args
    from host import cli
    from host.commands.virtual_device import simulator_args

    given = ["--bread", "brioche", "--thickness", "14.5", "--start", "freezer",
             "--fault", "ntc_open@30000", "--fault", "relay_welded", "--lever-down-at-boot",
             "--seed", "3"]
    ours = cli.build_parser().parse_args(["virtual-device", "--realtime"] + given)
    simulator = argparse.ArgumentParser()
    add_scenario_arguments(simulator)
    handed = simulator.parse_args(simulator_args(ours))
    assert scenario_from_args(handed) == scenario_from_args(simulator.parse_args(given))
    assert "--realtime" not in simulator_args(ours)
