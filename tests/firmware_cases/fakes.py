# Test doubles for running the firmware's modules on MicroPython without a simulator:
# a scripted board, a console that records frames and serves command lines.
from firmware import protocol
from firmware.thermistor import Thermistor

# The front end of hardware/parts.json, as board.json carries it.
NTC = {"r25_ohm": 5000.0, "b_k": 3480.0, "t0_c": 25.0, "supply_mv": 3300.0,
       "r_series_ohm": 120.0, "r_parallel_ohm": 15000.0, "r_fixed_ohm": 390.0,
       "transfer_mv_counts": [[0, 0], [100, 0], [150, 40], [500, 478], [1000, 1108],
                              [1500, 1741], [2000, 2380], [2450, 2950], [2700, 3290],
                              [2900, 3600], [3100, 3950], [3300, 4095]],
       "valid_counts": [40, 2950]}
REF = 1933
DIAL = ([300, 800, 1300, 1800, 2300, 2800, 3300], 100)


def thermistor():
    return Thermistor.from_config(NTC)


class Stop(BaseException):
    pass


class Board:
    """Inputs are attributes the test sets; outputs and watchdog activity are recorded."""
    name = "fake"

    def __init__(self, temp_c=25.0):
        self.ntc = thermistor()
        self.now = 1000
        self.temp_c = temp_c
        self.adc = None          # set to force raw counts
        self.ref = REF
        self.dial = DIAL[0][3]   # level 4
        self.lever = 0
        self.cancel = self.fb_light = self.fb_right = self.fb_dark = 0
        self.heat_sense = None   # None: follows heat_en and the lever, like the hardware
        self.heat_en = self.hold = self.buzzer = 0
        self.flag_value = 0
        self.wdt_ms = None
        self.feeds = 0
        self.beats = []          # heartbeat argument of every wait
        self.waits = 0
        self.stop_after = None   # raise Stop after this many waits (ends Loop.run)
        self.safe_calls = 0
        self.i2c = None

    def reset_cause(self):
        return "POWERON"

    def flag(self):
        return self.flag_value

    def set_flag(self, n):
        self.flag_value = n

    def watchdog(self, ms):
        self.wdt_ms = ms

    def feed(self):
        self.feeds += 1

    def outputs(self, heat, hold, buzzer):
        self.heat_en, self.hold, self.buzzer = heat, hold, buzzer

    def safe(self):
        self.safe_calls += 1
        self.heat_en = self.hold = 0

    def level(self, name):
        return getattr(self, name) if name != "heartbeat" else 0

    def read(self, s):
        s.ms = self.now
        # one count of noise, as a real ADC has (a flat reading is a stuck sensor)
        s.adc = (self.adc if self.adc is not None
                 else self.ntc.counts(self.temp_c) + self.now // 100 % 3 - 1)
        s.ref = self.ref
        s.dial = self.dial
        s.lever = self.lever
        s.cancel, s.fb_light, s.fb_right, s.fb_dark = (self.cancel, self.fb_light,
                                                        self.fb_right, self.fb_dark)
        if self.heat_sense is None:
            s.heat_sense = 1 if self.heat_en and self.lever else 0
        else:
            s.heat_sense = self.heat_sense

    def ticks_ms(self):
        return self.now

    def wait(self, deadline, heartbeat):
        self.beats.append(heartbeat)
        self.now = deadline
        self.waits += 1
        if self.stop_after is not None and self.waits >= self.stop_after:
            raise Stop()

    def reset(self):
        raise Stop()


class Colour:
    def __init__(self):
        self.fail = False

    def read(self, s):
        if self.fail:
            raise OSError(5)
        s.c, s.r, s.g, s.b = 1000, 400, 350, 250


class Console:
    def __init__(self):
        # Frames as written (bytes); kinds() decodes them. Only the last T frames are
        # kept: thousands of small long-lived objects would fragment the heap.
        self.frames = []
        self.ticks = []
        self.lines = []      # command lines to serve, oldest first
        self.full = False    # True: the host is not reading

    def write(self, data):
        if self.full:
            return False
        protocol.decode(data)  # every frame the firmware writes must be valid
        if data.startswith(b"~T,"):
            self.ticks.append(data)
            if len(self.ticks) > 64:
                self.ticks.pop(0)
        else:
            self.frames.append(data)
        return True

    def readline(self):
        return self.lines.pop(0) if self.lines else None

    def kinds(self, kind):
        """Decoded frames of one kind, oldest first."""
        if kind == "T":
            return [protocol.decode(f) for f in self.ticks]
        key = b"~" + kind.encode() + b","
        return [protocol.decode(f) for f in self.frames if f.startswith(key)]

    def events(self):
        """(from, to, reason) of every E frame."""
        return [(f[5], f[6], f[7]) for f in self.kinds("E")]


def command(boot_id, seq, verb, arg="-"):
    return protocol.encode("C", seq, 0, "-", (boot_id, verb, arg)).rstrip(b"\n")
