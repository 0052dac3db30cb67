"""The simulator process of a closed-loop evaluation: the simulator's own Server and Toaster,
with the toaster watched for the safety invariants at every thermal step (250 ms).

    python -m host.closed_loop_sim --socket PATH --scenario JSON

The watch is in the toaster's ground truth (the TRUTH control request) as "watch": one
record per time the carriage went down: when (ms), heater-powered ms since, the last
thermal step with the heater powered, and the highest true NTC and chamber temperatures
at the end of a step with the heater powered (within a heating step they only rise, so
the end of each step bounds it from above). host/closed_loop.py checks them.
"""

import argparse
import json
import signal
import sys
import threading

from hardware.simulator.scenario import Scenario
from hardware.simulator.server import Server
from hardware.simulator.toaster import Toaster


class WatchedToaster(Toaster):
    def __init__(self, scenario):
        self.watch = []
        super().__init__(scenario)

    def _thermal_step(self, t):
        on_before = self.heater_on_ms
        super()._thermal_step(t)
        rec = self.watch[-1] if self.watch and not self.watch[-1]["up"] else None
        if rec is None and self.carriage_down:
            rec = {"down_ms": t, "up": False, "on_ms": 0.0, "last_on_ms": None,
                   "max_ntc_on_c": None, "max_chamber_on_c": None}
            self.watch.append(rec)
        if rec is None:
            return
        on = self.heater_on_ms - on_before
        if on > 0:
            th = self.thermal
            rec["on_ms"] += on
            rec["last_on_ms"] = t
            rec["max_ntc_on_c"] = max(rec["max_ntc_on_c"] or -273.0, th.tn)
            rec["max_chamber_on_c"] = max(rec["max_chamber_on_c"] or -273.0, th.tc)
        rec["up"] = not self.carriage_down

    def truth(self):
        out = super().truth()
        out["watch"] = self.watch
        return out


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m host.closed_loop_sim")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--scenario", required=True, help="Scenario fields as JSON")
    args = parser.parse_args(argv)
    scenario = Scenario(**json.loads(args.scenario))
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    server = Server(args.socket, toaster=WatchedToaster(scenario)).start()
    print("ready %s %d" % (args.socket, server.toaster.t_ms), flush=True)
    done.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
