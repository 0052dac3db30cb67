# The control loop: every PERIOD_MS read the sensors, let the policy decide, let the guard
# overrule it, drive the outputs, send telemetry, feed the watchdog, wait (pulsing the
# heartbeat while the heater is meant to be on).
#
# States: idle -> toasting -> done | cancelled | fault; done and cancelled return to idle
# when the carriage is up, fault when the guard clears it (lever up, cause gone). Every
# transition is an E frame with its reason.
import time

from micropython import const

from firmware import flag as flag_mod
from firmware import guard as guard_mod
from firmware.commands import CommandError
from firmware.sample import PERIOD_MS, Sample

WDT_MS = const(2000)
DEADLINE_US = const(200000)   # a model's start() or decide() must answer within 200 ms
IDLE_EVERY = const(5)         # T frames every tick of a toast, every 5th otherwise
FEEDBACK_MS = const(600000)   # a finished toast takes feedback for 10 minutes
BEEP_TICKS = const(3)         # buzzer at the end of a toast

IDLE = "idle"
TOASTING = "toasting"
DONE = "done"
CANCELLED = "cancelled"
FAULT = "fault"


def dial_level(counts, nominal, tolerance):
    """The dial position (1-7) whose nominal ladder counts are within tolerance, else 0."""
    for i in range(len(nominal)):
        if abs(counts - nominal[i]) <= tolerance:
            return i + 1
    return 0


