"""Feedback -> labels (model_training/feedback.py), `toaster dataset from-telemetry`,
`toaster train --source telemetry --base` provenance, the report per model version.

Sessions are recorded by the host recorder from frames as the firmware sends them, with a
clear channel that browns at a known rate: 0.1 DE/s by the estimate feedback.py uses."""

import json

import numpy as np
import pytest

from firmware import protocol
from host import cli
from host.telemetry.recorder import Recorder
from model_training import feedback, package, runs as runs_mod, targets
from model_training.errors import DataError

DE_PER_S = 0.1
STOP_MS = 120_000


def clear(toast_ms):
    """Clear counts whose estimated browning (feedback.browning) is DE_PER_S * t."""
    de = DE_PER_S * toast_ms / 1000
    lstar = feedback.LSTAR_START - de / feedback.DE_PER_LSTAR
    y0 = ((feedback.LSTAR_START + 16) / 116) ** 3
    return int(round(20000 * ((lstar + 16) / 116) ** 3 / y0))


def toast(boot_id, model, level, rating, stop_ms=STOP_MS, session=1):
    """The frames of a boot and one toast the policy stopped at stop_ms, rated or not."""
    seq = iter(range(10_000))
    frames = [protocol.encode("B", next(seq), 0, model, (protocol.VERSION, "1.0", "a", "sim",
                                                         "PWRON", boot_id, "mlp", "ok")),
              protocol.encode("E", next(seq), 1000, model, (session, "idle", "toasting",
                                                            "lever"))]
    for t in range(0, stop_ms, 100):
        temp = 250 + t // 100
        frames.append(protocol.encode("T", next(seq), 1000 + t, model, (
            session, "toasting", t, temp, 2000 - temp // 4, 6000, 5000, 4000, clear(t),
            level, 1, 1, "mlp", "ok", 0)))
    end = 1000 + stop_ms
    frames += [protocol.encode("E", next(seq), end, model, (session, "toasting", "done",
                                                            "policy")),
               protocol.encode("E", next(seq), end + 500, model, (session, "done", "idle",
                                                                  "lever_up"))]
    if rating:
        frames.append(protocol.encode("K", next(seq), end + 2000, model, (
            session, level, rating, stop_ms, "policy", 1500, clear(0), clear(stop_ms))))
    return frames


def record(folder, toasts):
    t = [1_700_000_000.0]
    rec = Recorder(folder, clock=lambda: t[0])
    for frames in toasts:
        for frame in frames:
            t[0] += 0.01
            rec.feed(frame)
    rec.close()
    return folder


@pytest.fixture(scope="module")
def household(tmp_path_factory):
    """Model m1: two "dark" and one unrated toast at level 4, a "light" one at level 2, a
    "right" one at 6; one toast cancelled; model m2: one "right" at level 4."""
    return record(tmp_path_factory.mktemp("rec"), [
        toast("b1", "m1", 4, "dark"), toast("b2", "m1", 4, "dark", stop_ms=100_000),
        toast("b3", "m1", 4, None), toast("b4", "m1", 2, "light"), toast("b5", "m1", 6, "right"),
        toast("b6", "m1", 4, "right")[:50], toast("b7", "m2", 4, "right")])


def by_name(data):
    return {r.meta["session"].split("/")[0]: r for r in data.runs}


def test_dark_moves_the_ideal_stop_earlier_by_step_de(household):
    runs = by_name(feedback.read(household, {"id": "m1"}))
    step_s = feedback.STEP_DE / DE_PER_S
    for name, stop in (("b1", STOP_MS), ("b2", 100_000)):
        run = runs[name]
        assert run.meta["label"] == "dark" and run.meta["stop_ms"] == stop
        # browning at the last tick (stop - 100 ms) minus 4 DE, within a tick
        assert abs(run.stop_ms - (stop - 100 - step_s * 1000)) <= 100
        assert run.labels()[-1] == 0 and run.labels()[0] == 1


def test_light_keeps_toasting_right_stops_where_the_model_did(household):
    runs = by_name(feedback.read(household, {"id": "m1"}))
    assert runs["b4"].stop_ms is None and runs["b4"].labels().all()
    assert runs["b5"].stop_ms == STOP_MS and runs["b5"].labels().all()


def test_unrated_sessions_are_weak_labels_or_left_out(household):
    weak = feedback.read(household, {"id": "m1"}, unrated="weak")
    drop = feedback.read(household, {"id": "m1"}, unrated="drop")
    assert by_name(weak)["b3"].meta["label"] == "weak"
    assert by_name(weak)["b3"].stop_ms == STOP_MS
    assert "b3" not in by_name(drop)
    assert drop.skipped["no feedback (left out)"] == 1
    assert weak.skipped == {"incomplete": 1}
    # level 4 of m1: dark, dark and (weak) unrated -> -4 * 2/3; without it -4
    assert weak.targets[4] == pytest.approx(20 - 8 / 3)
    assert drop.targets[4] == pytest.approx(16)
    assert weak.targets[2] == 16 and weak.targets[6] == 28 and weak.targets[1] == 8


