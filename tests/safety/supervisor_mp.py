# The supervisor's invariants under arbitrary inputs, on MicroPython (started by
# tests/safety/test_supervisor_properties.py): one JSON example per stdin line, one JSON
# verdict per stdout line, so that one process serves a whole hypothesis run. The real
# Loop.run and Guard drive the scripted board of tests/firmware_cases; the clock the loop
# times the model with is scripted too, so a slow model costs no real time.
#
# An example is {"start_c": chamber temperature at boot, "skew": the tick clock's rate
# against the second clock (the RTC) from tick "skew_at" on, "runs": [[n, tick], ...]}:
# each tick repeated n times; a tick is [dtemp, adc, lever, cancel, sense, ref, model, cmd, skip,
# fail]: the chamber temperature change (C), raw ADC counts (-1: from the temperature), the
# lever and cancel inputs, the heater current sense (-1: as the hardware), the reference
# offset (counts), the model's answer from now on (1 + an index into ANSWERS; 0: as before),
# a host command (see command(), 0 = none), time lost before the next tick (ms), and a
# failed sensor read.
import gc
import json
import sys

import fakes
import loop_cases
from firmware import loop as loop_mod
from firmware.guard import CUTOFF_DC, MAX_TOAST_MS
from firmware.policy import Policy

ANSWERS = (True, False, float("nan"), float("inf"), float("-inf"), 2.5, None, "raise", "late")
LATE_US = 250000  # past the loop's 200 ms deadline
CLOCK_OFF = 0.05  # the guard's tolerance between the two clocks ...
CLOCK_WITHIN_MS = 2100  # ... and how soon a larger difference must stop the heater


class Violation(BaseException):
    pass


class Clock:
    """loop.py's `time` module, scripted: ticks_us moves on when the model is late."""

    def __init__(self):
        self.us = 0

    def ticks_us(self):
        self.us += 1
        return self.us

    def ticks_diff(self, a, b):
        return a - b

    def ticks_add(self, a, b):
        return a + b


class Model(Policy):
    name = "prop"
    id = "prop"

    def __init__(self, clock):
        self.clock = clock
        self.answer = True

    def start(self, level, sample):
        self.decide(sample)

    def decide(self, sample):
        answer = self.answer
        if answer == "raise":
            raise ValueError("model")
        if answer == "late":
            self.clock.us += LATE_US
            return True
        return answer


def command(seq, code):
    """A host command line: none, valid ones, a replay, another boot's, garbage."""
    if code == 0:
        return None
    if code == 6:
        return fakes.command(loop_cases.BOOT_ID, 1, "start", "7")       # replayed number
    if code == 7:
        return fakes.command("12345678", seq, "start", "7")             # another boot
    if code == 8:
        return b"~C,%d,0,-,%s,start,7*00000000" % (seq, loop_cases.BOOT_ID)  # bad CRC
    verb, arg = (("start", "7"), ("cancel", "-"), ("status", "-"), ("feedback", "dark"),
                 ("start", "9"))[code - 1]
    return fakes.command(loop_cases.BOOT_ID, seq, verb, arg)


