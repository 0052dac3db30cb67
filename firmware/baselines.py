# Baseline policies, flashed as a model is: a policy package folder whose model.json has a
# "kind" and the tuned parameters, and no model.tflite (model_training/baselines.py tunes
# and writes them). They answer "does the model toast better than what a user would
# otherwise have?" and never import the interpreter.
#   timer  a fixed time per dial level: an ordinary toaster
#   rule   stop once the slice reflects a level's share of the light it reflected at the
#          start (the clear channel smoothed over `window` ticks): a colour rule, no ML
import json

from firmware.features import RATIO_ONE, Features
from firmware.policy import Policy

KINDS = ("timer", "rule")


class Timer(Policy):
    name = "timer"

    def __init__(self, manifest):
        self.id = manifest["id"]
        self.times = [int(t) for t in manifest["times_ms"]]
        if len(self.times) != 7:
            raise ValueError("timer: times_ms needs one time per level 1-7")
        self._stop = 0

    def start(self, level, sample):
        self._stop = self.times[level - 1]

    def decide(self, sample):
        return sample.toast_ms < self._stop


class Rule(Policy):
    name = "rule"

    def __init__(self, manifest):
        self.id = manifest["id"]
        self.ratios = [int(r) for r in manifest["ratio_x1024"]]
        if len(self.ratios) != 7 or not all(0 < r < RATIO_ONE for r in self.ratios):
            raise ValueError("rule: ratio_x1024 needs one ratio 1-1023 per level 1-7")
        self.min_ms = int(manifest["min_ms"])
        self.features = Features({"window": manifest["window"],
                                  "inputs": [{"kind": "ratio", "channel": "c"}]})
        self._limit = 0

    def start(self, level, sample):
        self._limit = self.ratios[level - 1]
        self.features.start(level, sample)

    def decide(self, sample):
        self.features.update(sample)
        return sample.toast_ms < self.min_ms or self.features.raw(0) > self._limit


def load(folder):
    """The baseline policy of a package folder (model.json with a "kind"). Raises
    ValueError (no or unknown kind, bad parameters), KeyError or OSError."""
    with open(folder + "/model.json") as f:
        manifest = json.load(f)
    kind = manifest.get("kind")
    if kind == "timer":
        return Timer(manifest)
    if kind == "rule":
        return Rule(manifest)
    raise ValueError("model.json kind %r is no baseline (%s)" % (kind, ", ".join(KINDS)))
