"""toaster evaluate: the model package against a timer and a colour rule, closed loop."""

import json
import sys
import time
from pathlib import Path

from host.errors import ToasterError

HELP = "toast the scenario suite with the model, a timer and a colour rule in the real firmware"

DESCRIPTION = """\
Closed-loop evaluation. The real firmware (MicroPython, the virtual toaster in lockstep
virtual time) toasts the first N toasts of the seeded scenario suite
(model_training/suite.py) three times: with the model package, with a fixed timer per
level and with a colour-threshold rule, the two baselines tuned on the package's
training scenarios. Without --package a model is trained first (and it says so). Writes
report.md with PNG plots and results.json into --out; --json prints the figures. Exit
status 3 when the model's toasts were not all decided by the model (the firmware fell
back to its timer: the model figures are refused)."""

REFUSED_EXIT = 3


def add_arguments(parser):
    parser.description = DESCRIPTION
    parser.add_argument("--package", metavar="PKG",
                        help="model package folder (default: train one into OUT/model)")
    parser.add_argument("--toasts", type=int, default=500, metavar="N",
                        help="toasts of the suite per policy (default 500)")
    parser.add_argument("--out", metavar="DIR",
                        help="report folder (default out/evaluate/<time>)")
    parser.add_argument("--workers", type=int, default=None, metavar="W",
                        help="parallel virtual toasters (default: the CPU count)")
    parser.add_argument("--json", action="store_true",
                        help="print {\"policies\": {name: figures}} as JSON")


def run(args):
    if args.toasts < 1:
        raise ToasterError("--toasts must be at least 1", exit_code=2)
    if args.workers is not None and args.workers < 1:
        raise ToasterError("--workers must be at least 1", exit_code=2)
    if args.package is not None and not (Path(args.package) / "model.json").is_file():
        raise ToasterError("%s is not a model package (no model.json)" % args.package,
                           exit_code=2)
    from model_training import evaluate, evaluate_report
    from model_training.errors import DataError

    out = Path(args.out or Path("out") / "evaluate" / time.strftime("%Y%m%d-%H%M%S"))
    say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    try:
        policies = evaluate.prepare(out, args.package, say)
    except DataError as exc:
        raise ToasterError(str(exc)) from None
    results = evaluate.run(policies, args.toasts, args.workers, _bars(args.toasts))
    summary = evaluate.summarise(results)
    report = evaluate_report.write(out, summary, results, policies)
    say("report: %s" % report)
    if args.json:
        print(json.dumps({"policies": {name: {k: v for k, v in p.items() if k != "by_level"}
                                       for name, p in summary["policies"].items()},
                          "suite": summary["suite"], "report": str(report)}))
    else:
        for name, p in summary["policies"].items():
            print("%-6s browning MAE %5.2f DE, in band %5.1f %%, burnt %4.1f %%, "
                  "violations %d%s" % (name, p["browning_mae"], 100 * p["in_band_rate"],
                                       100 * p["burnt_rate"], p["violations"],
                                       "  REFUSED: " + p["refused"] if p["refused"] else ""))
    refused = summary["policies"]["model"]["refused"]
    if refused:
        say("toaster: the model's figures are refused: %s" % refused)
        return REFUSED_EXIT
    return 0


def _bars(total):
    def bar(name):
        from tqdm import tqdm

        progress = tqdm(total=total, desc=name, unit="toast", file=sys.stderr, leave=False,
                        dynamic_ncols=True)

        def update(n):
            progress.update(n)
            if progress.n >= total:
                progress.close()
        return update
    return bar
