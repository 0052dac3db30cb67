"""The firmware toasting on the real simulator: MicroPython (96 KB heap) running the app
image, console on pipes, the simulator in lockstep (tests/firmware_sim.py)."""

import json
import random

import pytest

import firmware_sim as fs
from firmware import protocol
from host import image
from host.virtual_device import DeviceTimeout, VirtualDevice
from model_training import targets

CUTOFF_C = 250.0
MAX_TOAST_MS = 360000
# How far the chamber may climb past the cutoff after the heater goes off: the element
# (about 900 C) keeps radiating for a few seconds.
OVERSHOOT_C = 10.0
# What single readings add to that near 250 C: a count is 0.4 C and the ADC's noise 2.5
# counts rms, so over a minute of samples the highest reads about 3 C above the truth.
NOISE_C = 3.0


def max_temp_c(frames):
    return max(int(f["temp_dc"]) for f in fs.ticks(frames)) / 10.0


def test_medium_toast_ends_done_in_band(micropython):
    with fs.device() as dev:
        boot = dev.expect("B")
        assert boot["selftest"] == "ok" and boot["policy"] == "fallback"
        frames = fs.toast(dev, level=4)
        end = frames[-1]
        assert (end["to"], end["reason"]) == ("done", "policy"), end
        truth = dev.truth()
        assert not truth["heater_on"] and not truth["carriage_down"]
        assert targets.in_band(4, truth["delta_e"]), truth["delta_e"]
        assert {f["policy"] for f in fs.ticks(frames)} == {"fallback"}


def test_policy_that_never_stops_meets_the_time_limit(micropython):
    # A weak heater on low mains (600 W at 114 V) never gets the chamber near the cutoff.
    args = ["--region", "NA", "--heater-power", "600", "--mains-v", "114"]
    with fs.device(fs.ALWAYS, sim_args=args) as dev:
        assert dev.expect("B")["policy"] == "stub"
        frames = fs.toast(dev, level=7)
        end = frames[-1]
        assert (end["to"], end["reason"]) == ("done", "time_limit"), end
        start = next(f for f in frames if f["kind"] == "E" and f["to"] == "toasting")
        assert int(end["ms"]) - int(start["ms"]) == MAX_TOAST_MS
        after = dev.until(lambda f: f["kind"] == "T" and int(f["ms"]) > int(end["ms"]) + 30000)
        assert max_temp_c(frames + after) <= CUTOFF_C + OVERSHOOT_C
        assert not dev.truth()["heater_on"]


def test_policy_that_never_stops_meets_the_cutoff(micropython):
    # A hot toaster (third batch) on a strong heater at high mains reaches the cutoff first.
    args = ["--heater-power", "1500", "--mains-v", "250", "--batch", "3"]
    with fs.device(fs.ALWAYS, sim_args=args) as dev:
        dev.expect("B")
        frames = fs.toast(dev, level=7)
        end = frames[-1]
        assert (end["to"], end["reason"]) == ("fault", "overtemp"), end
        assert any(f["kind"] == "F" and f["code"] == "overtemp" for f in frames)
        # The true chamber, sampled as the firmware runs on (lockstep: every request sees
        # the latest state; the firmware's own reading comes every tick in its frames).
        chamber = 0.0
        while True:
            truth = dev.truth()
            chamber = max(chamber, truth["chamber_c"])
            if truth["t_ms"] > int(end["ms"]) + 60000:
                break
        after = dev.until(lambda f: f["kind"] == "T" and int(f["ms"]) > int(end["ms"]) + 60000)
        peak = max_temp_c(frames + after)
        assert CUTOFF_C <= peak <= CUTOFF_C + OVERSHOOT_C + NOISE_C, peak
        assert chamber <= CUTOFF_C + OVERSHOOT_C, chamber
        assert not truth["heater_on"] and not truth["fuse_open"]
        assert truth["outputs"]["buzzer"] == 1  # the overtemp alarm
        # latched: a new push on the lever does not heat while it is this hot
        dev.control("LEVER DOWN")
        more = dev.until(lambda f: f["kind"] == "T" and int(f["ms"]) > int(end["ms"]) + 70000)
        assert all(f["state"] == "fault" and f["heat"] == "0" for f in fs.ticks(more))


