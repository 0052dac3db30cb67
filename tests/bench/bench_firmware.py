"""Benchmark: the firmware's control tick and heap on MicroPython, a whole toast long.

The real firmware (the app image for the sim board, as the virtual device installs it;
with the fallback, and with a model package trained here) toasts the reference slice at
level 4 against the simulator in lockstep, in the device heap (`-X heapsize=96wK`,
host/micropython.py), and finds the smallest heap it fits (4 KB steps). A wrapper times
every tick() (sensors, guard, policy, outputs, telemetry; the wait and its simulator round
trip are not the firmware's work) and reads the heap. References, as ratios: the 100 ms control
period for the tick, the 64 KB goal and the 96 KB limit for the heap, both in a 32-bit
board's bytes: the x64 heap found, divided by WORD (MicroPython's own "w" heap unit).

    python tests/bench/bench_firmware.py     # BENCH_VERBOSE=1: show each MemoryError
"""

import json
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hardware.simulator import Scenario, Server  # noqa: E402
from host import image  # noqa: E402
from host import micropython as mp  # noqa: E402

PERIOD_US = 100_000
GOAL_KB = 64
LIMIT_KB = 96
WORD = struct.calcsize("P") // 4   # x64 objects and GC blocks are twice a 32-bit board's

# Boots the slot like /main.py, wraps Loop.tick, ends after the first toast with the
# numbers on stderr. Aggregates only: the wrapper must not grow the heap it measures.
# MODE "time": tick durations as the firmware runs. MODE "alloc": a full collection before
# every tick, so the heap after boot (resident) and what one tick allocates show apart.
WRAPPER = """
import gc, json, sys, time
sys.path.insert(0, "a")
from firmware import app, loop
MODE = %r
tick = loop.Loop.tick
stats = {"ticks": 0, "sum_us": 0, "max_us": 0, "resident": 0, "tick_alloc": 0, "alloc_sum": 0,
         "alloc_n": 0, "hist": [0] * 101}  # tick times in 0.1 ms bins, the last one open

def timed(self):
    if MODE == "alloc":
        gc.collect()
        before = gc.mem_alloc()
        stats["resident"] = max(stats["resident"], before)
    t0 = time.ticks_us()
    tick(self)
    dt = time.ticks_diff(time.ticks_us(), t0)
    if MODE == "alloc":
        stats["tick_alloc"] = max(stats["tick_alloc"], gc.mem_alloc() - before)
        stats["alloc_sum"] += gc.mem_alloc() - before
        stats["alloc_n"] += 1
    if self.state == "toasting":
        stats["ticks"] += 1
        stats["sum_us"] += dt
        stats["max_us"] = max(stats["max_us"], dt)
        stats["hist"][min(dt // 100, 100)] += 1
    elif self.session:
        stats["heap"] = gc.mem_free() + gc.mem_alloc()
        stats["policy"] = self.model.name if self.model is not None else "fallback"
        sys.stderr.write("BENCH " + json.dumps(stats) + "\\n")
        raise SystemExit

loop.Loop.tick = timed
app.main()
"""


def _read(stdout, booted, tail):
    for line in stdout:
        if line.startswith(b"~B,"):
            booted.set()
        elif not line.startswith(b"~"):
            tail.append(line.decode(errors="replace"))  # an uncaught exception


def run(compiled, heapsize, mode="time", model=None):
    """Stats of one toast, or None when the firmware could not finish it in this heap."""
    with tempfile.TemporaryDirectory(prefix="bench-fw-") as tmp:
        fs = Path(tmp) / "fs"
        image.install(image.build("sim", compile=compiled, model=model), fs)
        (fs / "bench.py").write_text(WRAPPER % mode)
        sock = str(Path(tmp) / "sim.sock")
        with Server(sock, Scenario(level=4)) as server:
            env = dict(mp.environment(""), TOASTER_SIM_SOCKET=sock, MICROPYPATH="")
            proc = subprocess.Popen(mp.command(["bench.py"], heapsize), cwd=fs, env=env,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
            # The host reads telemetry as a recorder would; the lever goes down after the
            # boot frame (a carriage down at power-up is no user action).
            booted, tail = threading.Event(), []
            reader = threading.Thread(target=_read, args=(proc.stdout, booted, tail),
                                      daemon=True)
            reader.start()
            deadline = time.monotonic() + 60
            while not booted.wait(0.05):
                if proc.poll() is not None or time.monotonic() > deadline:
                    break
            else:
                with server.lock:
                    server.toaster.press_lever()
            err = proc.stderr.read().decode()
            proc.wait(timeout=300)
            reader.join(timeout=10)
            err += "".join(tail)
    for line in err.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[6:])
    if "MemoryError" in err:
        if os.environ.get("BENCH_VERBOSE"):
            print(err[-1500:], file=sys.stderr)
        return None
    raise RuntimeError("the firmware did not finish the toast:\n" + err[-2000:])


