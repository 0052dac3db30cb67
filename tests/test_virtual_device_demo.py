"""`make demo` (host/demo.py): a slice toasted at level 4 on the virtual toaster, its
telemetry recorded from the serial port by the project's recorder."""

import json
import re

from host import demo


def test_demo_toasts_and_records(tmp_path, capsys, micropython):
    out = tmp_path / "demo"
    demo.demo(out)
    text = capsys.readouterr().out
    outcome = re.search(r"^done after ([\d.]+) s, stop reason: (\w+) \((\w+) policy\); "
                        r"browning DE ([\d.]+), in the band", text, re.M)
    assert outcome, text
    assert 60 < float(outcome.group(1)) < 360
    assert 17 <= float(outcome.group(4)) <= 23
    session = re.search(r"^telemetry: (\S+session-\S+\.jsonl) \((\d+) frames, (\d+) missing",
                        text, re.M)
    assert session, text
    records = [json.loads(line) for line in open(session.group(1))]
    ends = [r for r in records if r["kind"] == "E" and r["from"] == "toasting"]
    assert [(e["to"], e["reason"]) for e in ends] == [("done", outcome.group(2))]
    ticks = sum(r["kind"] == "T" and r["state"] == "toasting" for r in records)
    # Every tick of the toast, less what the device had to drop (counted as missing).
    assert ticks + int(session.group(3)) > float(outcome.group(1)) * 10 - 20
