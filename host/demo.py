"""`toaster demo` (`make demo`): the main job end to end on the virtual toaster.

1. train a model on simulated toasts and export it as a verified int8 package
   (`toaster train --source sim`);
2. start the virtual device (the checkout's firmware on MicroPython, the simulator) behind
   a serial port and flash firmware and model onto it (`toaster flash`);
3. record its telemetry as from a USB board (`toaster telemetry record`) while a
   simulated user toasts three slices: a fresh one, a second batch in the warm toaster, a
   frozen one, and rates each with the feedback buttons;
4. report the sessions and plot a toast (`toaster telemetry report --plot`).
"""

import json
import threading
import time
from pathlib import Path

from host.errors import ToasterError

ROOT = Path(__file__).resolve().parent.parent
LEVEL = 4


class Recording:
    """`toaster telemetry record` on a port, in a thread, until stop()."""

    def __init__(self, port, folder):
        self.folder = folder
        self.listening = threading.Event()
        self._done = threading.Event()
        self._result = None
        self._thread = threading.Thread(target=self._run, args=(port,))
        self._thread.start()
        self.listening.wait(30)
        if isinstance(self._result, Exception):
            raise self._result

    def _run(self, port):
        from host.telemetry import recorder
        try:
            self._result = recorder.record_port(port, self.folder, stop=self._done.is_set,
                                                on_status=lambda line: self.listening.set())
        except Exception as exc:   # raised again in the main thread
            self._result = exc
            self.listening.set()

    def stop(self):
        """The recorder's summary (host/telemetry/recorder.py)."""
        self._done.set()
        self._thread.join()
        if isinstance(self._result, Exception):
            raise self._result
        return self._result.summary()

    def wait_boot(self, timeout=30.0):
        """Wait for a boot frame and a tick after it: the control loop runs."""
        from host.telemetry import sessions
        log = self.folder / sessions.DEVICE_LOG
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            kinds = [r["kind"] for r in sessions.read_records(log)[0]] if log.exists() else []
            if "B" in kinds and "T" in kinds[kinds.index("B"):]:
                return
            time.sleep(0.05)
        raise ToasterError("the toaster sent no boot frame and tick within %.0f s of its "
                           "reset (recording in %s)" % (timeout, self.folder))

    def toast(self, until_ms, timeout=20.0):
        """The recorded toast, once the recording has reached the device's clock until_ms
        (frames are still on their way through the port when the carriage comes up)."""
        from host.telemetry import sessions
        deadline = time.monotonic() + timeout
        reached = None
        while time.monotonic() < deadline:
            toasts = sessions.load(self.folder) if self.folder.exists() else []
            log = self.folder / sessions.DEVICE_LOG
            records = (toasts[-1].records if toasts else []) + (
                sessions.read_records(log)[0] if log.exists() else [])
            reached = max((r["ms"] for r in records if r.get("ms") is not None), default=None)
            if toasts and reached >= until_ms:
                return toasts[-1]
            time.sleep(0.05)
        raise ToasterError("the toast's telemetry did not arrive in %s (recorded up to "
                           "device time %s ms of %d)" % (self.folder, reached, until_ms))


def wait_until(device, t_ms, timeout=60.0):
    """Let the firmware run until the simulator's time reaches t_ms (in lockstep, virtual
    time runs only in the control loop's waits)."""
    deadline = time.monotonic() + timeout
    while int(device.control("TIME")) < t_ms:
        if time.monotonic() > deadline or device.failure:
            raise ToasterError("the virtual toaster's time stood still short of %d ms: %s"
                               % (t_ms, device.failure or "no time passed in %.0f s" % timeout))
        time.sleep(0.001)


def wait_for_loop(device, timeout=30.0):
    """Wait until the firmware's control loop runs: a lever pushed before that is
    ignored (a toaster powered up with its carriage down never heats)."""
    wait_until(device, 1000, timeout)


def push_lever(device, level, timeout_s=60):
    """The user: dial to the level, lever down. Returns when the carriage comes up: the
    simulator's time then (ms; the MCU clock's too, in lockstep)."""
    waiter = device.sim.client()
    try:
        device.control("DIAL %d" % level)
        device.control("LEVER DOWN")
        return json.loads(waiter.ok("WAIT carriage_up %d" % (timeout_s * 1000)))["t_ms"]
    finally:
        waiter.close()


