# The control loop's state machine on MicroPython with a scripted board (run by
# tests/test_firmware_loop.py). The closed loop against the simulator is in
# tests/test_firmware_toast.py.
import time

import fakes
from firmware import flag as flag_bits
from firmware import loop as loop_mod
from firmware.commands import Commands
from firmware.guard import MAX_TOAST_MS, Guard
from firmware.loop import Loop
from firmware.policy import Fallback, Policy
from firmware.telemetry import Telemetry

BOOT_ID = "0badc0de"


class Model(Policy):
    """A stand-in model policy: answers from a script."""
    name = "stub"
    id = "feedc0de"

    def __init__(self, answer=True, after=None):
        self.answer = answer   # value, or callable(sample)
        self.after = after     # from this toast time (ms) on, answer False
        self.started = 0

    def start(self, level, sample):
        self.started += 1

    def decide(self, sample):
        if self.after is not None and sample.toast_ms >= self.after:
            return False
        return self.answer(sample) if callable(self.answer) else self.answer


def build(model=None, temp_c=25.0, flag=0, cause="POWERON", fault=None, lever=0):
    board = fakes.Board(temp_c)
    board.lever = lever
    console = fakes.Console()
    ntc = fakes.thermistor()
    lp = Loop(board, ntc, Guard(ntc, fakes.REF, 100), Fallback(), model, fakes.Colour(),
              Telemetry(console, model.id if model else "-"), Commands(BOOT_ID), fakes.DIAL,
              "test")
    lp.sense()
    lp.boot(flag, cause, fault)
    return lp, board, console


def ticks(lp, n=1, heating=None):
    """n control ticks; heating(board) may change the board's temperature each tick."""
    for _ in range(n):
        lp.tick()
        if lp._watchdog:
            lp.board.feed()
        if heating is not None:
            heating(lp.board)
        lp.board.wait(lp.board.now + 100, lp._heat)


def warm(board):
    """A chamber heating towards 230 C, cooling towards 25 C."""
    board.temp_c += (230.0 - board.temp_c) * 0.003 if board.heat_en else \
        (25.0 - board.temp_c) * 0.001


def toast(lp, board, level=4):
    board.dial = fakes.DIAL[0][level - 1]
    board.lever = 1
    ticks(lp, 1, warm)


def case_lever_starts_a_toast_heater_and_hold_on():
    lp, board, console = build()
    ticks(lp, 3)
    assert board.heat_en == 0 and lp.state == "idle"
    toast(lp, board, level=3)
    assert lp.state == "toasting" and lp.level == 3
    assert board.heat_en == 1 and board.hold == 1
    assert board.flag_value & flag_bits.TOASTING
    assert board.wdt_ms == loop_mod.WDT_MS
    assert ("idle", "toasting", "lever") in console.events()


def case_power_up_with_lever_down_never_heats():
    lp, board, console = build(lever=1)
    ticks(lp, 50, warm)
    assert lp.state == "idle" and board.heat_en == 0
    assert all(not b for b in board.beats)


def case_fallback_ends_the_toast_done():
    lp, board, console = build()
    toast(lp, board, level=1)
    ticks(lp, 2000, warm)
    assert lp.state in ("done", "idle")
    e = console.events()
    assert ("toasting", "done", "policy") in e, e
    assert board.heat_en == 0 and board.hold == 0
    assert not board.flag_value & flag_bits.TOASTING


def case_heartbeat_only_while_heating():
    lp, board, console = build()
    ticks(lp, 5)
    toast(lp, board, level=1)
    ticks(lp, 10, warm)
    board.lever = 0  # the user lifts the lever
    ticks(lp, 5, warm)
    assert board.beats[:5] == [0] * 5
    assert board.beats[5:16] == [1] * 11
    assert board.beats[-4:] == [0] * 4
    assert ("toasting", "cancelled", "lever_up") in console.events()


def case_cancel_button():
    lp, board, console = build()
    toast(lp, board)
    ticks(lp, 10, warm)
    board.cancel = 1
    ticks(lp, 1, warm)
    assert lp.state == "cancelled" and board.heat_en == 0 and board.hold == 0


def case_policy_that_never_stops_meets_the_time_limit():
    lp, board, console = build(Model(True))
    toast(lp, board)
    steps = 0
    while lp.state == "toasting":
        ticks(lp, 1, warm)
        steps += 1
        assert steps < MAX_TOAST_MS // 100 + 5
    assert ("toasting", "done", "time_limit") in console.events(), console.events()


