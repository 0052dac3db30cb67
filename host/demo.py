"""`make demo`: toast a slice on the virtual toaster and record its telemetry.

The virtual device (the checkout's firmware on MicroPython, the simulator) runs behind a
serial port; the telemetry recorder listens on that port as on a USB board's; the
simulated user sets the dial to 4 and pushes the lever. Printed: the outcome (time,
browning, why it stopped) and where the telemetry went.
"""

import json
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
    """The user: dial to the level, lever down. Returns when the carriage comes up: the
    simulator's time then (ms; the MCU clock's too, in lockstep)."""
    waiter = device.sim.client()
    try:
        device.control("DIAL %d" % level)
        device.control("LEVER DOWN")
        return json.loads(waiter.ok("WAIT carriage_up %d" % (timeout_s * 1000)))["t_ms"]
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
            up_ms = push_lever(device, LEVEL)
            browning = device.truth()["delta_e"]
            session = recording.toast(up_ms + 1000)
        finally:
            totals = recording.stop()
    s = summary.summarise(session)
    band = "in the band" if targets.in_band(LEVEL, browning) else "OUTSIDE the band"
    if s["end_state"] is None:   # the device dropped it: the host did not keep up
        print("the toast's end frame was lost (%d frames missing); browning DE %.1f, %s"
              % (totals["missing"], browning, band))
    else:
        print("%s after %.1f s, stop reason: %s (%s policy); browning DE %.1f, %s; "
              "chamber max %.0f C" % (s["end_state"], s["duration_s"], s["stop_reason"],
                                      s["policy"], browning, band, s["temp_max_c"]))
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