def test_only_the_base_models_sessions_move_its_targets(household):
    base = {"id": "m2", "levels": {"4": {"target_de": 23.0}}}
    data = feedback.read(household, base)
    assert data.base_targets[4] == 23.0 and data.targets[4] == 23.0
    assert data.targets[2] == targets.target(2)


def test_relabel_moves_simulated_stops_to_the_new_targets():
    t = np.arange(0, 200_000, 100)
    run = runs_mod.Run("sim-0", t, {"c": np.ones(len(t))}, level=4,
                       truth={"delta_e": 0.2 * t / 1000}, meta={"carry_de": 1.0})
    [moved] = feedback.relabel([run], {4: 16.0})
    assert moved.stop_ms == 75_000   # 0.2 DE/s * 75 s + 1 carry-over = 16


def test_dataset_command_summary_and_file(household, tmp_path, capsys):
    out = tmp_path / "set.json"
    assert cli.main(["dataset", "from-telemetry", str(household), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "7 sessions, 6 used, 5 with feedback" in text
    assert "labels: dark 2, light 1, right 2, weak 1" in text
    assert "left out: incomplete 1" in text
    data = json.loads(out.read_text())
    assert len(data["runs"]) == 6 and data["summary"]["with_feedback"] == 5
    first = data["runs"][0]
    assert len(first["toast_ms"]) == len(first["channels"]["c"]) == STOP_MS // 100
    assert len(first["sha256"]) == 64


def test_dataset_command_errors(tmp_path, capsys):
    assert cli.main(["dataset", "from-telemetry", str(tmp_path / "nothing")]) == 2
    (tmp_path / "empty").mkdir()
    assert cli.main(["dataset", "from-telemetry", str(tmp_path / "empty")]) == 1
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "session-x-001.jsonl").write_text("not json\n")
    assert cli.main(["dataset", "from-telemetry", str(tmp_path / "bad")]) == 1
    err = capsys.readouterr().err
    assert "is not a folder" in err and "no toast sessions" in err
    assert "no usable session" in err
    with pytest.raises(DataError, match="weak"):
        feedback.read(tmp_path / "bad", unrated="maybe")


def test_report_per_model_version(household, capsys):
    assert cli.main(["telemetry", "report", str(household)]) == 0
    lines = capsys.readouterr().out.splitlines()
    m1 = next(line for line in lines if line.startswith("m1 "))
    m2 = next(line for line in lines if line.startswith("m2 "))
    assert lines.index(m1) < lines.index(m2)   # in the order the versions first toasted
    assert "1/1/2 (66%)" in m1                 # light/right/dark, share rated (4 of 6)
    assert "policy 5" in m1


def test_train_from_telemetry_records_parent_and_sessions(tmp_path):
    from model_training import pipeline

    base = tmp_path / "base"
    pipeline.train_package(base, pipeline.Source("simulated", runs=12), firmware_check=False,
                           quiet=True)
    parent = package.read(base)[1]
    # The household's toasts, now by the base model: level 4 twice too dark.
    folder = record(tmp_path / "rec", [toast("c1", parent["id"], 4, "dark"),
                                       toast("c2", parent["id"], 4, "dark", stop_ms=90_000),
                                       toast("c3", parent["id"], 5, "right")])
    new = tmp_path / "new"
    assert cli.main(["train", "--source", "telemetry", str(folder), "--base", str(base),
                     "--out", str(new), "--no-firmware-check", "--quiet"]) == 0
    meta = package.read(new)[1]
    prov = meta["provenance"]
    assert prov["parent"] == parent["id"]
    assert prov["data"]["factory"] == {"source": "simulated", "runs": 12, "seed": 0,
                                       "simulator": parent["provenance"]["data"]["simulator"]}
    used = {s["session"]: s["sha256"] for s in prov["data"]["sessions"]}
    assert sorted(used) == ["c1/1", "c2/1", "c3/1"]
    files = {p.name: p for p in folder.glob("session-*.jsonl")}
    assert used["c1/1"] == feedback.hashlib.sha256(
        files["session-c1-001.jsonl"].read_bytes()).hexdigest()
    assert prov["runs"] == 15
    assert meta["levels"]["4"]["target_de"] == 16.0 and meta["levels"]["5"]["target_de"] == 24
