"""One toaster in virtual time: heat, electrics, the MCU's pins, sensors, faults, events.

Time is an integer count of true milliseconds. The thermal network steps on a fixed grid
(thermal.STEP_MS) aligned to t = 0; everything electrical keeps 1 ms resolution: the
heater's on-time inside a thermal step is integrated exactly from the pin history (relay,
heartbeat watchdog, carriage switch, fuse, mains), so advancing in 10 ms steps or in one
call gives bit-identical results. Sensors see the thermal state interpolated between the
last two grid points (one step, 250 ms, behind: well inside the NTC's 8 s lag).

Electrics (hardware/README.md): heater powered = mains AND carriage switch closed AND fuse
intact AND (relay welded OR (heat_en AND a heartbeat edge within drop_ms)). The carriage
stays down while the user pushes or holds the lever, or while the hold magnet is
energised and the hardware max-on timer has not run out.
"""

from hardware.simulator import analog, colour, noise, parts as parts_file, tcs34725
from hardware.simulator.faults import OUTPUTS, check
from hardware.simulator.scenario import Scenario
from hardware.simulator.thermal import STEP_MS, Thermal

NEVER = float("inf")
RESET_CAUSES = ("POWERON", "WDT", "SOFT", "HARD", "BROWNOUT")
BUTTONS = ("cancel", "fb_light", "fb_right", "fb_dark")
ADC_CHANNELS = ("ntc", "dial", "ref")
_STREAMS = {"ntc": noise.NTC, "dial": noise.DIAL, "ref": noise.REF}


def r25_factor(seed, parts):
    """This unit's thermistor R25 relative to nominal: the part's tolerance as 2 sigma."""
    return 1.0 + parts["ntc"]["tolerance"] * noise.gaussian(seed, noise.TOLERANCE, 0) / 2.0