def test_power_up_with_the_lever_down_never_heats(micropython):
    with fs.device(sim_args=["--lever-down-at-boot"]) as dev:
        dev.control("LEVER HOLD")
        dev.expect("B")
        frames = dev.until(lambda f: f["kind"] == "T" and int(f["ms"]) >= 20000)
        assert {f["state"] for f in fs.ticks(frames)} == {"idle"}
        assert not any(e["kind"] == "relay_close" for e in dev.events())


def _same_toast(paused=False, garbage=False):
    """The reference toast at level 4; the host may stop reading, or send garbage
    throughout. Returns what the toaster did: heater-on time from the carriage push,
    heater-on duration, browning, the state transitions, the S frame after it, and the
    number of error replies."""
    with fs.device() as dev:
        boot = dev.expect("B")
        waiter = dev.sim.client()  # its own event cursor
        if paused:
            dev.pause_reading()
        dev.control("DIAL 4")
        dev.control("LEVER DOWN")
        rng = random.Random(5)
        while not waiter.call("WAIT carriage_up 20").startswith("OK"):
            if garbage:
                for _ in range(3):
                    dev.write(_garbage(rng, boot["boot_id"]))
        waiter.close()
        events = {e["kind"]: e["t_ms"] for e in dev.events()}
        truth = dev.truth()
        dev.resume_reading()
        frames = _status(dev)
    return {
        "on_after_push": events["relay_close"] - events["carriage_down"],
        "on_ms": events["relay_drop"] - events["relay_close"],
        "delta_e": truth["delta_e"],
        "transitions": [(f["from"], f["to"], f["reason"]) for f in frames if f["kind"] == "E"],
        "status": [f for f in frames if f["kind"] == "S"][-1],
        "errors": sum(1 for f in frames if f["kind"] == "R" and f["result"] == "err"),
    }


def _status(dev):
    """Frames up to an S frame. In lockstep the idle firmware runs far ahead of real time
    and a Python reader can fall behind: then frames drop, as designed, and the reply
    with them; ask again."""
    for _ in range(5):
        seq = dev.send("status")
        try:
            return dev.until(lambda f: f["kind"] == "S" or (
                f["kind"] == "R" and f["cmd_seq"] == str(seq) and f["result"] == "err"),
                timeout=3)
        except DeviceTimeout:
            continue
    raise AssertionError("no status reply in 5 tries")


def _alike(a, b):
    """The same toast, up to where the lever push fell within a control period (the idle
    firmware runs ahead of the test in lockstep, so the push lands at another phase and
    the sensors draw other noise)."""
    # the firmware sees the carriage at its next tick; the relay closes at the first
    # heartbeat edge, 20 ms into the wait
    assert a["on_after_push"] <= 120 and b["on_after_push"] <= 120
    assert abs(a["on_ms"] - b["on_ms"]) <= 200, (a["on_ms"], b["on_ms"])
    assert abs(a["delta_e"] - b["delta_e"]) <= 1.0, (a["delta_e"], b["delta_e"])


def _garbage(rng, boot_id):
    """Random bytes (no Ctrl-C: that one is meant to interrupt), damaged and replayed
    commands, commands for another boot."""
    pick = rng.random()
    if pick < 0.4:
        return bytes(rng.choice([b for b in range(256) if b != 3]) for _ in range(40)) + b"\n"
    frame = bytearray(protocol.encode("C", 1, 0, "-", (boot_id, "cancel", "-")))
    if pick < 0.8:
        while True:
            damaged = bytearray(frame)
            damaged[rng.randrange(len(frame) - 1)] ^= 1 << rng.randrange(8)
            if 3 not in damaged:
                return bytes(damaged)
    return protocol.encode("C", rng.randrange(1, 100), 0, "-", ("%08x" % rng.getrandbits(32),
                                                               "cancel", "-"))


def test_a_host_that_stops_reading_does_not_change_control(micropython):
    reading = _same_toast()
    deaf = _same_toast(paused=True)
    _alike(reading, deaf)
    # the deaf host lost a whole toast's frames ...
    assert int(deaf["status"]["dropped"]) > int(reading["status"]["dropped"]) + 100
    assert deaf["status"]["overruns"] == "0"         # ... and no tick started late


