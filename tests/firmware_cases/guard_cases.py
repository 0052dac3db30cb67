# The safety supervisor on MicroPython, sample by sample (run by tests/test_firmware_guard.py).
import random

from fakes import REF, thermistor
from firmware import guard
from firmware.guard import CUTOFF_DC, MAX_TOAST_MS, TIME_LIMIT, Guard
from firmware.sample import Sample

NTC = thermistor()


class Feed:
    """A guard and a sample stream at 100 ms; temperatures in C go through the real
    thermistor conversion, as in the loop."""

    def __init__(self, temp_c=25.0):
        self.g = Guard(NTC, REF, 100)
        self.s = Sample()
        self.s.ref = REF
        self.s.dt_ms = 100
        self.temp_c = temp_c

    def step(self, temp_c=None, heat=0, lever=0, sense=None, adc=None, toasting=False,
             toast_ms=0, ref=REF):
        s = self.s
        if temp_c is not None:
            self.temp_c = temp_c
        s.ms += 100
        s.adc = NTC.counts(self.temp_c) if adc is None else adc
        s.temp_dc = NTC.decicelsius(s.adc) if NTC.fault(s.adc) is None else s.temp_dc
        s.heat, s.lever, s.ref, s.toast_ms = heat, lever, ref, toast_ms
        s.heat_sense = (1 if heat and lever else 0) if sense is None else sense
        return self.g.check(s, toasting)

    def steps(self, n, **kw):
        verdict = None
        for _ in range(n):
            verdict = self.step(**kw)
        return verdict


def case_quiet_idle_is_ok():
    f = Feed()
    assert f.steps(1000) is None


def case_open_and_short_within_one_sample():
    for adc, code in ((0, "ntc_open"), (39, "ntc_open"), (2951, "ntc_short"), (4095, "ntc_short")):
        f = Feed()
        f.steps(10)
        assert f.step(adc=adc) == code, (adc, f.g.fault)


def case_cutoff_latches_until_lever_up_and_cool():
    f = Feed()
    temp = 200.0
    while f.step(temp_c=temp, heat=1, lever=1, toasting=True) is None:
        temp += 1.0
        assert temp < 252
    assert f.g.fault == "overtemp" and temp >= CUTOFF_DC / 10
    assert f.steps(50, temp_c=240.0, lever=1) == "overtemp"   # lever still down
    assert f.steps(5, temp_c=205.0, lever=0) == "overtemp"    # up, but still too hot
    assert f.step(temp_c=199.0, lever=0) is None


def case_time_limit_whatever_the_policy():
    f = Feed()
    assert f.step(toasting=True, toast_ms=MAX_TOAST_MS - 100) is None
    assert f.step(toasting=True, toast_ms=MAX_TOAST_MS) == TIME_LIMIT
    assert f.g.fault is None  # the time limit ends a toast, it is no fault


def case_no_rise_within_the_window():
    f = Feed(25.0)
    verdict, n = None, 0
    while verdict is None:
        # noise of +-1 C, no rise: the moving average keeps it from faking a gain
        verdict = f.step(temp_c=25.0 + (n % 3 - 1) * 1.0, heat=1, lever=1)
        n += 1
    assert verdict == "no_rise", verdict
    assert n == guard.RISE_MS // 100, n


def case_rise_counts_from_the_lowest_point():
    """Fresh bread in a warm toaster: the chamber first cools, then rises."""
    f = Feed(45.0)
    temp = 45.0
    for n in range(800):
        temp += -0.02 if n < 200 else 0.03
        assert f.step(temp_c=temp, heat=1, lever=1) is None, (n, temp)


def case_a_real_rise_passes_the_heating_check():
    f = Feed(25.0)
    for n in range(1200):
        assert f.step(temp_c=25.0 + n * 0.15, heat=1, lever=1) is None, n


