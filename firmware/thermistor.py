# Chamber thermistor: ADC counts <-> C (MicroPython/CPython common subset: training
# converts simulated counts with this same module). Front end, as hardware/parts.json
# describes it:
#
#   supply -> r_series -> (NTC || r_parallel) -> ADC node -> r_fixed -> GND
#
# Hotter = lower NTC resistance = more counts. r_series keeps a shorted NTC above the ADC's
# usable band, r_parallel keeps an open one below it, so both are caught in one sample.
# The ADC's transfer (mV -> counts, nonlinear on the ESP32) is a table inverted by linear
# interpolation; the NTC follows the B-equation 1/T = 1/T0 + ln(R/R0)/B.
from math import exp, log

_KELVIN = 273.15


class Thermistor:
    def __init__(self, r25, beta, supply_mv, r_series, r_parallel, r_fixed, transfer, valid,
                 t0=25.0):
        self.r0 = r25
        self.beta = beta
        self.inv_t0 = 1.0 / (t0 + _KELVIN)
        self.supply_mv = supply_mv
        self.r_series = r_series
        self.r_parallel = r_parallel
        self.r_fixed = r_fixed
        self.transfer = tuple((float(mv), float(c)) for mv, c in transfer)  # rising mV
        self.valid_lo, self.valid_hi = valid

    @classmethod
    def from_config(cls, ntc):
        """From the "ntc" object of board.json (hardware/boards/README.md)."""
        return cls(ntc["r25_ohm"], ntc["b_k"], ntc["supply_mv"], ntc["r_series_ohm"],
                   ntc["r_parallel_ohm"], ntc["r_fixed_ohm"], ntc["transfer_mv_counts"],
                   ntc["valid_counts"], ntc.get("t0_c", 25.0))

    def fault(self, counts):
        """"ntc_open" or "ntc_short" when counts are outside the valid band, else None."""
        if counts < self.valid_lo:
            return "ntc_open"
        if counts > self.valid_hi:
            return "ntc_short"
        return None

    def ohms(self, counts):
        """NTC resistance for an ADC reading inside the valid band."""
        mv = interpolate(self.transfer, 1, 0, counts)
        top = self.r_fixed * (self.supply_mv - mv) / mv  # r_series + NTC || r_parallel
        par = top - self.r_series
        return par * self.r_parallel / (self.r_parallel - par)

    def celsius(self, counts):
        return 1.0 / (self.inv_t0 + log(self.ohms(counts) / self.r0) / self.beta) - _KELVIN

    def decicelsius(self, counts):
        return int(round(self.celsius(counts) * 10))

    def counts(self, celsius):
        """The noise-free ADC reading at a temperature (the inverse of celsius())."""
        ntc = self.r0 * exp(self.beta * (1.0 / (celsius + _KELVIN) - self.inv_t0))
        top = self.r_series + ntc * self.r_parallel / (ntc + self.r_parallel)
        mv = self.supply_mv * self.r_fixed / (top + self.r_fixed)
        return int(round(interpolate(self.transfer, 0, 1, mv)))


def interpolate(table, x, y, value):
    """Piecewise-linear y(value) over the table's x column (rising; flat stretches, like the
    ADC's dead zone, are passed over), clamped at both ends."""
    if value <= table[0][x]:
        return table[0][y]
    for i in range(1, len(table)):
        x1 = table[i][x]
        if value <= x1:
            x0, y0 = table[i - 1][x], table[i - 1][y]
            return y0 + (table[i][y] - y0) * (value - x0) / (x1 - x0)
    return table[-1][y]
