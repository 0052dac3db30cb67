"""`toaster telemetry export`: recorded toasts as flat tables for analysis."""

HELP = "export recorded toasts as per-tick and per-session tables (csv or parquet)"


def add_arguments(parser):
    parser.add_argument("path", metavar="DIR", help="a recording folder (its sub-folders "
                        "too) or one session file")
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv",
                        help="table format (default csv)")
    parser.add_argument("--out", metavar="DIR", help="where ticks.<format> and "
                        "sessions.<format> go (default: the recording folder)")


def run(args):
    from pathlib import Path

    from host.telemetry import export, sessions

    found = sessions.load_some(args.path)
    path = Path(args.path)
    out = args.out or (path if path.is_dir() else path.parent)
    for written, rows in export.write(found, out, args.format):
        print("%s (%d rows)" % (written, rows))
