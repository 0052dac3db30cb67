"""The simulator's socket protocol (hardware/simulator/PROTOCOL.md), over a real socket."""

import json
import socket
import subprocess
import sys
import time

import pytest

from hardware.simulator import Scenario, Server


class Client:
    def __init__(self, path, role=None):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(str(path))
        self.file = self.sock.makefile("rwb", buffering=0)
        if role:
            assert self.request("HELLO %s 1" % role).startswith("OK")

    def request(self, line):
        self.file.write(line.encode() + b"\n")
        return self.file.readline().decode().rstrip("\n")

    def json(self, line):
        reply = self.request(line)
        assert reply.startswith("OK "), reply
        return json.loads(reply[3:])

    def close(self):
        self.file.close()
        self.sock.close()


@pytest.fixture
def server(tmp_path):
    with Server(tmp_path / "sim.sock", Scenario()) as s:
        yield s


def heat_tick(mcu):
    return mcu.request("SET heat_en 1;SET hold 1;FEED;SLEEP 100 heartbeat 20;SNAP")


def test_hello_first_and_one_mcu_at_a_time(server):
    c = Client(server.path)
    assert c.request("TIME").startswith("ERR say HELLO")
    assert c.request("HELLO mcu 2").startswith("ERR protocol version")
    assert c.request("HELLO mcu 1") == "OK 0 POWERON 0"
    other = Client(server.path)
    assert other.request("HELLO mcu 1").startswith("ERR busy")
    assert other.request("HELLO control 1") == "OK 0"


def test_batched_line_gets_replies_in_order_and_errors_do_not_stop_others(server):
    mcu = Client(server.path, "mcu")
    reply = mcu.request("SET heat_en 1;SET heater 1;GET heat_en;SET heat_en 2;GET lever;TIME")
    assert reply.split(";") == ["OK", "ERR unknown output 'heater' (outputs: heat_en, heartbeat, hold, buzzer)",
                                "OK 1", "ERR level must be 0-1", "OK 0", "OK 0"]


@pytest.mark.parametrize("junk", [
    "SET heat_en", "SET heat_en 1 2", "SLEEP -5", "SLEEP 100 heat_en", "ADC nope", "I2C W 41 zz",
    "I2C R 41 146 99", "WDT 0", "FLAG x", "RESET NOW", "\x01\x02", "SET heat_en 01x", "",
])
def test_garbage_gets_err_and_never_heats(server, junk):
    ctl = Client(server.path, "control")
    mcu = Client(server.path, "mcu")
    ctl.request("LEVER HOLD")
    reply = mcu.request(junk)
    assert reply.startswith("ERR"), reply
    mcu.request("SLEEP 500")
    truth = ctl.json("TRUTH")
    assert not truth["heater_on"] and truth["heater_on_ms"] == 0


def test_long_line_is_rejected_and_the_connection_survives(server):
    mcu = Client(server.path, "mcu")
    assert mcu.request("SET heat_en 1;" * 200) == "ERR line over 1024 bytes"
    assert mcu.request("GET heat_en") == "OK 0"


def test_toast_tick_heats_and_heartbeat_stop_drops_relay_within_75_ms(server):
    ctl = Client(server.path, "control")
    mcu = Client(server.path, "mcu")
    ctl.request("LEVER DOWN")
    for _ in range(50):
        snap = heat_tick(mcu).split(";")[-1].split()
    assert snap[0] == "OK" and snap[5] == "1" and snap[10] == "1"      # lever, heat_sense
    assert mcu.request("SLEEP 74") == "OK 5074"
    assert mcu.request("GET heat_sense") == "OK 1"
    assert mcu.request("SLEEP 2;GET heat_sense") == "OK 5076;OK 0"
    drops = [e for e in ctl.json("EVENTS") if e["kind"] == "relay_drop"]
    assert drops == [{"t_ms": 5075, "kind": "relay_drop"}]


def test_watchdog_reset_ends_the_session_and_the_next_boot_says_wdt(server):
    ctl = Client(server.path, "control")
    mcu = Client(server.path, "mcu")
    ctl.request("LEVER DOWN")
    mcu.request("FLAG 7;WDT 2000")
    heat_tick(mcu)
    assert mcu.request("SLEEP 3000;SET heat_en 1") == "ERR RESET;ERR RESET"
    truth = ctl.json("TRUTH")
    assert truth["outputs"] == {"heat_en": 0, "heartbeat": 0, "hold": 0, "buzzer": 0}
    assert not truth["carriage_down"] and not truth["heater_on"]
    assert Client(server.path).request("HELLO mcu 1") == "OK 2000 WDT 7"      # fed at 0
    kinds = [e["kind"] for e in ctl.json("EVENTS")]
    assert kinds.index("wdt") < kinds.index("mcu_reset")


