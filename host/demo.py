"""`make demo`: toast a slice on the virtual toaster and record its telemetry.

The virtual device (the checkout's firmware on MicroPython, the simulator) runs behind a
serial port; the telemetry recorder listens on that port as on a USB board's; the
simulated user sets the dial to 4 and pushes the lever. Printed: the outcome (time,
browning, why it stopped) and where the telemetry went.
"""

import sys
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

    def toast(self, timeout=10.0):
        """The recorded toast, once its file holds the end of it (frames are still on
        their way through the port when the carriage comes up)."""
        from host.telemetry import sessions
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for session in sessions.load(self.folder) if self.folder.exists() else ():
                if any(r["kind"] == "E" and r["to"] == "idle" for r in session.records):
                    return session
            time.sleep(0.05)
        raise ToasterError("the toast's telemetry did not arrive in %s" % self.folder)


def wait_for_loop(device, timeout=30.0):
    """Wait until the firmware's control loop runs: a lever pushed before that is
    ignored (a toaster powered up with its carriage down never heats). In lockstep,
    virtual time runs only in the loop's waits."""
    deadline = time.monotonic() + timeout
    while int(device.control("TIME")) < 1000:
        if time.monotonic() > deadline or device.failure:
            raise ToasterError("the firmware did not start: %s"
                               % (device.failure or "no time passed in %.0f s" % timeout))
        time.sleep(0.01)


def push_lever(device, level, timeout_s=60):
    """The user: dial to the level, lever down; returns when the carriage comes up."""
    waiter = device.sim.client()
    try:
        device.control("DIAL %d" % level)
        device.control("LEVER DOWN")
        waiter.ok("WAIT carriage_up %d" % (timeout_s * 1000))
    finally:
        waiter.close()


def demo(out):
    from hardware.simulator.scenario import Scenario
    from host.telemetry import summary
    from host.virtual_device import VirtualDevice
    from model_training import targets

    scenario = Scenario()
    with VirtualDevice(console="pty") as device:
        print("virtual toaster on %s (lockstep): %s bread, %g mm, %g W, %g C kitchen"
              % (device.port, scenario.bread, scenario.thickness_mm, scenario.heater_w,
                 scenario.ambient_c))
        recording = Recording(device.port, out)
        try:
            print("recording telemetry from %s into %s" % (device.port, _relative(out)))
            wait_for_loop(device)
            low, high = targets.band(LEVEL)
            print("toasting a slice at level %d (target browning DE %g-%g)..."
                  % (LEVEL, low, high))
            push_lever(device, LEVEL)
            browning = device.truth()["delta_e"]
            session = recording.toast()
        finally:
            totals = recording.stop()
    s = summary.summarise(session)
    print("%s after %.1f s, stop reason: %s (%s policy); browning DE %.1f, %s; "
          "chamber max %.0f C" % (
              s["end_state"], s["duration_s"], s["stop_reason"], s["policy"], browning,
              "in the band" if targets.in_band(LEVEL, browning) else "OUTSIDE the band",
              s["temp_max_c"]))
    print("telemetry: %s (%d frames, %d missing, %d damaged)"
          % (_relative(session.path), totals["frames"], totals["missing"],
             sum(totals["damaged"].values())))
    print("report: toaster telemetry report %s" % _relative(out))


def _relative(path):
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main():
    out = ROOT / "out" / "demo" / time.strftime("%Y%m%d-%H%M%S")
    try:
        demo(out)
    except ToasterError as exc:
        print("demo: %s" % exc, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("demo: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
