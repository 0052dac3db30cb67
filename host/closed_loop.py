"""Closed-loop toasts: the real firmware on MicroPython (host/virtual_device.py) toasting on
the simulated toaster in lockstep virtual time, one toaster unit per session, many toasts
per firmware process.

    from host import closed_loop
    img = closed_loop.app_image("out/pkg")          # firmware + a policy package folder
    unit = Scenario(heater_w=900, region="NA")      # the toaster, its kitchen, its mains
    session = closed_loop.Session("kitchen-1", unit, [
        closed_loop.ToastSpec(level=4),                                   # cold toaster
        closed_loop.ToastSpec(level=5, load={"start": "freezer"}, gap_s=20),  # warm, frozen
    ])
    with closed_loop.Toaster(img, unit) as toaster:  # one firmware process throughout
        result = toaster.toast(session.toasts[0])   # a ToastResult
    results = closed_loop.run(img, [session, ...], workers=2, progress=bar.update)

A session is one toaster unit (a hardware.simulator Scenario: heater rating, mains,
kitchen temperature, part tolerances and noise seed) that toasts its ToastSpecs in order,
warm from the ones before: `load` are the simulator's LOAD fields for the slices put in
(bread, thickness_mm, start, slices...), `gap_s` the time the toaster stands between the
previous toast's end (carriage up) and this one's lever push. ToastSpec.feedback(result)
may return "light", "right" or "dark": the user then presses that button.

Each ToastResult holds the browning the simulator's truth gives after the slice has
settled (SETTLE_MS after the carriage came up), the firmware's account (stop reason, the
policies that decided, guard verdicts, faults) and the safety invariants checked on the
simulator's truth (host/closed_loop_sim.py watches every thermal step): the heater never
powered with the chamber sensor at or above the guard's cutoff, never past the toast time
limit, the thermal fuse intact. `fell_back` marks a toast that a model package did not
decide throughout (the firmware's fallback timer did): never count such a toast as the
model's.
"""

import json
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field

from firmware import guard
from hardware.simulator.scenario import Scenario
from host import image as image_mod
from host.closed_loop_sim import PUSH, SETTLE_MS, SETTLED, Served
from host.virtual_device import SimulatorError, VirtualDevice
from model_training import targets

FIRST_PUSH_MS = 5000   # the first lever push, virtual ms after boot
SETTLE_S = SETTLE_MS / 1000
REFUSED_MS = 1000      # a toaster in fault still in fault this long after the push
# A push the host could not schedule in time lands this long after "now": a user pushes
# the lever a moment after putting the slices in.
LATE_PUSH_MS = 1000
TOAST_TIMEOUT_S = 120  # wall clock for one toast (a toast takes well under a second)
ENDS = ("done", "cancelled", "fault")
CUTOFF_C = guard.CUTOFF_DC / 10
LIMIT_S = guard.MAX_TOAST_MS / 1000
# The heater may stay on up to one 250 ms thermal step and one 100 ms tick past a limit.
LIMIT_SLACK_S = 0.5


@dataclass
class ToastSpec:
    level: int = 4
    load: dict = field(default_factory=dict)
    gap_s: float = 0.0
    feedback: object = None        # function(ToastResult) -> "light" | "right" | "dark" | None
    tags: dict = field(default_factory=dict)   # carried into the result (suite groups...)


@dataclass
class Session:
    name: str
    unit: Scenario
    toasts: list


@dataclass
class ToastResult:
    session: str
    index: int                 # the toast's place in its session (0: cold toaster)
    level: int
    target_de: float
    de: float                  # true browning SETTLE_MS after the carriage came up
    duration_s: float | None   # lever down to the end of the toast, firmware clock
    end_state: str             # done | cancelled | fault
    stop_reason: str           # policy | time_limit | a fault code ...
    policies: list             # policies that decided (T frames while toasting)
    boot_policy: str           # the policy the boot frame announced
    model_faults: list         # F frames with code model (detail)
    faults: list               # other F frames during the toast (code)
    guard_ticks: int           # ticks while toasting with a guard verdict other than ok
    gap_s: float               # the standing time before the lever push, as it happened
    late_push: bool            # the host fell behind: pushed when it could, not on time
    max_ntc_on_c: float | None
    heater_on_s: float
    violations: list
    rating: str | None = None
    tags: dict = field(default_factory=dict)
    frames: list | None = None

    @property
    def error(self):
        return self.de - self.target_de

    @property
    def burnt(self):
        return self.de >= targets.BURNT_DE

    @property
    def underdone(self):
        return self.de < targets.band(self.level)[0]

    @property
    def overdone(self):
        return self.de > targets.band(self.level)[1]

    @property
    def fell_back(self):
        return "fallback" in self.policies or bool(self.model_faults) \
            or self.boot_policy == "fallback"

    def to_dict(self):
        out = asdict(self)
        out.pop("frames")
        out.update(error=self.error, burnt=self.burnt, underdone=self.underdone,
                   overdone=self.overdone, fell_back=self.fell_back)
        return out


