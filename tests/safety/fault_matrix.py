"""The fault-injection matrix: each fault case injected while toasting on the virtual device
(the real firmware on MicroPython against the simulator, tests/firmware_sim.py), in several
scenarios, judged by the simulator's truth: the worst chamber temperature, the heater's
on-time, how soon the heater went off after the fault, and what the firmware did after.

A case schedules simulator faults (control-role `FAULT ... at=`) and host actions at a
time into the toast; run(case, scenario) returns one row of measurements and the list of
pass criteria it broke (empty: no hazard)."""

import json
import random
import time
from dataclasses import dataclass

import firmware_sim as fs
from firmware import protocol
from firmware.guard import CUTOFF_DC, MAX_TOAST_MS
from host import image
from host.virtual_device import DeviceTimeout, VirtualDevice

# Scenario name -> (simulator options, dial level): bread, level, heater and a warm toaster.
SCENARIOS = {
    "white-L4-cold": ([], 4),
    "frozen-sourdough-L6-1500W-250V": (["--bread", "sourdough", "--start", "freezer",
                                        "--heater-power", "1500", "--mains-v", "250"], 6),
    "white-L7-warm": (["--batch", "2"], 7),
}
AT_MS = 5000                      # faults land this far into the toast
OVERSHOOT_C = 10.0                # the element radiates on for a few s after the cutoff
SAFE_CHAMBER_C = CUTOFF_DC / 10 + OVERSHOOT_C
FIRMWARE_CAP_S = MAX_TOAST_MS / 1000 + 1.0   # the guard's cap and one tick
FUZZ_FRAMES = 100                 # x3 lines: the firmware takes one line a tick (30 s)
RELAY_DROP_MS = 100               # R4: the charge pump drops the relay within 100 ms
PERIOD_MS = 100                   # the control loop's tick
WALL_S = 60.0                     # wall-clock bound of one run
POLL_S = 0.002                    # between TRUTH requests: the firmware needs the CPU
PUSH_MS = 300                     # the user's push on the lever lasts this long
AFTER_END_MS = 30000              # watched this long after the carriage comes up
OFF_EVENTS = ("relay_drop", "carriage_up", "fuse_open", "power_off")
ENDS = fs.ENDS


@dataclass
class Case:
    """One fault. faults: simulator FAULT arguments, injected AT_MS into the toast.
    action(dev): what the host or the user does then. off_ms: the heater must be off
    this long after the fault (None: no such requirement, the toast may go on). ends:
    the firmware states a toast may end in. codes: fault codes, one of which must be
    reported (F frame). cap_s: the heater-on bound. policy: a stand-in model policy."""
    name: str
    faults: tuple = ()
    action: object = None
    off_ms: int | None = None
    ends: tuple = ENDS
    codes: tuple = ()
    cap_s: float = FIRMWARE_CAP_S
    policy: str | None = None
    stall_ms: int | None = None
    prepare: object = None        # prepare(slot folder): change the installed files
    horizon_s: float = 420.0      # watched at most this long after the push (true time)
    safe_c: float = SAFE_CHAMBER_C
    fuse: bool = False            # the thermal fuse must have opened by the end
    at_ms: int = AT_MS            # when the faults land, from the push
    hangs: bool = False           # the policy hangs the loop: the fault is its last tick


# -- host and user actions -------------------------------------------------------------

def jam_carriage(dev):
    dev.control("LEVER HOLD")


def pause_host(dev):
    dev.pause_reading()


def ctrl_c_and_write(dev):
    """What a flashing tool does to a running board: Ctrl-C, the raw REPL, a file write.
    The write runs only once the loop has let go of the heater."""
    dev.write(b"\x03\x03")
    dev.wait_output(b">>> ", timeout=10)
    heater = dev.truth()["heater_on"]
    dev.write(b"\x01open('written.txt','w').write('flash')\x04")
    dev.wait_output(b"OK", timeout=10)
    return {"heater_on_at_write": heater}


