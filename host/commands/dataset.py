"""`toaster dataset from-telemetry`: recorded toasts and their feedback -> a training set."""

HELP = "turn recorded toast sessions and their feedback into a labelled training data set"

DESCRIPTION = """\
Read the toast sessions of a recording folder (toaster telemetry record), label each by
its feedback (model_training/FEEDBACK.md: "too dark" moves the ideal stop earlier, to where
the toast was 4 DE lighter; "too light" puts it after the recorded trace; "just right" at
the model's own stop) and print a summary: sessions, those with feedback, per label, the
household's browning target per level. Sessions without feedback are weak labels (the
model's own stop) or left out (--unrated drop). --out writes the data set as JSON (per
session its traces, level, rating, label, stop and ideal stop)."""


def add_arguments(parser):
    parser.description = DESCRIPTION
    parser.add_argument("path", metavar="DIR", help="recording folder (its sub-folders too)")
    parser.add_argument("--out", metavar="FILE", help="write the data set here (JSON)")
    parser.add_argument("--base", metavar="PKG", help="the model package the sessions ran: "
                        "its level targets are the ones feedback moves (default: the "
                        "factory targets)")
    parser.add_argument("--unrated", choices=("weak", "drop"), default="weak",
                        help="sessions without feedback: weak labels (default) or left out")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args):
    import json
    from pathlib import Path

    from host.errors import ToasterError
    from model_training import feedback, package
    from model_training.errors import DataError

    if not Path(args.path).is_dir():
        raise ToasterError("%s is not a folder" % args.path, exit_code=2)
    try:
        base = package.read(args.base)[1] if args.base else None
        data = feedback.read(args.path, base, args.unrated)
    except DataError as exc:
        raise ToasterError(str(exc)) from None
    except (OSError, ValueError, KeyError) as exc:
        raise ToasterError("cannot read the base package %s: %s" % (args.base, exc)) from None
    summary = data.summary()
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(data.to_json(), separators=(",", ":")))
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        for line in summary_lines(summary, data):
            print(line)
    if args.out:
        print("data set: %s" % args.out)
    if not data.runs:
        raise ToasterError("no usable session in %s (%s)" % (args.path, ", ".join(
            "%s %d" % kv for kv in summary["skipped"].items())))
    return 0


def summary_lines(summary, data):
    out = ["%d sessions, %d used, %d with feedback (unrated: %s)"
           % (summary["sessions"], summary["used"], summary["with_feedback"],
              summary["unrated"]),
           "labels: " + (", ".join("%s %d" % kv for kv in summary["per_label"].items())
                         or "none")]
    if summary["skipped"]:
        out.append("left out: " + ", ".join("%s %d" % kv for kv in summary["skipped"].items()))
    moved = ["level %d %.1f -> %.1f" % (lv, data.base_targets[lv], de)
             for lv, de in sorted(data.targets.items()) if de != data.base_targets[lv]]
    out.append("browning targets (DE): " + ("; ".join(moved) or "unchanged"))
    return out
