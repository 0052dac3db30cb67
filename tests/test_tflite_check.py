"""`toaster model check`: the report, its JSON form and the exit statuses."""

import json
from pathlib import Path

import numpy as np
import pytest

from host import cli, model_check
from model_training import tflite_graph as tg

SHARED = Path(__file__).resolve().parents[2] / "shared" / "models"
HELLO = SHARED / "hello_world_int8.tflite"


def check(capsys, *argv):
    status = cli.main(["model", "check", *map(str, argv)])
    out, err = capsys.readouterr()
    return status, out, err


def test_bit_exact_model_json_report(micropython, capsys, tmp_path):
    np.save(tmp_path / "x.npy", np.arange(-128, 128, 16, dtype=np.int8).reshape(16, 1, 1))
    status, out, _ = check(capsys, HELLO, "--json", "--runs", "3", "--input", tmp_path / "x.npy")
    report = json.loads(out)
    assert status == 0
    assert report["bit_exact"] is True and report["max_abs_diff"] == [0]
    assert report["runs"] == 3 + 16
    assert report["model"]["bytes"] == HELLO.stat().st_size
    assert [op["op"] for op in report["operators"]] == ["FULLY_CONNECTED"] * 3
    assert report["inputs"] == [0] and report["outputs"] == [9]
    assert report["tensors"][0]["type"] == "int8" and report["tensors"][0]["zero_point"] == -128
    assert report["firmware"]["error"] is None and report["firmware"]["arena_bytes"] > 0
    assert report["firmware"]["invoke_us"] >= 0 and report["tflm"]["arena_bytes"] > 0
    assert report["litert"] == {"loaded": True, "error": None, "max_abs_diff": [0]}


def test_text_report_lists_ops_tensors_and_verdict(micropython, capsys):
    status, out, err = check(capsys, HELLO, "--runs", "2")
    assert status == 0
    assert "FULLY_CONNECTED" in out and "serving_default_dense_input:0" in out
    assert "BIT-EXACT on 2 inputs" in out and "arena:" in out and "latency:" in out


def test_differing_outputs_exit_1(micropython, capsys, monkeypatch):
    real = model_check.run_firmware

    def off_by_one(jobs, *args, **kwargs):
        results = real(jobs, *args, **kwargs)
        for r in results:
            r["outputs"] = [[o + 1 for o in sample] for sample in r["outputs"]]
        return results

    monkeypatch.setattr(model_check, "run_firmware", off_by_one)
    status, out, _ = check(capsys, HELLO, "--runs", "2")
    assert status == 1 and "DIFFERENT on 2 inputs: largest difference per output [1]" in out


def test_model_the_firmware_refuses_exits_2(micropython, capsys, tmp_path):
    g = tg.Graph()
    x = g.input("x", [1, 4], q=(0.1, 0))
    g.output(g._op(tg.schema.BuiltinOperator.HARD_SWISH, [x], [1, 4], (0.1, 0)), "y")
    path = tmp_path / "hard_swish.tflite"
    path.write_bytes(g.build())
    status, out, _ = check(capsys, path, "--runs", "1")
    assert status == 2
    assert "firmware interpreter refuses the model: unsupported operator: HARD_SWISH" in out


@pytest.mark.parametrize("content, message", [
    (None, "cannot read"),
    (b"not a model at all", "is not a TFLite model"),
])
def test_unreadable_model_is_one_line_error(capsys, tmp_path, content, message):
    path = tmp_path / "m.tflite"
    if content is not None:
        path.write_bytes(content)
    status, out, err = check(capsys, path)
    assert status == 1 and message in err and len(err.strip().splitlines()) == 1


def test_inputs_of_the_wrong_shape_are_refused(capsys, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((3, 2), np.int8))
    status, _, err = check(capsys, HELLO, "--input", tmp_path / "x.npy")
    assert status == 1 and "needs shape [1, 1]" in err