def corrupted_commands(dev):
    """Serial fuzzing: random bytes, truncated frames, cancel frames through a 1e-3
    bit-error channel (only corrupted ones are sent) and replays of a spent number; then
    one valid command. Only valid commands may be accepted."""
    rng = random.Random(7)
    boot = dev.frames.boot["boot_id"]
    seq = dev.send("status")
    sent = 0
    for _ in range(FUZZ_FRAMES):
        frame = bytearray(protocol.encode("C", seq + 1, 0, "-", (boot, "cancel", "-")))
        for i in range(len(frame) - 1):
            for bit in range(8):
                if rng.random() < 1e-3:
                    frame[i] ^= 1 << bit
        if frame[:-1] == protocol.encode("C", seq + 1, 0, "-", (boot, "cancel", "-"))[:-1]:
            frame[rng.randrange(1, len(frame) - 1)] ^= 1 << rng.randrange(7)
        frame = frame.replace(b"\x03", b"\x04")  # a Ctrl-C byte is no frame error
        dev.write(bytes(frame) + bytes(rng.randrange(4, 127) for _ in range(rng.randrange(8))))
        dev.write(protocol.encode("C", seq, 0, "-", (boot, "cancel", "-")))   # a replay
        dev.write(bytes(frame[:rng.randrange(1, len(frame))]) + b"\n")        # truncated
        sent += 1
    return {"corrupted_sent": sent, "valid": [seq, dev.send("status")]}


def repeated_and_conflicting(dev):
    """Start again and again while toasting, then cancel and start at once: the cancel
    holds, and no command restarts the heater until the user pushes the lever again."""
    for _ in range(20):
        dev.send("start", "7")
    at_ms = dev.truth()["t_ms"]
    dev.send("cancel")
    for _ in range(20):
        dev.send("start", "7")
        dev.send("cancel")
    return {"at_ms": at_ms}


def press_forever(button):
    def press(dev):
        return {"at_ms": int(dev.control("BUTTON %s 1;TIME" % button).split()[-1])}
    return press


# -- flash faults (before boot) ----------------------------------------------------------

def flip_bit(rel, pick, mask):
    """A bit flipped in a file of the installed slot (the manifest keeps the built file's
    hash); pick(data) is the byte's index."""
    def flip(slot):
        path = slot / rel
        data = bytearray(path.read_bytes())
        data[pick(data)] ^= mask
        path.write_bytes(bytes(data))
    return flip


def middle(data):
    return len(data) // 2


def last_digit(data):
    """A number in a text file (a calibration constant, say): it still parses, only its
    hash tells."""
    return max(i for i, b in enumerate(data) if 0x30 <= b <= 0x38)


NAN = "        return float('nan')"
RAISES = "        raise ValueError('model broke')"
LATE = ("        import time\n"
        "        t = time.ticks_ms()\n"
        "        while time.ticks_diff(time.ticks_ms(), t) < 300:\n"
        "            pass\n"
        "        return True")
HANG = fs.HANG_AFTER_5S

