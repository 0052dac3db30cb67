# One control tick's sensor reading. The board fills the raw fields, the loop adds the
# converted ones; the policy and firmware/features.py read it. One object, reused every
# tick, so the hot loop allocates nothing for it.
try:
    from micropython import const
except ImportError:     # CPython: training and host tools read samples too
    def const(x):  # type: ignore[misc]  # micropython.const is generic
        return x

# The control period: one Sample every PERIOD_MS. Here rather than in loop.py so that a
# model policy can check its package against it without importing the loop (boot loads the
# model before the loop's modules take their share of the heap).
PERIOD_MS = const(100)


class Sample:
    def __init__(self):
        # filled by the board (raw, as the hardware reports them)
        self.ms = 0            # board clock (time.ticks_ms domain) when the inputs were read
        self.rtc_ms = -1       # a second clock (the board's RTC) in ms; -1: the board has none
        self.adc = 0           # chamber thermistor divider, 12-bit counts
        self.dial = 0          # browning dial ladder, 12-bit counts
        self.ref = 0           # fixed reference divider (ADC self-check), 12-bit counts
        self.lever = 0         # 1 = carriage down
        self.cancel = 0        # buttons: 1 = pressed
        self.fb_light = 0
        self.fb_right = 0
        self.fb_dark = 0
        self.heat_sense = 0    # 1 = current flows through the heater
        self.colour_ok = False  # False when the colour sensor did not answer
        self.c = 0             # TCS34725 clear, red, green, blue counts
        self.r = 0
        self.g = 0
        self.b = 0
        # filled by the loop
        self.dt_ms = 0         # time since the previous sample
        self.temp_dc = 0       # chamber temperature, 0.1 C (firmware/thermistor.py)
        self.temp_c = 0.0      # the same in C, for policies that want a float
        self.toast_ms = 0      # time since the toast started; 0 when not toasting
        self.level = 0         # browning level of the toast (1-7), 0 when not toasting
        self.heat = 0          # 1 = heater commanded on during the period that just ended
