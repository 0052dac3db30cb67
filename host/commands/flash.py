"""`toaster flash`: the firmware, board config and a model package onto a device."""

HELP = "flash the toaster firmware (and a model package) onto a board or the virtual device"


def add_arguments(parser):
    parser.add_argument("--port", required=True, help="serial port of the device "
                        "(`toaster devices` lists them; the virtual device prints its own)")
    from hardware.boards import BOARDS
    parser.add_argument("--board", choices=BOARDS,
                        help="what the device is (default: the board of the app already on "
                        "it, else the one its architecture fits)")
    parser.add_argument("--model", metavar="PACKAGE", help="a model package folder "
                        "(model.tflite + model.json) to flash with the firmware; refused "
                        "when its hash or the reference interpreters' check fails")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change "
                        "nothing (the firmware is interrupted to look, then restarted)")
    parser.add_argument("--micropython", metavar="IMAGE", help="first install MicroPython "
                        "itself on a bare board: an ESP32-S3 .bin (written with esptool, "
                        "verified) or a Pico .uf2 (copied to its BOOTSEL drive)")
    parser.add_argument("--drive", metavar="DIR", help="the Pico's boot drive, if it is not "
                        "found among the mounted drives (with a .uf2)")
    parser.add_argument("--erase", action="store_true", help="with an ESP32-S3 .bin: erase "
                        "the whole flash first, filesystem included")


def run(args):
    import sys

    from host import flash
    from host.errors import ToasterError

    if args.micropython:
        board = install_micropython(args)
        if board is None:  # a dry run: the app's plan needs MicroPython running
            return 0
    else:
        board = args.board
        if args.drive or args.erase:
            raise ToasterError("--drive and --erase go with --micropython")

    def bar(total):
        from tqdm import tqdm
        return tqdm(total=total, unit="B", unit_scale=True, desc="copy", leave=False,
                    disable=not sys.stderr.isatty())

    flash.flash(args.port, board, args.model, dry_run=args.dry_run, progress=bar)


def install_micropython(args):
    """MicroPython onto the bare board first; returns the board it implies (None after
    a dry run, which only checks the image)."""
    from host import micropython_install as mi
    from host.errors import ToasterError

    suffix = args.micropython.lower().rsplit(".", 1)[-1]
    board = {"uf2": "rp2", "bin": "esp32s3"}.get(suffix)
    if board is None:
        raise ToasterError("--micropython takes an ESP32-S3 .bin or a Pico .uf2, not %s"
                           % args.micropython)
    if args.board not in (None, board):
        raise ToasterError("a .%s image is for %s boards, not --board %s"
                           % (suffix, board, args.board))
    if args.dry_run:
        data = mi._read(args.micropython)
        if board == "rp2":
            mi.check_uf2(data, args.micropython)
            print("would copy %s to the Pico's boot drive, wait for %s, then flash the app"
                  % (args.micropython, args.port))
        else:
            mi.check_esp32s3_image(data, args.micropython)
            print("would write %s at 0x%X on %s with esptool%s and verify it, then flash "
                  "the app" % (args.micropython, mi.ESP32S3_OFFSET, args.port,
                               " (erasing the flash first)" if args.erase else ""))
        return None
    if board == "rp2":
        if args.erase:
            raise ToasterError("--erase is for ESP32-S3 images (a UF2 rewrites what it holds)")
        mi.install_uf2(args.micropython, args.port, drive=args.drive)
    else:
        if args.drive:
            raise ToasterError("--drive is for Pico .uf2 images")
        mi.install_esp32s3(args.micropython, args.port, erase=args.erase)
    return board