class Loop:
    def __init__(self, board, ntc, guard, fallback, model, colour, telemetry, commands,
                 dial, fw):
        self.board = board
        self.ntc = ntc
        self.guard = guard
        self.fallback = fallback
        self.model = model          # a Policy from firmware/model_policy.py, or None
        self.colour = colour        # TCS34725 driver, or None when it failed its self-test
        self.telemetry = telemetry
        self.commands = commands
        self.dial = dial            # (nominal counts per level, tolerance) from board.json
        self.fw = fw
        self.s = Sample()
        self.state = IDLE
        self.fault = None
        self.session = 0
        self.level = 0
        self.policy = model or fallback  # deciding the current (or next) toast
        self.overruns = 0
        self._heat = 0              # heater command for the period under way
        self._want = False          # the policy's last answer
        self._start_ms = 0
        self._last_ms = None
        self._lever = 0
        self._buttons = 0           # cancel, light, right, dark as bits, for edges
        self._beep = 0
        self._ticks = 0
        self._flag = 0
        self._watchdog = False
        self._ended = None          # summary of the last finished toast, for feedback
        self._c0 = 0

    # -- boot ----------------------------------------------------------------------------

    def sense(self):
        """The first reading, before the boot frame goes out: a carriage already down at
        power-up is no user action, one pushed after the boot frame is."""
        s = self.s
        self.board.read(s)
        self._convert(s)
        self._lever = s.lever

    def boot(self, flag, cause, fault=None):
        """Start from what the previous run left: a fatal self-test (fault), a hardware
        fault recorded in the flag, a reset during a toast or a watchdog reset all start
        in fault, each with its F frame."""
        faults = [fault, flag_mod.fault(flag)]
        if flag & flag_mod.TOASTING:
            faults.append("reset_in_toast")
        elif cause == "WDT":
            faults.append("watchdog_reset")
        self._set_flag(flag & ~flag_mod.TOASTING)
        for code in faults:
            if code is not None:
                self._fault(code, cause)

    # -- the loop ------------------------------------------------------------------------

    def run(self):
        board = self.board
        deadline = board.ticks_ms()
        while True:
            try:
                self.tick()
                if self._watchdog:
                    board.feed()  # only after a tick that ran all its checks
            except Exception as exc:  # R: any exception -> heater off, fault, loop goes on
                self._crash(exc)
            deadline = time.ticks_add(deadline, PERIOD_MS)
            now = board.ticks_ms()
            if time.ticks_diff(deadline, now) <= 0:
                self.overruns += 1
                deadline = now
            try:
                board.wait(deadline, self._heat)
            except Exception as exc:
                self._crash(exc)

    def tick(self):
        s, board = self.s, self.board
        board.read(s)
        self._convert(s)
        toasting = self.state == TOASTING
        s.toast_ms = time.ticks_diff(s.ms, self._start_ms) if toasting else 0
        s.level = self.level if toasting else 0
        s.heat = self._heat

        verdict = self.guard.check(s, toasting)
        if verdict == guard_mod.TIME_LIMIT:
            self._end(DONE, verdict)
        elif verdict is not None:
            self._fault(verdict)
        elif self.state == FAULT:
            self.fault = None
            self._go(IDLE, "cleared")

        self._user(s)
        self._host(s)

        if self.state == TOASTING:
            self._want = self._decide(s)
            if not self._want:
                self._end(DONE, "policy")
        # The guard has the last word, whatever the state machine says.
        heat = (self.state == TOASTING and self._want and verdict is None
                and self.guard.fault is None)
        self._output(heat)

        self._ticks += 1
        # Every tick of a toast, the one that ended it too: it holds what decided the stop.
        if toasting or self.state == TOASTING or self._ticks % IDLE_EVERY == 0:
            self._tick_frame(s, verdict)

    # -- sensors -------------------------------------------------------------------------

    def _convert(self, s):
        if self._last_ms is not None:
            s.dt_ms = time.ticks_diff(s.ms, self._last_ms)
        self._last_ms = s.ms
        if self.ntc.fault(s.adc) is None:
            s.temp_c = self.ntc.celsius(s.adc)
            s.temp_dc = int(round(s.temp_c * 10))
        s.colour_ok = False
        if self.colour is not None:
            try:
                self.colour.read(s)
                s.colour_ok = True
            except OSError:
                pass

    # -- inputs: carriage, buttons, host commands ---------------------------------------

    def _user(self, s):
        down = s.lever and not self._lever
        up = self._lever and not s.lever
        self._lever = s.lever
        buttons = s.cancel | s.fb_light << 1 | s.fb_right << 2 | s.fb_dark << 3
        pressed = buttons & ~self._buttons
        self._buttons = buttons
        state = self.state
        if state == TOASTING:
            if up:
                self._end(CANCELLED, "lever_up")
            elif pressed & 1:
                self._end(CANCELLED, "cancel_button")
        elif state in (DONE, CANCELLED) and not s.lever:
            self._go(IDLE, "lever_up")
        elif state == IDLE and down:
            level = dial_level(s.dial, self.dial[0], self.dial[1])
            if level:
                self._start(level, "lever", s)
            else:
                self._fault("dial", str(s.dial))
        for bit, rating in ((2, "light"), (4, "right"), (8, "dark")):
            if pressed & bit:
                self._feedback(rating, s)

    def _host(self, s):
        line = self.telemetry.console.readline()
        if line is None:
            return
        try:
            seq, verb, arg = self.commands.parse(line)
        except CommandError as exc:
            self._reply(exc.seq, "err", exc.reason)
            return
        if verb == "status":
            self.telemetry.send("S", s.ms, (
                self.state, self.level, s.lever, s.temp_dc, self.fault or "-",
                self.commands.boot_id, self.commands.seq, self.telemetry.dropped,
                self.overruns, self.fw))
        elif verb == "start":
            if self.state != IDLE:
                return self._reply(seq, "err", "state")
            if not s.lever:
                return self._reply(seq, "err", "lever_up")
            self._start(arg, "command", s)
        elif verb == "cancel":
            if self.state != TOASTING:
                return self._reply(seq, "err", "state")
            self._end(CANCELLED, "cancel_command")
        elif verb == "feedback":
            if not self._feedback(arg, s):
                return self._reply(seq, "err", "state")
        self._reply(seq, "ok", verb)

    def _reply(self, seq, result, detail):
        self.telemetry.send("R", self.s.ms, (seq, result, detail))

    # -- the toast -----------------------------------------------------------------------

    def _start(self, level, reason, s):
        self.session += 1
        self.level = level
        self._start_ms = s.ms
        s.toast_ms = 0
        s.level = level
        self._c0 = s.c
        self._ended = None
        if not self._watchdog:
            # Started with the first toast, not at boot, so the REPL stays usable on an
            # idle toaster: without the loop pulsing the heartbeat the relay cannot close.
            self.board.watchdog(WDT_MS)
            self._watchdog = True
        self.fallback.start(level, s)
        self.policy = self.fallback
        self._go(TOASTING, reason)
        if self.model is not None:
            self.policy = self.model
            self._ask_model(True, s)

    def _decide(self, s):
        if self.policy is self.fallback:
            return self.fallback.decide(s)
        if not s.colour_ok:
            return self._model_fault("colour")
        return self._ask_model(False, s)

    def _ask_model(self, start, s):
        """A model call under R18: decide() must answer True or False, and both calls
        must return within the deadline without raising; otherwise the fallback decides
        the rest of this toast."""
        t0 = time.ticks_us()
        try:
            answer = self.model.start(self.level, s) if start else self.model.decide(s)
        except Exception as exc:
            return self._model_fault("raised_" + type(exc).__name__)
        if time.ticks_diff(time.ticks_us(), t0) > DEADLINE_US:
            return self._model_fault("late")
        if start:
            return True
        if answer is not True and answer is not False:
            return self._model_fault("output")
        return answer

    def _model_fault(self, detail):
        self.policy = self.fallback
        self.telemetry.send("F", self.s.ms, (self.session, "model", detail))
        return self.fallback.decide(self.s)

    def _end(self, state, reason):
        s = self.s
        self._ended = (self.session, self.level, s.toast_ms, reason, s.temp_dc, self._c0, s.c,
                       s.ms)
        self._want = False
        if state == DONE:
            self._beep = BEEP_TICKS
        self._go(state, reason)

    def _feedback(self, rating, s):
        ended = self._ended
        if ended is None or time.ticks_diff(s.ms, ended[7]) > FEEDBACK_MS:
            return False
        self._ended = None  # one rating per toast
        self.telemetry.send("K", s.ms, (ended[0], ended[1], rating, ended[2], ended[3],
                                        ended[4], ended[5], ended[6]))
        return True

    def _fault(self, code, detail="-"):
        if self.state == FAULT and self.fault == code:
            return
        self.guard.latch(code)
        if self.state == TOASTING:
            self._ended = None
            self._want = False
        self.telemetry.send("F", self.s.ms, (self.session, code, detail))
        self._set_flag(flag_mod.with_fault(self._flag, code))
        self.fault = self.guard.fault  # a permanent fault latched before stays the one
        if self.state != FAULT:
            self._go(FAULT, code)

    def _crash(self, exc):
        try:
            self._heat = 0
            self._want = False
            self.board.safe()
            self._fault("exception", type(exc).__name__)
        except Exception:
            pass  # the watchdog is the last word when even this fails

    def _go(self, state, reason):
        self.telemetry.send("E", self.s.ms, (self.session, self.state, state, reason))
        self.state = state

    # -- outputs and telemetry -----------------------------------------------------------

    def _output(self, heat):
        toasting = self.state == TOASTING
        flag = self._flag | flag_mod.TOASTING if toasting else self._flag & ~flag_mod.TOASTING
        if toasting:
            self._set_flag(flag)  # before the heater can come on
        alarm = self.state == FAULT and self.fault in guard_mod.ALARMS
        if self._beep:
            self._beep -= 1
        self._heat = 1 if heat else 0
        self.board.outputs(self._heat, toasting, alarm or self._beep > 0)
        self._set_flag(flag)

    def _set_flag(self, flag):
        if flag != self._flag:
            self._flag = flag
            self.board.set_flag(flag)

    def _tick_frame(self, s, verdict):
        t = self.telemetry
        t.send("T", s.ms, (
            self.session, self.state, s.toast_ms, s.temp_dc, s.adc, s.r, s.g, s.b, s.c,
            self.level, self._heat, s.heat_sense, self.policy.name, verdict or "ok",
            t.dropped))
