"""`toaster model check`: run a .tflite model in the firmware's interpreter (on MicroPython),
in TFLM and in LiteRT, and say whether the firmware's outputs are bit-exact."""

HELP = ("check a .tflite model before flashing it: ops, tensors, memory, bit-exactness of "
        "the firmware interpreter against TFLM, LiteRT agreement, latency")

EXIT_DIFFERENT = 1      # the firmware interpreter's outputs differ from TFLM's
EXIT_UNRUNNABLE = 2     # the firmware interpreter or TFLM refuses the model


def add_arguments(parser):
    parser.add_argument("model", help="a .tflite file, or a model package folder holding "
                        "model.tflite")
    parser.add_argument("--runs", type=int, default=10, metavar="N",
                        help="random inputs to compare on (default 10), covering each "
                        "input's quantized range")
    parser.add_argument("--input", action="append", default=[], metavar="FILE",
                        help="also compare on these inputs: a .npy array of the model's "
                        "input shape, or of N such inputs stacked; a .npz with one such array "
                        "per model input for models with several (repeatable)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    parser.add_argument("--heap", default="2M", metavar="SIZE",
                        help="MicroPython heap for the firmware interpreter (default 2M)")
    parser.add_argument("--json", action="store_true",
                        help="print the report as JSON (format: firmware/tflite/README.md)")
    parser.epilog = ("exit status: 0 bit-exact, %d outputs differ from TFLM, %d the firmware "
                     "interpreter or TFLM refuses the model" % (EXIT_DIFFERENT, EXIT_UNRUNNABLE))


def run(args):
    import json
    import sys
    from pathlib import Path

    from host import model_check
    from host.errors import ToasterError

    path = Path(args.model)
    if path.is_dir():
        path = path / "model.tflite"
    try:
        model = path.read_bytes()
    except OSError as exc:
        raise ToasterError("cannot read %s: %s" % (path, exc.strerror or exc))
    if args.runs < 0:
        raise ToasterError("--runs must be 0 or more")
    info = model_check.describe(model) if _looks_like_tflite(model) else None
    if info is None:
        raise ToasterError("%s is not a TFLite model (no TFL3 identifier)" % path)
    inputs = []
    for name in args.input:
        inputs += _load_inputs(Path(name), info)
    if not args.runs and not inputs:
        raise ToasterError("nothing to compare: give --runs N or --input FILE")
    if not args.json:
        print("checking %s on %d inputs in TFLM, LiteRT and the firmware interpreter..."
              % (path, args.runs + len(inputs)), file=sys.stderr)
    report = model_check.check(model, args.runs, inputs, args.seed, args.heap, path)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        _print(report)
    if report["firmware"]["error"] or report["tflm"]["error"]:
        return EXIT_UNRUNNABLE
    return 0 if report["bit_exact"] else EXIT_DIFFERENT


def _looks_like_tflite(data):
    return len(data) >= 8 and data[4:8] == b"TFL3"


def _load_inputs(path, info):
    """Samples ([array per model input]) from a .npy or .npz file."""
    import numpy as np

    from host.errors import ToasterError

    tensors = [info["tensors"][i] for i in info["inputs"]]
    try:
        data = np.load(path)
    except (OSError, ValueError) as exc:
        raise ToasterError("cannot read inputs from %s: %s" % (path, exc))
    arrays = [data[k] for k in data.files] if hasattr(data, "files") else [data]
    if len(arrays) != len(tensors):
        raise ToasterError("%s holds %d arrays; the model has %d inputs (one array each, in a "
                           ".npz for several)" % (path, len(arrays), len(tensors)))
    per_input = []
    for a, t in zip(arrays, tensors):
        shape = tuple(t["shape"])
        if a.shape == shape:
            a = a[np.newaxis]
        if a.shape[1:] != shape:
            raise ToasterError("%s: input '%s' needs shape %s (or N x that), not %s"
                               % (path, t["name"], list(shape), list(a.shape)))
        if t["type"] == "int8":
            if a.dtype.kind not in "iu" or a.min(initial=0) < -128 or a.max(initial=0) > 127:
                raise ToasterError("%s: input '%s' is int8: give integers in [-128, 127] "
                                   "(quantized)" % (path, t["name"]))
            a = a.astype(np.int8)
        else:
            a = a.astype(np.float32)
        per_input.append(a)
    count = {len(a) for a in per_input}
    if len(count) != 1:
        raise ToasterError("%s: every input needs the same number of samples" % path)
    return [[a[k] for a in per_input] for k in range(count.pop())]


def _print(r):
    tensors = r["tensors"]
    m = r["model"]
    print("%s: %s bytes, sha256 %s" % (m["path"], format(m["bytes"], ","), m["sha256"][:16]))
    print("\noperators (%d):" % len(r["operators"]))
    for op in r["operators"]:
        print("  %3d %-18s %s -> %s" % (op["index"], op["op"], op["inputs"], op["outputs"]))
    print("\ntensors (%d):" % len(tensors))
    for t in tensors:
        role = ("input " if t["index"] in r["inputs"] else
                "output" if t["index"] in r["outputs"] else
                "const " if t["constant"] else "      ")
        q = ""
        if isinstance(t["scale"], float):
            q = "scale %.6g zero point %d" % (t["scale"], t["zero_point"])
        elif t["scale"]:
            q = "%d per-channel scales" % len(t["scale"])
        print("  %3d %s %-8s %-18s %-36s %s" % (t["index"], role, t["type"], t["shape"], q,
                                                t["name"][:60]))
    fw, tflm, lite = r["firmware"], r["tflm"], r["litert"]
    print()
    if tflm["error"]:
        print("TFLM refuses the model: %s" % tflm["error"])
    if fw["error"]:
        print("the firmware interpreter refuses the model: %s" % fw["error"])
    if not fw["error"] and not tflm["error"]:
        print("arena:   firmware %s bytes (activations, scratch, float I/O); TFLM %s bytes "
              "(of which activations %s)" % (_n(fw["arena_bytes"]), _n(tflm["arena_bytes"]),
                                             _n(tflm["activation_bytes"])))
        print("latency: firmware %s us per invoke (MicroPython), TFLM %s us (C++ reference "
              "kernels)" % (_n(fw["invoke_us"]), _n(tflm["invoke_us"])))
        verdict = "BIT-EXACT" if r["bit_exact"] else "DIFFERENT"
        print("%s on %d inputs: largest difference per output %s"
              % (verdict, r["runs"], r["max_abs_diff"]))
    if lite["loaded"]:
        print("LiteRT: loads the model; largest difference from TFLM per output %s"
              % lite["max_abs_diff"])
    else:
        print("LiteRT: cannot load the model (%s)" % lite["error"])


def _n(value):
    if value is None:
        return "?"
    return format(int(round(value)), ",")
