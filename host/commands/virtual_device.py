"""`toaster virtual-device`: the toaster on this computer, behind a serial port."""

import argparse

from host.micropython import DEVICE_HEAP

HELP = ("run the virtual toaster (the firmware on MicroPython, the simulator) behind a "
        "serial port: prints the port, runs until Ctrl-C")

EPILOG = """\
The first line of output is the port (a pseudo-terminal, /dev/pts/N); mpremote, pyserial,
`toaster flash` and `toaster telemetry record` use it as they use a USB board's port:

  toaster virtual-device --realtime --fs dev &     # prints /dev/pts/N, then runs
  mpremote connect /dev/pts/N resume fs ls
  toaster telemetry record --port /dev/pts/N --out rec

The device's filesystem is a folder (--fs): main.py, the slots a/ and b/ and `active`
(firmware/boot/README.md). An empty or new folder gets the checkout's firmware first;
without --fs a temporary folder is used and removed at the end. Resets (watchdog,
machine.reset(), Ctrl-D at the REPL) restart the firmware with the port left open.

Lockstep (the default) runs virtual time as fast as the firmware goes: a toast takes a
second, and time waits for a reader of the port that falls behind (one that reads nothing
for 2 s counts as gone: the firmware then drops frames, as on an unread port). --realtime
follows the wall clock, for watching and for people. The simulator's
control socket (lever, dial, faults, truth: hardware/simulator/PROTOCOL.md) is printed
on stderr."""


def add_arguments(parser):
    from hardware.simulator.options import add_scenario_arguments
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--fs", metavar="DIR",
                        help="the device's filesystem (default: a temporary folder)")
    parser.add_argument("--board", default="sim", choices=("sim",),
                        help="board whose image is installed into an empty --fs (default: sim)")
    parser.add_argument("--realtime", action="store_true",
                        help="virtual time follows the wall clock (default: lockstep)")
    parser.add_argument("--stall-ms", type=int, metavar="N",
                        help="lockstep: let time run after N ms of firmware silence, so a "
                             "hung firmware still meets its watchdogs")
    parser.add_argument("--heapsize", default=DEVICE_HEAP, metavar="SIZE",
                        help="MicroPython heap (default: %(default)s, a microcontroller's)")
    parser.add_argument("--source", action="store_true",
                        help="install .py sources instead of .mpy (readable tracebacks)")
    before = len(parser._actions)
    add_scenario_arguments(parser)
    # What to hand on to the simulator, in its own option spelling.
    parser.set_defaults(_scenario_actions=parser._actions[before:])


def simulator_args(args):
    """The scenario options given on our command line, as `python -m hardware.simulator`
    options (the same definitions, hardware/simulator/options.py)."""
    argv = []
    for action in args._scenario_actions:
        value = getattr(args, action.dest)
        if value is None or value == action.default:
            continue
        flag = action.option_strings[-1]
        if action.nargs == 0:
            argv.append(flag)
        elif isinstance(value, list):
            for item in value:
                argv += [flag, str(item)]
        else:
            argv += [flag, str(value)]
    return argv


def run(args):
    import signal
    import sys
    import threading

    from hardware.simulator.options import scenario_from_args
    from host.errors import ToasterError
    from host.virtual_device import VirtualDevice

    try:
        scenario_from_args(args)
    except ValueError as exc:
        raise ToasterError(str(exc))
    image = None
    if args.source:
        from host import image as image_mod
        image = image_mod.build(args.board, compile=False)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    device = VirtualDevice(args.fs, board=args.board, console="pty", realtime=args.realtime,
                           stall_ms=args.stall_ms, sim_args=simulator_args(args),
                           heapsize=args.heapsize, image=image)
    with device:
        print(device.port, flush=True)
        if device.installed:
            print("virtual toaster: firmware %s installed into slot %s of %s"
                  % (device.installed[1], device.installed[0], device.fs), file=sys.stderr)
        print("virtual toaster: %s, %s; filesystem %s; simulator control socket %s"
              % (device.port, "realtime" if args.realtime else "lockstep", device.fs,
                 device.socket_path), file=sys.stderr, flush=True)
        reported = 0
        while True:
            stopping = stop.wait(0.2)
            for code, cause in device.exits[reported:]:
                print("virtual toaster: MCU reset (%s): firmware restarted" % cause,
                      file=sys.stderr, flush=True)
            reported = len(device.exits)
            if device.failure is not None:
                raise ToasterError("the virtual device stopped: %s" % device.failure)
            if stopping:
                break
    print("virtual toaster: stopped", file=sys.stderr)
    return 0