def app_image(package=None):
    """The sim board's firmware image, with a policy package folder (a model package or a
    baseline, firmware/baselines.py) in its model/ slot."""
    return image_mod.build("sim", model=package)


class Toaster:
    """One toaster unit on the virtual device: the watched simulator and one firmware
    process for every toast, unless the firmware resets."""

    def __init__(self, img, unit, keep_frames=False):
        self.unit = unit
        self.keep_frames = keep_frames
        self.device = watch(VirtualDevice(image=img), unit)
        self.boot = None
        self._settled = None   # the simulator's control connection that waits for toasts
        self._up_ms = None     # the previous toast's carriage up (virtual ms)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        self.device.start()
        self._settled = self.device.sim.client()
        self.boot = self.device.expect("B", timeout=30)
        return self

    def stop(self):
        if self._settled is not None:
            self._settled.close()
        self.device.stop()

    def toast(self, spec, session="-", index=0):
        """Put the slices in, set the dial, push the lever FIRST_PUSH_MS after boot or
        spec.gap_s after the previous toast's carriage up (at least SETTLE_MS), and return
        the ToastResult once the slice has settled."""
        dev = self.device
        fields = " ".join("%s=%s" % kv for kv in spec.load.items())
        dev.control("LOAD %s" % fields if fields else "LOAD")
        dev.control("DIAL %d" % spec.level)
        at = FIRST_PUSH_MS if self._up_ms is None else \
            self._up_ms + max(spec.gap_s * 1000, SETTLE_MS)
        try:
            dev.control("FAULT %s at=%d" % (PUSH, at))
            late = False
        except SimulatorError:   # the host fell behind lockstep time: push a little later
            # (one request: between two, the firmware runs on)
            now = int(dev.control("FAULT %s in=%d;TIME" % (PUSH, LATE_PUSH_MS)).split()[-1])
            at = now + LATE_PUSH_MS
            late = True
        # The console tells when the toast is over (or that a toaster in fault ignored the
        # push); only then wait for the simulator: a waiting client slows every tick.
        frames = dev.until(lambda f: int(f["ms"]) >= at and (
            f["kind"] == "E" and f["to"] in ENDS
            or f["kind"] == "T" and f["state"] == "fault" and int(f["ms"]) >= at + REFUSED_MS),
            timeout=TOAST_TIMEOUT_S)
        settled = json.loads(self._settled.ok("WAIT %s %d" % (SETTLED, TOAST_TIMEOUT_S * 1000)))
        frames += dev.until(lambda f: int(f["ms"]) >= settled["t_ms"], timeout=TOAST_TIMEOUT_S)
        gap = (settled["down_ms"] - self._up_ms) / 1000 if self._up_ms is not None else 0.0
        self._up_ms = settled["up_ms"]
        mine = [f for f in frames if int(f["ms"]) >= settled["down_ms"]]
        result = self._result(spec, session, index, mine, settled, gap, late)
        if spec.feedback is not None:
            result.rating = spec.feedback(result)
            if result.rating is not None:
                dev.control("PRESS fb_%s" % result.rating)
        return result

    def _result(self, spec, session, index, frames, settled, gap, late):
        start = next((f for f in frames if f["kind"] == "E" and f["to"] == "toasting"), None)
        end = next((f for f in frames if f["kind"] == "E" and f["to"] in ENDS), None)
        if start is None or end is None:   # a toaster in fault does not start a toast
            guard_now = next((f["guard"] for f in frames if f["kind"] == "T"), "-")
            start, end = frames[0], {"ms": frames[0]["ms"], "to": "fault",
                                     "reason": "not_started_" + guard_now}
        session_no = start.get("session")
        ticks = [f for f in frames if f["kind"] == "T" and f["state"] == "toasting"]
        faults = [f for f in frames if f["kind"] == "F" and f["session"] == session_no]
        return ToastResult(
            session=session, index=index, level=spec.level,
            target_de=targets.target(spec.level), de=settled["delta_e"],
            duration_s=(int(end["ms"]) - int(start["ms"])) / 1000,
            end_state=end["to"], stop_reason=end["reason"],
            policies=sorted({f["policy"] for f in ticks}),
            boot_policy=self.boot["policy"],
            model_faults=[f["detail"] for f in faults if f["code"] == "model"],
            faults=[f["code"] for f in faults if f["code"] != "model"],
            guard_ticks=sum(1 for f in ticks if f["guard"] != "ok"),
            gap_s=gap, late_push=late, max_ntc_on_c=settled["max_ntc_on_c"],
            heater_on_s=settled["on_ms"] / 1000, violations=check([settled])[0],
            tags=dict(spec.tags), frames=frames if self.keep_frames else None)


