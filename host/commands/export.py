"""toaster export: export a package's float model to int8 again, and verify it."""

from host.errors import ToasterError

HELP = "export a trained package's float model to int8 again and verify it (TFLM, LiteRT, firmware)"

DESCRIPTION = """\
Re-export the float model kept in a package (float_model.json, written by `toaster
train`): int8 quantization calibrated on its training data, then the verification
(TFLM and LiteRT run it, decisions agree with the float model on held-out runs, the
firmware interpreter is bit-exact with TFLM). The data is rebuilt from the package's
provenance and must have the recorded data set hash. Writes in place, or to --out."""


def add_arguments(parser):
    parser.description = DESCRIPTION
    parser.add_argument("package", metavar="PKG", help="package folder written by toaster train")
    parser.add_argument("--out", metavar="PKG2", help="write the new package here instead")
    parser.add_argument("--no-firmware-check", action="store_true",
                        help="skip the firmware interpreter's bit-exactness check")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def run(args):
    from host.commands.train import check_out, summary_line
    from model_training import pipeline
    from model_training.errors import DataError

    if args.out:
        check_out(args.out, force=False)
    try:
        result = pipeline.reexport(args.package, args.out,
                                   firmware_check=not args.no_firmware_check, quiet=args.quiet)
    except DataError as exc:
        raise ToasterError(str(exc)) from None
    print(summary_line(result.manifest))
    print("package: %s" % result.folder)
    return 0
