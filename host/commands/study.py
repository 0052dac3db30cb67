"""`toaster study household`: a simulated household teaches its toaster, round by round."""

HELP = "simulated household study: toasts, feedback, retraining from telemetry, per round"

DESCRIPTION = """\
A household whose tastes differ from the factory's browning levels uses the virtual
toaster (the real firmware on MicroPython, the simulator behind it) for a few rounds.
Each round: the current model package is flashed, every user toasts at their habitual
level and sometimes presses a feedback button (more often when unhappy), the host
recorder records the serial telemetry, and `toaster train --source telemetry --base`
makes the next round's package from it. Prints per round the share of "just right"
feedback, the share of toasts the users were happy with, the browning error against each
user's true preference and the guardrail violations (which must be zero); writes
study.json and study.png into --out. Design: model_training/FEEDBACK.md."""


def add_arguments(parser):
    parser.description = DESCRIPTION
    parser.add_argument("--users", type=int, default=4, metavar="N", help="users (default 4)")
    parser.add_argument("--rounds", type=int, default=4, metavar="R",
                        help="rounds, the first on the factory model (default 4)")
    parser.add_argument("--toasts", type=int, default=5, metavar="T",
                        help="toasts per user per round (default 5)")
    parser.add_argument("--base", metavar="PKG", help="the factory package of round 1 "
                        "(default: trained first on simulated toasts into OUT/factory)")
    parser.add_argument("--unrated", choices=("weak", "drop"), default="weak",
                        help="sessions without feedback: weak labels or left out")
    parser.add_argument("--seed", type=int, default=0, metavar="S",
                        help="seed of the household and its choices (default 0)")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for everything")


def run(args):
    from pathlib import Path

    from tqdm import tqdm

    from host.errors import ToasterError
    from model_training import household, pipeline
    from model_training.errors import DataError

    if args.users < 1 or args.rounds < 1 or args.toasts < 1:
        raise ToasterError("--users, --rounds and --toasts must be at least 1", exit_code=2)
    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        raise ToasterError("%s is not empty: choose another --out" % out, exit_code=2)
    users = household.household(args.users, args.seed)
    for u in users:
        print("%s: level %d, likes DE %.1f (factory %.0f, %+.1f)"
              % (u.name, u.level, u.preferred_de, u.preferred_de - u.offset_de, u.offset_de))
    try:
        base = args.base
        if base is None:
            base = out / "factory"
            print("training the factory model on simulated toasts -> %s" % base)
            pipeline.train_package(base, pipeline.Source("simulated"), quiet=True)
        result = household.study(
            out, users, args.rounds, args.toasts, base, args.seed, args.unrated,
            progress_factory=lambda n, name: tqdm(total=n, desc=name, unit="toast",
                                                  leave=False))
    except DataError as exc:
        raise ToasterError(str(exc)) from None
    household.plot(result, out / "study.png")
    gain = result["improvement"]
    print("first to last round: DE error %+.2f, happy %+.0f points, just right %s; "
          "violations %d" % (gain["de_mae"], 100 * gain["happy_share"],
                             "-" if gain["right_share"] is None
                             else "%+.0f points" % (100 * gain["right_share"]),
                             gain["violations"]))
    print("results: %s, %s" % (out / "study.json", out / "study.png"))
    return 1 if gain["violations"] else 0
