"""`toaster telemetry record`: frames from a device's serial port into session files."""

HELP = "record telemetry from a toaster into session files (one per toast) and a raw log"


def add_arguments(parser):
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--port", help="serial port of the device (a path such as "
                        "/dev/ttyACM0, the virtual device's /dev/pts/N, or a pyserial URL); "
                        "prefer a stable path such as /dev/serial/by-id/..., which comes "
                        "back under the same name after a cable pull")
    source.add_argument("--replay", metavar="RAW", help="read a raw-*.bin saved by an "
                        "earlier recording instead of a port (to rebuild session files)")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="recording folder (created; appended to when it exists)")
    parser.add_argument("--baud", type=int, default=115200, help="baud rate (default 115200; "
                        "USB CDC ports ignore it)")
    parser.add_argument("--duration", type=float, metavar="S",
                        help="stop after S seconds (default: until Ctrl-C)")
    parser.add_argument("--quiet", action="store_true", help="no live status line")


def run(args):
    import signal
    import sys
    import time

    from host.telemetry import recorder

    if args.replay:
        rec = recorder.record_file(args.replay, args.out)
    else:
        # SIGTERM ends a recording as Ctrl-C does: with the summary, files closed.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        live = sys.stderr.isatty() and not args.quiet
        end = None if args.duration is None else time.monotonic() + args.duration

        def status(line):
            sys.stderr.write("\r\x1b[K" + line[:200])
            sys.stderr.flush()

        if not args.quiet:
            print("recording %s into %s (Ctrl-C to stop)" % (args.port, args.out),
                  file=sys.stderr)
        rec = recorder.record_port(
            args.port, args.out, baudrate=args.baud,
            stop=None if end is None else (lambda: time.monotonic() >= end),
            on_status=status if live else None)
        if live:
            sys.stderr.write("\n")
    for line in summary_lines(rec.summary(), args.out):
        print(line)


def summary_lines(s, out):
    from firmware.protocol import VERSION as PROTOCOL
    damaged = sum(s["damaged"].values())
    lines = ["recorded %d frames into %s: %d toast session%s" % (
        s["frames"], out, len(s["sessions"]), "" if len(s["sessions"]) == 1 else "s")]
    lines.append("  damaged frames %d%s, missing %d, repeated %d, noise bytes %d" % (
        damaged, " (%s)" % ", ".join("%s %d" % kv for kv in sorted(s["damaged"].items()))
        if damaged else "", s["missing"], s["repeated"], s["noise_bytes"]))
    lines.append("  boots %d (%d without a boot frame), link lost %d, port lost %d" % (
        s["boots"], s["unannounced_boots"], s["link_lost"], s["port_lost"]))
    if s["unknown_protocol"]:
        lines.append("  WARNING: the device speaks another protocol version than this host "
                     "(%d): its frames may not decode; update the host tools" % PROTOCOL)
    for path in s["sessions"]:
        lines.append("  session " + path)
    if s["raw"]:
        lines.append("  raw stream " + s["raw"])
    return lines
