"""python -m hardware.simulator --socket PATH [--realtime] [--stall-ms N] [--console-fd FD]
                               [scenario options]

Serves one simulated toaster on a Unix-domain socket (hardware/simulator/PROTOCOL.md).
Prints `ready <path> <t_ms>` on stdout once it accepts connections; runs until SIGINT or
SIGTERM, or until the process that started it has gone (checked every second: a lockstep
toaster left with its firmware would otherwise run on at full speed), then removes the
socket.
"""

import argparse
import logging
import os
import signal
import sys
import threading

from hardware.simulator.options import add_scenario_arguments, scenario_from_args
from hardware.simulator.server import Server


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m hardware.simulator", description=__doc__.split("\n\n")[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--socket", required=True, metavar="PATH", help="Unix-domain socket path to serve")
    parser.add_argument("--realtime", action="store_true", help="virtual time follows the wall clock")
    parser.add_argument("--stall-ms", type=int, metavar="N",
                        help="lockstep: after N ms of MCU silence (wall clock) let time run")
    parser.add_argument("--console-fd", type=int, metavar="FD", action="append", default=[],
                        help="lockstep: where the MCU's console output waits to be read (a pipe's "
                             "read end or a terminal, inherited; repeatable): hold time while "
                             "its reader is behind")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every rejected request")
    add_scenario_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="simulator: %(message)s", stream=sys.stderr)
    try:
        scenario = scenario_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    if args.stall_ms is not None and args.stall_ms <= 0:
        parser.error("--stall-ms must be positive")
    try:
        server = Server(args.socket, scenario, realtime=args.realtime, stall_ms=args.stall_ms,
                        console_fds=args.console_fd)
    except ValueError as exc:
        parser.error(str(exc))
    return serve(server)


def serve(server):
    """Start the server, say `ready <path> <t_ms>` (what the virtual device waits for) and
    serve until a signal or the parent's end."""
    parent = os.getppid()
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    try:
        server.start()
    except OSError as exc:
        print("simulator: cannot serve %s: %s" % (server.path, exc.strerror or exc), file=sys.stderr)
        return 1
    print("ready %s %d" % (server.path, server.toaster.t_ms), flush=True)
    while not done.wait(1.0) and os.getppid() == parent:
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