def watch(device, unit):
    """The virtual device (not started yet) with the watched simulator
    (host/closed_loop_sim.py) of a toaster unit instead of the plain one."""
    device.sim = Served(device.socket_path, unit)
    return device


def check(watch):
    """(violations, highest NTC temperature with the heater on, heater-on ms) of
    carriage-down records (host/closed_loop_sim.py; one toast's, or a session's)."""
    violations = []
    max_ntc, on_ms = None, 0.0
    for rec in watch:
        on_ms += rec["on_ms"]
        if rec["max_ntc_on_c"] is not None:
            max_ntc = max(max_ntc or rec["max_ntc_on_c"], rec["max_ntc_on_c"])
            if rec["max_ntc_on_c"] >= CUTOFF_C:
                violations.append("heater on with the chamber sensor at %.1f C (cutoff %g C)"
                                  % (rec["max_ntc_on_c"], CUTOFF_C))
        if rec["last_on_ms"] is not None:
            late = (rec["last_on_ms"] - rec["down_ms"]) / 1000
            if late > LIMIT_S + LIMIT_SLACK_S:
                violations.append("heater on %.1f s into the toast (limit %g s)"
                                  % (late, LIMIT_S))
    return violations, max_ntc, on_ms


def run_session(img, session, keep_frames=False):
    """Every toast of a session on one virtual toaster: a list of ToastResults."""
    with Toaster(img, session.unit, keep_frames) as toaster:
        results = [toaster.toast(spec, session.name, i) for i, spec in enumerate(session.toasts)]
        fuse = toaster.device.truth()["fuse_open"]
    if fuse:
        results[-1].violations.append("the thermal fuse opened")
    return results


_IMAGE = None


def _init_worker(img, cores):
    """Keep a worker and the processes it starts on one core (one of its own while there
    are enough): a toaster's simulator and firmware take turns (lockstep), and waking a
    process on another core costs more than the turn itself (measured: 10 % of the CPU
    time, 12 % of the wall time)."""
    global _IMAGE
    _IMAGE = img
    os.sched_setaffinity(0, {cores.get()})


def _worker(session, keep_frames):
    return run_session(_IMAGE, session, keep_frames)


def run(img, sessions, workers=None, progress=None, keep_frames=False):
    """The ToastResults of all sessions, in session order, from `workers` processes
    (default: the CPU count, at most the sessions). progress(n) is called with the toasts
    each finished session adds."""
    workers = max(1, min(workers or os.cpu_count() or 1, len(sessions)))
    if workers == 1:
        out = []
        for s in sessions:
            out.append(run_session(img, s, keep_frames))
            if progress:
                progress(len(s.toasts))
        return [r for rs in out for r in rs]
    out = [None] * len(sessions)
    cores = multiprocessing.Queue()
    mine = sorted(os.sched_getaffinity(0))
    for i in range(workers):
        cores.put(mine[i % len(mine)])
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(img, cores)) as pool:
        jobs = {pool.submit(_worker, s, keep_frames): i for i, s in enumerate(sessions)}
        for job in as_completed(jobs):
            out[jobs[job]] = job.result()
            if progress:
                progress(len(out[jobs[job]]))
    return [r for rs in out for r in rs]


if __name__ == "__main__":   # a smoke run: python -m host.closed_loop [PACKAGE]
    unit = Scenario()
    demo = Session("demo", unit, [ToastSpec(4), ToastSpec(4, gap_s=20),
                                  ToastSpec(4, {"start": "freezer"}, gap_s=20)])
    for r in run(app_image(sys.argv[1] if len(sys.argv) > 1 else None), [demo], workers=1):
        print(json.dumps(r.to_dict()))
