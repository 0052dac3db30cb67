"""Hardware failsafes and fault injection in the Toaster API: relay behind the heartbeat
watchdog, carriage and max-on timer, thermal fuse, MCU resets, mains, faults."""

import pytest

from hardware.simulator import faults, parts
from hardware.simulator.scenario import Scenario
from hardware.simulator.toaster import Toaster

PARTS = parts.load()
CAP_MS = PARTS["max_on_timer"]["cap_ms"]


def start_toast(t):
    t.press_lever()
    t.set_output("hold", 1)
    t.set_output("heat_en", 1)


def heartbeat(t, ms, every=20):
    for _ in range(ms // every):
        t.set_output("heartbeat", 1 - t.output("heartbeat"))
        t.advance(every)


def kinds(t):
    return [e["kind"] for e in t.events]


def test_heater_needs_heat_en_and_heartbeat_edges_and_drops_75_ms_after_the_last():
    t = Toaster()
    start_toast(t)
    t.advance(100)
    assert not t.heater_powered()                                 # heat_en alone: no relay
    heartbeat(t, 1000)
    assert t.heater_powered() and t.get("heat_sense") == 1
    last_edge = t.t_ms - 20
    t.advance(54)
    assert t.heater_powered()
    t.advance(1)
    assert not t.heater_powered() and t.get("heat_sense") == 0
    drop = [e for e in t.events if e["kind"] == "relay_drop"][-1]
    assert drop["t_ms"] == last_edge + PARTS["heartbeat_watchdog"]["drop_ms"]
    assert t.truth()["heater_on_ms"] == pytest.approx(t.t_ms - 100 - 0, abs=1)


def test_heat_en_low_stops_the_heater_at_once():
    t = Toaster()
    start_toast(t)
    heartbeat(t, 500)
    t.set_output("heat_en", 0)
    assert not t.heater_powered()


@pytest.mark.parametrize("level", [0, 1])
def test_a_heartbeat_pin_stuck_at_either_level_drops_the_relay(level):
    t = Toaster()
    start_toast(t)
    heartbeat(t, 500)
    t.inject("pin_stuck", pin="heartbeat", level=level)
    heartbeat(t, 200)                                             # the firmware keeps trying
    assert not t.heater_powered()
    assert t.output("heartbeat") == level


def test_the_carriage_stays_down_only_with_the_hold_magnet():
    t = Toaster()
    t.press_lever()
    assert t.get("lever") == 1
    t.advance(PARTS["carriage"]["latch_grace_ms"])
    assert t.get("lever") == 0                                    # nobody held it
    start_toast(t)
    t.advance(1000)
    assert t.get("lever") == 1
    t.set_output("hold", 0)
    assert t.get("lever") == 0 and kinds(t)[-1] == "carriage_up"


def test_welded_relay_is_stopped_by_the_max_on_timer():
    t = Toaster()
    start_toast(t)
    t.inject("relay_welded")
    t.set_output("heat_en", 0)                                    # the firmware gives up...
    t.advance(CAP_MS - 1000)
    assert t.heater_powered() and t.get("heat_sense") == 1        # ...but the relay is stuck
    t.advance(1000)
    assert not t.heater_powered() and t.get("lever") == 0
    assert "max_on_timer" in kinds(t)


def test_welded_relay_with_a_jammed_carriage_opens_the_fuse_for_good():
    t = Toaster()
    t.hold_lever(True)
    t.inject("relay_welded")
    t.advance(60 * 60 * 1000)
    assert "fuse_open" in kinds(t) and "max_on_timer" in kinds(t)
    assert not t.heater_powered()
    truth = t.truth()
    assert truth["fuse_open"] and truth["ntc_c"] < 250.0 + 400.0
    t.clear()
    t.advance(1000)
    start_toast(t)
    heartbeat(t, 1000)
    assert not t.heater_powered()                                 # one-shot


def test_a_watchdog_reset_puts_every_output_to_its_default():
    t = Toaster()
    assert t.boot() == (0, "POWERON", 0)
    t.flag = 9
    t.wdt_start(2000)
    start_toast(t)
    heartbeat(t, 1000)
    t.advance(2000)
    assert t._actual == {"heat_en": 0, "heartbeat": 0, "hold": 0, "buzzer": 0}
    assert not t.heater_powered() and t.get("lever") == 0
    assert t.boot() == (t.t_ms, "WDT", 9)
    with pytest.raises(ValueError):
        t.wdt_start(0)


def test_the_watchdog_cannot_be_reconfigured_and_feeding_keeps_it_quiet():
    t = Toaster()
    t.boot()
    t.wdt_start(500)
    with pytest.raises(ValueError):
        t.wdt_start(1000)
    for _ in range(20):
        t.advance(400)
        t.wdt_feed()
    assert "wdt" not in kinds(t)


def test_power_loss_and_brownout():
    t = Toaster()
    t.boot()
    t.flag = 5
    start_toast(t)
    heartbeat(t, 500)
    t.inject("mains", volts=100.0)                               # below half of 230 V
    assert not t.heater_powered() and not t.mcu_powered and t.get("lever") == 0
    t.clear("mains")
    assert t.boot()[1:] == ("BROWNOUT", 5)
    t.inject("power_loss", for_ms=500)
    with pytest.raises(RuntimeError):
        t.boot()
    t.advance(500)
    assert t.boot()[1:] == ("POWERON", 0)


def test_mains_sag_lowers_the_heater_power():
    t = Toaster()
    t.inject("mains", factor=0.9)
    assert t.thermal.heater_w(1.0) == pytest.approx(1000.0 * 0.81)
    t.clear("mains")
    assert t.thermal.heater_w(1.0) == pytest.approx(1000.0)


def test_clock_skew_makes_mcu_time_run_fast():
    t = Toaster()
    t.advance(1000)
    t.inject("clock_skew", factor=1.1)
    t.advance(1000)
    assert t.mcu_ms() == 2100 and t.mcu_to_true_ms(110) == 100


def test_thermistor_faults():
    t = Toaster()
    clean = t.adc_clean("ntc")
    t.inject("ntc_open")
    assert t.adc("ntc") < 20
    t.clear("ntc_open")
    t.inject("ntc_short")
    assert t.adc("ntc") > 2990
    t.clear("ntc_short")
    t.inject("ntc_stuck")
    start_toast(t)
    heartbeat(t, 30000)
    assert t.adc("ntc") == round(clean)
    t.clear("ntc_stuck")
    assert t.adc_clean("ntc") > clean + 20
    t.inject("ntc_detached")
    assert abs(t.ntc_temp() - t.scenario.ambient_c) < 1e-9
    t.clear("ntc_detached")
    before = t.ntc_temp()
    t.inject("ntc_drift", c_per_s=2.0)
    t.advance(10000)
    assert t.ntc_temp() > before + 15.0


def test_inputs_can_stick_and_buttons_release():
    t = Toaster()
    t.press("fb_dark", 300)
    assert t.get("fb_dark") == 1
    t.advance(300)
    assert t.get("fb_dark") == 0
    t.inject("input_stuck", pin="cancel", level=1)
    assert t.get("cancel") == 1
    t.inject("input_stuck", pin="heat_sense", level=1)
    assert t.get("heat_sense") == 1 and not t.heater_powered()


def test_faults_at_a_time_and_for_a_while_in_the_event_log():
    t = Toaster(Scenario(faults=((1000, "ntc_open", {}),)))
    t.inject("relay_welded", at_ms=2000, for_ms=500)
    assert "ntc_open" not in t.faults
    t.advance(1000)
    assert "ntc_open" in t.faults
    t.advance(1000)
    assert t._welded
    t.advance(500)
    assert not t._welded
    assert [(e["t_ms"], e["kind"], e.get("name")) for e in t.events if e["kind"].startswith("fault")] == [
        (1000, "fault", "ntc_open"), (2000, "fault", "relay_welded"), (2500, "fault_cleared", "relay_welded")]


def test_empty_toaster_heats_faster():
    full, empty = Toaster(), Toaster(Scenario(slices=0))
    for t in (full, empty):
        t.drive(True)
        t.advance(120000)
    assert empty.truth()["chamber_c"] > full.truth()["chamber_c"]
    assert empty.truth()["delta_e"] == 0.0


def test_bad_faults_say_what_is_allowed():
    t = Toaster()
    with pytest.raises(faults.FaultError, match="known: clock_skew"):
        t.inject("gremlins")
    with pytest.raises(faults.FaultError, match="takes c_per_s"):
        t.inject("ntc_drift", speed=3)
    with pytest.raises(faults.FaultError, match="pin must be one of"):
        t.inject("pin_stuck", pin="lever")
    with pytest.raises(ValueError, match="in the past"):
        t.advance(10)
        t.inject("ntc_open", at_ms=5)
    assert "ntc_open" in faults.describe()
