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

    from host.errors import ToasterError
    from host.telemetry import export, sessions

    try:
        found = sessions.load(args.path)
    except FileNotFoundError:
        raise ToasterError("no such file or folder: %s" % args.path)
    except OSError as exc:
        raise ToasterError("cannot read %s: %s" % (args.path, exc.strerror or exc))
    if not found:
        raise ToasterError("no toast sessions in %s (session files are named session-*.jsonl)"
                           % args.path)
    path = Path(args.path)
    out = args.out or (path if path.is_dir() else path.parent)
    for written, rows in export.write(found, out, args.format):
        print("%s (%d rows)" % (written, rows))
