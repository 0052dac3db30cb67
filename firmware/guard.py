# The safety supervisor: every tick it decides whether the heater may be on, whatever the
# policy wants. Independent of the policy and small on purpose: read it whole before
# changing it. Its limits are constants of the firmware image; nothing received over the
# console can change them. Sources for each number: ../../shared/reference/safety.md
# (numbered requirements, "R13") and firmware/README.md.
try:
    from micropython import const
except ImportError:  # CPython: host tools read the limits
    def const(x):  # type: ignore[misc]  # micropython.const is generic
        return x

CUTOFF_DC = const(2500)       # R3: 250 C on the chamber sensor -> fault, latched
CLEAR_DC = const(2000)        # a latched fault clears only below 200 C (and lever up)
MAX_TOAST_MS = const(360000)  # a toast ends here whatever the policy says (README: why)
JUMP_DC = const(150)          # R13-15: a 15 C step between two 100 ms samples is no chamber
RISE_DC = const(20)           # R14: heating must gain 2 C ...
RISE_MS = const(35000)        # ... within 35 s of heating (README: why not 20 s) ...
RISE_BELOW_DC = const(600)    # ... while the chamber reads below 60 C (room air: detached)
STUCK_MS = const(10000)       # R15: identical counts for 10 s while heating
SENSE_TICKS = const(2)        # R5: heater current against the command, 2 samples in a row
OFF_SETTLE_MS = const(30000)  # after heating the chamber may still rise this long
OFF_WINDOW_MS = const(30000)  # then a rise of OFF_RISE_DC within 30-60 s while off ...
OFF_RISE_DC = const(50)       # ... means something heats it: welded relay -> alarm
CLOCK_MS = const(1000)        # R12: the tick clock against the second clock every ~1 s ...
CLOCK_PCT = const(5)          # ... apart by more than 5 % -> fault (every time cap is in it)

TIME_LIMIT = "time_limit"
# A toaster with these faults must not toast again: the hardware that switches the heater
# off has failed, or the firmware image is not the one built. The loop keeps the first two
# in the persistent flag, so that a reset does not forget them. A clock that disagrees
# with the second clock holds until a reset, which starts the comparison afresh.
PERMANENT = ("relay_welded", "heating_while_off", "selftest", "clock")
# Faults that sound the buzzer.
ALARMS = ("overtemp", "relay_welded", "heating_while_off")


