"""Scenarios: one toast's conditions, and the seeded sampler that draws them.

The distribution (each range's source is in hardware/README.md, "Scenario distribution"):

| field | distribution |
|---|---|
| bread | white 40 %, wholemeal 20 %, sourdough 15 %, brioche 8 %, fruit loaf 7 %, thick white 7 %, thin sandwich 3 % |
| thickness_mm, density, water | uniform in the bread type's ranges (bread.py); thickness within 8-25 mm |
| start | room 60 %, fridge (4 C) 15 %, freezer (-18 C) 25 % |
| ambient_c | uniform 15-30 C |
| region, mains_v | EU 60 % (230 V, uniform +-10 %), NA 40 % (120 V, uniform +-5 %) |
| heater_w | uniform 600-1500 W |
| slices | 2 in 75 %, 1 in 25 % |
| batch | 1 (cold toaster) 60 %, 2 in 30 %, 3 in 10 %; previous batches toasted to a uniform level 1-7 (heated until its target DE), then a 15-90 s reload gap |
| level | uniform 1-7 (the dial position) |

Scenario i of `sample(n, seed)` depends only on (seed, i): growing n keeps earlier ones.
"""

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from hardware.simulator.bread import TYPES

START_TEMPS_C = {"freezer": -18.0, "fridge": 4.0}   # EN 62552 compartment temperatures


def level_delta_e(level):
    """Target browning of a dial level, ARCHITECTURE.md's fixed table (8, 12, ... 32)."""
    return 8.0 + 4.0 * (level - 1)


@dataclass(frozen=True)
class Scenario:
    """One toast's conditions. Defaults: the issue's reference toast (white bread, room
    temperature, 1000 W at nominal EU mains, cold toaster, medium level)."""

    bread: str = "white"
    thickness_mm: float = 12.0
    density_kg_m3: float = 270.0
    water: float = 0.36
    browning_factor: float | None = None     # None: the bread type's
    slices: int = 2                          # 0 = empty toaster
    start: str = "room"                      # room | fridge | freezer
    start_temp_c: float | None = None        # None: from `start` (room = ambient)
    ambient_c: float = 20.0
    region: str = "EU"
    mains_v: float | None = None             # None: the region's nominal
    heater_w: float = 1000.0
    batch: int = 1                           # 1 = cold toaster; 2 = right after a first batch
    prev_heat_s: float | None = None         # heating of each previous batch (None: to its level)
    prev_level: int | None = None            # level the previous batches were toasted to (None: level)
    gap_s: float = 30.0                      # reload gap between batches
    level: int = 4                           # browning dial position 1-7
    lever_down_at_boot: bool = False
    seed: int = 0                            # sensor noise and part tolerances
    faults: tuple = field(default=())        # scheduled faults: (at_ms, name, {params})

    def __post_init__(self):
        problems = []
        if self.bread not in TYPES:
            problems.append("bread must be one of %s" % ", ".join(sorted(TYPES)))
        if not 4.0 <= self.thickness_mm <= 40.0:
            problems.append("thickness_mm must be 4-40")
        if not 100.0 <= self.density_kg_m3 <= 700.0:
            problems.append("density_kg_m3 must be 100-700")
        if not 0.05 <= self.water <= 0.6:
            problems.append("water must be a fraction 0.05-0.6")
        if self.slices not in (0, 1, 2):
            problems.append("slices must be 0, 1 or 2")
        if self.start not in ("room", "fridge", "freezer"):
            problems.append("start must be room, fridge or freezer")
        if self.start_temp_c is not None and not -40.0 <= self.start_temp_c <= 60.0:
            problems.append("start_temp_c must be -40..60")
        if not -10.0 <= self.ambient_c <= 45.0:
            problems.append("ambient_c must be -10..45")
        if self.region not in ("EU", "NA"):
            problems.append("region must be EU or NA")
        if self.mains_v is not None and not 0.0 <= self.mains_v <= 300.0:
            problems.append("mains_v must be 0-300")
        if not 100.0 <= self.heater_w <= 3000.0:
            problems.append("heater_w must be 100-3000")
        if self.batch not in (1, 2, 3, 4, 5):
            problems.append("batch must be 1-5")
        if self.prev_heat_s is not None and not 0.0 <= self.prev_heat_s <= 600.0:
            problems.append("prev_heat_s must be 0-600")
        if not 0.0 <= self.gap_s <= 3600.0:
            problems.append("gap_s must be 0-3600")
        if self.prev_level is not None and self.prev_level not in range(1, 8):
            problems.append("prev_level must be 1-7")
        if self.level not in range(1, 8):
            problems.append("level must be 1-7")
        if problems:
            raise ValueError("bad scenario: " + "; ".join(problems))

    @property
    def bread_type(self):
        return TYPES[self.bread]

    @property
    def browning(self):
        return self.bread_type.browning_factor if self.browning_factor is None else self.browning_factor

    @property
    def initial_temp_c(self):
        if self.start_temp_c is not None:
            return self.start_temp_c
        return START_TEMPS_C.get(self.start, self.ambient_c)

    @property
    def prev_target_de(self):
        """Browning the previous batches were toasted to (ARCHITECTURE.md's level table)."""
        return level_delta_e(self.level if self.prev_level is None else self.prev_level)

    @property
    def rated_v(self):
        return 230.0 if self.region == "EU" else 120.0

    @property
    def supply_v(self):
        return self.rated_v if self.mains_v is None else self.mains_v

    @classmethod
    def parse_fields(cls, strings):
        """Typed field values from {name: text} (command lines, socket requests)."""
        out = {}
        for key, text in strings.items():
            kind = FIELD_TYPES.get(key)
            if kind is None:
                raise ValueError("unknown scenario field %r (fields: %s)" % (key, ", ".join(FIELD_TYPES)))
            try:
                if text.lower() == "none" and key in OPTIONAL:
                    out[key] = None
                elif kind is bool:
                    out[key] = text.lower() in ("1", "true", "yes", "on")
                else:
                    out[key] = kind(text)
            except ValueError:
                raise ValueError("scenario field %s must be a %s, not %r" % (key, kind.__name__, text)) from None
        return out

    def with_(self, **changes):
        return replace(self, **changes)

    def to_dict(self):
        return asdict(self)