def case_model_stops_early():
    model = Model(True, after=30000)
    lp, board, console = build(model)
    toast(lp, board)
    ticks(lp, 400, warm)
    assert model.started == 1
    assert ("toasting", "done", "policy") in console.events()
    t = console.kinds("T")
    assert t[-1][3] == "feedc0de"  # header: model id
    stop = [f for f in t if f[5] == "toasting"][-1]
    assert 29000 <= int(stop[6]) <= 30000, stop


def check_model_fault(answer, detail):
    model = Model(answer)
    lp, board, console = build(model)
    toast(lp, board, level=1)
    ticks(lp, 3, warm)
    faults = [f for f in console.kinds("F") if f[5] == "model"]
    assert faults and faults[0][6] == detail, (faults, detail)
    assert lp.policy is lp.fallback and lp.state == "toasting"
    ticks(lp, 2000, warm)
    assert ("toasting", "done", "policy") in console.events()  # the fallback ended it
    assert console.kinds("T")[-1][-3] == "fallback"


def case_model_nan_is_a_model_fault():
    check_model_fault(float("nan"), "output")


def case_model_number_is_a_model_fault():
    check_model_fault(0.7, "output")


def case_model_exception_is_a_model_fault():
    def boom(s):
        raise ValueError("bad tensor")
    check_model_fault(boom, "raised_ValueError")


def case_late_model_is_a_model_fault():
    def slow(s):
        time.sleep_ms(250)
        return True
    check_model_fault(slow, "late")


def case_colour_sensor_loss_is_a_model_fault():
    model = Model(True)
    lp, board, console = build(model)
    lp.colour.fail = True
    toast(lp, board)
    assert [f[6] for f in console.kinds("F")] == ["colour"]
    assert lp.policy is lp.fallback


def case_exception_in_the_tick_drops_the_heater_and_the_loop_goes_on():
    lp, board, console = build()
    toast(lp, board)
    board.stop_after = board.waits + 20
    original = board.read
    calls = [0]

    def flaky(s):
        calls[0] += 1
        if calls[0] == 5:
            raise RuntimeError("glitch")
        original(s)
    board.read = flaky
    feeds = board.feeds
    try:
        lp.run()
    except fakes.Stop:
        pass
    assert board.safe_calls == 1 and board.heat_en == 0 and board.hold == 0
    f = console.kinds("F")[-1]
    assert f[5:7] == ["exception", "RuntimeError"], f
    assert board.feeds == feeds + 19  # every tick but the failed one fed the watchdog
    assert lp.state in ("fault", "idle")


def case_fault_clears_only_with_lever_up():
    lp, board, console = build()
    toast(lp, board)
    board.adc = 0  # thermistor open
    ticks(lp, 1)
    assert lp.state == "fault" and board.heat_en == 0 and board.hold == 0
    assert [f[5] for f in console.kinds("F")] == ["ntc_open"]
    board.adc = None
    ticks(lp, 20)  # the lever is still held down
    assert lp.state == "fault"
    board.lever = 0
    ticks(lp, 1)
    assert lp.state == "idle" and ("fault", "idle", "cleared") in console.events()
    board.lever = 1  # a fresh start
    ticks(lp, 1, warm)
    assert lp.state == "toasting"


def case_watchdog_reset_boots_in_fault_and_never_resumes():
    lp, board, console = build(flag=flag_bits.TOASTING, cause="WDT")
    board.lever = 1  # the user still holds the lever
    ticks(lp, 100, warm)
    assert lp.state == "fault" and board.heat_en == 0
    assert console.kinds("F")[0][5] == "reset_in_toast"
    assert not board.flag_value & flag_bits.TOASTING
    board.lever = 0
    ticks(lp, 1)
    assert lp.state == "idle"


def case_welded_relay_survives_a_reset_in_the_flag():
    lp, board, console = build(lever=1)
    board.heat_sense = 1  # current with the heater off: welded contacts
    ticks(lp, 3)
    assert lp.fault == "relay_welded" and board.buzzer == 1
    flag = board.flag_value
    lp2, board2, console2 = build(flag=flag, cause="SOFT")
    assert lp2.state == "fault" and lp2.fault == "relay_welded"
    ticks(lp2, 10)
    assert lp2.state == "fault"


