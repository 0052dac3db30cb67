"""Closed-loop evaluation: the baselines in the real firmware on MicroPython, the runner on a
few suite toasts, the model-fell-back refusal, and `toaster evaluate`'s errors and JSON."""

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from host import closed_loop
from host import micropython as mp
from model_training import baselines, evaluate, suite, targets

ROOT = Path(__file__).resolve().parent.parent
TIMES_MS = [40000, 60000, 80000, 100000, 120000, 140000, 160000]
RULE = {"window": 10, "min_ms": 10000, "ratio_x1024": [840, 760, 680, 610, 540, 480, 410]}


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    root = tmp_path_factory.mktemp("policies")
    source = {"source": "test"}
    baselines.write(root / "timer", "timer", {"times_ms": TIMES_MS}, source)
    baselines.write(root / "rule", "rule", RULE, source)
    return root


def _toast(package, specs, unit=None):
    from hardware.simulator.scenario import Scenario

    session = closed_loop.Session("t", unit or Scenario(), specs)
    return closed_loop.run(closed_loop.app_image(package), [session], workers=1)


def test_baseline_boots_without_the_interpreter(micropython, packages, tmp_path):
    """app._model() on MicroPython loads a baseline package and never imports the
    TFLite interpreter (memory: a baseline must fit where the model does not)."""
    slot = tmp_path / "slot"
    (slot / "model").mkdir(parents=True)
    for kind in ("timer", "rule"):
        (slot / "model" / "model.json").write_bytes(
            (packages / kind / "model.json").read_bytes())
        out = mp.run(textwrap.dedent("""
            import sys
            from firmware import app
            policy, problem = app._model(%r, [], "POWERON", 0)
            print(policy.name, policy.id, problem, "firmware.tflite" in sys.modules)
            """ % str(slot)))
        assert out.returncode == 0, out.stderr
        name, pid, problem, interpreter = out.stdout.split()
        assert (name, problem, interpreter) == (kind, "None", "False")
        assert pid.startswith(kind + "-")


def test_timer_toasts_its_time_and_the_runner_reports(packages):
    """The timer package in the firmware: each toast lasts its level's time, decided by
    the timer; the second batch lands exactly its gap after the first one's end; the
    safety watch sees the heater on for the whole toast and nothing wrong."""
    results = _toast(packages / "timer", [closed_loop.ToastSpec(level=1),
                                          closed_loop.ToastSpec(level=2, gap_s=20.0)])
    for r, level in zip(results, (1, 2)):
        assert r.boot_policy == "timer" and r.policies == ["timer"] and not r.fell_back
        assert (r.end_state, r.stop_reason) == ("done", "policy")
        assert r.duration_s == pytest.approx(TIMES_MS[level - 1] / 1000, abs=0.15)
        assert r.heater_on_s == pytest.approx(r.duration_s, abs=0.5)
        assert r.violations == [] and r.faults == [] and not r.late_push
        assert 20 < r.max_ntc_on_c < 250
    assert results[1].gap_s == 20.0
    assert results[1].target_de == targets.target(2)


def test_rule_stops_on_colour(packages):
    """The colour rule decides from the clear channel: a room-temperature slice at level
    4 ends near its target (the rule's parameters here are close to tuned ones), and the
    same toast again comes out the same (bit for bit when the host pushed the lever on
    time; a host that fell behind lockstep time pushes late, and says so)."""
    (r,) = _toast(packages / "rule", [closed_loop.ToastSpec(level=4)])
    assert r.policies == ["rule"] and r.stop_reason == "policy"
    assert abs(r.error) < 4.0
    (again,) = _toast(packages / "rule", [closed_loop.ToastSpec(level=4)])
    if not (r.late_push or again.late_push):   # lockstep: bit for bit, pushed on time
        assert (again.de, again.duration_s) == (r.de, r.duration_s)
    else:   # a busy host pushed later than scheduled: a slightly different toast
        assert abs(again.de - r.de) < 1.0 and abs(again.duration_s - r.duration_s) < 3


def test_a_model_that_did_not_load_is_refused(tmp_path):
    """A model package the firmware cannot load boots the fallback: every toast is
    marked fell_back and the evaluation refuses to count it as the model."""
    junk = b"not a model"
    (tmp_path / "model.tflite").write_bytes(junk)
    (tmp_path / "model.json").write_text(json.dumps(
        {"format": 1, "id": "junk", "sha256": hashlib.sha256(junk).hexdigest()}))
    results = _toast(tmp_path, [closed_loop.ToastSpec(level=1)])
    assert results[0].boot_policy == "fallback" and results[0].fell_back
    assert "did not load" in evaluate.refusal("model", results)
    assert evaluate.refusal("timer", results) is None


def test_suite_is_stable_and_grouped():
    a, b = suite.sessions(30), suite.sessions(60)
    flat = lambda ss: [(s.name, t.level, t.load, t.gap_s) for s in ss for t in s.toasts]  # noqa
    assert sum(len(s.toasts) for s in a) == 30
    assert flat(b)[:30] == flat(a)          # more toasts keep the earlier ones
    groups = {g for s in b for t in s.toasts for g in t.tags["groups"]}
    assert {"frozen", "warm toaster", "cold toaster"} <= groups
    assert all(15 <= t.gap_s <= 90 for s in b for t in s.toasts[1:])


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "host.cli", "evaluate", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.mark.parametrize("args, message", [
    (["--package", "/nonexistent/pkg"], "not a model package"),
    (["--toasts", "0"], "--toasts must be at least 1"),
    (["--toasts", "many"], "invalid int value"),
])
def test_cli_errors(args, message):
    out = _cli(*args)
    assert out.returncode == 2 and message in out.stderr
    assert "Traceback" not in out.stderr


def test_cli_json(tmp_path):
    """The whole command on a small package and two suite toasts: the JSON's shape, the
    report and its plots."""
    from model_training import pipeline

    pkg = tmp_path / "pkg"
    pipeline.train_package(pkg, pipeline.Source("simulated", runs=40), quiet=True,
                           firmware_check=False)
    out = _cli("--package", str(pkg), "--toasts", "2", "--workers", "1", "--json",
               "--out", str(tmp_path / "report"))
    assert out.returncode in (0, 3), out.stderr
    data = json.loads(out.stdout)
    assert set(data["policies"]) == {"model", "timer", "rule"}
    for figures in data["policies"].values():
        assert {"browning_mae", "burnt_rate", "violations"} <= set(figures)
        assert figures["toasts"] == 2 and figures["violations"] == 0
    for name in ("report.md", "results.json", "errors.png", "groups.png", "safety.png"):
        assert (tmp_path / "report" / name).stat().st_size > 0
