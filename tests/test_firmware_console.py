"""The console (firmware/console.py) on MicroPython with real pipes: lines are taken only as
far as they have arrived, a frame start resynchronises, an overlong line is rejected
whole, Ctrl-C interrupts, and writes never block when the host stops reading."""

import subprocess
import time

from host import micropython as mp

# Echo every line the console yields to stderr as its repr, until stdin closes.
ECHO = """
import sys, time
from firmware.console import Console
c = Console()
while not c.eof:
    try:
        line = c.readline()
    except KeyboardInterrupt:
        sys.stderr.write("INTERRUPT\\n")
        continue
    if line is not None:
        sys.stderr.write(repr(line) + "\\n")
    time.sleep_ms(5)
sys.stderr.write("EOF\\n")
"""


def echo(chunks, pause=0.05):
    proc = subprocess.Popen(mp.command(["-c", ECHO]), env=mp.environment(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    for chunk in chunks:
        proc.stdin.write(chunk)
        proc.stdin.flush()
        time.sleep(pause)
    proc.stdin.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=10)
    return err.splitlines()


def test_lines_resync_overlong_and_ctrl_c(micropython):
    lines = echo([
        b"~C,1,0,-,ab", b"cd,status,-*0000", b"0000\n",  # a line in three pieces
        b"garbage~C,2\n",                                 # resync at the frame start
        b"\n\r\n",                                        # blank lines are no commands
        b"x" * 500 + b"\n",                               # overlong
        b"~after\n",
        b"\x03",                                          # Ctrl-C
        b"~last\n",
    ])
    assert lines == [
        "b'~C,1,0,-,abcd,status,-*00000000'",
        "b'~C,2'",
        "b'\\r'",
        "b'" + "~" * 241 + "'",
        "b'~after'",
        "INTERRUPT",
        "b'~last'",
        "EOF",
    ], lines


# Write frames as fast as possible without anyone reading stdout; report how many went
# out and how long the slowest write took.
FLOOD = """
import sys, time
from firmware.console import Console
from firmware import protocol
c = Console()
frame = protocol.encode("T", 1, 2, "-", ("x" * 10,) * 15)
sent = dropped = worst = 0
for i in range(3000):
    t0 = time.ticks_us()
    if c.write(frame):
        sent += 1
    else:
        dropped += 1
    worst = max(worst, time.ticks_diff(time.ticks_us(), t0))
sys.stderr.write("%d %d %d\\n" % (sent, dropped, worst))
"""


def test_writes_drop_instead_of_blocking(micropython):
    proc = subprocess.Popen(mp.command(["-c", FLOOD]), env=mp.environment(),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        err = proc.stderr.read().decode()  # nobody reads stdout until the writer is done
        proc.wait(timeout=20)
    finally:
        proc.kill()
    sent, dropped, worst_us = map(int, err.split())
    assert sent + dropped == 3000
    assert dropped > 2000  # a 64 KiB pipe holds a few hundred frames
    assert worst_us < 20000, worst_us
