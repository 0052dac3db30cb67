# The model policy: a model package (model.json + model.tflite, model_training/PACKAGE.md)
# behind the Policy interface. load() checks the package (format, SHA-256 of the model,
# shapes and quantization against the manifest) and prepares everything; a tick is then
# features -> int8 input -> invoke -> int8 output against the manifest's threshold; the
# toast stops once the output has been below it on `consecutive` ticks in a row (one noisy
# tick must not end a toast). Integers only and allocation-free. Anything wrong at load
# raises: the firmware toasts with the fallback and says why (app.py).
import gc
import json

from firmware.features import Features
from firmware.policy import Policy
from firmware.sample import PERIOD_MS, Sample
from firmware.selftest import sha256
from firmware.tflite import Interpreter

FORMAT = 1


class ModelPolicy(Policy):
    def __init__(self, manifest, model):
        """manifest: the parts of model.json the device needs (see load())."""
        self.id = manifest["id"]
        self.name = manifest["name"]
        spec = manifest["features"]
        if spec.get("period_ms", PERIOD_MS) != PERIOD_MS:
            raise ValueError("model trained for %s ms ticks, the loop ticks every %d ms"
                             % (spec["period_ms"], PERIOD_MS))
        self.features = Features(spec)
        if self.features.q is None:
            raise ValueError("model.json: features without quantize")
        sample = Sample()
        for name in self.features.channels:
            if not hasattr(sample, name):
                raise ValueError("model reads channel %s, which the toaster does not have"
                                 % name)
        self.interpreter = Interpreter(model)
        _check(self.interpreter.input_details(0), manifest["input"], self.features.n, "input")
        _check(self.interpreter.output_details(0), manifest["output"], 1, "output")
        self.threshold = manifest["decision"]["threshold_q"]
        self.consecutive = manifest["decision"].get("consecutive", 1)
        self._streak = 0
        self._in = self.interpreter.input(0)
        self._out = self.interpreter.output(0)

    def start(self, level, sample):
        self._streak = 0
        self.features.start(level, sample)

    def decide(self, sample):
        self.features.update(sample)
        self.features.quantize(self._in)
        self.interpreter.invoke()
        q = self._out[0]
        if q > 127:
            q -= 256
        if q >= self.threshold:
            self._streak = 0
            return True
        self._streak += 1
        return self._streak < self.consecutive


def _check(details, expected, size, what):
    n = 1
    for d in details["shape"]:
        n *= d
    if details["type"] != "int8" or n != size:
        raise ValueError("model %s: %s of %d values, expected int8 of %d"
                         % (what, details["type"], n, size))
    if details["zero_point"] != expected["zero_point"] or \
            abs(details["scale"] - expected["scale"]) > 1e-6 * abs(expected["scale"]):
        raise ValueError("model %s quantization differs from model.json" % what)


def load(folder):
    """The ModelPolicy of a package folder. Raises ValueError (bad package), KeyError (a
    field missing), OSError (a file missing) or firmware.tflite.ModelError (a model the
    interpreter rejects)."""
    with open(folder + "/model.json") as f:
        manifest = json.load(f)
    if manifest.get("format") != FORMAT:
        raise ValueError("model.json format %r, this firmware reads %d"
                         % (manifest.get("format"), FORMAT))
    # Keep what the device uses; metrics and provenance go before the interpreter loads.
    needed = {k: manifest[k] for k in ("id", "name", "sha256", "features", "input", "output",
                                       "decision")}
    del manifest
    gc.collect()
    path = folder + "/model.tflite"
    if sha256(path, bytearray(512)) != needed["sha256"]:
        raise ValueError("model.tflite does not match the SHA-256 in model.json")
    with open(path, "rb") as f:
        model = f.read()
    return ModelPolicy(needed, model)
