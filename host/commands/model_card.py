"""toaster model card: a package's model card, and its figures on other logs."""

import json
from pathlib import Path

from host.errors import ToasterError

HELP = "show a package's model card; with --logs, evaluate it on a folder of labelled logs"

DESCRIPTION = """\
Without --logs: (re)write PKG/card.md from PKG/card.json and print where it is (--json:
print card.json). With --logs DIR: run the package as the device does (features from
firmware/features.py, int8 model in TFLM) on every labelled log under DIR, and report the
stop time against each log's labelled stop (for Perfect Toast Machine logs, the burnt
onset) per run and overall, beside the fixed-timer baseline recorded in the package.
--json prints these figures: stop_time_mae_s (model), timer_stop_time_mae_s (baseline),
and the rest documented in model_training/PACKAGE.md ("Evaluation on logs")."""


def add_arguments(parser):
    parser.description = DESCRIPTION
    parser.add_argument("package", metavar="PKG", help="model package folder")
    parser.add_argument("--logs", metavar="DIR", help="evaluate on the labelled logs under DIR")
    parser.add_argument("--format", metavar="NAME|FILE.json",
                        help="log format of DIR (default: the package's training format)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--out", metavar="FILE.md",
                        help="with --logs: also write the report (and its plot) here")


def run(args):
    from model_training import card, package, pipeline
    from model_training.errors import DataError

    try:
        package.read(args.package)
        if args.logs:
            result = pipeline.evaluate_logs(args.package, args.logs, args.format, quiet=args.json)
        else:
            card_data = card.read(args.package)
            if card_data is None:
                raise DataError("%s has no card.json (packages written by toaster train have "
                                "one)" % args.package)
    except DataError as exc:
        raise ToasterError(str(exc)) from None
    if not args.logs:
        if args.json:
            print(json.dumps(card_data, indent=1))
        else:
            card.write(args.package, card_data)
            print(Path(args.package) / card.CARD_MD)
        return 0
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        plots = card.plot(out.parent, result, prefix=out.stem + "-")
        text = card.logs_report(result)
        if "stops" in plots:
            text += "\n![stop times](%s)\n" % plots["stops"]
        out.write_text(text)
    if args.json:
        print(json.dumps(pipeline.logs_json(result), indent=1))
    else:
        print(card.logs_report(result), end="")
    return 0
