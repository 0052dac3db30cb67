"""The evaluation's scenario suite, version 1: seeded, stable, and apart from the training
scenarios (SEED is none the training uses: `toaster train` samples seed 0 by default, and
`toaster evaluate` refuses a package trained on this one).

The suite is a list of sessions (host/closed_loop.py): one toaster unit toasting 1-4
batches in a row, so that second, third and fourth batches meet a toaster warmed by the
batches before (toasted by the policy under test, as at home), after a reload gap.

Session j (hardware/simulator/scenario.py's documented distribution throughout):
- unit: heater rating, region and mains voltage, kitchen temperature, part tolerances
  and noise of scenario.sample_one(SEED, 4 j) (600-1500 W; EU 230 V +-10 % 60 %, NA
  120 V +-5 % 40 %; 15-30 C);
- 1, 2, 3 or 4 toasts, equally likely (40 % of toasts on a cold toaster, 60 % warm);
- toast k: bread, thickness, density, water, slices, start (room, fridge, freezer) and
  level of scenario.sample_one(SEED, 4 j + k);
- before toast k > 0 a reload gap uniform in 15-90 s from the previous toast's carriage
  up (its slice is measured 10 s after it).

Toast i depends only on (seed, its session): asking for more toasts keeps the earlier ones.
Groups (a toast may be in several): frozen, fridge, room start; cold / warm toaster;
low voltage (mains below 95 % of nominal); weak (< 800 W) / strong (> 1300 W) heater;
thin (<= 10 mm) / thick (>= 18 mm) bread; light (levels 1-2) / dark (6-7) levels; one slice.
"""

import numpy as np

from hardware.simulator.scenario import sample_one
from host.closed_loop import Session, ToastSpec

VERSION = 1
SEED = 6006
MAX_TOASTS = 4        # per session
GAP_S = (15.0, 90.0)
LOAD_FIELDS = ("bread", "thickness_mm", "density_kg_m3", "water", "slices", "start")
GROUPS = ("frozen", "fridge", "room start", "cold toaster", "warm toaster", "low voltage",
          "weak heater", "strong heater", "thin bread", "thick bread", "light levels",
          "dark levels", "one slice")


def groups(unit, toast, batch):
    """The groups a toast belongs to (see the module docstring)."""
    out = {"freezer": "frozen", "fridge": "fridge", "room": "room start"}[toast.start]
    found = [out, "warm toaster" if batch > 1 else "cold toaster"]
    tests = (("low voltage", unit.supply_v < 0.95 * unit.rated_v),
             ("weak heater", unit.heater_w < 800), ("strong heater", unit.heater_w > 1300),
             ("thin bread", toast.thickness_mm <= 10), ("thick bread", toast.thickness_mm >= 18),
             ("light levels", toast.level <= 2), ("dark levels", toast.level >= 6),
             ("one slice", toast.slices == 1))
    return found + [name for name, yes in tests if yes]


def session(j, seed=SEED):
    """Session j of the suite."""
    rng = np.random.default_rng([seed, j])
    count = int(rng.integers(1, MAX_TOASTS + 1))
    gaps = rng.uniform(*GAP_S, size=MAX_TOASTS)
    unit = sample_one(seed, MAX_TOASTS * j).with_(batch=1)
    specs = []
    for k in range(count):
        toast = sample_one(seed, MAX_TOASTS * j + k)
        tags = {"bread": toast.bread, "thickness_mm": toast.thickness_mm,
                "start": toast.start, "slices": toast.slices, "batch": k + 1,
                "heater_w": unit.heater_w, "mains_v": unit.supply_v, "region": unit.region,
                "groups": groups(unit, toast, k + 1)}
        specs.append(ToastSpec(level=toast.level,
                               load={f: getattr(toast, f) for f in LOAD_FIELDS},
                               gap_s=round(float(gaps[k]), 1) if k else 0.0, tags=tags))
    return Session("s%d" % j, unit, specs)


def sessions(toasts, seed=SEED):
    """The first `toasts` toasts of the suite, as sessions (the last one cut short)."""
    if toasts < 1:
        raise ValueError("the suite needs at least one toast")
    out, n, j = [], 0, 0
    while n < toasts:
        s = session(j, seed)
        s.toasts = s.toasts[:toasts - n]
        out.append(s)
        n += len(s.toasts)
        j += 1
    return out