class Guard:
    def __init__(self, thermistor, ref_counts, ref_tolerance):
        self.ntc = thermistor
        self.ref_lo = ref_counts - ref_tolerance
        self.ref_hi = ref_counts + ref_tolerance
        self.fault = None   # latched fault code
        self._first = True  # no usable previous sample
        self._last_dc = 0
        self._last_adc = -1
        self._on = 0        # samples in a row with heat commanded but no current
        self._welded = 0    # samples in a row with current but heat not commanded
        self._avg8 = 0      # 8 x the temperature averaged over about 8 samples
        self._rise_dc = 0   # verify_heater window: lowest average temperature ...
        self._rise_ms = 0   # ... and heating time since the window began
        self._stuck_ms = 0
        self._off_ms = 0    # time since the heater was last commanded on; -1 while on
        self._min_prev = 0  # minimum temperature of the previous and current off-window
        self._min_now = 0
        self._win_ms = 0
        self._rtc0 = -1     # second clock at the start of the clock window, -1: none yet
        self._tick_ms = 0   # tick clock time in the window (sum of the samples' dt)

    def latch(self, code):
        """Latch a fault found outside the guard (self-test, an exception in the loop)."""
        if self.fault is None or code in PERMANENT and self.fault not in PERMANENT:
            self.fault = code

    def check(self, s, toasting):
        """None when the heater may be on for the next period, else the reason it must be
        off: the latched fault, or TIME_LIMIT. Call once per sample. A latched fault
        clears only when nothing is wrong now, the lever is up (the user's reset) and the
        chamber has cooled below CLEAR_DC; permanent faults never clear."""
        found = self._sensors(s)
        if found is not None:
            self.latch(found)
        elif (self.fault is not None and self.fault not in PERMANENT and not s.lever
              and s.temp_dc < CLEAR_DC):
            self.fault = None
        if self.fault is not None:
            return self.fault
        if toasting and s.toast_ms >= MAX_TOAST_MS:
            return TIME_LIMIT
        return None

    def _sensors(self, s):
        """The first problem the sample shows, or None; keeps the histories up to date."""
        first, self._first = self._first, False
        code = self._clock(s) or self.ntc.fault(s.adc)
        if code is None and not self.ref_lo <= s.ref <= self.ref_hi:
            code = "adc_ref"
        if code is not None:
            self._first = True  # the temperature history means nothing across an ADC fault
            return code
        t, last, last_adc = s.temp_dc, self._last_dc, self._last_adc
        self._last_dc, self._last_adc = t, s.adc
        # A moving average for the rise checks: the noise of single samples (about 0.3 C
        # near room temperature, 1 C rms near 240 C, where a count is a third of a degree)
        # would fake or hide a 2 C gain, and fake a 5 C rise with the heater off.
        self._avg8 = t << 3 if first else self._avg8 + t - (self._avg8 >> 3)
        if t >= CUTOFF_DC:
            return "overtemp"
        if not first and abs(t - last) > JUMP_DC:
            return "temp_jump"
        code = self._current(s)
        if code is not None:
            return code
        if s.heat:
            return self._heating(s, last_adc)
        return self._cooling(s)

    def _clock(self, s):
        # R12: the tick clock times every limit; over about a second it must agree with
        # the board's second clock (its RTC, on its own crystal) within CLOCK_PCT.
        if s.rtc_ms < 0:
            return None  # a board without a second clock
        if self._rtc0 < 0:
            self._rtc0, self._tick_ms = s.rtc_ms, 0
            return None
        self._tick_ms += s.dt_ms
        rtc = s.rtc_ms - self._rtc0
        if rtc < CLOCK_MS:
            return None
        tick, self._rtc0, self._tick_ms = self._tick_ms, s.rtc_ms, 0
        if abs(tick - rtc) * 100 > rtc * CLOCK_PCT:
            return "clock"
        return None

    def _current(self, s):
        # R5: the heater current must follow the command. The carriage switch cuts it
        # when the lever is up, so only a commanded-on heater with the lever down counts.
        self._on = self._on + 1 if s.heat and s.lever and not s.heat_sense else 0
        self._welded = self._welded + 1 if s.heat_sense and not s.heat else 0
        if self._welded >= SENSE_TICKS:
            return "relay_welded"
        if self._on >= SENSE_TICKS:
            return "no_current"
        return None

    def _heating(self, s, last_adc):
        # R14: the average must climb RISE_DC above its lowest point within RISE_MS of
        # heating, while the chamber is cool enough for a detached sensor (reading room
        # air) to be told from a working one. From the lowest point: fresh bread in a warm
        # toaster first cools the chamber. R15: a reading that does not move at all.
        avg = self._avg8 >> 3
        if self._off_ms >= 0:  # heating began during this period: a new window
            self._rise_dc = avg
            self._rise_ms = self._stuck_ms = 0
        self._off_ms = -1
        self._rise_ms += s.dt_ms
        self._rise_dc = min(self._rise_dc, avg)
        if avg >= self._rise_dc + RISE_DC or avg >= RISE_BELOW_DC:
            self._rise_dc, self._rise_ms = avg, 0
        elif self._rise_ms >= RISE_MS:
            return "no_rise"
        self._stuck_ms = self._stuck_ms + s.dt_ms if s.adc == last_adc else 0
        if self._stuck_ms >= STUCK_MS:
            return "ntc_stuck"
        return None

    def _cooling(self, s):
        # Heater off: once the chamber has settled, a rise of OFF_RISE_DC above the lowest
        # average of the last 30-60 s means something is heating it.
        t = self._avg8 >> 3
        self._off_ms = s.dt_ms if self._off_ms < 0 else self._off_ms + s.dt_ms
        if self._off_ms < OFF_SETTLE_MS:
            self._min_prev = self._min_now = t
            self._win_ms = 0
            return None
        self._win_ms += s.dt_ms
        if self._win_ms >= OFF_WINDOW_MS:
            self._min_prev, self._min_now, self._win_ms = self._min_now, t, 0
        self._min_now = min(self._min_now, t)
        if t > min(self._min_prev, self._min_now) + OFF_RISE_DC:
            return "heating_while_off"
        return None
