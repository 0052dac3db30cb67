"""The fault catalogue: every sensor and actuator fault the simulator can inject.

A fault is a name and parameters, injected now or at a virtual time, optionally for a
duration (`for_ms`). Python: `toaster.inject("ntc_open", at_ms=30000)`; control socket:
`FAULT ntc_open at=30000`. `describe()` lists them with their parameters.
"""

# name -> (parameters with defaults, what it does)
CATALOGUE = {
    "ntc_open": ({}, "thermistor wires open: the divider reads below the ADC band"),
    "ntc_short": ({}, "thermistor wires shorted: the divider reads above the ADC band"),
    "ntc_stuck": ({}, "thermistor reading frozen at its value when injected"),
    "ntc_drift": ({"c_per_s": 0.5}, "thermistor reading drifts from its true value by c_per_s"),
    "ntc_detached": ({}, "thermistor fell off its clip: it reads ambient air"),
    "colour_stuck": ({}, "colour data registers frozen at their values when injected"),
    "colour_noisy": ({"counts": 200.0}, "colour channels get extra Gaussian noise (rms counts)"),
    "colour_bus": ({}, "I2C bus error: every colour-sensor transfer fails with EIO"),
    "relay_welded": ({}, "relay contacts welded closed: heater powered whatever the coil"),
    "pin_stuck": ({"pin": "heartbeat", "level": 1},
                  "an MCU output stuck at a level (heartbeat stuck high: no edges)"),
    "input_stuck": ({"pin": "cancel", "level": 1},
                    "an input reads a fixed level (lever, cancel, fb_light, fb_right, fb_dark, heat_sense)"),
    "mains": ({"volts": 0.0, "factor": 0.0},
              "mains sag or surge: set volts, or factor x the scenario's supply"),
    "power_loss": ({}, "unplugged: mains 0 V, MCU off, hold magnet released"),
    "no_bread": ({}, "the bread is taken out (or was never there): an empty toaster"),
    "clock_skew": ({"factor": 1.1}, "the MCU clock runs factor x true time (TIME and SLEEP)"),
    "dial_open": ({}, "dial wiper floats (broken ladder or between detents): reads about 0"),
    "ref_drift": ({"mv": 100.0}, "the ADC reference channel reads mv off (ADC fault)"),
}

OUTPUTS = ("heat_en", "heartbeat", "hold", "buzzer")
INPUTS = ("lever", "cancel", "fb_light", "fb_right", "fb_dark", "heat_sense")


class FaultError(ValueError):
    """An unknown fault or a bad parameter: the message says which and what is allowed."""


def check(name, params):
    """Validated parameters for a fault (defaults filled in), or FaultError."""
    if name not in CATALOGUE:
        raise FaultError("unknown fault %r; known: %s" % (name, ", ".join(sorted(CATALOGUE))))
    defaults, _ = CATALOGUE[name]
    unknown = set(params) - set(defaults)
    if unknown:
        raise FaultError("fault %s takes %s, not %s" % (
            name, ", ".join(sorted(defaults)) or "no parameters", ", ".join(sorted(unknown))))
    out = dict(defaults)
    for key, value in params.items():
        want = type(defaults[key])
        try:
            out[key] = want(value) if want is not int else int(value)
        except (TypeError, ValueError):
            raise FaultError("fault %s: %s must be a %s" % (name, key, want.__name__)) from None
    if name == "pin_stuck" and (out["pin"] not in OUTPUTS or out["level"] not in (0, 1)):
        raise FaultError("pin_stuck: pin must be one of %s and level 0 or 1" % ", ".join(OUTPUTS))
    if name == "input_stuck" and (out["pin"] not in INPUTS or out["level"] not in (0, 1)):
        raise FaultError("input_stuck: pin must be one of %s and level 0 or 1" % ", ".join(INPUTS))
    if name == "mains" and not (0.0 <= out["volts"] <= 300.0 and 0.0 <= out["factor"] <= 2.0):
        raise FaultError("mains: volts must be 0-300 or factor 0-2")
    if name == "clock_skew" and not 0.5 <= out["factor"] <= 2.0:
        raise FaultError("clock_skew: factor must be 0.5-2.0")
    return out


def describe():
    """One line per fault: name, parameters with defaults, what it does."""
    lines = []
    for name, (defaults, text) in sorted(CATALOGUE.items()):
        params = " ".join("%s=%s" % kv for kv in defaults.items())
        lines.append("%-13s %-22s %s" % (name, params, text))
    return "\n".join(lines)
