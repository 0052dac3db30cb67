"""Model packages end to end: `toaster train` writes a verified package from simulated data
and from the real logs; the firmware's model policy on MicroPython (device heap) decides
exactly as the host's int8 path; bad packages are refused on both sides."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from host import cli, micropython as mp
from model_training import package, stop_time
from model_training.errors import DataError
from model_training.sources import simulated

ROOT = Path(__file__).resolve().parents[1]
PTM = ROOT / ".." / "shared" / "datasets" / "perfect-toast-machine"
WONDER = PTM / "bread-medium-wonder-white"


def toaster(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def sim_pkg(tmp_path_factory):
    out = tmp_path_factory.mktemp("pkg") / "sim"
    assert cli.main(["train", "--source", "sim", "--runs", "30", "--out", str(out),
                     "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def logs_pkg(tmp_path_factory):
    out = tmp_path_factory.mktemp("pkg") / "logs"
    assert cli.main(["train", "--source", "logs", str(PTM), "--out", str(out), "--no-loo",
                     "--quiet"]) == 0
    return out


def test_a_simulated_package_is_verified_and_documented(sim_pkg):
    tflite, meta = package.read(sim_pkg)
    for name in ("model.tflite", "model.json", "float_model.json", "card.json", "card.md",
                 "stops.png", "browning.png", "training.png"):
        assert (sim_pkg / name).is_file(), name
    documented = (ROOT / "model_training" / "PACKAGE.md").read_text()
    for key in meta:
        assert "| `%s` |" % key in documented, key
    for key in list(meta["metrics"]) + list(meta["provenance"]) + list(meta["size"]):
        assert "`%s`" % key in documented, key
    assert meta["id"] == package.model_id(tflite, meta["features"], meta["decision"])
    v = meta["metrics"]["verification"]
    assert v["decision_agreement"] >= v["min_decision_agreement"] == 0.97
    assert v["firmware_bit_exact"] and v["firmware_checked_inputs"] >= 100
    assert v["litert_decision_agreement"] >= 0.99
    prov = meta["provenance"]
    assert prov["data"] == {"source": "simulated", "runs": 30, "seed": 0,
                            "simulator": prov["data"]["simulator"]}
    assert prov["split"]["train"] + prov["split"]["test"] == 30 and prov["split"]["by"] == "run"
    assert len(prov["dataset_sha256"]) == 64 and prov["code_version"].startswith("git:")
    assert meta["metrics"]["evaluated_on"] == "held_out"
    assert meta["size"]["macs"] > 0 and meta["size"]["inference_us"] > 0
    assert meta["size"]["tflite_bytes"] == len(tflite)
    card = (sim_pkg / "card.md").read_text()
    assert meta["id"] in card and "fixed timer" in card and "bit-exact" in card


def test_the_firmware_policy_decides_as_the_host_int8_model(micropython, sim_pkg):
    from model_training import replay

    tflite, meta = package.read(sim_pkg)
    runs = simulated.generate(2, seed=99, workers=1)   # runs the model never saw
    n = meta["decision"]["consecutive"]
    expected = [stop_time.debounce(keep, n) for keep in stop_time.int8_keep(tflite, meta, runs)]
    for run, keep, got in zip(runs, expected, replay.on_firmware(sim_pkg, runs)):
        # every tick, also past the stop: the policy's answers and the host's agree
        assert np.array_equal(got["keep"], keep), run.name
        assert got["grown"] == 0      # nothing allocated over a whole toast
    v = meta["metrics"]["verification"]
    assert v["policy_replay_ticks"] > 0 and v["policy_replay_alloc_bytes"] == 0
    assert meta["size"]["decide_us"] > 0


# The image as flashed (compiled .mpy, model in the slot), the firmware's modules imported
# as at boot, then the package loaded; prints the heap the model policy keeps.
LOAD_RUNNER = """
import gc
from firmware import app, loop
gc.collect()
before = gc.mem_free()
from firmware import model_policy
p = model_policy.load("model")
gc.collect()
print(p.id, p.name, before - gc.mem_free())
"""

def test_the_policy_loads_from_a_flashed_image(micropython, sim_pkg, tmp_path):
    from host import image

    slot = image.install(image.build(board="sim", model=sim_pkg, compile=True), tmp_path)
    proc = subprocess.run(mp.command(["-c", LOAD_RUNNER]),
                          env=mp.environment(tmp_path / slot), cwd=tmp_path / slot,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    meta = json.loads((sim_pkg / "model.json").read_text())
    ident, name, kept = proc.stdout.split()
    assert (ident, name) == (meta["id"], meta["name"])
    assert int(kept) < 32 * 1024   # policy, features and interpreter after loading


def _load_error(folder):
    code = ("from firmware import model_policy\ntry:\n    model_policy.load(%r)\n"
            "except Exception as e:\n    print(type(e).__name__, e)\n" % str(folder))
    proc = mp.run(code, heapsize="256K")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_the_firmware_refuses_bad_packages(micropython, sim_pkg, logs_pkg, tmp_path):
    bad = tmp_path / "tampered"
    shutil.copytree(sim_pkg, bad)
    data = bytearray((bad / "model.tflite").read_bytes())
    data[-20] ^= 1
    (bad / "model.tflite").write_bytes(bytes(data))
    assert _load_error(bad) == "ValueError model.tflite does not match the SHA-256 in model.json"
    with pytest.raises(DataError, match="does not match the SHA-256"):
        package.read(bad)

    newer = tmp_path / "newer"
    shutil.copytree(sim_pkg, newer)
    meta = json.loads((newer / "model.json").read_text())
    meta["format"] = 2
    (newer / "model.json").write_text(json.dumps(meta))
    assert _load_error(newer).startswith("ValueError model.json format 2")

    # A model of the Perfect Toast Machine's gas sensors cannot run on the toaster.
    assert "500 ms ticks" in _load_error(logs_pkg)
    assert _load_error(tmp_path / "missing").startswith("OSError")


def test_a_logs_package_and_its_card_on_unseen_logs(capsys, logs_pkg, tmp_path):
    _, meta = package.read(logs_pkg)
    assert meta["provenance"]["data"]["source"] == "logs"
    assert meta["features"]["period_ms"] == 500
    assert meta["metrics"]["verification"]["firmware_bit_exact"]
    status, out, _ = toaster(capsys, "model", "card", logs_pkg, "--logs", WONDER, "--json")
    assert status == 0
    result = json.loads(out)
    assert result["runs"] == len(list(WONDER.glob("*.csv"))) == len(result["per_run"])
    assert result["same_data_as_training"] is False
    for key in ("stop_time_mae_s", "timer_stop_time_mae_s", "stop_time_bias_s", "by_group"):
        assert key in result
    assert result["timer_stop_s"] == meta["metrics"]["timer"]["stop_s"]
    status, out, _ = toaster(capsys, "model", "card", logs_pkg, "--logs", WONDER,
                             "--out", tmp_path / "report" / "wonder.md")
    assert status == 0 and "| run | ideal (s) | model (s) | timer (s) |" in out
    assert (tmp_path / "report" / "wonder-stops.png").is_file()


def test_export_reproduces_a_package_bit_for_bit(capsys, logs_pkg, tmp_path):
    status, out, err = toaster(capsys, "export", logs_pkg, "--out", tmp_path / "again",
                               "--quiet")
    assert status == 0, err
    assert (tmp_path / "again" / "model.tflite").read_bytes() == \
        (logs_pkg / "model.tflite").read_bytes()
    again = json.loads((tmp_path / "again" / "model.json").read_text())
    assert again["id"] == json.loads((logs_pkg / "model.json").read_text())["id"]


def test_the_card_command_without_logs(capsys, logs_pkg):
    status, out, _ = toaster(capsys, "model", "card", logs_pkg)
    assert status == 0 and out.strip().endswith("card.md")
    status, out, _ = toaster(capsys, "model", "card", logs_pkg, "--json")
    assert json.loads(out)["id"] == json.loads((logs_pkg / "model.json").read_text())["id"]


@pytest.mark.parametrize("argv, message", [
    (["train", "--source", "toast", "--out", "X"], "unknown source 'toast'"),
    (["train", "--source", "logs", "--out", "X"], "needs one folder"),
    (["train", "--source", "logs", "/nonexistent", "--out", "X"], "is not a folder"),
    (["train", "--source", "telemetry", ".", "--out", "X"], "needs --base"),
    (["train", "--source", "sim", "--out", "PKG"], "is not empty"),
    (["model", "card", "/nonexistent"], "not a model package"),
    (["model", "card", "PKG", "--logs", "/nonexistent"], "not a folder of logs"),
    (["export", "/nonexistent"], "not a model package"),
])
def test_bad_commands_get_one_line(capsys, logs_pkg, argv, message):
    argv = [str(logs_pkg) if a == "PKG" else a for a in argv]
    status, out, err = toaster(capsys, *argv)
    assert status != 0
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_the_package_toasts_in_the_real_firmware(micropython, sim_pkg):
    """Closed loop: the app image with the package, on the simulator; the model decides
    the toast. A model from 30 simulated runs is no quality bar (the card and the
    closed-loop evaluation measure quality), so the slice need only come out near its
    level's target."""
    import firmware_sim as fs
    from host import image
    from host.virtual_device import VirtualDevice
    from model_training import targets

    meta = json.loads((sim_pkg / "model.json").read_text())
    img = image.build("sim", model=sim_pkg)
    with VirtualDevice(image=img) as dev:
        boot = dev.expect("B")
        assert (boot["policy"], boot["selftest"], boot["model"]) == (meta["name"], "ok", meta["id"])
        frames = fs.toast(dev, level=4)
        assert (frames[-1]["to"], frames[-1]["reason"]) == ("done", "policy"), frames[-1]
        assert {f["policy"] for f in fs.ticks(frames) if f["state"] == "toasting"} == {meta["name"]}
        assert not [f for f in frames if f["kind"] == "F"]
        assert abs(dev.truth()["delta_e"] - targets.target(4)) < 8, dev.truth()["delta_e"]


def test_the_firmware_policy_waits_for_consecutive_stops(micropython, sim_pkg, tmp_path):
    """decision.consecutive = 3: the policy's answers are the host's debounced ones."""
    from model_training import replay

    pkg = tmp_path / "debounced"
    shutil.copytree(sim_pkg, pkg)
    meta = json.loads((pkg / "model.json").read_text())
    meta["decision"]["consecutive"] = 3
    (pkg / "model.json").write_text(json.dumps(meta))
    tflite, meta = package.read(pkg)
    runs = simulated.generate(3, seed=98, workers=1)
    raws = stop_time.int8_keep(tflite, meta, runs)
    for got, raw in zip(replay.on_firmware(pkg, runs), raws):
        assert np.array_equal(got["keep"], stop_time.debounce(raw, 3))
    assert any(not np.array_equal(stop_time.debounce(raw, 3), raw) for raw in raws)