CASES = [
    # the reference's ten, fault by fault
    # Welded while toasting: the carriage coming up at the end cuts the current.
    Case("relay_welded", ("relay_welded",), ends=("done",)),
    # Two failures (an order-2 cut set): only the one-shot fuse ends it. The simulated
    # max-on timer releases the carriage, which the jam holds (FMEA.md).
    Case("relay_welded_carriage_jammed", ("relay_welded",), action=jam_carriage,
         ends=("fault", "done"), codes=("relay_welded", "heating_while_off"),
         cap_s=float("inf"), safe_c=float("inf"), fuse=True, horizon_s=1200.0),
    Case("heartbeat_stuck_high", ("pin_stuck pin=heartbeat level=1",), off_ms=RELAY_DROP_MS,
         ends=("fault",), codes=("no_current",)),
    Case("heartbeat_stuck_low", ("pin_stuck pin=heartbeat level=0",), off_ms=RELAY_DROP_MS,
         ends=("fault",), codes=("no_current",)),
    Case("hung_loop", policy=HANG, hangs=True, stall_ms=100, off_ms=RELAY_DROP_MS,
         ends=("reset",), codes=("reset_in_toast",)),
    Case("ntc_open", ("ntc_open",), off_ms=300, ends=("fault",), codes=("ntc_open",)),
    Case("ntc_short", ("ntc_short",), off_ms=300, ends=("fault",), codes=("ntc_short",)),
    Case("ntc_detached", ("ntc_detached",), off_ms=40000, ends=("fault",),
         codes=("no_rise", "temp_jump")),
    Case("ntc_stuck", ("ntc_stuck",), off_ms=12000, ends=("fault",), codes=("ntc_stuck",)),
    # Reading low, too slowly for the rise check once hot: the fallback toasts longer.
    Case("ntc_drift_low", ("ntc_drift c_per_s=-0.6",), at_ms=30000, ends=("done", "fault")),
    Case("model_nan", policy=NAN, ends=("done",), codes=("model",)),
    Case("model_raises", policy=RAISES, ends=("done",), codes=("model",)),
    Case("model_late", policy=LATE, ends=("done",), codes=("model",)),
    Case("model_never_stops", policy=fs.ALWAYS, ends=("done", "fault")),
    Case("model_file_bit_flip", policy=fs.ALWAYS,
         prepare=flip_bit("model/model.json", middle, 0x10), ends=("done",), codes=("model",)),
    Case("firmware_file_bit_flip", prepare=flip_bit("board.json", last_digit, 0x01),
         ends=(), codes=("selftest",), cap_s=0.0),
    Case("serial_fuzzing", action=corrupted_commands, ends=("done",)),
    # With the MCU off nothing asks for time: stall_ms lets it run on the wall clock.
    Case("brownout", ("mains volts=90 for=300",), stall_ms=50, off_ms=RELAY_DROP_MS,
         ends=("reset",), codes=("reset_in_toast",)),
    # A power-on reset clears the flag; the carriage is up, so nothing can resume.
    Case("power_loss_and_return", ("power_loss for=1000",), stall_ms=50,
         off_ms=RELAY_DROP_MS, ends=("reset",)),
    # R12: the guard checks the tick clock against the second clock every ~1 s.
    Case("clock_fast_10pct", ("clock_skew factor=1.1",), off_ms=2000, ends=("fault",),
         codes=("clock",)),
    Case("clock_slow_10pct", ("clock_skew factor=0.9",), off_ms=2000, ends=("fault",),
         codes=("clock",)),
    # The Ctrl-C's way from the host into the console counts here, in virtual time that runs
    # on in lockstep meanwhile (600 ms seen on a busy machine); the firmware's own part is a
    # tick. What must hold is checked too: the heater is off before the write.
    Case("flash_write_while_heating", action=ctrl_c_and_write, stall_ms=100, off_ms=1000,
         ends=("reset",), codes=("reset_in_toast",)),
    # the extras; the E frame is among the frames dropped while the host was away.
    Case("host_stops_reading", action=pause_host, ends=("done", "-")),
    Case("colour_sensor_fails", ("colour_bus",), policy=fs.ALWAYS, ends=("done",),
         codes=("model",)),
    Case("bread_taken_out", ("no_bread",), ends=("done", "fault")),
    Case("empty_toaster", ("no_bread",), at_ms=0, ends=("done", "fault")),
    # One command per tick: the cancel waits behind the 20 starts sent before it.
    Case("repeated_conflicting_commands", action=repeated_and_conflicting, off_ms=2500,
         ends=("cancelled",)),
    Case("mains_surge_25pct", ("mains factor=1.25",), ends=("done", "fault")),
    Case("mains_sag_20pct", ("mains factor=0.8",), ends=("done",)),
    # components of the FMEA beyond the reference's list
    Case("heater_open_circuit", ("input_stuck pin=heat_sense level=0",), off_ms=300,
         ends=("fault",), codes=("no_current",)),
    Case("cancel_button_stuck", action=press_forever("cancel"), off_ms=300,
         ends=("cancelled",)),
    # The carriage stays down after the toast: the relay alone must keep the heater off.
    Case("carriage_jammed", action=jam_carriage, ends=("done",), horizon_s=300.0),
    Case("adc_reference_drift", ("ref_drift mv=200",), off_ms=300, ends=("fault",),
         codes=("adc_ref",)),
]
BY_NAME = {c.name: c for c in CASES}