# (what the user puts in, simulator LOAD fields). The toaster stays warm between toasts.
SLICES = (
    ("a fresh slice", "start=room"),
    ("a second batch, warm toaster", "start=room"),
    ("a frozen slice, toaster still warm", "start=freezer"),
)


def train(folder, runs):
    from model_training import pipeline
    from model_training.errors import DataError

    try:
        result = pipeline.train_package(folder, pipeline.Source("simulated", runs=runs)
                                        if runs else pipeline.Source("simulated"))
    except DataError as exc:
        raise ToasterError("training failed: %s" % exc) from None
    metrics = result.manifest["metrics"]
    print("    model %s, %d B: on held-out toasts it stops %.1f s from the ideal moment on "
          "average (a timer per level: %.1f s), %.0f %% in the band"
          % (result.manifest["id"], result.manifest["size"]["tflite_bytes"],
             metrics["stop_time_mae_s"], metrics["timer_stop_time_mae_s"],
             100 * metrics["in_band"]))


def toast(device, recording, name, load):
    """One slice at LEVEL, rated by the user by what they see. Returns its summary."""
    from host.telemetry import summary
    from model_training import targets

    device.control("LOAD %s" % load)
    up_ms = push_lever(device, LEVEL)
    browning = device.truth()["delta_e"]
    low, high = targets.band(LEVEL)
    rating = "light" if browning < low else "dark" if browning > high else "right"
    device.control("PRESS fb_%s" % rating)
    s = summary.summarise(recording.toast(up_ms + 1000))
    print("    %-34s %s after %5.1f s (stop: %s, policy %s): DE %4.1f %s, rated %s"
          % (name, s["end_state"] or "?", s["duration_s"] or 0, s["stop_reason"] or "-",
             s["policy"] or "-", browning,
             "in the band" if targets.in_band(LEVEL, browning) else "OUTSIDE the band",
             rating))
    return s


def demo(out, runs=None):
    """runs: simulated toasts to train on (default: `toaster train`'s)."""
    from hardware.simulator.scenario import Scenario
    from host import flash
    from host.telemetry import report, sessions
    from host.telemetry.model_output import Package
    from host.virtual_device import VirtualDevice
    from model_training import targets

    package = out / "model"
    print("1/4 training a model on simulated toasts -> %s" % _relative(package))
    train(package, runs)
    scenario = Scenario()
    with VirtualDevice(console="pty") as device:
        print("2/4 virtual toaster on %s (lockstep, heap %s): %s bread, %g mm, %g W, "
              "%g C kitchen; flashing firmware and model"
              % (device.port, device.heapsize, scenario.bread, scenario.thickness_mm,
                 scenario.heater_w, scenario.ambient_c))
        flash.flash(device.port, "sim", model=package, say=lambda line: print("    " + line))
        recording = Recording(device.port, out)
        try:
            # The reset button: the recording then starts with the boot frame, which names
            # the boot (the recorder joined after the restart that ended the flashing).
            device.control("RESET HARD")
            recording.wait_boot()
            low, high = targets.band(LEVEL)
            print("3/4 toasting at level %d (target browning DE %g-%g), recording telemetry "
                  "into %s" % (LEVEL, low, high, _relative(out)))
            toasts = [toast(device, recording, name, load) for name, load in SLICES]
        finally:
            totals = recording.stop()
    print("    telemetry: %d frames, %d missing, %d damaged"
          % (totals["frames"], totals["missing"], sum(totals["damaged"].values())))
    if any(s["policy"] in (None, "fallback") for s in toasts):
        raise ToasterError("the model did not decide every toast (see the policy column): "
                           "the firmware fell back to its timer")
    print("4/4 report (toaster telemetry report %s --model %s --plot ...)"
          % (_relative(out), _relative(package)))
    model = Package(package)
    found = sessions.load(out)
    for line in report.text(found, model):
        print("    " + line)
    plot = out / "toast.png"
    report.plot(found[-1], plot, model)
    print("plot of the frozen slice: %s" % _relative(plot))


def _relative(path):
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
