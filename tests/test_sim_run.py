"""`toaster sim run`: options, --json keys scripts rely on, --plot, errors."""

import json
import subprocess
import sys

from host import cli


def toaster(*args):
    return subprocess.run([sys.executable, "-m", "host.cli", *args], capture_output=True, text=True, timeout=120)


def test_json_outcome_with_the_options_scripts_rely_on(capsys):
    assert cli.main(["sim", "run", "--heat-seconds", "120", "--start-temp", "-18", "--heater-power", "1200",
                     "--batch", "2", "--seed", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["heat_seconds"] == 120.0 and 0.0 < out["delta_e"] < 52.0
    assert out["scenario"]["start_temp_c"] == -18.0 and out["scenario"]["batch"] == 2
    assert {"peak_surface_c", "peak_element_c", "peak_ntc_c"} <= set(out)


def test_until_delta_e_stops_there(capsys):
    assert cli.main(["sim", "run", "--until-delta-e", "15", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert 15.0 <= out["delta_e"] < 17.0 and out["time_to_target_s"] == out["heat_seconds"]


def test_plot_and_text_summary(tmp_path, capsys):
    png = tmp_path / "run.png"
    assert cli.main(["sim", "run", "--bread", "fruit_loaf", "--fault", "ntc_open@60000", "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20000
    assert "fruit_loaf" in capsys.readouterr().out


def test_bad_input_is_one_line_and_exit_2():
    for args in (["--heat-seconds", "-1"], ["--until-delta-e", "60"], ["--fault", "nope"],
                 ["--heater-power", "50"]):
        result = toaster("sim", "run", *args)
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert toaster("sim", "run", "--heat-seconds", "5", "--until-delta-e", "5").returncode == 2