def test_garbage_on_the_command_channel_changes_nothing(micropython):
    clean = _same_toast()
    noisy = _same_toast(garbage=True)
    _alike(clean, noisy)
    # (a reader that falls behind the lockstep firmware may miss frames: the simulator's
    # record above is the complete one)
    expected = {("idle", "toasting", "lever"), ("toasting", "done", "policy"),
                ("done", "idle", "lever_up")}
    assert set(noisy["transitions"]) <= expected and set(clean["transitions"]) <= expected
    assert noisy["errors"] > 10
    # only the test's status commands spent numbers
    assert int(noisy["status"]["cmd_seq"]) == int(clean["status"]["cmd_seq"])


def test_a_hung_loop_drops_the_heater_and_resets_and_stays_off(micropython):
    # Lockstep with the stall clock: once the firmware is silent for 50 ms of wall time,
    # virtual time follows the wall clock, so the watchdogs see the hang.
    with fs.device(fs.HANG_AFTER_5S, stall_ms=50) as dev:
        dev.expect("B")
        dev.control("DIAL 4")
        dev.control("LEVER DOWN")
        frames = dev.until(lambda f: f["kind"] == "B", timeout=60)  # the reboot
        boot = frames[-1]
        tick = [f for f in fs.ticks(frames) if f["state"] == "toasting"][-1]
        # The tick whose sample says 5,000 ms of toasting hangs before its T frame: its
        # sample came at the end of the last wait, with the last heartbeat edge.
        hang = int(tick["ms"]) - int(tick["tt_ms"]) + 5000
        events = dev.events()
        drop = next(e for e in events if e["kind"] == "relay_drop")
        wdt = next(e for e in events if e["kind"] == "wdt")
        assert 0 < drop["t_ms"] - hang <= 100, (drop, hang)
        assert 0 < wdt["t_ms"] - hang <= 2000, (wdt, hang)
        assert boot["reset"] == "WDT"
        assert boot["policy"] == "fallback" and "model_off" in boot["selftest"]
        faults = dev.until(lambda f: f["kind"] == "F" and f["code"] == "reset_in_toast")
        assert [(f["code"], f["detail"]) for f in faults if f["kind"] == "F"] == [
            ("model", "after_reset"), ("reset_in_toast", "WDT")]
        later = dev.until(lambda f: f["kind"] == "T" and int(f["ms"]) >= 20000, timeout=60)
        assert all(f["heat"] == "0" for f in fs.ticks(later))
        assert not any(e["kind"] == "relay_close" for e in dev.events())
        assert not dev.truth()["heater_on"]


@pytest.fixture(scope="module")
def model_package(tmp_path_factory):
    """A real model package: `toaster train` on 30 simulated toasts."""
    from host import cli
    out = tmp_path_factory.mktemp("pkg") / "sim30"
    assert cli.main(["train", "--source", "sim", "--runs", "30", "--out", str(out), "--quiet",
                     "--no-firmware-check"]) == 0
    return out


def test_a_real_model_decides_when_it_fits_and_the_fallback_when_not(micropython,
                                                                      model_package):
    name = json.loads((model_package / "model.json").read_text())["name"]
    img = image.build("sim", model=model_package)
    with VirtualDevice(image=img) as dev:   # the device heap
        boot = dev.expect("B")
        assert (boot["policy"], boot["selftest"]) == (name, "ok")
        frames = fs.toast(dev, level=4)
        assert frames[-1]["reason"] == "policy"
        assert {f["policy"] for f in fs.ticks(frames) if f["state"] == "toasting"} == {name}
        assert targets.in_band(4, dev.truth()["delta_e"])
    # Room for the firmware only (72 KB on x64, a board's 36): the toaster says so and
    # toasts with the fallback.
    with VirtualDevice(image=img, heapsize="72K") as dev:
        boot = dev.expect("B")
        assert boot["policy"] == "fallback" and "model" in boot["selftest"].split("+")
        fault = dev.expect("F")
        assert fault["code"] == "model"
        assert fault["detail"] in ("load_ModelError", "load_MemoryError", "memory"), fault
        frames = fs.toast(dev, level=4)
        assert frames[-1]["reason"] == "policy"
        assert {f["policy"] for f in fs.ticks(frames) if f["state"] == "toasting"} == {
            "fallback"}
