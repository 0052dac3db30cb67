# The console UART (stdin/stdout; a pipe or a pty on the unix port), never blocking:
# reads only what select.poll says is there, writes only when poll says there is room.
import select
import sys

from micropython import const

from firmware import protocol

_CTRL_C = const(3)
_LF = const(10)
_START = const(126)      # "~": a frame starts here, whatever came before
_READ_MAX = const(256)   # bytes taken per call, so a flood cannot stretch a tick
# Stands for a line that overflowed the buffer: the frame decoder rejects it for its length.
OVERLONG = b"~" * (protocol.MAX_LINE + 1)


class Console:
    def __init__(self, stdin=None, stdout=None):
        stdin = stdin or sys.stdin
        stdout = stdout or sys.stdout
        self._in = getattr(stdin, "buffer", stdin)
        self._out = getattr(stdout, "buffer", stdout)
        self._poll_in = select.poll()
        self._poll_in.register(stdin, select.POLLIN)
        self._poll_out = select.poll()
        self._poll_out.register(stdout, select.POLLOUT)
        self._line = bytearray(protocol.MAX_LINE)
        self._n = 0
        self._long = False  # the line being read is too long: drop it up to its end
        self.eof = False

    def write(self, data):
        """Write data whole, or nothing (False) when the host is not reading."""
        for _, event in self._poll_out.poll(0):
            if event & select.POLLOUT:
                self._out.write(data)
                return True
        return False

    def readline(self):
        """The next non-empty input line (bytes, without the line break; OVERLONG for a
        line that did not fit), or None when no whole line has arrived yet. A Ctrl-C
        byte raises KeyboardInterrupt, as the REPL of a board does."""
        for _ in range(_READ_MAX):
            if self.eof or not self._poll_in.poll(0):
                return None
            byte = self._in.read(1)
            if not byte:
                self.eof = True  # host closed the console: nothing more will come
                return None
            c = byte[0]
            if c == _CTRL_C:
                self._n = 0
                raise KeyboardInterrupt
            if c == _START:
                self._n = 0
                self._long = False
            if c == _LF:
                n, self._n = self._n, 0
                if self._long:
                    self._long = False
                    return OVERLONG
                if n:
                    return bytes(self._line[:n])
                continue
            if self._n == len(self._line):
                self._long = True
                self._n = 0
            if not self._long:
                self._line[self._n] = c
                self._n += 1
        return None
