"""The supervisor's invariants, property-tested: hypothesis draws tick sequences (sensor
readings, the model's answers including NaN, infinities, out-of-range values, exceptions
and late answers, host commands, lost time, failed reads) and the real firmware loop and
guard run them on MicroPython (tests/safety/supervisor_mp.py, one process for the whole
run). Checked after every tick: the heater is off outside a toast, at or above the
cutoff reading, past the time cap, after a fault until the user restarts, and soon after
the tick clock leaves the second clock by more than 5 %; a toast's heater-on time stays
within the cap; the watchdog is never fed in a tick that failed."""

import json
import subprocess
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from host import micropython as mp

HERE = Path(__file__).parent
CASES = HERE.parent / "firmware_cases"
EXAMPLES = 200


def rarely(usual, rare, odds):
    """usual, or one of rare once in `odds` draws (shrinking goes to usual)."""
    return st.integers(0, odds - 1).flatmap(
        lambda i: st.sampled_from(rare) if i == odds - 1 else st.just(usual))


def ticks(odds):
    """A tick: the usual inputs, each of them something else once in odds[name] draws.
    Answers: 1 + an index into supervisor_mp.ANSWERS; a late one (9) counts only while the
    model still decides, so it comes three times as often."""
    usual = {"adc": -1, "lever": 1, "cancel": 0, "sense": -1, "ref": 0, "answer": 0,
             "command": 0, "lost": 0, "fail": 0}
    rare = {"adc": (0, 20, 39, 40, 2950, 2951, 4095), "lever": (0,), "cancel": (1,),
            "sense": (0, 1), "ref": (-150, 150, 400), "answer": (2, 3, 4, 5, 6, 7, 8, 9, 9, 9),
            "command": range(1, 9), "lost": (150, 2500, 30000, 90000), "fail": (1,)}
    return st.tuples(
        st.integers(0, 9).flatmap(lambda i: st.floats(-3.0, 4.0) if i else
                                  st.sampled_from([40.0, 120.0, -60.0])),   # dtemp C
        *(rarely(usual[k], rare[k], odds[k]) for k in usual))


# A sequence is runs of one tick repeated: long toasts from few draws. Two families: any
# inputs, and long toasts (rarer faults, more lost time) that reach the time cap.
ANY = {"adc": 12, "lever": 8, "cancel": 20, "sense": 15, "ref": 20, "answer": 3,
       "command": 4, "lost": 5, "fail": 20}
LONG = dict(ANY, adc=200, lever=200, cancel=200, sense=200, ref=200, answer=20, lost=2,
            fail=200)
RUNS = st.one_of(*(st.lists(st.tuples(st.integers(1, 200), ticks(odds)), min_size=1,
                            max_size=12) for odds in (ANY, LONG)))


# The tick clock's rate against the second clock from some tick on: mostly the same.
SKEW = st.tuples(rarely(1.0, (0.5, 0.9, 0.94, 0.97, 1.03, 1.06, 1.1, 2.0), 3),
                 st.integers(0, 300))


class MicroPython:
    """The driver on MicroPython: one example per line in, one verdict per line out."""

    def __init__(self):
        env = mp.environment("%s:%s:%s" % (mp.ROOT, CASES, HERE))
        self.proc = subprocess.Popen(mp.command([str(HERE / "supervisor_mp.py")], "8M"),
                                     env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)

    def run(self, start_c, skew, runs):
        example = {"start_c": start_c, "skew": skew[0], "skew_at": skew[1], "runs": runs}
        self.proc.stdin.write(json.dumps(example) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("MicroPython ended: " + self.proc.stderr.read()[-3000:])
        return json.loads(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def test_supervisor_invariants_hold_for_any_inputs(micropython):
    driver = MicroPython()
    seen = {}

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.floats(-20.0, 240.0), SKEW, RUNS)
    def check(start_c, skew, runs):
        verdict = driver.run(start_c, skew, runs)
        for key, n in verdict.get("seen", {}).items():
            seen[key] = seen.get(key, 0) + (n > 0)
        assert verdict["ok"], verdict["error"]

    try:
        check()
    finally:
        driver.close()
    # The draws reached what the invariants are about (examples in which each happened).
    rare = [k for k in ("heat", "cutoff", "time_limit", "model", "fault", "failed_read",
                        "late", "clock") if seen.get(k, 0) < 2]
    assert rare == [], "draws too rarely reached %s: %s" % (rare, seen)
