"""The simulator of a closed-loop evaluation: the simulator's own Server and Toaster, with
the user's lever pushes at exact virtual times and the toaster watched for the safety
invariants at every thermal step (250 ms), served from threads of the evaluating process
(Served: a worker has it imported already, where a process of its own would start an
interpreter and numpy for every toaster unit).

Two user actions, sent as faults through the control role so that the protocol stays the
simulator's (hardware/simulator/PROTOCOL.md):
- `FAULT user_push at=<ms>`: the user pushes the lever at that virtual time. Lockstep
  time runs as fast as the firmware ticks, so a push sent "now" lands wherever the
  firmware happens to be; a scheduled one lands on the same tick every run.
- every time the carriage comes up, SETTLE_MS later the slice has settled (carry-over
  browning): a `settled` event then holds its true DE and the watch record of that
  carriage-down span: down_ms, up_ms, heater-powered ms, the last thermal step with the
  heater powered, and the highest true NTC and chamber temperatures at the end of a step
  with the heater powered (while heating they only rise within a step, so the end of
  each step bounds it from above). host/closed_loop.py checks them. TRUTH holds every
  record so far as "watch".
"""

from hardware.simulator.server import Server
from hardware.simulator.toaster import Toaster
from host.virtual_device import SimClient, SimulatorError

PUSH = "user_push"
SETTLED = "settled"
SETTLE_MS = 10000      # the popped-up slice still browns a little (carry-over)


class WatchedToaster(Toaster):
    def __init__(self, scenario):
        self.watch = []        # every carriage-down span; the last may be under way
        super().__init__(scenario)

    def inject(self, name, at_ms=None, for_ms=None, **params):
        if name != PUSH:
            return super().inject(name, at_ms, for_ms, **params)
        at = self.t_ms if at_ms is None else int(at_ms)
        if at < self.t_ms:
            raise ValueError("at_ms %d is in the past (now %d)" % (at, self.t_ms))
        self._schedule(at, "inject", PUSH, {})
        if at == self.t_ms:
            self.advance(0)

    def _apply(self, name, params):
        if name == PUSH:
            self.press_lever()
        elif name == SETTLED:
            self._log(SETTLED, delta_e=self.thermal.de, **self.watch[-1])
        else:
            super()._apply(name, params)

    def _update_carriage(self, reason):
        was = self.carriage_down
        super()._update_carriage(reason)
        if self.carriage_down and not was:
            self.watch.append({"down_ms": self.t_ms, "up_ms": None, "on_ms": 0.0,
                               "last_on_ms": None, "max_ntc_on_c": None,
                               "max_chamber_on_c": None})
        elif was and not self.carriage_down and self.watch:
            self.watch[-1]["up_ms"] = self.t_ms
            self._schedule(self.t_ms + SETTLE_MS, "inject", SETTLED, {})

    def _thermal_step(self, t):
        on_before = self.heater_on_ms
        super()._thermal_step(t)
        on = self.heater_on_ms - on_before
        rec = self.watch[-1] if self.watch else None
        if on > 0 and rec is not None:
            th = self.thermal
            rec["on_ms"] += on
            rec["last_on_ms"] = t
            rec["max_ntc_on_c"] = max(rec["max_ntc_on_c"] or -273.0, th.tn)
            rec["max_chamber_on_c"] = max(rec["max_chamber_on_c"] or -273.0, th.tc)

    def truth(self):
        out = super().truth()
        out["watch"] = self.watch
        return out


class QuietServer(Server):
    """The Server, waking its WAIT requests only when an event was logged: they wait for
    events, and a wake-up on every advance (five a tick) costs the lockstep ~15 % of the
    simulator's time while the virtual device's supervisor waits for resets."""

    def _advance(self, ms, stop_on_reset=False):
        n = len(self.toaster.events)
        self.toaster.advance(ms, stop_on_reset)
        if len(self.toaster.events) != n:
            self.changed.notify_all()


class Served:
    """The watched simulator of a toaster unit served from this process: what a
    VirtualDevice needs of its simulator (host/virtual_device.py's Simulator)."""

    def __init__(self, path, unit):
        self.path = path
        self.unit = unit
        self.server = None
        self._console = ()

    def pace(self, console_fds):
        self._console = tuple(console_fds)

    def start(self):
        try:
            self.server = QuietServer(self.path, toaster=WatchedToaster(self.unit),
                                      console_fds=self._console).start()
        except (OSError, ValueError) as exc:
            raise SimulatorError("the simulator did not start: %s" % exc) from None
        return self

    def stop(self):
        if self.server is not None:
            self.server.stop()

    def client(self):
        return SimClient(self.path)

    def last_words(self):
        return ""