def case_stuck_reading_while_heating():
    f = Feed(150.0)  # above the rise check's range: only the stuck check can see it
    adc = NTC.counts(150.0)
    verdict, n = None, 0
    while verdict is None:
        verdict = f.step(adc=adc, heat=1, lever=1)
        n += 1
    assert verdict == "ntc_stuck" and 100 <= n <= 101, (verdict, n)


def case_impossible_jump():
    f = Feed(100.0)
    f.steps(5)
    assert f.step(temp_c=120.0) == "temp_jump"


def case_welded_relay_is_permanent():
    f = Feed()
    f.steps(5)
    assert f.step(sense=1, lever=1) is None        # one sample may be a glitch
    assert f.step(sense=1, lever=1) == "relay_welded"
    assert f.steps(100, lever=0, sense=0) == "relay_welded"
    assert f.g.fault in guard.ALARMS


def case_no_current_when_commanded_with_lever_down():
    f = Feed()
    f.step(heat=1, lever=1, sense=0)
    assert f.step(heat=1, lever=1, sense=0) == "no_current"


def case_carriage_up_cuts_current_without_fault():
    f = Feed()
    assert f.steps(50, heat=1, lever=0, sense=0) is None or f.g.fault == "no_rise"


def case_cooling_after_a_toast_is_no_fault():
    f = Feed(25.0)
    for n in range(1500):
        f.step(temp_c=25.0 + n * 0.12, heat=1, lever=1)
    peak = f.temp_c
    # after the heater goes off the chamber keeps rising for a while, then cools
    for n in range(150):
        assert f.step(temp_c=peak + n * 0.05) is None
    for n in range(6000):
        assert f.step(temp_c=max(25.0, peak + 7.5 - n * 0.02)) is None


def case_rising_while_off_is_an_alarm():
    f = Feed(60.0)
    f.steps(400)  # 40 s off, settled
    verdict, n = None, 0
    while verdict is None and n < 600:
        verdict = f.step(temp_c=60.0 + n * 0.1, lever=1)  # 1 C/s with the heater off
        n += 1
    assert verdict == "heating_while_off", (verdict, n)
    assert n <= 100, n


def case_adc_noise_in_a_hot_toaster_is_no_heating_while_off():
    # Near 240 C a count is a third of a degree: the ADC's noise (2.5 counts rms) spreads
    # single samples over more than OFF_RISE_DC within a window, the averaged temperature
    # does not (in the evaluation an overtemp stop left toasters unusable for good).
    random.seed(1)
    f = Feed(245.0)
    for n in range(3000):  # 5 minutes off, cooling by 2.4 C a minute
        noise = sum(random.randint(-1, 1) for _ in range(12))  # 2.8 counts rms
        assert f.step(adc=NTC.counts(245.0 - n * 0.004) + noise) is None, (n, f.g.fault)


def case_reference_channel():
    f = Feed()
    assert f.step(ref=REF + 150) == "adc_ref"
    assert f.step(ref=REF) is None  # lever up, cause gone: cleared


def case_random_streams_never_heat_past_a_limit():
    """Whatever the samples, the verdict is never None at or above the cutoff, outside the
    ADC band, or past the time limit."""
    random.seed(7)
    for n in range(20000):
        if n % 50 == 0:
            f = Feed()  # latched faults would make the rest of a long stream trivial
        adc = random.choice((random.randint(0, 4095), NTC.counts(random.uniform(0, 300))))
        toast_ms = random.choice((0, random.randint(0, 2 * MAX_TOAST_MS)))
        verdict = f.step(adc=adc, heat=random.randint(0, 1), lever=random.randint(0, 1),
                         sense=random.randint(0, 1), toasting=toast_ms > 0, toast_ms=toast_ms,
                         ref=random.choice((REF, REF, REF + random.randint(-300, 300))))
        bad = (NTC.fault(adc) is not None or NTC.decicelsius(adc) >= CUTOFF_DC
               or toast_ms >= MAX_TOAST_MS)
        assert not (bad and verdict is None), (n, adc, toast_ms)