def run(case, scenario):
    """(row, problems): the measurements of one case in one scenario, and every pass
    criterion it broke."""
    args, level = SCENARIOS[scenario]
    img = fs.app_image(case.policy)
    with _device(img, case, args) as dev:
        boot = dev.expect("B")
        ctl = dev.sim.client()
        try:
            return _toast(dev, ctl, case, level, boot)
        finally:
            ctl.close()


def _device(img, case, sim_args):
    dev = VirtualDevice(image=img, sim_args=sim_args, stall_ms=case.stall_ms)
    if case.prepare is not None:  # installed now, changed, and found installed at start
        case.prepare(dev.fs / image.install(img, dev.fs))
    return dev


def _toast(dev, ctl, case, level, boot):
    on0 = dev.truth()["heater_on_ms"]
    ctl.ok("DIAL %d" % level)
    # One request: in lockstep the firmware runs on between two, past a fault's time.
    faults = ["FAULT %s" % f if case.at_ms == 0 else "FAULT %s in=%d" % (f, case.at_ms)
              for f in case.faults]
    push = int(ctl.ok(";".join(faults + ["LEVER DOWN", "TIME"])).split()[-1])
    frames, worst, extra, acted, ended = [], 0.0, {}, None, None
    deadline = time.monotonic() + WALL_S
    while True:
        # Lockstep: the firmware runs ahead while we look; a TRUTH every POLL_S samples
        # the chamber every few hundred ms of its time (the thermal step is 250 ms).
        truth = dev.truth()
        now = truth["t_ms"]
        worst = max(worst, truth["chamber_c"])
        frames += _drain(dev)
        if case.action is not None and acted is None and now >= push + AT_MS:
            extra = case.action(dev) or {}
            acted = extra.pop("at_ms", now)
        if ended is None and now > push + PUSH_MS and not truth["heater_on"] and (
                not truth["carriage_down"] or truth["fuse_open"]):
            ended = now  # the toast is over for good: watch that it stays so
        if now >= min(push + case.horizon_s * 1000, (ended or now) + AFTER_END_MS):
            break
        time.sleep(POLL_S)
        if time.monotonic() > deadline:
            raise AssertionError("%s: true time stuck at %d ms%s" % (case.name, now,
                                                                   dev._context()))
    dev.resume_reading()
    # Every frame the firmware has written by now (in lockstep it runs ahead of the reader:
    # the fault's and the toast's end frames may still be in the pipe).
    dev.sync()
    frames += _drain(dev)
    events = json.loads(ctl.ok("EVENTS"))
    row = _measure(case, push, on0, worst, truth, events, frames, boot, acted)
    row.update(extra)
    return row, _judge(case, row)


def _drain(dev):
    out = []
    while True:
        try:
            out.append(dev.next(0))
        except DeviceTimeout:
            return out


def _measure(case, push, on0, worst, truth, events, frames, boot, acted):
    fault_t = _fault_time(case, events, frames, acted)
    on_at_fault = fault_t is not None and _on_at(events, fault_t)
    # The toast is over at the first switch-off after the fault (after the push, for a
    # fault there from the start); the heater may not come on again after that.
    off = [e["t_ms"] for e in events if e["kind"] in OFF_EVENTS
           and e["t_ms"] >= (push + PUSH_MS if fault_t is None else fault_t)]
    end_t = off[0] if off else None
    resumed = [e["t_ms"] for e in events if e["kind"] == "relay_close"
               and end_t is not None and e["t_ms"] > end_t]
    final = [f["state"] for f in frames if f["kind"] == "T"]
    return {
        "case": case.name,
        "worst_chamber_c": round(worst, 1),
        "heater_on_s": round((truth["heater_on_ms"] - on0) / 1000.0, 1),
        "fault_at_ms": None if fault_t is None else fault_t - push,
        "heater_on_at_fault": on_at_fault,
        "heater_off_after_fault_ms": end_t - fault_t if on_at_fault and off else None,
        "toast_end": _toast_end(frames),
        "state_after": final[-1] if final else "-",
        "codes": sorted({f["code"] for f in frames if f["kind"] == "F"}),
        "accepted": [int(f["cmd_seq"]) for f in frames if f["kind"] == "R"
                     and f["result"] == "ok"],
        "frames_dropped": max([int(f["dropped"]) for f in frames if f["kind"] == "T"] or [0]),
        "resets": [f["reset"] for f in frames if f["kind"] == "B"],
        "selftest": boot["selftest"],
        "heated_after_end_ms": resumed[0] - end_t if resumed else None,
        "fuse_open": truth["fuse_open"],
        "max_on_timer": any(e["kind"] == "max_on_timer" for e in events),
    }