class Run:
    """One example through Loop.run; check() after every tick raises Violation."""

    def __init__(self, start_c, runs, skew, skew_at):
        self.ticks = [tick for n, tick in runs for _ in range(n)]
        self.skew, self.skew_at = skew, skew_at
        self.rtc = 0.0             # the second clock, ms
        self.skewed_rtc = None     # its reading when the skew began
        self.i = 0
        self.seq = 1
        self.failed = False        # the current tick's sensor read failed
        self.blocked = False       # a fault since the user last restarted
        self.fault_session = 0
        self.lever_up = False      # the lever was up since that fault
        self.on = {}               # heater-on ticks per toast
        self.seen = {"heat": 0, "cutoff": 0, "time_limit": 0, "model": 0, "fault": 0,
                     "failed_read": 0, "late": 0, "clock": 0}
        self.clock = Clock()
        loop_mod.time = self.clock
        self.model = Model(self.clock)
        self.lp, self.board, self.console = loop_cases.build(self.model, start_c)
        board = self.board
        self._read, self._feed = board.read, board.feed
        board.read, board.feed, board.wait = self.read, self.feed, self.wait
        self.last_now = board.now

    def read(self, s):
        t = self.ticks[self.i]
        b = self.board
        rate = 1.0
        if self.i >= self.skew_at:
            rate = self.skew
            if self.skewed_rtc is None:
                self.skewed_rtc = self.rtc
        self.rtc += (b.now - self.last_now) / rate
        self.last_now = b.now
        b.temp_c = min(max(b.temp_c + t[0], -40.0), 420.0)
        b.adc = None if t[1] < 0 else t[1]
        b.lever, b.cancel = t[2], t[3]
        b.heat_sense = None if t[4] < 0 else t[4]
        b.ref = fakes.REF + t[5]
        if t[6]:
            self.model.answer = ANSWERS[t[6] - 1]
        line = command(self.seq, t[7])
        if line is not None:
            self.seq += 1
            self.console.lines.append(line)
        self.failed = bool(t[9])
        if self.failed:
            self.seen["failed_read"] += 1
            raise OSError(5)
        self._read(s)
        s.rtc_ms = int(self.rtc)

    def feed(self):
        if self.failed:
            raise Violation("watchdog fed in a tick whose sensor read failed")
        self._feed()

    def wait(self, deadline, heartbeat):
        self.check(heartbeat)
        self.board.now = deadline + self.ticks[self.i][8]
        self.i += 1
        if self.i == len(self.ticks):
            raise fakes.Stop()

    def check(self, heat):
        lp, s = self.lp, self.lp.s
        faulted = lp.state == loop_mod.FAULT or lp.guard.fault is not None
        if self.blocked and self.lever_up and lp.session > self.fault_session:
            self.blocked = False   # the user lifted the lever and started a new toast
        if faulted:
            self.seen["fault"] += 1
            self.blocked, self.fault_session, self.lever_up = True, lp.session, False
        elif self.blocked and not s.lever:
            self.lever_up = True
        if lp.guard.fault == "overtemp":
            self.seen["cutoff"] += 1
        if lp.guard.fault == "clock":
            self.seen["clock"] += 1
        if self.model.answer == "late" and lp.state == loop_mod.TOASTING:
            self.seen["late"] += 1
        if lp.policy is lp.fallback and lp.model is not None and lp.state == loop_mod.TOASTING:
            self.seen["model"] += 1
        if lp._ended is not None and lp._ended[3] == "time_limit":
            self.seen["time_limit"] += 1
        if not heat:
            return
        self.seen["heat"] += 1
        where = "tick %d (%s, %d dC, adc %d, %d ms into toast %d)" % (
            self.i, lp.state, s.temp_dc, s.adc, s.toast_ms, lp.session)
        if lp.state != loop_mod.TOASTING:
            raise Violation("heater on outside a toast: " + where)
        if self.failed:
            raise Violation("heater on after a failed sensor read: " + where)
        if lp.ntc.fault(s.adc) is not None or s.temp_dc >= CUTOFF_DC:
            raise Violation("heater on at or above the cutoff or with no reading: " + where)
        if s.toast_ms >= MAX_TOAST_MS:
            raise Violation("heater on past the time cap: " + where)
        on = self.on.get(lp.session, 0) + 1
        self.on[lp.session] = on
        if on * loop_mod.PERIOD_MS > MAX_TOAST_MS + loop_mod.PERIOD_MS:
            raise Violation("heater on %d ticks in one toast: %s" % (on, where))
        if self.blocked:
            raise Violation("heater on after a fault, without a restart: " + where)
        if (self.skewed_rtc is not None and abs(self.skew - 1.0) > CLOCK_OFF
                and self.rtc - self.skewed_rtc > CLOCK_WITHIN_MS):
            raise Violation("heater on with the clock %.2f x the second clock: %s"
                            % (self.skew, where))

    def go(self):
        try:
            self.lp.run()
        except fakes.Stop:
            return {"ok": True, "seen": self.seen}
        except Violation as exc:
            return {"ok": False, "error": str(exc), "seen": self.seen}
        return {"ok": False, "error": "the loop returned"}


def main():
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        example = json.loads(line)
        print(json.dumps(Run(example["start_c"], example["runs"], example["skew"],
                             example["skew_at"]).go()))
        gc.collect()


main()
