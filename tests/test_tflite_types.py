"""firmware/tflite type-checks against each port's MicroPython stubs (viper's ptr8, ptr32
and uint included), as the rest of the firmware does."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STUBS = ROOT / ".venv" / "stubs"
MYPY_INI = """[mypy]
follow_imports = silent
[mypy-machine,vfs,math,_mpy_shed.*]
ignore_errors = True
"""


@pytest.mark.parametrize("port", ["esp32", "rp2"])
def test_interpreter_type_checks_against_the_port_stubs(port, tmp_path):
    stubs = STUBS / port
    assert (stubs / "micropython.pyi").exists(), "stubs missing: run `make setup`"
    (tmp_path / "mypy.ini").write_text(MYPY_INI)
    files = sorted(str(p) for p in (ROOT / "firmware" / "tflite").rglob("*.py"))
    proc = subprocess.run(
        [str(BIN / "mypy"), "--config-file", str(tmp_path / "mypy.ini"), "--no-incremental",
         "--cache-dir", str(tmp_path / "cache"), "--custom-typeshed-dir", str(stubs)] + files,
        env={"MYPYPATH": str(stubs), "PATH": str(BIN)}, cwd=ROOT, capture_output=True,
        text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
