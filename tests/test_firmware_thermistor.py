"""Thermistor conversion (firmware/thermistor.py) and board.json (hardware/boards): one
module on both interpreters, and the inverse of the simulator's front end."""

import json

import pytest

from firmware.thermistor import Thermistor
from hardware import boards
from hardware.simulator import analog, parts
from host import micropython as mp


@pytest.fixture(scope="module")
def ntc():
    return Thermistor.from_config(boards.compose("sim")["ntc"])


def test_same_numbers_on_micropython(micropython, ntc):
    config = json.dumps(boards.compose("sim")["ntc"])
    code = ("import json\nfrom firmware.thermistor import Thermistor\n"
            "t = Thermistor.from_config(json.loads(%r))\n"
            "print(json.dumps([t.decicelsius(c) for c in range(t.valid_lo, t.valid_hi + 1)]))\n"
            "print(json.dumps([t.counts(c) for c in range(-20, 320)]))\n" % config)
    result = mp.run(code)
    assert result.returncode == 0, result.stderr
    dc, counts = [json.loads(line) for line in result.stdout.splitlines()]
    assert dc == [ntc.decicelsius(c) for c in range(ntc.valid_lo, ntc.valid_hi + 1)]
    assert counts == [ntc.counts(c) for c in range(-20, 320)]


def test_inverts_the_simulated_front_end(ntc):
    p = parts.load()
    for temp in range(5, 266):
        counts = float(analog.ntc_counts(float(temp), p))  # noise-free, unrounded
        assert abs(ntc.celsius(counts) - temp) < 0.05, temp
        assert ntc.fault(round(counts)) is None, temp


def test_open_and_short_fall_outside_the_band(ntc):
    p = parts.load()
    for ohm, code in ((analog.OPEN, "ntc_open"), (analog.SHORT, "ntc_short")):
        mv = analog.ntc_mv(ohm, p["ntc_divider"])
        counts = round(float(analog.adc_counts(mv, p["adc"])))
        assert ntc.fault(counts) == code, (ohm, counts)


@pytest.mark.parametrize("board", boards.BOARDS)
def test_board_json(board):
    config = boards.compose(board)
    assert config["board"] == board
    t = Thermistor.from_config(config["ntc"])
    lo, hi = config["ntc"]["valid_counts"]
    assert t.counts(5.0) > lo and t.counts(265.0) < hi  # the operating range fits
    dial = config["dial"]["counts"]
    gaps = [b - a for a, b in zip(dial, dial[1:])]
    assert len(dial) == 7 and min(gaps) > 2 * config["dial"]["tolerance"]
    if board != "sim":
        assert set(config["pins"]) >= {"heat_en", "heartbeat", "hold", "buzzer", "lever",
                                       "ntc", "dial", "ref", "i2c_sda", "i2c_scl"}
        assert len(set(config["pins"].values())) == len(config["pins"])  # no pin twice


def test_sim_board_json_matches_the_simulator():
    config = boards.compose("sim")
    assert config["dial"]["counts"] == parts.load()["dial"]["nominal_counts"]


def test_unknown_board_is_one_clear_line(capsys):
    assert boards.main(["nope"]) == 2
    assert capsys.readouterr().err.strip() == (
        "hardware.boards: unknown board 'nope' (boards: %s)" % ", ".join(boards.BOARDS))
