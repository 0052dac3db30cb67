"""The model's output at every tick of a recorded toast, recomputed on the host.

The device reports only what the model decided (the policy in T frames, the stop in the
E frame). Its package says how it got there, and every input channel is in the T frames:
so the host runs the device's own feature code (firmware/features.py) on the recorded
ticks and the model in TFLM, which the firmware's interpreter matches bit for bit
(host/model_check.py), exactly as firmware/model_policy.py does on the device.
"""

import json
from pathlib import Path
from types import SimpleNamespace

from host.errors import ToasterError


class Package:
    """A model package's manifest and model, ready to replay toasts."""

    def __init__(self, folder):
        from host import image
        files = image.model_files(folder)  # refuses a package whose hash is wrong
        self.folder = Path(folder)
        self.tflite = files["model/model.tflite"]
        self.manifest = json.loads(files["model/model.json"])
        try:
            self.id = self.manifest["id"]
            self.threshold_q = self.manifest["decision"]["threshold_q"]
            self.scale = self.manifest["output"]["scale"]
            self.zero_point = self.manifest["output"]["zero_point"]
        except (KeyError, TypeError) as exc:
            raise ToasterError("%s/model.json lacks %s (model_training/PACKAGE.md)"
                               % (folder, exc)) from None
        self._interpreter = None

    def probability(self, q):
        return (q - self.zero_point) * self.scale

    def replay(self, session):
        """[(T record, int8 output, probability)] for the session's toasting ticks, or
        None when this package is not the session's model."""
        import numpy as np

        from firmware.features import Features
        from host import model_check

        ticks = decided_ticks(session)
        if not ticks or any(t["model"] != self.id for t in ticks):
            return None
        if self._interpreter is None:
            self._interpreter = model_check.tflm(self.tflite)
        features = Features(self.manifest["features"])
        shape = self.manifest["input"]["shape"]
        buf = bytearray(features.n)
        out = []
        for i, t in enumerate(ticks):
            sample = SimpleNamespace(toast_ms=t["tt_ms"], level=t["level"],
                                     **{ch: t[ch] for ch in features.channels})
            if i == 0:  # the loop starts the policy and asks it on the same tick
                features.start(t["level"], sample)
            features.update(sample)
            features.quantize(buf)
            x = np.frombuffer(bytes(buf), np.int8).reshape(shape)
            got = model_check.run_tflm(self.tflite, [x], self._interpreter)[0]
            q = int(np.asarray(got).flatten()[0])
            out.append((t, q, self.probability(q)))
        return out

    def verdict(self, session, replayed):
        """One line: does the recomputed output agree with how the toast ended?"""
        from host.telemetry.summary import summarise
        s = summarise(session)
        below = next((i for i, (_, q, _) in enumerate(replayed) if q < self.threshold_q),
                     None)
        if s["missing"]:
            return "model output recomputed (approximate: %d frames missing)" % s["missing"]
        if s["stop_reason"] != "policy" or s["policy"] != self.manifest.get("name"):
            return "model output recomputed (the toast ended by %s, %s policy)" % (
                s["stop_reason"] or "-", s["policy"] or "-")
        stop_tick = replayed[-1][0]["state"] != "toasting"
        if stop_tick and below == len(replayed) - 1:
            return "model output recomputed: first below the threshold on the tick the " \
                   "device stopped, as it should"
        if not stop_tick and below is None:
            return "model output recomputed: above the threshold on all %d ticks sent " \
                   "while toasting, as it should (the stopping tick itself was not sent)" \
                   % len(replayed)
        return "model output recomputed: DISAGREES with the device (first below the " \
               "threshold on tick %s of %d)" % (below, len(replayed))


def decided_ticks(session):
    """The T records of the ticks on which the policy decided: those while toasting, and
    the tick it said stop on when the firmware sent that one (its state is then done)."""
    ticks = [r for r in session.records if r["kind"] == "T"]
    first = next((i for i, t in enumerate(ticks) if t["state"] == "toasting"), None)
    if first is None:
        return []
    end = first
    while end < len(ticks) and ticks[end]["state"] == "toasting":
        end += 1
    policy_stop = any(r["kind"] == "E" and r["from"] == "toasting" and r["reason"] == "policy"
                      for r in session.records)
    if policy_stop and end < len(ticks) and ticks[end]["state"] == "done" \
            and ticks[end]["tt_ms"]:
        end += 1
    return ticks[first:end]
