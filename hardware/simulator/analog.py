"""The analog front ends as the ADC sees them: NTC divider, dial ladder, reference.

Volts -> raw 12-bit counts through the ESP32's transfer curve (parts.json "adc"), plus
Gaussian noise, rounded and clipped like the real SAR ADC. Every function takes a float
(one toaster) or an array (a batch) and gives the same bits either way (see ops.py).
"""

import numpy as np

from hardware.simulator import noise
from hardware.simulator.ops import ops_for

KELVIN = 273.15
OPEN = float("inf")     # NTC resistance when its wires are open
SHORT = 0.0             # ... and when they are shorted


def adc_counts(mv, adc):
    """Noise-free raw counts (float) for an input voltage in mV."""
    return ops_for(mv).interp(mv, *_transfer(adc["transfer_mv_counts"]))


_TRANSFER = {}   # id(table) -> (table, mV list, counts list)


def _transfer(table):
    """The transfer table as (mV, counts) float lists, made once per table."""
    made = _TRANSFER.get(id(table))
    if made is None or made[0] is not table:
        made = _TRANSFER[id(table)] = (table, [float(p[0]) for p in table],
                                       [float(p[1]) for p in table])
    return made[1:]


def quantise(counts, z, adc):
    """Raw ADC reading: counts plus noise (z standard normal), rounded and clipped."""
    ops = ops_for(counts)
    top = 2 ** adc["bits"] - 1
    value = ops.clip(ops.rint(counts + adc["noise_counts_rms"] * z), 0.0, float(top))
    return int(value) if isinstance(value, float) else value.astype(np.int64)


def ntc_ohm(temp_c, ntc, r25_factor=1.0):
    """The thermistor's resistance by the B-equation (parts.json "ntc")."""
    t0_k = ntc["t0_c"] + KELVIN
    return ntc["r25_ohm"] * r25_factor * ops_for(temp_c).exp(ntc["b_k"] * (1.0 / (temp_c + KELVIN) - 1.0 / t0_k))


def ntc_mv(r_ntc, divider):
    """ADC node voltage for a thermistor resistance (inf = open, 0 = short)."""
    rp = divider["r_parallel_ohm"]
    ops = ops_for(r_ntc)
    with ops.quiet():   # inf / inf where the wires are open: where() discards it
        parallel = ops.where(r_ntc == OPEN, rp, r_ntc * rp / (r_ntc + rp))
    r_top = divider["r_series_ohm"] + parallel
    return divider["supply_mv"] * divider["r_fixed_ohm"] / (divider["r_fixed_ohm"] + r_top)


def ntc_counts(temp_c, parts, r25_factor=1.0):
    """Noise-free counts for the NTC at temp_c."""
    return adc_counts(ntc_mv(ntc_ohm(temp_c, parts["ntc"], r25_factor), parts["ntc_divider"]),
                      parts["adc"])


def dial_mv(position, dial):
    """Wiper voltage at dial position 1-7 (0: between detents, the pull-down wins)."""
    if not 1 <= position <= 7:
        return 0.0
    ladder = dial["ladder_ohm"]
    return dial["supply_mv"] * sum(ladder[:position]) / sum(ladder)


def dial_nominal_counts(parts):
    """Nominal raw counts of dial positions 1-7 (the firmware's table)."""
    return [int(round(adc_counts(dial_mv(k, parts["dial"]), parts["adc"]))) for k in range(1, 8)]


def ref_mv(parts, drift_mv=0.0):
    ref = parts["reference_divider"]
    return ref["supply_mv"] * ref["ratio"] + drift_mv


def read(counts, seed, stream, index, parts):
    """One noisy raw reading of a channel at a sample index (see noise.py)."""
    return quantise(counts, noise.gaussian(seed, stream, index), parts["adc"])
