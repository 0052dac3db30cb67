"""`toaster devices`: the serial ports, and which are likely MicroPython boards."""

HELP = "list serial ports, marking likely MicroPython boards (--probe: listen to them)"


def add_arguments(parser):
    parser.add_argument("port", nargs="*", help="also probe these ports (e.g. the virtual "
                        "device's /dev/pts/N, which is no USB device); implies --probe")
    parser.add_argument("--all", action="store_true", help="list every port, built-in "
                        "UARTs too (default: USB ports only)")
    parser.add_argument("--probe", action="store_true", help="listen to each likely port "
                        "for a second and say what it sends (sends nothing: a running toast "
                        "is not disturbed)")


def run(args):
    from host import devices

    found = devices.ports(args.all)
    probe = args.probe or bool(args.port)
    listed = {p.device for p in found}
    rows = [(p.device, p.board or "-", p.likely, p.description) for p in found]
    rows += [(port, "-", "given", "-") for port in args.port if port not in listed]
    if not rows:
        print("no USB serial ports found (plug the board in; --all lists built-in UARTs; "
              "`toaster virtual-device` prints its port)")
        return 0
    width = max(len(r[0]) for r in rows)
    print("%-*s  %-8s  %-11s  %s" % (width, "PORT", "BOARD", "LIKELY", "DESCRIPTION"))
    for device, board, likely, text in rows:
        print("%-*s  %-8s  %-11s  %s" % (width, device, board, likely, text))
        if probe and (likely != "-" or device in args.port):
            print("%-*s  -> %s" % (width, "", devices.probe(device)))