def test_reset_command_and_restart_without_reset(server):
    mcu = Client(server.path, "mcu")
    assert mcu.request("FLAG 3;RESET SOFT;TIME") == "OK;OK;ERR RESET"
    again = Client(server.path)
    assert again.request("HELLO mcu 1") == "OK 0 SOFT 3"
    again.close()
    time.sleep(0.05)
    assert Client(server.path).request("HELLO mcu 1") == "OK 0 HARD 3"


def test_colour_sensor_registers(server):
    mcu = Client(server.path, "mcu")
    assert mcu.request("I2C R 41 146 1") == "OK 44"                 # ID
    assert mcu.request("I2C R 41 18 1") == "ERR EIO"                # no command bit
    assert mcu.request("I2C R 40 146 1") == "ERR ENODEV"
    assert mcu.request("I2C W 41 8003;I2C W 41 81f6;I2C W 41 8f01") == "OK;OK;OK"
    assert mcu.request("I2C R 41 147 1") == "OK 00"                 # not valid yet
    mcu.request("SLEEP 27")
    assert mcu.request("I2C R 41 147 1") == "OK 01"                 # AVALID
    data = bytes.fromhex(mcu.request("I2C R 41 180 8")[3:])
    clear, red, green, blue = (int.from_bytes(data[i:i + 2], "little") for i in range(0, 8, 2))
    assert clear > red > green > blue > 0                           # untoasted bread: warm white
    assert mcu.request("SNAP").split()[-1] == data.hex()


def test_faults_from_control(server):
    ctl = Client(server.path, "control")
    mcu = Client(server.path, "mcu")
    assert ctl.request("FAULT ntc_open at=1000") == "OK"
    assert int(mcu.request("ADC ntc")[3:]) > 150
    mcu.request("SLEEP 1000")
    assert int(mcu.request("ADC ntc")[3:]) < 20                     # 150 mV is about 40 counts
    assert ctl.request("FAULT colour_bus") == "OK"
    assert mcu.request("SNAP").endswith(" -") and mcu.request("I2C R 41 146 1") == "ERR EIO"
    assert ctl.request("FAULT warp_core_breach").startswith("ERR unknown fault")
    assert ctl.request("FAULT mains volts=lots").startswith("ERR")
    assert ctl.request("CLEAR ALL") == "OK"
    assert int(mcu.request("ADC ntc")[3:]) > 150


def test_a_stopped_server_leaves_no_threads(tmp_path):
    # A closed-loop worker serves one simulator after another from its own threads.
    server = Server(tmp_path / "s.sock", Scenario()).start()
    mcu = Client(server.path, "mcu")
    mcu.request("SLEEP 100")
    server.stop()
    mcu.close()
    for thread in server._threads:
        thread.join(timeout=2)
    assert not [t for t in server._threads if t.is_alive()]


def test_stall_clock_lets_a_hung_firmware_meet_its_watchdog(tmp_path):
    with Server(tmp_path / "s.sock", Scenario(), stall_ms=50) as server:
        ctl = Client(server.path, "control")
        mcu = Client(server.path, "mcu")
        ctl.request("LEVER DOWN")
        mcu.request("WDT 300")
        heat_tick(mcu)
        event = ctl.json("WAIT mcu_reset 5000")                  # the firmware says nothing
        assert event["cause"] == "WDT" and event["t_ms"] == 300      # fed at 0
        assert mcu.request("TIME") == "ERR RESET"


def test_realtime_follows_the_wall_clock(tmp_path):
    with Server(tmp_path / "s.sock", Scenario(), realtime=True) as server:
        mcu = Client(server.path, "mcu")
        start = time.monotonic()
        t0 = int(mcu.request("TIME")[3:])
        t1 = int(mcu.request("SLEEP 200 heartbeat 20")[3:])
        wall = (time.monotonic() - start) * 1000
        assert 195 <= t1 - t0 <= 260 and 190 <= wall <= 400


def test_module_runs_as_a_process_and_says_ready(tmp_path):
    path = tmp_path / "p.sock"
    proc = subprocess.Popen([sys.executable, "-m", "hardware.simulator", "--socket", str(path),
                             "--start", "freezer"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "ready %s 0\n" % path
        ctl = Client(path, "control")
        assert ctl.json("SCENARIO")["start"] == "freezer"
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
    assert not path.exists()


def test_module_rejects_bad_options_in_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "hardware.simulator", "--socket", str(tmp_path / "x"),
                             "--fault", "nope@10"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "unknown fault 'nope'" in result.stderr and "Traceback" not in result.stderr