def smallest_heap(compiled, model=None, start_kb=LIMIT_KB * WORD):
    """The smallest heap (KB of this machine, a multiple of 4 up to the device heap) in
    which the firmware boots and toasts (with the model, when there is one), by bisection:
    fragmentation can make a heap 4 KB either side of the edge differ between code
    versions, not by much more."""
    def fits(kb):
        stats = run(compiled, "%dK" % kb, model=model)
        return stats is not None and (model is None or stats["policy"] != "fallback")

    low, high = 4, start_kb // 4   # in 4 KB steps: low fails, high fits
    while high - low > 1:
        mid = (low + high) // 2
        if fits(4 * mid):
            high = mid
        else:
            low = mid
    return 4 * high


def train(folder):
    """A small model package from simulated toasts (as `make demo` trains one)."""
    subprocess.run([sys.executable, "-m", "host.cli", "train", "--source", "sim", "--runs",
                    "100", "--out", str(folder), "--quiet", "--force", "--no-firmware-check"],
                   check=True,
                   cwd=Path(__file__).resolve().parents[2])
    return folder


def _percentile(hist, q):
    """The upper edge (us) of the 0.1 ms bin holding the q-quantile of the tick times."""
    need, seen = q * sum(hist), 0
    for i, n in enumerate(hist):
        seen += n
        if seen >= need:
            return (i + 1) * 100
    return len(hist) * 100


def main():
    with tempfile.TemporaryDirectory(prefix="bench-fw-model-") as tmp:
        model = train(Path(tmp) / "pkg")
        variants = [(".mpy (as installed), fallback", True, None),
                    (".py sources, fallback", False, None),
                    (".mpy, with a model (%s)" % json.loads(
                        (model / "model.json").read_text())["name"], True, model)]
        rows = []
        for label, compiled, pkg in variants:
            rows.append((label, run(compiled, mp.DEVICE_HEAP, model=pkg),
                         run(compiled, mp.DEVICE_HEAP, "alloc", model=pkg),
                         smallest_heap(compiled, pkg)))
    print("Firmware on MicroPython (unix port, %d-bit), one level-4 toast of the reference "
          "slice in the device heap (-X heapsize=%s). Heap sizes as measured here and in a "
          "32-bit board's bytes (/ %d). Tick max includes GC pauses and whatever else the "
          "host ran." % (32 * WORD, mp.DEVICE_HEAP, WORD))
    print()
    print("| image | ticks | tick mean | tick p99 | tick max | p99 / 100 ms period "
          "| resident after boot | a tick allocates (mean, max) | smallest heap that toasts "
          "| on a 32-bit board | / 64 KB goal | / 96 KB limit |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for label, t, a, kb in rows:
        p99 = _percentile(t["hist"], 0.99)
        board_kb = kb / WORD
        cells = (label, t["ticks"], t["sum_us"] / t["ticks"] / 1000, p99 / 1000,
                 t["max_us"] / 1000, p99 / PERIOD_US, a["resident"] / 1024,
                 a["alloc_sum"] / a["alloc_n"] / 1024, a["tick_alloc"] / 1024, kb, board_kb,
                 board_kb / GOAL_KB, board_kb / LIMIT_KB)
        print("| %s | %d | %.2f ms | %.1f ms | %.2f ms | %.3f | %.1f KB | %.1f KB, %.1f KB "
              "| %d KB | %d KB | %.2f | %.2f |" % cells)


if __name__ == "__main__":
    main()
