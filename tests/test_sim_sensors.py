"""Sensors as the firmware sees them: the NTC front end, ADC, dial, reference, colour sensor."""

import math

import numpy as np
import pytest

from hardware.simulator import analog, colour, parts, tcs34725
from hardware.simulator.scenario import Scenario
from hardware.simulator.toaster import Toaster

PARTS = parts.load()
ADC = PARTS["adc"]


def band_counts():
    return [analog.adc_counts(float(mv), ADC) for mv in ADC["usable_mv"]]


def celsius(counts):
    """Counts back to C with the B-equation, as the firmware converts (PROTOCOL.md)."""
    table = np.array(ADC["transfer_mv_counts"], dtype=float)
    keep = np.concatenate([[True], np.diff(table[:, 1]) > 0])         # skip the dead zone
    mv = np.interp(counts, table[keep, 1], table[keep, 0])
    d, ntc = PARTS["ntc_divider"], PARTS["ntc"]
    top = d["r_fixed_ohm"] * (d["supply_mv"] - mv) / mv
    par = top - d["r_series_ohm"]
    r = par * d["r_parallel_ohm"] / (d["r_parallel_ohm"] - par)
    return 1.0 / (1.0 / (ntc["t0_c"] + 273.15) + math.log(r / ntc["r25_ohm"]) / ntc["b_k"]) - 273.15


def test_the_operating_range_fits_the_adc_band_and_open_and_short_do_not():
    lo, hi = PARTS["ntc_divider"]["operating_c"]
    assert lo <= 5.0 and hi >= 260.0                              # cold start .. cutoff + margin
    band_lo, band_hi = band_counts()
    temps = np.arange(lo, hi + 0.5, 0.5)
    counts = analog.ntc_counts(temps, PARTS)
    assert np.all(np.diff(counts) > 0)                            # hotter = more counts
    noise = 4 * ADC["noise_counts_rms"]
    assert counts[0] > band_lo + noise and counts[-1] < band_hi - noise
    open_, short = (analog.adc_counts(analog.ntc_mv(r, PARTS["ntc_divider"]), ADC)
                    for r in (analog.OPEN, analog.SHORT))
    assert open_ < band_lo - noise and short > band_hi + noise
    # Resolution where it matters: near the cutoff, better than 1 C per count.
    assert analog.ntc_counts(251.0, PARTS) - analog.ntc_counts(250.0, PARTS) > 1.0


@pytest.mark.parametrize("temp", [5.0, 25.0, 100.0, 180.0, 250.0, 265.0])
def test_counts_convert_back_with_the_b_equation(temp):
    assert celsius(analog.ntc_counts(temp, PARTS)) == pytest.approx(temp, abs=0.05)


def test_adc_noise_and_quantisation():
    t = Toaster(Scenario(seed=3))
    readings = []
    for _ in range(400):
        readings.append(t.adc("ref"))
        t.advance(1)
    readings = np.array(readings)
    nominal = PARTS["reference_divider"]["nominal_counts"]
    assert readings.dtype.kind == "i" and abs(readings.mean() - nominal) < 1.0
    assert readings.std() == pytest.approx(ADC["noise_counts_rms"], rel=0.2)
    same_ms = {t.adc("ref") for _ in range(30)}                    # fresh noise on every read
    assert len(same_ms) > 3


def test_the_same_seed_repeats_and_another_seed_does_not():
    def series(seed):
        t = Toaster(Scenario(seed=seed))
        out = []
        for _ in range(50):
            out.append((t.adc("ntc"), t.adc("ntc"), t.adc("dial")))
            t.advance(10)
        return out
    assert series(1) == series(1) and series(1) != series(2)


def test_dial_positions_read_their_nominal_counts_and_are_far_apart():
    nominal = PARTS["dial"]["nominal_counts"]
    assert analog.dial_nominal_counts(PARTS) == nominal
    assert min(np.diff(nominal)) > 100 * ADC["noise_counts_rms"]
    band_lo, band_hi = band_counts()
    assert band_lo < nominal[0] and nominal[-1] < band_hi
    t = Toaster()
    for level in range(1, 8):
        t.set_dial(level)
        assert abs(t.adc("dial") - nominal[level - 1]) < 5 * ADC["noise_counts_rms"]
    t.inject("dial_open")
    assert t.adc("dial") < 20


def test_colour_path_from_untoasted_through_crust_to_burnt():
    L, a, b = colour.lab(np.array([0.0, 31.7, 52.0]))
    assert L[0] == 80.0 and L[1] == pytest.approx(52.2, abs=0.1) and 30.0 < L[2] < 36.0
    assert a[1] == pytest.approx(14.7, abs=0.1)
    counts = np.array(colour.counts(np.linspace(0, 52, 14), colour.UNTOASTED, 20.0, 4, 24.0, 10, 1, 0,
                                    PARTS["colour_sensor"]))
    clear, red, green, blue = counts
    assert np.all(np.diff(clear) < 0)                             # darker with browning
    assert np.all(red / clear > green / clear - 0.02)             # and redder than green
    assert (blue / clear)[-1] < (blue / clear)[0]


