"""`make demo` (host/demo.py): a model trained, flashed onto the virtual toaster with the
firmware, three slices toasted by it at the device heap, their telemetry recorded from the
serial port by the project's recorder, rated, reported and plotted."""

import json
import re

from host import demo
from host.telemetry import sessions


def test_demo_trains_flashes_toasts_records_and_reports(tmp_path, capsys, micropython):
    out = tmp_path / "demo"
    demo.demo(out, runs=120)   # a smaller training set than the demo's: the path is the test
    text = capsys.readouterr().out
    assert re.search(r"^    booted slot b, version \S+, policy mlp16x8, self-test ok$", text,
                     re.M), text
    toasts = re.findall(r"^    (.+?) +done after +([\d.]+) s \(stop: policy, policy mlp16x8\): "
                        r"DE +([\d.]+) .*, rated (\w+)$", text, re.M)
    assert [t[0] for t in toasts] == [name for name, _ in demo.SLICES], text
    for _, seconds, de, rating in toasts:
        assert 60 < float(seconds) < 360 and 5 < float(de) < 45, text
    # The recording starts before the toaster's reset, and lockstep time waits for it.
    assert re.search(r"telemetry: \d+ frames, 0 missing, 0 damaged", text), text

    found = sessions.load(out)
    assert len(found) == 3 and "unknown" not in found[0].path.name
    for session, (_, _, _, rating) in zip(found, toasts):
        kinds = [r["kind"] for r in session.records]
        ends = [(r["to"], r["reason"]) for r in session.records
                if r["kind"] == "E" and r["from"] == "toasting"]
        assert ends == [("done", "policy")]
        assert [r["rating"] for r in session.records if r["kind"] == "K"] == [rating]
        assert kinds.count("T") > 10 * float(toasts[0][1]) / 2
    manifest = json.loads((out / "model" / "model.json").read_text())
    assert "%s        3      3         0      0       0       0" % manifest["id"] in text
    assert (out / "toast.png").stat().st_size > 10000
