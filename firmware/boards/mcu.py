# What the real boards share: machine.Pin, ADC, I2C and WDT on the pins of board.json.
# A port's module (esp32s3.py, rp2.py) adds its ADC setup, its reset-cause numbers and
# where it keeps the flag that survives a reset.
import time

import machine
from machine import Pin

from firmware.boards import HEARTBEAT_MS

_INPUTS = ("lever", "cancel", "fb_light", "fb_right", "fb_dark", "heat_sense")


class Board:
    name = "mcu"
    WDT_MAX_MS = 8388  # the port's longest machine.WDT timeout

    def __init__(self, config):
        pins = config["pins"]
        # R20: the heater enable first, driven low (it also has a hardware pull-down).
        self._heat = Pin(pins["heat_en"], Pin.OUT, value=0)
        self._beat = Pin(pins["heartbeat"], Pin.OUT, value=0)
        self._hold = Pin(pins["hold"], Pin.OUT, value=0)
        self._buzzer = Pin(pins["buzzer"], Pin.OUT, value=0)
        low = config.get("active_low", ())
        # (pin, level that means "active") per input, in _INPUTS order
        self._inputs = [(Pin(pins[n], Pin.IN, Pin.PULL_UP if n in low else None),
                         0 if n in low else 1) for n in _INPUTS]
        self._ntc = self._adc(pins["ntc"])
        self._dial = self._adc(pins["dial"])
        self._ref = self._adc(pins["ref"])
        bus = config["i2c"]
        self.i2c = machine.I2C(bus["id"], scl=Pin(pins["i2c_scl"]), sda=Pin(pins["i2c_sda"]),
                               freq=bus["freq"])
        self._wdt = None

    def _adc(self, pin):
        return machine.ADC(Pin(pin))

    def reset_cause(self):
        cause = machine.reset_cause()
        for name in ("PWRON", "HARD", "SOFT", "WDT", "DEEPSLEEP"):
            if getattr(machine, name + "_RESET", None) == cause:
                return "POWERON" if name == "PWRON" else name
        return "UNKNOWN"

    def flag(self):
        return 0

    def set_flag(self, n):
        pass

    def watchdog(self, ms):
        self._wdt = machine.WDT(timeout=min(ms, self.WDT_MAX_MS))

    def feed(self):
        if self._wdt is not None:
            self._wdt.feed()

    def outputs(self, heat, hold, buzzer):
        self._heat.value(1 if heat else 0)
        self._hold.value(1 if hold else 0)
        self._buzzer.value(1 if buzzer else 0)

    def safe(self):
        self._heat.value(0)
        self._hold.value(0)

    def level(self, name):
        return {"heat_en": self._heat, "heartbeat": self._beat, "hold": self._hold,
                "buzzer": self._buzzer}[name].value()

    def read(self, s):
        s.ms = time.ticks_ms()
        s.adc = self._ntc.read_u16() >> 4
        s.dial = self._dial.read_u16() >> 4
        s.ref = self._ref.read_u16() >> 4
        i = self._inputs
        s.lever = 1 if i[0][0].value() == i[0][1] else 0
        s.cancel = 1 if i[1][0].value() == i[1][1] else 0
        s.fb_light = 1 if i[2][0].value() == i[2][1] else 0
        s.fb_right = 1 if i[3][0].value() == i[3][1] else 0
        s.fb_dark = 1 if i[4][0].value() == i[4][1] else 0
        s.heat_sense = 1 if i[5][0].value() == i[5][1] else 0

    def ticks_ms(self):
        return time.ticks_ms()

    def wait(self, deadline, heartbeat):
        while True:
            left = time.ticks_diff(deadline, time.ticks_ms())
            if left <= 0:
                return
            if heartbeat:
                self._beat.value(1 - self._beat.value())
            time.sleep_ms(min(left, HEARTBEAT_MS))

    def reset(self):
        machine.reset()
