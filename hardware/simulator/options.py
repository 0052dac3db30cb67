"""Command-line options for a scenario, shared by `python -m hardware.simulator` and
`toaster sim run`."""

from hardware.simulator.bread import TYPES
from hardware.simulator.faults import FaultError, check
from hardware.simulator.scenario import Scenario, sample_one

# option -> scenario field
_FIELDS = {
    "bread": "bread", "thickness": "thickness_mm", "density": "density_kg_m3", "water": "water",
    "browning_factor": "browning_factor", "slices": "slices", "start": "start",
    "start_temp": "start_temp_c", "ambient": "ambient_c", "region": "region",
    "mains_v": "mains_v", "heater_power": "heater_w", "batch": "batch",
    "prev_heat_s": "prev_heat_s", "gap_s": "gap_s", "level": "level",
}


def add_scenario_arguments(parser):
    g = parser.add_argument_group("scenario (defaults: white bread, 12 mm, room temperature, "
                                  "20 C, 230 V, 1000 W, cold toaster, level 4)")
    g.add_argument("--sample", type=int, metavar="I",
                   help="start from scenario I of the documented distribution for --seed; "
                        "the options below override its fields")
    g.add_argument("--bread", choices=sorted(TYPES), help="bread type")
    g.add_argument("--thickness", type=float, metavar="MM", help="slice thickness, 8-25 mm")
    g.add_argument("--density", type=float, metavar="KG_M3", help="crumb density")
    g.add_argument("--water", type=float, metavar="FRACTION", help="water content, wet basis")
    g.add_argument("--browning-factor", type=float, metavar="F",
                   help="browning speed vs white bread (default: the bread type's)")
    g.add_argument("--slices", type=int, choices=(0, 1, 2), help="slices loaded (0: empty)")
    g.add_argument("--start", choices=("room", "fridge", "freezer"), help="where the bread comes from")
    g.add_argument("--start-temp", type=float, metavar="C", help="bread temperature (overrides --start)")
    g.add_argument("--ambient", type=float, metavar="C", help="kitchen temperature, 15-30 C")
    g.add_argument("--region", choices=("EU", "NA"), help="mains: EU 230 V or NA 120 V")
    g.add_argument("--mains-v", type=float, metavar="V", help="supply voltage (default: nominal)")
    g.add_argument("--heater-power", type=float, metavar="W", help="rated heater power, 600-1500 W")
    g.add_argument("--batch", type=int, metavar="N", help="1 = cold toaster, 2 = right after a first batch")
    g.add_argument("--prev-heat-s", type=float, metavar="S", help="heating time of each previous batch")
    g.add_argument("--gap-s", type=float, metavar="S", help="reload gap after each previous batch")
    g.add_argument("--level", type=int, choices=range(1, 8), metavar="1-7", help="browning dial position")
    g.add_argument("--lever-down-at-boot", action="store_true", help="power up with the lever held down")
    g.add_argument("--seed", type=int, default=0, help="sensor noise, part tolerances, --sample")
    g.add_argument("--fault", action="append", default=[], metavar="NAME[@MS][:K=V,...]",
                   help="inject a fault, e.g. ntc_open@30000 or mains@5000:volts=180 (repeatable)")


def parse_fault(text):
    """'name[@ms][:k=v,...]' -> (at_ms, name, params)."""
    head, _, tail = text.partition(":")
    name, _, at = head.partition("@")
    params = {}
    for item in filter(None, tail.split(",")):
        key, eq, value = item.partition("=")
        if not eq:
            raise ValueError("fault parameter %r: expected key=value" % item)
        params[key] = value
    try:
        check(name, params)
        return (int(at) if at else 0, name, params)
    except FaultError as exc:
        raise ValueError(str(exc)) from None
    except ValueError:
        raise ValueError("fault time %r must be whole milliseconds" % at) from None


def scenario_from_args(args):
    """The Scenario the options describe; ValueError with a readable message if bad."""
    base = sample_one(args.seed, args.sample) if args.sample is not None else Scenario(seed=args.seed)
    changes = {field: getattr(args, opt) for opt, field in _FIELDS.items()
               if getattr(args, opt, None) is not None}
    if args.lever_down_at_boot:
        changes["lever_down_at_boot"] = True
    if args.region and args.mains_v is None:
        changes["mains_v"] = None
    changes["faults"] = tuple(parse_fault(f) for f in args.fault)
    return base.with_(seed=args.seed, **changes) if args.sample is None else base.with_(**changes)
