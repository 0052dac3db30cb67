"""The virtual toaster: physics, electrics, sensors, faults, and a socket server.

One toaster, driven like the firmware drives it (pins in virtual ms)::

    from hardware.simulator import Toaster, Scenario
    t = Toaster(Scenario(bread="white", start="freezer", heater_w=1000))
    t.press_lever(); t.set_output("hold", 1); t.set_output("heat_en", 1)
    for _ in range(1500):                         # 150 s, heartbeat edge every 20 ms
        t.set_output("heartbeat", 1 - t.output("heartbeat")); t.advance(20)
    t.adc("ntc"), t.snap(), t.truth()["delta_e"], t.events

Open loop, many toasts at once, sampled every 100 ms exactly as the firmware samples
(raw ADC counts and TCS34725 registers with noise)::

    from hardware.simulator import batch, scenario
    runs = batch.run(scenario.sample(1000, seed=1), heat_s=150)      # or until_delta_e=20
    runs.samples["ntc"], runs.samples["clear"], runs.truth["delta_e"], runs.summary()

Faults, now or at a virtual time (catalogue: faults.describe())::

    t.inject("ntc_open", at_ms=30_000); t.inject("relay_welded"); t.hold_lever(True)

Served to the firmware's sim board (protocol: hardware/simulator/PROTOCOL.md)::

    with Server("/tmp/toaster.sock", Scenario()) as server:   # or python -m hardware.simulator
        ...                                                  # server.toaster is the Toaster

Same scenario and seed give bit-identical results alone or in a batch, stepped in 10 ms
or in one call.
"""

from hardware.simulator.scenario import Scenario, sample, sample_one
from hardware.simulator.server import Server
from hardware.simulator.toaster import Toaster

__all__ = ["Scenario", "Server", "Toaster", "sample", "sample_one"]
