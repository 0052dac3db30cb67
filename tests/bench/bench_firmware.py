"""Benchmark: the firmware's control tick and heap on MicroPython, a whole toast long.

The real firmware (the app image for the sim board, as the virtual device installs it)
toasts the reference slice at level 4 against the simulator in lockstep, under
`micropython -X heapsize=96K` (and 64K, the goal). A wrapper times every tick()
(sensors, guard, policy, outputs, telemetry; the wait and its simulator round trip are
not the firmware's work) and reads the heap. References, as ratios: the 100 ms control
period for the tick, the 64 KB goal and the 96 KB limit for the heap.

    python tests/bench/bench_firmware.py
"""

import json
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hardware.simulator import Scenario, Server  # noqa: E402
from host import image  # noqa: E402
from host import micropython as mp  # noqa: E402

PERIOD_US = 100_000
GOAL_KB = 64
LIMIT_KB = 96

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
         "alloc_n": 0}

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
    elif self.session:
        stats["heap"] = gc.mem_free() + gc.mem_alloc()
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


def run(compiled, heapsize, mode="time"):
    """Stats of one toast, or None when the firmware could not finish it in this heap."""
    with tempfile.TemporaryDirectory(prefix="bench-fw-") as tmp:
        fs = Path(tmp) / "fs"
        image.install(image.build("sim", compile=compiled), fs)
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
            if booted.wait(60):
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
        return None
    raise RuntimeError("the firmware did not finish the toast:\n" + err[-2000:])


def smallest_heap(compiled):
    """The smallest heap (KB, in 4 KB steps) in which the firmware boots and toasts."""
    kb = LIMIT_KB
    while kb > 16 and run(compiled, "%dK" % (kb - 4)) is not None:
        kb -= 4
    return kb


def main():
    rows = []
    for compiled, label in ((True, ".mpy (as installed)"), (False, ".py sources")):
        timed = run(compiled, "%dK" % LIMIT_KB)
        alloc = run(compiled, "%dK" % LIMIT_KB, mode="alloc")
        rows.append((label, timed, alloc, smallest_heap(compiled)))
    print("Firmware on MicroPython (unix port, x64: 8-byte objects, about twice a 32-bit "
          "board's), one level-4 toast of the reference slice, -X heapsize=%dK" % LIMIT_KB)
    print()
    print("| image | ticks | tick mean | tick max | max / 100 ms period | resident after boot "
          "| a tick allocates (mean, max) | smallest heap that toasts | / 64 KB goal "
          "| / 96 KB limit |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, t, a, kb in rows:
        print("| %s | %d | %.2f ms | %.2f ms | %.3f | %.1f KB | %.1f KB, %.1f KB | %d KB | %.2f "
              "| %.2f |" % (label, t["ticks"], t["sum_us"] / t["ticks"] / 1000,
                            t["max_us"] / 1000, t["max_us"] / PERIOD_US, a["resident"] / 1024,
                            a["alloc_sum"] / a["alloc_n"] / 1024, a["tick_alloc"] / 1024, kb,
                            kb / GOAL_KB, kb / LIMIT_KB))


if __name__ == "__main__":
    main()
