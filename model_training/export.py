"""Export: the float model -> an int8 TFLite model the firmware runs, and the integer
input quantization its features need; then verification that fails loudly.

The float graph is written with the official schema (model_training/tflite_graph.py) and
fully int8-quantized by ai-edge-quantizer's static recipe, calibrated on standardized
training features, with int8 input and output: the device never touches a float. The
standardization and the input quantization fold into one integer affine map per feature
(firmware/features.py quantize()): q = (raw * mult + bias) >> shift, computed here once,
so every port computes the same input bits.

Verification (verify()): TFLM and LiteRT both run the int8 model and agree; on held-out
runs the int8 model's decisions (inputs from firmware/features.py, as on the device)
agree with the float model's on at least MIN_AGREEMENT of the ticks; the firmware
interpreter (MicroPython, device heap) is bit-exact with TFLM.
"""

import contextlib
import io
import math
import statistics

import numpy as np

from model_training import table as table_mod, tflite_graph as tg
from model_training.errors import DataError

MIN_AGREEMENT = 0.97       # share of held-out ticks whose decision int8 == float
MIN_LITERT_AGREEMENT = 0.99  # ... whose decision LiteRT == TFLM
# A sanity bound on LiteRT's optimized kernels against TFLM's reference ones: healthy
# packages trained from telemetry have measured up to 52 steps apart on a few ticks (with the
# same decision on 99.99 % of them); a broken export differs by far more, and the decision
# agreement below is the check that matters.
MAX_LITERT_STEPS = 96
CALIBRATION_RUNS = 40      # calibration rows come from this many training runs ...
CALIBRATION_ROWS = 400     # ... drawn at random
FIRMWARE_ROWS = 300        # rows run through the firmware interpreter for bit-exactness
MULT_BITS = 12             # mult in [2^11, 2^12): products stay small ints on every port
OUTPUT_NAME = "keep_toasting"


def float_graph(model):
    """The float32 .tflite of a FloatModel (standardized features in, P(continue) out)."""
    g = tg.Graph("smart-toaster browning model")
    h = g.input("features", [1, len(model.mean)])
    last = len(model.weights) - 1
    for i, (w, b) in enumerate(zip(model.weights, model.biases)):
        h = g.fully_connected(h, np.asarray(w, np.float32).T, np.asarray(b, np.float32),
                              activation=None if i == last else "relu")
    g.output(g.logistic(h), OUTPUT_NAME)
    return g.build()


def tensor_quant(model_bytes):
    """((input scale, zero point), (output scale, zero point)) of an int8-io model."""
    m = tg.unpack(model_bytes)
    sg = m.subgraphs[0]

    def q(index):
        t = sg.tensors[index]
        if t.quantization is None or t.quantization.scale is None:
            raise DataError("the quantized model's tensor %d has no quantization" % index)
        return float(t.quantization.scale[0]), int(t.quantization.zeroPoint[0])

    return q(sg.inputs[0]), q(sg.outputs[0])


def feature_quantization(mean, std, scale, zero_point):
    """[mult, bias, shift] per feature: (raw * mult + bias) >> shift = round((raw - mean)
    / (std * scale)) + zero_point, to within one step of the rounding."""
    rows = []
    for m, s in zip(mean, std):
        k = 1.0 / (float(s) * scale)
        shift = max(0, MULT_BITS - 1 - math.floor(math.log2(k)))
        mult = int(round(k * 2 ** shift))
        half = (1 << (shift - 1)) if shift else 0
        bias = int(round((zero_point - float(m) * k) * 2 ** shift)) + half
        rows.append([mult, bias, shift])
    return rows


def threshold_q(threshold, scale, zero_point):
    """The smallest int8 output whose value reaches the probability threshold."""
    return int(max(-128, min(127, math.ceil(zero_point + threshold / scale - 1e-9))))


def calibration_rows(runs, spec, seed=0):
    """Raw feature rows of up to CALIBRATION_RUNS training runs, drawn with the seed."""
    pick = np.random.default_rng(seed).permutation(len(runs))[:CALIBRATION_RUNS]
    return table_mod.build([runs[i] for i in sorted(pick)], spec).x


def export(model, calibration_x, seed=0):
    """(int8 model bytes, spec with "quantize", output quantization, threshold_q).
    calibration_x: raw training feature rows."""
    rng = np.random.default_rng(seed)
    rows = calibration_x
    if len(rows) > CALIBRATION_ROWS:
        rows = rows[rng.choice(len(rows), CALIBRATION_ROWS, replace=False)]
    calib = model.standardize(rows).astype(np.float32)
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # the quantizer's progress bar
            int8 = tg.quantize(float_graph(model), calib, int8_io=True)
    except Exception as exc:  # the quantizer's own errors are many and deep
        raise DataError("int8 quantization failed: %s" % exc) from exc
    (in_scale, in_zp), (out_scale, out_zp) = tensor_quant(int8)
    spec = dict(model.spec)
    spec["mean"] = [float(v) for v in model.mean]
    spec["std"] = [float(v) for v in model.std]
    spec["quantize"] = feature_quantization(model.mean, model.std, in_scale, in_zp)
    quant = {"input": {"scale": in_scale, "zero_point": in_zp},
             "output": {"scale": out_scale, "zero_point": out_zp}}
    return int8, spec, quant, threshold_q(model.threshold, out_scale, out_zp)