def test_colour_counts_follow_gain_and_integration_time_and_saturate():
    sensor = PARTS["colour_sensor"]
    one = colour.counts(0.0, colour.UNTOASTED, 20.0, 1, 24.0, 10, 1, 0, sensor)[0]
    four = colour.counts(0.0, colour.UNTOASTED, 20.0, 4, 24.0, 10, 1, 0, sensor)[0]
    longer = colour.counts(0.0, colour.UNTOASTED, 20.0, 1, 96.0, 40, 1, 0, sensor)[0]
    assert four / one == pytest.approx(4.0, rel=0.1) and longer / one == pytest.approx(4.0, rel=0.1)
    assert colour.counts(0.0, colour.UNTOASTED, 20.0, 60, 614.4, 256, 1, 0, sensor)[0] == 65535
    assert colour.counts(0.0, colour.UNTOASTED, 20.0, 60, 24.0, 10, 1, 0, sensor)[0] == 10240


def test_the_glowing_element_adds_red_light():
    sensor = PARTS["colour_sensor"]
    cold = colour.counts(0.0, colour.UNTOASTED, 20.0, 16, 24.0, 10, 1, 0, sensor)
    hot = colour.counts(0.0, colour.UNTOASTED, 850.0, 16, 24.0, 10, 1, 0, sensor)
    assert hot[1] - cold[1] > 3 * (hot[3] - cold[3]) > 0


def test_tcs34725_registers_and_integration_timing():
    t = Toaster()
    assert t.i2c_read(0x29, 0x80 | tcs34725.ID, 1) == bytes([0x44])
    with pytest.raises(tcs34725.BusError):
        t.i2c_read(0x29, tcs34725.ID, 1)                          # no command bit
    with pytest.raises(LookupError):
        t.i2c_read(0x30, 0x92, 1)
    t.i2c_write(0x29, bytes([0x80 | tcs34725.ATIME, 0xC0]))        # 64 cycles: 153.6 ms
    t.i2c_write(0x29, bytes([0x80 | tcs34725.CONTROL, 0x02]))      # 16x
    t.i2c_write(0x29, bytes([0x80 | tcs34725.ENABLE, 0x03]))
    t.advance(155)
    assert t.i2c_read(0x29, 0x80 | tcs34725.STATUS, 1) == b"\x00"
    t.advance(2)
    assert t.i2c_read(0x29, 0x80 | tcs34725.STATUS, 1) == b"\x01"
    first = t.i2c_read(0x29, 0xA0 | tcs34725.CDATAL, 8)
    assert first == t.colour_registers() and int.from_bytes(first[:2], "little") > 0
    t.advance(100)
    assert t.colour_registers() == first                          # held until the next result
    t.advance(60)
    assert t.colour_registers() != first
    t.i2c_write(0x29, bytes([0x80 | tcs34725.ENABLE, 0x01]))       # AEN off: no new results
    assert t.i2c_read(0x29, 0x80 | tcs34725.STATUS, 1) == b"\x00"
    t.i2c_write(0x29, bytes([0xE6]))                              # special function: fine


def test_the_colour_sensor_sees_fresh_slices_from_the_next_integration():
    t = Toaster(Scenario(heater_w=1200.0))
    t.i2c_write(0x29, bytes([0x80 | tcs34725.ATIME, 256 - 24]))   # the firmware's 57.6 ms
    t.i2c_write(0x29, bytes([0x80 | tcs34725.CONTROL, 0x02]))
    t.i2c_write(0x29, bytes([0x80 | tcs34725.ENABLE, 0x03]))
    t.advance(1000)
    fresh = int.from_bytes(t.colour_registers()[:2], "little")
    t.press_lever()
    t.set_output("hold", 1)
    t.drive(True)
    t.advance(150000)
    t.drive(None)
    t.lift_lever()
    t.advance(10000)
    assert t.truth()["delta_e"] > 15
    toasted = int.from_bytes(t.colour_registers()[:2], "little")
    t.load_bread()
    t.advance(100)  # one integration later (the thermal state's 250 ms lag must not show)
    reloaded = int.from_bytes(t.colour_registers()[:2], "little")
    assert toasted < 0.8 * fresh and abs(reloaded - fresh) < 0.05 * fresh, (fresh, toasted, reloaded)


def test_colour_faults():
    t = Toaster()
    t.i2c_write(0x29, bytes([0x80, 0x03]))
    t.advance(1000)
    frozen = t.colour_registers()
    t.inject("colour_stuck")
    t.advance(5000)
    assert t.colour_registers() == frozen
    t.clear("colour_stuck")
    t.inject("colour_noisy", counts=300.0)
    values = []
    for _ in range(50):
        t.advance(700)
        values.append(int.from_bytes(t.colour_registers()[:2], "little"))
    assert np.std(values) > 150
    t.inject("colour_bus")
    assert t.colour_registers() is None
    with pytest.raises(tcs34725.BusError):
        t.i2c_read(0x29, 0x92, 1)
