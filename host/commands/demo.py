"""toaster demo: the whole job end to end on the virtual toaster (what `make demo` runs)."""

import time
from pathlib import Path

from host.errors import ToasterError

HELP = ("train a model, flash it with the firmware onto the virtual toaster, toast three "
        "slices with it while recording telemetry, rate them, report and plot")


def add_arguments(parser):
    parser.add_argument("--out", metavar="DIR",
                        help="where the model, the telemetry and the plot go "
                             "(default: out/demo/<date-time>)")
    parser.add_argument("--runs", type=int, metavar="N",
                        help="simulated toasts to train on (default: toaster train's)")


def run(args):
    from host import demo

    if args.runs is not None and args.runs < 10:
        raise ToasterError("--runs must be at least 10", exit_code=2)
    out = Path(args.out) if args.out else demo.ROOT / "out" / "demo" / time.strftime(
        "%Y%m%d-%H%M%S")
    if out.exists() and any(out.iterdir()):
        raise ToasterError("%s is not empty: the demo records into a folder of its own"
                           % out, exit_code=2)
    demo.demo(out, runs=args.runs)
