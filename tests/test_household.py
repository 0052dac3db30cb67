"""The household study, small: users and their ratings, and two rounds on the virtual
device (real firmware over a pty, the host recorder, retraining from the telemetry)."""

import json

import numpy as np
import pytest

from model_training import household, package, pipeline, targets


def test_users_differ_from_the_factory_and_rate_by_their_taste():
    users = household.household(4, seed=1)
    assert len({u.level for u in users}) == 4
    assert all(household.OFFSET_DE[0] <= abs(u.offset_de) <= household.OFFSET_DE[1]
               for u in users)
    assert sorted(u.offset_de > 0 for u in users) == [False, False, True, True]
    user = household.User("u", 4, 6.0)
    rng = np.random.default_rng(0)
    ratings = [user.rate(de, rng) for de in [16.0] * 200 + [26.0] * 200 + [36.0] * 200]
    light, right, dark = ratings[:200], ratings[200:400], ratings[400:]
    assert all(r == "light" for r, _ in light) and all(r == "dark" for r, _ in dark)
    assert sum(r == "right" for r, _ in right) > 190
    # unhappy users press far more often than happy ones
    assert np.mean([p for _, p in light]) > 0.7 > 0.4 > np.mean([p for _, p in right])


def test_two_rounds_on_the_virtual_device(tmp_path):
    base = tmp_path / "factory"
    pipeline.train_package(base, pipeline.Source("simulated", runs=40), quiet=True)
    user = household.User("u", 4, 7.0)
    result = household.study(tmp_path / "study", [user], rounds=2, toasts_each=3, base=base,
                             say=lambda line: None, gap_s=(60.0, 60.0))
    first, second = result["rounds"]
    assert first["model"] == package.read(base)[1]["id"]
    for rnd in (first, second):
        assert len(rnd["toasts"]) == 3 and rnd["summary"]["violations"] == 0
        assert all(t["policy"] == "mlp16x8" for t in rnd["toasts"])   # the model decided
        assert all(t["model"] == rnd["model"] for t in rnd["toasts"])
    # the telemetry came over the serial port into session files, ratings included
    folder = tmp_path / "study" / "round1" / "telemetry"
    sessions = sorted(folder.glob("session-*.jsonl"))
    assert len(sessions) == 3
    pressed = [t["deserved"] for t in first["toasts"] if t["pressed"]]
    assert [t["recorded_rating"] for t in first["toasts"] if t["pressed"]] == pressed
    # round 2 ran the package trained from round 1's telemetry, its parent the factory's
    meta = package.read(tmp_path / "study" / "round1" / "model")[1]
    assert second["model"] == meta["id"] and meta["provenance"]["parent"] == first["model"]
    assert len(meta["provenance"]["data"]["sessions"]) == 3
    moved = meta["levels"]["4"]["target_de"] - targets.target(4)
    light = sum(t["recorded_rating"] == "light" for t in first["toasts"])
    dark = sum(t["recorded_rating"] == "dark" for t in first["toasts"])
    assert moved == pytest.approx(4.0 * (light - dark) / 3, abs=0.01)
    saved = json.loads((tmp_path / "study" / "study.json").read_text())
    assert saved["improvement"]["violations"] == 0
