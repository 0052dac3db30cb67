"""toaster train: data -> a verified model package, in one command."""

import json
from pathlib import Path

from host.errors import ToasterError

HELP = "train a model and write a verified int8 model package (model.tflite + model.json)"

DESCRIPTION = """\
Train the toasting model and write a model package: simulated runs from the virtual
toaster (--source sim), a folder of labelled CSV logs (--source logs DIR, e.g. the Perfect
Toast Machine's), or the project's telemetry sessions (--source telemetry DIR --base PKG).
Steps: data, split by run, MLP training, int8 export, verification (TFLM, LiteRT,
agreement with the float model, firmware interpreter bit-exact), package and model card
(card.md in the package). Fails with a message when a step or check fails; an existing
package folder is only replaced with --force."""


def add_arguments(parser):
    parser.description = DESCRIPTION
    parser.add_argument("--source", nargs="+", required=True, metavar=("KIND", "DIR"),
                        help="sim | logs DIR | telemetry DIR")
    parser.add_argument("--out", required=True, metavar="PKG", help="package folder to write")
    parser.add_argument("--runs", type=int, default=None, metavar="N",
                        help="simulated toasts to generate (default 400)")
    parser.add_argument("--data-seed", type=int, default=0, metavar="S",
                        help="seed of the simulated scenarios (default 0)")
    parser.add_argument("--seed", type=int, default=0, metavar="S",
                        help="seed of the split and the training (default 0)")
    parser.add_argument("--format", metavar="NAME|FILE.json",
                        help="log format: channels and labels of the CSV logs "
                             "(default perfect-toast-machine; see model_training/formats/)")
    parser.add_argument("--base", metavar="PKG",
                        help="telemetry: the package whose sessions are learned from (the new "
                             "package names it as its parent)")
    parser.add_argument("--unrated", choices=("weak", "drop"), default="weak",
                        help="telemetry: sessions without feedback count as 'the stop was "
                             "right' (weak, default) or are left out (drop); "
                             "model_training/FEEDBACK.md")
    loo = parser.add_mutually_exclusive_group()
    loo.add_argument("--loo", dest="loo", action="store_true", default=None,
                     help="also evaluate leave-one-run-out (default for logs)")
    loo.add_argument("--no-loo", dest="loo", action="store_false")
    parser.add_argument("--no-firmware-check", action="store_true",
                        help="skip the firmware interpreter's bit-exactness check")
    parser.add_argument("--force", action="store_true", help="replace an existing package")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument("--json", action="store_true", help="print the manifest as JSON")


def source_from_args(args):
    from model_training.pipeline import SIM_RUNS, Source

    kind, rest = args.source[0], args.source[1:]
    if kind in ("sim", "simulated"):
        if rest:
            raise ToasterError("--source sim takes no folder", exit_code=2)
        runs = SIM_RUNS if args.runs is None else args.runs
        return Source("simulated", runs=runs, seed=args.data_seed)
    if kind in ("logs", "telemetry"):
        if len(rest) != 1:
            raise ToasterError("--source %s needs one folder: --source %s DIR" % (kind, kind),
                               exit_code=2)
        if not Path(rest[0]).is_dir():
            raise ToasterError("%s is not a folder" % rest[0], exit_code=2)
        if kind == "telemetry" and not args.base:
            raise ToasterError("--source telemetry needs --base PKG (the model the sessions "
                               "were recorded with)", exit_code=2)
        if kind == "telemetry" and not Path(args.base).is_dir():
            raise ToasterError("--base %s is not a model package folder" % args.base,
                               exit_code=2)
        return Source(kind, path=rest[0], log_format=args.format, base=args.base,
                      unrated=args.unrated)
    raise ToasterError("unknown source %r: sim, logs DIR or telemetry DIR" % kind, exit_code=2)


def check_out(path, force):
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ToasterError("%s exists and is not a folder" % out, exit_code=2)
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ToasterError("%s is not empty: choose another --out or add --force" % out,
                           exit_code=2)


def run(args):
    from model_training import pipeline
    from model_training.errors import DataError

    source = source_from_args(args)
    check_out(args.out, args.force)
    try:
        result = pipeline.train_package(args.out, source, seed=args.seed, loo=args.loo,
                                        firmware_check=not args.no_firmware_check,
                                        quiet=args.quiet)
    except DataError as exc:
        raise ToasterError(str(exc)) from None
    meta = result.manifest
    if args.json:
        print(json.dumps(meta, indent=1))
        return 0
    print(summary_line(meta))
    print("package: %s (card: %s)" % (result.folder, result.folder / "card.md"))
    return 0


def summary_line(meta):
    m = meta["metrics"]
    v = m.get("verification", {})
    text = "model %s (%s): " % (meta["id"], meta["name"])
    if "stop_time_mae_s" in m:
        text += "stop time MAE %.2f s vs fixed timer %.2f s (%s); " % (
            m["stop_time_mae_s"], m.get("timer_stop_time_mae_s", float("nan")),
            m["evaluated_on"].replace("_", " "))
    if "in_band" in m:
        text += "in band %.1f %% (timer %.1f %%); " % (100 * m["in_band"],
                                                      100 * m.get("timer_in_band", 0))
    text += "int8 agrees with float on %.2f %% of held-out ticks; firmware %s; %d bytes" % (
        100 * v.get("decision_agreement", 0),
        "bit-exact" if v.get("firmware_bit_exact") else "not checked",
        meta["size"]["tflite_bytes"])
    return text