class Toaster:
    """A toaster driven through its MCU pins (`set_output`, `get`, `adc`, `i2c_*`, `sleep`
    with the MCU clock), by a user (`press_lever`, `set_dial`, `press`), by fault injection
    (`inject`) and in virtual time (`advance`). `truth()` is the ground truth; `events` the
    log of what happened (relay, fuse, carriage, resets, faults)."""

    def __init__(self, scenario=None, parts=None):
        self.scenario = scenario or Scenario()
        self.parts = parts or parts_file.load()
        p = self.parts
        self._drop_ms = p["heartbeat_watchdog"]["drop_ms"]
        self._grace_ms = p["carriage"]["latch_grace_ms"]
        self._cap_ms = p["max_on_timer"]["cap_ms"]
        self._brownout_v = p["mains"]["brownout_fraction"] * self.scenario.rated_v
        self.thermal = Thermal([self.scenario], p)
        self._seed = self.scenario.seed
        # Part tolerance of this unit's thermistor (fixed per scenario seed).
        self._r25 = r25_factor(self._seed, p)
        self._lab0 = self.scenario.bread_type.lab0

        self.t_ms = 0
        self.events = []
        self.faults = {}                       # name -> params, active now
        self._scheduled = []                   # (at_ms, seq, action, name, params)
        self._fault_seq = 0

        # Heater on-time accounting within the current thermal step.
        self._grid = 0                         # time of the latest thermal grid point
        self._seg = 0                          # start of the current constant-input segment
        self._on_ms = 0.0
        self.heater_on_ms = 0.0                # total powered time
        self.energy_j = 0.0
        self._forced = None                    # open-loop drive: True/False overrides relay
        self._snap_prev = self._snap_cur = self._thermal_snapshot()

        # Electrics.
        self.mains_v = self.scenario.supply_v
        self._welded = False
        self._fuse_logged = False
        self._relay_until = -NEVER             # relay coil energised until (ms)
        self._relay_logged = False
        self.commanded = dict.fromkeys(OUTPUTS, 0)
        self._actual = dict.fromkeys(OUTPUTS, 0)

        # Carriage and user.
        self.carriage_down = False
        self._user_holds = False
        self._press_end = NEVER
        self._timer_end = NEVER
        self._timer_expired = False
        self.dial = self.scenario.level
        self._buttons = dict.fromkeys(BUTTONS, 0)
        self._button_end = dict.fromkeys(BUTTONS, NEVER)

        # MCU.
        self.mcu_powered = self.mains_v >= self._brownout_v
        self.mcu_booted = False                # a firmware has said HELLO since the last reset
        self.mcu_generation = 0                # bumps at every reset: stale sessions end
        self._cause = "POWERON"
        self.flag = 0
        self._wdt_timeout = None
        self._wdt_end = NEVER
        self._clock_rate = 1.0
        self._clock_base = (0, 0.0)            # (true ms, MCU ms) at the last rate change
        self._reads = {}

        self.colour_sensor = tcs34725.TCS34725(self._colour_sample)
        self._colour_frozen = None
        self._circuit = self._circuit_closed()
        self._plan()
        self._log("boot", scenario=self.scenario.bread, batch=self.scenario.batch)
        if self.scenario.lever_down_at_boot:
            self.hold_lever(True)
        for at_ms, name, params in self.scenario.faults:
            self.inject(name, at_ms=at_ms, **params)

    # -- virtual time -------------------------------------------------------------------

    def advance(self, ms, stop_on_reset=False):
        """Let ms (true) milliseconds pass; with stop_on_reset, stop early at an MCU reset
        (a sleeping firmware does not outlive its chip). Returns the time reached."""
        target = self.t_ms + int(ms)
        if ms < 0:
            raise ValueError("time only runs forward")
        generation = self.mcu_generation
        while self._next <= target:
            self.t_ms = int(self._next)
            self._fire()
            if stop_on_reset and self.mcu_generation != generation:
                return self.t_ms
        self.t_ms = target
        return target

    def advance_to(self, t_ms):
        return self.advance(t_ms - self.t_ms)

    def _plan(self):
        self._next_other = min(self._grid + STEP_MS, self._wdt_end, self._timer_end, self._press_end,
                               min(self._button_end.values()),
                               self._scheduled[0][0] if self._scheduled else NEVER)
        self._next = min(self._next_other, self._relay_event())

    def _relay_event(self):
        """When the closed relay will drop (for its event), if nothing else happens."""
        if self._relay_logged and not self._welded and self._relay_until > -NEVER:
            return self._relay_until
        return NEVER

    def _fire(self):
        t = self.t_ms
        if t == self._grid + STEP_MS:
            self._thermal_step(t)
        while self._scheduled and self._scheduled[0][0] <= t:
            _, _, action, name, params = self._scheduled.pop(0)
            if action == "inject":
                self._apply(name, params)
            else:
                self.clear(name)
        for b, end in self._button_end.items():
            if end <= t:
                self._buttons[b] = 0
                self._button_end[b] = NEVER
        if self._press_end <= t:
            self._press_end = NEVER
            self._update_carriage("lever released")
        if self._timer_end <= t:
            self._timer_end = NEVER
            self._timer_expired = True
            self._log("max_on_timer", cap_ms=self._cap_ms)
            self._update_carriage("max-on timer")
        if self._wdt_end <= t:
            self._log("wdt", timeout_ms=self._wdt_timeout)
            self.reset_mcu("WDT")
        if self._relay_logged and not self._relay_closed(t):
            self._settle(t)
        self._plan()

    # -- heater energy ------------------------------------------------------------------

    def _circuit_closed(self):
        return (self.mains_v > 0.0 and not self.thermal.fuse_open
                and (self.carriage_down or self._forced is not None))

    def _relay_closed(self, t):
        return self._welded or (self._actual["heat_en"] == 1 and t < self._relay_until)

    def heater_powered(self, t=None):
        t = self.t_ms if t is None else t
        if not self._circuit:
            return False
        return self._forced if self._forced is not None else self._relay_closed(t)

    def _settle(self, t):
        """Book the powered time of the constant-input segment [seg, t)."""
        if self._circuit:
            seg = self._seg
            if self._forced is not None:
                on = t - seg if self._forced else 0
            elif self._welded:
                on = t - seg
            elif self._actual["heat_en"]:
                on = max(0, min(t, self._relay_until) - seg)
            else:
                on = 0
            self._on_ms += on
        self._seg = t
        self._log_relay(t)

    def _rewire(self):
        """Settle, then re-derive the circuit after any electrical change."""
        self._settle(self.t_ms)
        self._circuit = self._circuit_closed()

    def _log_relay(self, t):
        closed = self._relay_closed(t)
        if closed != self._relay_logged:
            timed_out = (not closed and self._actual["heat_en"] and not self._welded
                         and -NEVER < self._relay_until < t)
            when = self._relay_until if timed_out else t
            self._log("relay_close" if closed else "relay_drop", t_ms=int(when))
            self._relay_logged = closed
            if hasattr(self, "_next_other"):
                self._next = min(self._next_other, self._relay_event())

    def _thermal_step(self, t):
        self._settle(t)
        fraction = self._on_ms / STEP_MS
        power = self.thermal.heater_w(fraction)
        self.energy_j += power * STEP_MS / 1000.0
        self.heater_on_ms += self._on_ms
        self._on_ms = 0.0
        self.thermal.step(power, in_slot=1.0 if self.carriage_down or self._forced else 0.0)
        self._grid = t
        self._snap_prev, self._snap_cur = self._snap_cur, self._thermal_snapshot()
        if self.thermal.fuse_open and not self._fuse_logged:
            self._fuse_logged = True
            self._log("fuse_open", housing_c=round(self.thermal.th, 1))
            self._circuit = self._circuit_closed()

    def _thermal_snapshot(self):
        th = self.thermal
        return (th.tn, th.de, th.te, th.tc, th.t0)

    def _interpolated(self, t, i):
        """Sensor-side value i of the snapshot at time t (one grid step behind)."""
        a, b = self._snap_prev[i], self._snap_cur[i]
        frac = min(max((t - self._grid) / STEP_MS, 0.0), 1.0)
        return a + (b - a) * frac

    def drive(self, on):
        """Open loop: power the heater directly (True/False), bypassing relay and carriage,
        as data generation does ("heat with this profile"); None hands back to the pins.
        The fuse and the mains still apply."""
        self._rewire()
        self._forced = None if on is None else bool(on)
        self._circuit = self._circuit_closed()

    # -- MCU outputs --------------------------------------------------------------------

    def set_output(self, pin, level):
        """The MCU drives an output pin (heat_en, heartbeat, hold, buzzer)."""
        if pin not in OUTPUTS:
            raise ValueError("unknown output %r (outputs: %s)" % (pin, ", ".join(OUTPUTS)))
        level = 1 if level else 0
        if not self.mcu_powered:
            return
        self.commanded[pin] = level
        stuck = self.faults.get("pin_stuck")
        actual = stuck["level"] if stuck and stuck["pin"] == pin else level
        if actual == self._actual[pin]:
            return
        t = self.t_ms
        if pin == "heartbeat":
            if self._actual["heat_en"] and t < self._relay_until:
                # Fast path: the relay stays closed, its deadline moves on.
                self._actual[pin] = actual
                self._relay_until = t + self._drop_ms
                if self._relay_logged and not self._welded:
                    self._next = min(self._next_other, self._relay_until)
                return
            self._rewire()
            self._actual[pin] = actual
            self._relay_until = t + self._drop_ms
            self._log_relay(t)
        elif pin == "heat_en":
            self._rewire()
            self._actual[pin] = actual
            self._log_relay(t)
        elif pin == "hold":
            self._actual[pin] = actual
            self._update_carriage("hold released")
        else:
            self._actual[pin] = actual

    def output(self, pin):
        """Read back an output pin's actual level."""
        return self._actual[pin]

    # -- carriage and user --------------------------------------------------------------

    def _hold_effective(self):
        return self._actual["hold"] == 1 and self.mcu_powered and not self._timer_expired

    def _update_carriage(self, reason):
        down = self._user_holds or self._press_end < NEVER or (self.carriage_down and self._hold_effective())
        if down == self.carriage_down:
            return
        self._rewire()
        self.carriage_down = down
        self._circuit = self._circuit_closed()
        if down:
            self._timer_end = self.t_ms + self._cap_ms
            self._timer_expired = False
            self._log("carriage_down", reason=reason)
        else:
            self._timer_end = NEVER
            self._timer_expired = False
            self._log("carriage_up", reason=reason)
        self._plan()

    def press_lever(self, ms=None):
        """The user pushes the lever down and lets go after ms (default: the latch grace
        time): the carriage then stays down only if the hold magnet is energised."""
        self._press_end = self.t_ms + (self._grace_ms if ms is None else int(ms))
        self._update_carriage("user pushed the lever")
        self._plan()

    def hold_lever(self, holding=True):
        """The user (or a jam) keeps the carriage down, or stops doing so."""
        self._user_holds = bool(holding)
        self._update_carriage("user holds the lever" if holding else "user let go")

    def lift_lever(self):
        """The user lifts the carriage up by hand."""
        self._user_holds = False
        self._press_end = NEVER
        if self.carriage_down:
            self._rewire()
            self.carriage_down = False
            self._circuit = self._circuit_closed()
            self._timer_end = NEVER
            self._timer_expired = False
            self._log("carriage_up", reason="user lifted the lever")
        self._plan()

    def set_dial(self, level):
        if level not in range(0, 8):
            raise ValueError("dial position must be 1-7 (0: between detents)")
        self.dial = level

    def press(self, button, ms=200):
        """Press a button for ms (0: keep it pressed until release())."""
        if button not in BUTTONS:
            raise ValueError("unknown button %r (buttons: %s)" % (button, ", ".join(BUTTONS)))
        self._buttons[button] = 1
        self._button_end[button] = self.t_ms + int(ms) if ms else NEVER
        self._plan()

    def release(self, button):
        self._buttons[button] = 0
        self._button_end[button] = NEVER
        self._plan()

    def load_bread(self, scenario=None):
        """Put fresh slices in (the carriage must be up). scenario: the bread to load
        (default: this toaster's scenario)."""
        if self.carriage_down:
            raise ValueError("the carriage is down: lift it before loading bread")
        self.thermal.load([scenario or self.scenario])
        self._lab0 = (scenario or self.scenario).bread_type.lab0
        # The sensors see the thermal state a step behind; the slices in the slot, though,
        # change at once: the colour sensor must not see the new bread browned as the old.
        de = self.thermal.de
        self._snap_prev = self._snap_prev[:1] + (de,) + self._snap_prev[2:]
        self._snap_cur = self._snap_cur[:1] + (de,) + self._snap_cur[2:]
        self._log("bread_loaded", bread=(scenario or self.scenario).bread)

    # -- MCU inputs ---------------------------------------------------------------------

    def get(self, pin):
        """Read an input (or an output's actual level), as the MCU would."""
        if pin in OUTPUTS:
            return self._actual[pin]
        stuck = self.faults.get("input_stuck")
        if stuck and stuck["pin"] == pin:
            return stuck["level"]
        if pin == "lever":
            return 1 if self.carriage_down else 0
        if pin == "heat_sense":
            return 1 if self.heater_powered() else 0
        if pin in self._buttons:
            return self._buttons[pin]
        raise ValueError("unknown pin %r" % pin)

    def _read_index(self, channel):
        """Noise index of a read: the ms, and how many reads of it came before in that ms."""
        t, k = self._reads.get(channel, (-1, 0))
        k = k + 1 if t == self.t_ms else 0
        self._reads[channel] = (self.t_ms, k)
        return self.t_ms * 16 + (k % 16)

    def ntc_temp(self, t=None):
        """The temperature the thermistor body is at (what the ADC converts)."""
        t = self.t_ms if t is None else t
        if "ntc_detached" in self.faults:
            return self.thermal.ambient
        temp = self._interpolated(t, 0)
        drift = self.faults.get("ntc_drift")
        if drift:
            temp += drift["c_per_s"] * (t - drift["since_ms"]) / 1000.0
        return temp

    def adc_clean(self, channel):
        """Noise-free counts of a channel now (float)."""
        p = self.parts
        if channel == "ntc":
            if "ntc_stuck" in self.faults:
                return self.faults["ntc_stuck"]["counts"]
            if "ntc_open" in self.faults or "ntc_short" in self.faults:
                r = analog.OPEN if "ntc_open" in self.faults else analog.SHORT
                return analog.adc_counts(analog.ntc_mv(r, p["ntc_divider"]), p["adc"])
            return analog.ntc_counts(self.ntc_temp(), p, self._r25)
        if channel == "dial":
            position = 0 if "dial_open" in self.faults else self.dial
            return analog.adc_counts(analog.dial_mv(position, p["dial"]), p["adc"])
        if channel == "ref":
            return analog.adc_counts(analog.ref_mv(p, self.faults.get("ref_drift", {}).get("mv", 0.0)), p["adc"])
        raise ValueError("unknown ADC channel %r (channels: %s)" % (channel, ", ".join(ADC_CHANNELS)))

    def adc(self, channel):
        """A raw 12-bit reading of an ADC channel (ntc, dial, ref), noise included."""
        clean = self.adc_clean(channel)
        if channel == "ntc" and "ntc_stuck" in self.faults:
            return int(round(clean))
        return analog.read(clean, self._seed, _STREAMS[channel], self._read_index(channel), self.parts)

    def _colour_sample(self, t_end, gain, atime_ms, cycles, index):
        if self._colour_frozen is not None:
            return self._colour_frozen
        loaded = bool(self.thermal.loaded)
        de = self._interpolated(t_end, 1) if loaded else 0.0
        counts = colour.counts(de, self._lab0 if loaded else colour.EMPTY_SLOT,
                               self._interpolated(t_end, 2), gain, atime_ms, cycles, self._seed,
                               index, self.parts["colour_sensor"])
        extra = self.faults.get("colour_noisy")
        if extra:
            top = min(65535, 1024 * cycles)
            counts = [min(max(int(round(c + extra["counts"] * noise.gaussian(self._seed + 7919, k, index))), 0), top)
                      for k, c in enumerate(counts)]
        return tuple(counts)

    def i2c_write(self, addr, data):
        """An I2C write to the bus; raises tcs34725.BusError (EIO) or LookupError (ENODEV)."""
        self._i2c_check(addr)
        self.colour_sensor.write(bytes(data), self.t_ms)

    def i2c_read(self, addr, command, n):
        self._i2c_check(addr)
        return self.colour_sensor.read(command, n, self.t_ms)

    def _i2c_check(self, addr):
        if "colour_bus" in self.faults:
            raise tcs34725.BusError("bus fault")
        if addr != tcs34725.ADDRESS:
            raise LookupError("no device at 0x%02x" % addr)

    def colour_registers(self):
        """CDATAL..BDATAH as the chip holds them now (8 bytes), or None on a bus fault."""
        if "colour_bus" in self.faults:
            return None
        return self.colour_sensor.data(self.t_ms)

    def snap(self):
        """All inputs at once, as the protocol's SNAP: (t_mcu_ms, ntc, dial, ref, lever,
        cancel, fb_light, fb_right, fb_dark, heat_sense, colour bytes or None)."""
        return (self.mcu_ms(), self.adc("ntc"), self.adc("dial"), self.adc("ref"),
                self.get("lever"), self.get("cancel"), self.get("fb_light"), self.get("fb_right"),
                self.get("fb_dark"), self.get("heat_sense"), self.colour_registers())

    # -- the MCU itself -----------------------------------------------------------------

    def mcu_ms(self):
        """The MCU's clock (ticks_ms), which a clock_skew fault makes run fast or slow."""
        base_true, base_mcu = self._clock_base
        return int(base_mcu + (self.t_ms - base_true) * self._clock_rate)

    def mcu_to_true_ms(self, mcu_ms):
        """True ms that pass while the MCU's clock counts mcu_ms."""
        return int(round(mcu_ms / self._clock_rate))

    def boot(self):
        """A firmware says HELLO: returns (t_mcu_ms, reset_cause, flag). A HELLO with no
        reset since the previous one is a reset too (the process was restarted): HARD."""
        if not self.mcu_powered:
            raise RuntimeError("NOPOWER")
        if self.mcu_booted:
            self.reset_mcu("HARD")
        cause, self._cause = self._cause, "HARD"
        self.mcu_booted = True
        self._log("mcu_boot", cause=cause)
        return self.mcu_ms(), cause, self.flag

    def reset_mcu(self, cause):
        """MCU reset: outputs to their reset defaults, watchdog stopped, cause kept for the
        next boot."""
        if cause not in RESET_CAUSES:
            raise ValueError("reset cause must be one of %s" % ", ".join(RESET_CAUSES))
        self._settle(self.t_ms)
        for pin, level in self.parts["mcu"]["outputs"].items():
            self.commanded[pin] = level
            self._actual[pin] = level
        stuck = self.faults.get("pin_stuck")
        if stuck:
            self._actual[stuck["pin"]] = stuck["level"]
        self._log_relay(self.t_ms)
        self._wdt_timeout = None
        self._wdt_end = NEVER
        self._cause = cause
        if cause == "POWERON":
            self.flag = 0
        self.mcu_booted = False
        self.mcu_generation += 1
        self._log("mcu_reset", cause=cause)
        self._update_carriage("hold released by reset")
        self._plan()

    def wdt_start(self, timeout_ms):
        if not 1 <= timeout_ms <= 16777:
            raise ValueError("watchdog timeout must be 1-16777 ms")
        if self._wdt_timeout is not None and self._wdt_timeout != timeout_ms:
            raise ValueError("the watchdog is running and cannot be reconfigured")
        self._wdt_timeout = int(timeout_ms)
        self.wdt_feed()

    def wdt_feed(self):
        if self._wdt_timeout is not None:
            self._wdt_end = self.t_ms + self._wdt_timeout
            self._plan()

    # -- mains ----------------------------------------------------------------------------

    def set_mains(self, volts):
        """Mains voltage now (0 = unplugged). Below the brown-out level the MCU resets and
        stays off until the supply returns."""
        self._rewire()
        old = self.mains_v
        self.mains_v = float(volts)
        self.thermal.mains_v = self.mains_v
        self._circuit = self._circuit_closed()
        powered = self.mains_v >= self._brownout_v
        if self.mcu_powered and not powered:
            self.mcu_powered = False
            self._log("power_off", mains_v=self.mains_v)
            self.reset_mcu("POWERON" if self.mains_v == 0.0 else "BROWNOUT")
        elif powered and not self.mcu_powered:
            self.mcu_powered = True
            self._log("power_on", mains_v=self.mains_v)
        if old != self.mains_v:
            self._log("mains", volts=self.mains_v)

    # -- faults ----------------------------------------------------------------------------

    def inject(self, name, at_ms=None, for_ms=None, **params):
        """Inject a fault now or at true time at_ms, for for_ms (default: until cleared)."""
        params = check(name, params)
        at = self.t_ms if at_ms is None else int(at_ms)
        if at < self.t_ms:
            raise ValueError("at_ms %d is in the past (now %d)" % (at, self.t_ms))
        self._schedule(at, "inject", name, params)
        if for_ms is not None:
            self._schedule(at + int(for_ms), "clear", name, None)
        if at == self.t_ms:
            self.advance(0)

    def _schedule(self, at, action, name, params):
        self._fault_seq += 1
        self._scheduled.append((at, self._fault_seq, action, name, params))
        self._scheduled.sort(key=lambda e: (e[0], e[1]))
        self._plan()

    def _apply(self, name, params):
        self._rewire()
        params = dict(params)
        if name == "ntc_stuck":
            params["counts"] = self.adc_clean("ntc")
        elif name == "ntc_drift":
            params["since_ms"] = self.t_ms
        elif name == "colour_stuck":
            self._colour_frozen = tuple(int.from_bytes(self.colour_sensor.data(self.t_ms)[i:i + 2], "little")
                                        for i in range(0, 8, 2))
        self.faults[name] = params
        self._log("fault", name=name, **{k: v for k, v in params.items() if k != "counts"})
        if name == "relay_welded":
            self._welded = True
        elif name == "pin_stuck":
            self._force_actual(params["pin"], params["level"])
        elif name == "mains":
            self.set_mains(params["volts"] if params["volts"] > 0.0 else
                           self.scenario.supply_v * params["factor"])
        elif name == "power_loss":
            self.set_mains(0.0)
        elif name == "no_bread":
            self.thermal.unload()
        elif name == "clock_skew":
            self._clock_base = (self.t_ms, float(self.mcu_ms()))
            self._clock_rate = params["factor"]
        self._circuit = self._circuit_closed()

    def _force_actual(self, pin, level):
        """An output's actual level changes without the MCU (a stuck pin)."""
        if self._actual[pin] == level:
            return
        self._rewire()
        self._actual[pin] = level
        if pin == "heartbeat":
            self._relay_until = self.t_ms + self._drop_ms      # the last edge it makes
        elif pin == "hold":
            self._update_carriage("hold pin stuck")
        self._log_relay(self.t_ms)
        self._plan()

    def clear(self, name=None):
        """Clear one fault (or all). Permanent damage stays: an open fuse is not a fault."""
        names = list(self.faults) if name is None else [name]
        for n in names:
            params = self.faults.pop(n, None)
            if params is None:
                continue
            self._rewire()
            self._log("fault_cleared", name=n)
            if n == "relay_welded":
                self._welded = False
            elif n == "pin_stuck":
                self._force_actual(params["pin"], self.commanded[params["pin"]])
            elif n in ("mains", "power_loss"):
                self.set_mains(self.scenario.supply_v)
            elif n == "clock_skew":
                self._clock_base = (self.t_ms, float(self.mcu_ms()))
                self._clock_rate = 1.0
            elif n == "colour_stuck":
                self._colour_frozen = None
            self._circuit = self._circuit_closed()
        self._plan()

    # -- what happened ----------------------------------------------------------------------

    def _log(self, kind, **details):
        event = {"t_ms": details.pop("t_ms", self.t_ms), "kind": kind}
        event.update(details)
        self.events.append(event)

    def truth(self):
        """Ground truth now: temperatures (C), browning, water, power and switch states."""
        th = self.thermal
        powered = self.heater_powered()
        self._settle(self.t_ms)
        return {
            "t_ms": self.t_ms,
            "delta_e": th.de, "surface_c": th.t0, "subsurface_c": th.t1, "core_c": th.t2,
            "element_c": th.te, "chamber_c": th.tc, "housing_c": th.th, "ntc_c": self.ntc_temp(),
            "water_lost": th.water_lost, "bread_loaded": bool(th.loaded),
            "heater_on": powered, "heater_w": th.heater_w(1.0) if powered else 0.0,
            "heater_on_ms": self.heater_on_ms + self._on_ms, "energy_j": self.energy_j,
            "relay_closed": self._relay_closed(self.t_ms), "carriage_down": self.carriage_down,
            "fuse_open": bool(th.fuse_open), "mains_v": self.mains_v,
            "mcu_powered": self.mcu_powered, "mcu_booted": self.mcu_booted,
            "outputs": dict(self._actual), "dial": self.dial,
            "faults": sorted(self.faults),
        }
