"""`toaster telemetry report` and `export` on a recording folder."""

import pyarrow.csv
import pyarrow.parquet
import pytest

import telemetry_frames as tf
from host import cli
from host.telemetry.recorder import Recorder


@pytest.fixture
def recording(tmp_path):
    """Three toasts: two by model m1 (one rated dark, one cancelled), one by m2."""
    folder = tmp_path / "rec"
    t = [1_700_000_000.0]
    rec = Recorder(folder, clock=lambda: t[0])
    for frames in (tf.toast_life("b0000001", model="m1"),
                   tf.toast_life("b0000002", model="m1", end="cancelled",
                                 reason="lever_up", rating=None),
                   tf.toast_life("b0000003", model="m2", rating="right")):
        for frame in frames:
            t[0] += 0.1
            rec.feed(frame)
    rec.close()
    return folder


def test_report_summarises_sessions_and_models(recording, tmp_path, capsys):
    assert cli.main(["telemetry", "report", str(recording), "--plot",
                     str(tmp_path / "toast.png")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("3 sessions")
    assert "b0000001/1" in out and "b0000002/1" in out and "cancelled" in out
    m1 = next(line for line in out.splitlines() if line.startswith("m1 "))
    assert m1.split()[1:5] == ["2", "1", "1", "0"]  # toasts, done, cancelled, fault
    assert "0/0/1 (50%)" in m1  # light/right/dark (share rated)
    pngs = sorted(tmp_path.glob("toast-*.png"))
    assert [p.name for p in pngs] == ["toast-b0000001-001.png", "toast-b0000002-001.png",
                                      "toast-b0000003-001.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)


def test_report_of_one_session_file(recording, tmp_path, capsys):
    path = recording / "session-b0000003-001.jsonl"
    assert cli.main(["telemetry", "report", str(path), "--plot",
                     str(tmp_path / "one.png")]) == 0
    assert capsys.readouterr().out.startswith("1 session")
    assert (tmp_path / "one.png").stat().st_size > 10_000


@pytest.mark.parametrize("fmt, read", [("csv", pyarrow.csv.read_csv),
                                       ("parquet", pyarrow.parquet.read_table)])
def test_export_tables_carry_the_model_on_every_row(recording, tmp_path, fmt, read):
    out = tmp_path / fmt
    assert cli.main(["telemetry", "export", str(recording), "--format", fmt,
                     "--out", str(out)]) == 0
    ticks = read(out / ("ticks." + fmt)).to_pylist()
    sessions = read(out / ("sessions." + fmt)).to_pylist()
    assert len(sessions) == 3 and len(ticks) == 3 * 4  # 3 toasting + 1 done tick each
    assert [s["model"] for s in sessions] == ["m1", "m1", "m2"]
    assert all(t["model"] in ("m1", "m2") and t["boot_id"] for t in ticks)
    first = sessions[0]
    assert (first["end_state"], first["stop_reason"], first["rating"]) == \
        ("done", "policy", "dark")
    assert first["temp_max_c"] == 170.0 and first["complete"] is True
    assert [t["t_s"] for t in ticks[:4]] == [0.1, 0.2, 0.3, 0.5]


def test_errors_are_one_line(tmp_path, capsys):
    assert cli.main(["telemetry", "report", str(tmp_path / "nothing")]) == 1
    assert "no such file or folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli.main(["telemetry", "export", str(tmp_path / "empty")]) == 1
    assert "no toast sessions" in capsys.readouterr().err


def test_report_picks_sessions(recording, capsys):
    assert cli.main(["telemetry", "report", str(recording), "--last", "1"]) == 0
    assert "b0000003/1" in capsys.readouterr().out
    assert cli.main(["telemetry", "report", str(recording), "--session", "b0000002"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1 session") and "b0000002/1" in out
    assert cli.main(["telemetry", "report", str(recording), "--session", "nope"]) == 1
    assert "no session in" in capsys.readouterr().err