# -- verification --------------------------------------------------------------------------


def quantized_inputs(runs, spec):
    """(int8 rows, raw rows, rows per run) of runs: int8 from firmware/features.py
    quantize(), as the device computes them."""
    ints, raws = [], []
    for run in runs:
        raw, _, q = table_mod.trace(run, spec, quantized=True)
        ints.append(q)
        raws.append(raw)
    return np.concatenate(ints), np.concatenate(raws), [len(q) for q in ints]


def _tflm_outputs(model_bytes, rows):
    from host import model_check

    it = model_check.tflm(model_bytes)
    out = np.empty(len(rows), np.int8)
    for k, row in enumerate(rows):
        it.set_input(row.reshape(1, -1), 0)
        it.invoke()
        out[k] = it.get_output(0).reshape(-1)[0]
    return out, it


def _litert_outputs(model_bytes, rows):
    from host import model_check

    it = model_check.litert(model_bytes)
    idx_in = it.get_input_details()[0]["index"]
    idx_out = it.get_output_details()[0]["index"]
    out = np.empty(len(rows), np.int8)
    for k, row in enumerate(rows):
        it.set_tensor(idx_in, row.reshape(1, -1))
        it.invoke()
        out[k] = it.get_tensor(idx_out).reshape(-1)[0]
    return out


def verify(model_bytes, float_model, spec, thr_q, held_out, seed=0, firmware=True,
           progress=None):
    """Run the checks of the module docstring on held-out runs. Returns the figures for the
    manifest and, per run, the int8 model's decisions in TFLM (True = keep toasting);
    raises DataError naming the check that failed."""
    from host import model_check

    q_rows, raw_rows, counts = quantized_inputs(held_out, spec)
    if progress:
        progress("TFLM")
    try:
        tflm_out, tflm_it = _tflm_outputs(model_bytes, q_rows)
    except Exception as exc:
        raise DataError("TFLM cannot run the exported model: %s" % exc) from exc
    if progress:
        progress("LiteRT")
    try:
        lite_out = _litert_outputs(model_bytes, q_rows)
    except Exception as exc:
        raise DataError("LiteRT cannot run the exported model: %s" % exc) from exc
    # LiteRT's kernels and TFLM's round differently: measured, a few steps on ~2 % of
    # inputs, even with LiteRT's reference kernels. Its decisions must still agree.
    lite_diff = int(np.abs(lite_out.astype(int) - tflm_out.astype(int)).max(initial=0))
    int8_keep = tflm_out >= thr_q
    lite_agreement = float(np.mean((lite_out >= thr_q) == int8_keep))
    if lite_diff > MAX_LITERT_STEPS or lite_agreement < MIN_LITERT_AGREEMENT:
        raise DataError("LiteRT and TFLM disagree on the int8 model: up to %d steps, same "
                        "decision on %.2f %% of held-out ticks"
                        % (lite_diff, 100 * lite_agreement))
    float_keep = float_model.prob(raw_rows) >= float_model.threshold
    agreement = float(np.mean(float_keep == int8_keep))
    if agreement < MIN_AGREEMENT:
        raise DataError("the int8 model decides like the float model on only %.2f %% of "
                        "held-out ticks (at least %.0f %% required)"
                        % (100 * agreement, 100 * MIN_AGREEMENT))
    figures = {
        "held_out_ticks": int(len(q_rows)),
        "decision_agreement": round(agreement, 5),
        "min_decision_agreement": MIN_AGREEMENT,
        "litert_max_diff_steps": lite_diff,
        "litert_decision_agreement": round(lite_agreement, 5),
        "tflm_arena_bytes": model_check.tflm_arena(tflm_it)[0],
    }
    if firmware:
        if progress:
            progress("firmware interpreter")
        rng = np.random.default_rng(seed)
        pick = np.sort(rng.choice(len(q_rows), min(FIRMWARE_ROWS, len(q_rows)), replace=False))
        samples = [[q_rows[k].reshape(1, -1)] for k in pick]
        # Bit-exactness does not depend on the heap; whether the firmware with a model fits
        # the device heap is the firmware's benchmark (tests/test_package.py measures it).
        fw = model_check.run_firmware([(model_bytes, samples)], repeat=1)[0]
        if "error" in fw:
            raise DataError("the firmware interpreter rejects the model: %s" % fw["error"])
        got = np.array([o[0].reshape(-1)[0] for o in fw["outputs"]], np.int8)
        mismatches = int(np.sum(got != tflm_out[pick]))
        if mismatches:
            raise DataError("the firmware interpreter differs from TFLM on %d of %d inputs"
                            % (mismatches, len(pick)))
        figures.update({
            "firmware_bit_exact": True, "firmware_checked_inputs": int(len(pick)),
            "firmware_arena_bytes": fw["arena"],
            "firmware_invoke_us": round(statistics.median(fw["invoke_us"]), 1),
            "firmware_heap": model_check.FIRMWARE_HEAP,
        })
    return figures, np.split(int8_keep, np.cumsum(counts)[:-1])
