"""Replay recorded runs through the firmware's own model policy (firmware/model_policy.py
on MicroPython): the package exactly as the device loads and runs it, tick by tick. Used
to verify a package end to end and to measure decide() in the firmware."""

import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from host import micropython as mp
from model_training.errors import DataError

# Loads the package, then per run: start() on the first tick, decide() on every later
# one, timing each call. Prints one JSON line per run: the answers as a string of 0/1,
# the heap growth over the decide() calls, and the median decide() time in us.
RUNNER = """
import gc, json, sys, time
from firmware import model_policy
from firmware.sample import Sample
policy = model_policy.load(sys.argv[1])
with open(sys.argv[2]) as f:
    job = json.load(f)
s = Sample()

def ticks(names, cols, times, out, spent):
    for k in range(1, len(times)):
        s.toast_ms = times[k]
        for i in range(len(names)):
            setattr(s, names[i], cols[i][k])
        t0 = time.ticks_us()
        answer = policy.decide(s)
        spent[k - 1] = time.ticks_diff(time.ticks_us(), t0)
        out[k - 1] = 49 if answer is True else 48

for run in job:
    names = list(run["channels"])
    cols = [run["channels"][n] for n in names]
    times = run["toast_ms"]
    s.level = run["level"]
    for i in range(len(names)):
        setattr(s, names[i], cols[i][0])
    s.toast_ms = 0
    policy.start(run["level"], s)
    out = bytearray(len(times) - 1)
    spent = [0] * (len(times) - 1)
    gc.collect()
    before = gc.mem_alloc()
    ticks(names, cols, times, out, spent)
    grown = gc.mem_alloc() - before
    spent.sort()
    print(json.dumps({"keep": bytes(out).decode(), "grown": grown,
                      "decide_us": spent[len(spent) // 2]}))
"""


def on_firmware(folder, runs, heapsize="2M", timeout=300):
    """Per run: {"keep": bool array, "grown": bytes, "decide_us": median}. The runs'
    channels must be the toaster's sample fields the package reads."""
    with tempfile.TemporaryDirectory(prefix="replay-") as tmp:
        job = Path(tmp) / "runs.json"
        channels = None
        payload = []
        for run in runs:
            channels = channels or [n for n in run.channels]
            payload.append({"level": run.level, "toast_ms": run.toast_ms.tolist(),
                            "channels": {n: run.channels[n].tolist() for n in channels}})
        job.write_text(json.dumps(payload))
        script = Path(tmp) / "replay.py"
        script.write_text(RUNNER)
        proc = subprocess.run(mp.command([str(script), str(Path(folder).resolve()), str(job)],
                                         heapsize),
                              env=mp.environment(), capture_output=True, text=True,
                              timeout=timeout)
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or len(lines) != len(runs):
        raise DataError("the firmware's model policy failed on MicroPython: %s"
                        % (proc.stderr.strip().splitlines() or ["no output"])[-1])
    for line in lines:
        line["keep"] = np.frombuffer(line["keep"].encode(), np.uint8) == ord("1")
    return lines