def _toast_end(frames):
    """How the toast ended: the state its E frame went to, "reset" when the MCU reset
    first, "-" when the host saw neither (it was not reading)."""
    for f in frames:
        if f["kind"] == "B":
            return "reset"
        if f["kind"] == "E" and f["from"] == "toasting":
            return f["to"]
    return "-"


def _fault_time(case, events, frames, acted):
    """When the fault began (true ms): the simulator's fault event, the host's action,
    for a hang the end of the last tick the loop finished; None for a fault there from
    the start (a model's answers, a changed file)."""
    injected = [e["t_ms"] for e in events if e["kind"] == "fault"]
    if injected:
        return injected[0]
    if acted is not None:
        return acted
    ticks = [int(f["ms"]) for f in frames if f["kind"] == "T" and f["state"] == "toasting"]
    return ticks[-1] + PERIOD_MS if case.hangs and ticks else None


def _on_at(events, t):
    relay = carriage = False
    for e in events:
        if e["t_ms"] >= t:  # what happened in the fault's own ms is its effect
            break
        if e["kind"] in ("relay_close", "relay_drop"):
            relay = e["kind"] == "relay_close"
        elif e["kind"] in ("carriage_down", "carriage_up"):
            carriage = e["kind"] == "carriage_down"
    return relay and carriage


def _judge(case, row):
    problems = []
    if row["worst_chamber_c"] > case.safe_c:
        problems.append("chamber reached %.1f C (limit %.1f)" % (row["worst_chamber_c"],
                                                                case.safe_c))
    if row["heater_on_s"] > case.cap_s:
        problems.append("heater on %.1f s (cap %.1f)" % (row["heater_on_s"], case.cap_s))
    off = row["heater_off_after_fault_ms"]
    if case.off_ms is not None and not row["heater_on_at_fault"]:
        problems.append("the fault missed the heating (at %s ms)" % row["fault_at_ms"])
    elif case.off_ms is not None and (off is None or off > case.off_ms):
        problems.append("heater off %s ms after the fault (limit %d)" % (off, case.off_ms))
    if row["heated_after_end_ms"] is not None:
        problems.append("heating resumed %d ms after the toast ended"
                        % row["heated_after_end_ms"])
    if case.ends and row["toast_end"] not in case.ends:
        problems.append("toast ended %s, expected %s" % (row["toast_end"], "/".join(case.ends)))
    if case.codes and not set(case.codes) & set(row["codes"]):
        problems.append("no fault %s reported (got %s)" % ("/".join(case.codes), row["codes"]))
    if case.fuse and not row["fuse_open"]:
        problems.append("the thermal fuse did not open")
    if "valid" in row and not set(row["accepted"]) <= set(row["valid"]):
        problems.append("commands accepted %s, sent valid %s" % (row["accepted"], row["valid"]))
    # Resynced: the valid command after the garbage was answered (unless its answer was
    # among the frames dropped when the host lagged: a loaded machine in lockstep).
    if "valid" in row and row["valid"][-1] not in row["accepted"] and not row["frames_dropped"]:
        problems.append("no answer to the valid command after the garbage")
    if row.get("heater_on_at_write"):
        problems.append("the file write ran with the heater on")
    return problems