def case_commands_start_cancel_status():
    lp, board, console = build(lever=1)
    ticks(lp, 1)  # carriage down at power-up: idle, not toasting
    assert lp.state == "idle" and board.heat_en == 0
    console.lines.append(fakes.command(BOOT_ID, 1, "start", "2"))
    ticks(lp, 1, warm)
    assert lp.state == "toasting" and lp.level == 2
    assert console.kinds("R")[-1][4:] == ["1", "ok", "start"]
    console.lines.append(fakes.command(BOOT_ID, 2, "status"))
    ticks(lp, 1, warm)
    s = console.kinds("S")[-1]
    assert s[4] == "toasting" and s[5] == "2" and s[9] == BOOT_ID and s[10] == "2", s
    console.lines.append(fakes.command(BOOT_ID, 3, "cancel"))
    ticks(lp, 1, warm)
    assert lp.state == "cancelled" and board.heat_en == 0
    assert ("toasting", "cancelled", "cancel_command") in console.events()


def case_start_command_needs_the_carriage_down():
    lp, board, console = build()
    console.lines.append(fakes.command(BOOT_ID, 1, "start", "4"))
    ticks(lp, 1)
    assert console.kinds("R")[-1][4:] == ["1", "err", "lever_up"]
    assert lp.state == "idle" and board.heat_en == 0


def case_bad_commands_change_nothing():
    lp, board, console = build()
    toast(lp, board)
    ticks(lp, 5, warm)
    lines = [
        fakes.command("12345678", 1, "cancel"),             # another boot
        fakes.command(BOOT_ID, 1, "start", "9"),            # out of range
        fakes.command(BOOT_ID, 1, "cancel"),                # replay of a spent number
        fakes.command(BOOT_ID, 2, "cancel", "now"),         # argument where none belongs
        fakes.command(BOOT_ID, 3, "format", "-"),           # unknown verb
        fakes.command(BOOT_ID, 4, "cancel")[:-3] + b"000",  # damaged CRC
        b"~T,1,2,3*00000000",
        b"\xff\xfe garbage",
    ]
    for line in lines:
        console.lines.append(line)
        ticks(lp, 1, warm)
    assert lp.state == "toasting" and board.heat_en == 1
    replies = [r[5:] for r in console.kinds("R")]
    assert replies == [["err", "boot_id"], ["err", "range"], ["err", "replay"],
                       ["err", "range"], ["err", "verb"], ["err", "crc"], ["err", "crc"],
                       ["err", "framing"]], replies


def case_feedback_after_the_toast():
    lp, board, console = build()
    toast(lp, board, level=1)
    ticks(lp, 2000, warm)
    board.lever = 0
    ticks(lp, 10)
    board.fb_dark = 1
    ticks(lp, 1)
    board.fb_dark = 0
    k = console.kinds("K")
    assert len(k) == 1 and k[0][4] == "1" and k[0][5] == "1" and k[0][6] == "dark", k
    assert k[0][8] == "policy"
    console.lines.append(fakes.command(BOOT_ID, 1, "feedback", "light"))
    ticks(lp, 1)
    assert console.kinds("R")[-1][5:] == ["err", "state"]  # one rating per toast


def case_host_not_reading_changes_nothing_but_the_drop_count():
    runs = []
    for full in (False, True):
        lp, board, console = build()
        console.full = full
        toast(lp, board, level=2)
        ticks(lp, 2000, warm)
        runs.append((board.beats, lp.session, lp.state, lp.telemetry.dropped))
    assert runs[0][:3] == runs[1][:3]
    assert runs[0][3] == 0 and runs[1][3] > 100


def case_every_boot_fault_is_reported_and_the_permanent_one_holds():
    flag = flag_bits.with_fault(flag_bits.TOASTING, "relay_welded")
    lp, board, console = build(flag=flag, cause="WDT", fault="selftest")
    assert [f[5] for f in console.kinds("F")] == ["selftest", "relay_welded", "reset_in_toast"]
    assert [e[1:] for e in console.events()] == [("fault", "selftest")]
    assert lp.fault == "selftest"
    board.lever = 0
    ticks(lp, 50)
    assert lp.state == "fault" and board.heat_en == 0