FIELD_TYPES = {
    "bread": str, "thickness_mm": float, "density_kg_m3": float, "water": float,
    "browning_factor": float, "slices": int, "start": str, "start_temp_c": float,
    "ambient_c": float, "region": str, "mains_v": float, "heater_w": float, "batch": int,
    "prev_heat_s": float, "prev_level": int, "gap_s": float, "level": int, "lever_down_at_boot": bool, "seed": int,
}
OPTIONAL = ("browning_factor", "start_temp_c", "mains_v", "prev_heat_s", "prev_level")


def _uniform(rng, bounds):
    return float(rng.uniform(bounds[0], bounds[1]))


def sample_one(seed, index=0):
    """Scenario `index` of the documented distribution for `seed` (see module docstring)."""
    rng = np.random.default_rng([seed, index])
    names = list(TYPES)
    weights = np.array([TYPES[n].weight for n in names])
    bread = TYPES[names[rng.choice(len(names), p=weights / weights.sum())]]
    start = ("room", "fridge", "freezer")[rng.choice(3, p=[0.60, 0.15, 0.25])]
    region = "EU" if rng.random() < 0.6 else "NA"
    nominal, tol = (230.0, 0.10) if region == "EU" else (120.0, 0.05)
    batch = int(rng.choice([1, 2, 3], p=[0.6, 0.3, 0.1]))
    return Scenario(
        bread=bread.name,
        thickness_mm=round(_uniform(rng, bread.thickness_mm), 1),
        density_kg_m3=round(_uniform(rng, bread.density_kg_m3), 0),
        water=round(_uniform(rng, bread.water), 3),
        slices=2 if rng.random() < 0.75 else 1,
        start=start,
        ambient_c=round(_uniform(rng, (15.0, 30.0)), 1),
        region=region,
        mains_v=round(nominal * (1.0 + _uniform(rng, (-tol, tol))), 1),
        heater_w=round(_uniform(rng, (600.0, 1500.0)), 0),
        batch=batch,
        gap_s=round(_uniform(rng, (15.0, 90.0)), 0),
        level=int(rng.integers(1, 8)),
        prev_level=int(rng.integers(1, 8)),
        seed=int(rng.integers(0, 2**31 - 1)),
    )


def sample(n, seed=0):
    """n scenarios of the documented distribution; scenario i depends only on (seed, i)."""
    return [sample_one(seed, i) for i in range(n)]
