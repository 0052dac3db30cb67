"""`toaster telemetry report`: a summary per recorded toast, per model, and a plot."""

HELP = "summarise recorded toasts (per session and per model id) and plot them"


def add_arguments(parser):
    parser.add_argument("path", metavar="FILE|DIR", help="a session file, or a recording "
                        "folder (its sub-folders too)")
    parser.add_argument("--plot", metavar="PNG", help="plot the toasts: temperature, "
                        "colour, heater, guard and stop on one time axis (several toasts: "
                        "one image each, named PNG's stem + boot + session)")
    parser.add_argument("--model", metavar="PACKAGE", help="the model package the toasts "
                        "ran: its output is recomputed for every tick (the device sends only "
                        "its decision), plotted, and checked against the stop")
    parser.add_argument("--session", metavar="TEXT", help="only sessions whose file name "
                        "contains TEXT (e.g. a boot id, or a boot id and -003)")
    parser.add_argument("--last", type=int, metavar="N", help="only the N latest sessions")


def run(args):
    from pathlib import Path

    from host.errors import ToasterError
    from host.telemetry import report, sessions
    from host.telemetry.model_output import Package

    package = Package(args.model) if args.model else None
    found = sessions.load_some(args.path)
    if args.session:
        found = [s for s in found if args.session in s.path.name]
    if args.last:
        found = found[-args.last:]
    if not found:
        raise ToasterError("no session in %s matches --session/--last" % args.path)
    for line in report.text(found, package):
        print(line)
    if args.plot:
        plot = Path(args.plot)
        for s in found:
            path = plot if len(found) == 1 else plot.with_name(
                "%s-%s%s" % (plot.stem, s.path.stem[len("session-"):], plot.suffix or ".png"))
            report.plot(s, path, package)
            print("plot %s" % path)
