# The sim board: the toaster's hardware is the simulator (hardware/simulator/PROTOCOL.md),
# reached over the Unix socket named by TOASTER_SIM_SOCKET. A control tick costs one round
# trip: outputs, flag and watchdog feed are queued and go out with the wait, whose line
# ends with SNAP, the inputs for the next tick. Replies stay bytes: str pieces would each
# be looked up in the qstr pool, and a socket's readline reads one byte per system call.
import binascii
import os
import socket
import struct
import sys

from micropython import const

from firmware.boards import HEARTBEAT_MS

_RECV = const(128)  # a tick's reply is ~100 bytes
_LF = const(10)
_OUTPUTS = ("heat_en", "hold", "buzzer")


class SimError(OSError):
    pass


class I2C:
    """machine.I2C's interface over the simulator's register-level I2C commands. The
    colour data block comes from the tick's SNAP, so reading it costs no round trip."""

    def __init__(self, board):
        self._board = board

    def writeto(self, addr, buf):
        self._board._call("I2C W %d %s" % (addr, _hex(buf)))

    def readfrom_mem_into(self, addr, reg, buf):
        if reg == 0xB4 and len(buf) == 8 and self._board._colour is not None:
            data = self._board._colour  # command|auto-increment|CDATAL: the data block
        else:
            data = self._board._call("I2C R %d %d %d" % (addr, reg, len(buf)))[3:]
        if data == b"-" or len(data) != 2 * len(buf):
            raise OSError(5)  # EIO, as machine.I2C raises on a bus fault
        buf[:] = binascii.unhexlify(data)


def _hex(buf):
    return "".join("%02x" % b for b in buf)


class Board:
    name = "sim"

    def __init__(self, config):
        path = os.getenv("TOASTER_SIM_SOCKET")
        if not path:
            raise SimError("TOASTER_SIM_SOCKET is not set: the sim board needs the simulator")
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.connect(struct.pack("H", socket.AF_UNIX) + path.encode() + b"\x00")
        hello = self._call("HELLO mcu 1").split()
        self._call("SET heat_en 0")
        self._now = int(hello[1])
        self._cause = hello[2].decode()
        self._flag = int(hello[3])
        self._set = {}      # output -> level last sent
        self._queue = []    # commands that go out with the next wait
        self._snap = None   # reply fields of the last SNAP
        self._colour = None
        self._rtc = -1
        self.i2c = I2C(self)
        self.outputs(0, 0, 0)
        self._queue.append("RTC")
        self._queue.append("SNAP")
        self._send_queue()

    def _call(self, line):
        """Send one request line; its reply (bytes), or SimError on ERR. Ends the process
        when the simulator has gone (the board without its hardware is no board)."""
        try:
            self._sock.write(line + "\n")
            reply = self._sock.recv(_RECV)
            while reply and reply[-1] != _LF:
                more = self._sock.recv(_RECV)
                reply = reply + more if more else b""
        except OSError:
            reply = b""
        if not reply:
            sys.exit("sim board: the simulator closed the connection")
        reply = reply[:-1]
        if b"ERR" in reply:
            raise SimError("simulator: %s -> %s" % (line, reply.decode()))
        return reply

    def _send_queue(self):
        replies = self._call(";".join(self._queue)).split(b";")
        self._queue.clear()
        for reply in replies:
            if reply.startswith(b"OK "):
                self._now = int(reply.split(None, 2)[1])
        snap = replies[-1].split()
        if snap[0] == b"OK" and len(snap) == 12:
            self._snap = snap
            self._colour = snap[11]
            self._rtc = int(replies[-2][3:])  # RTC goes just before SNAP

    def reset_cause(self):
        return self._cause

    def flag(self):
        return self._flag

    def set_flag(self, n):
        self._flag = n
        self._queue.append("FLAG %d" % n)

    def watchdog(self, ms):
        self._call("WDT %d" % ms)

    def feed(self):
        self._queue.append("FEED")

    def outputs(self, heat, hold, buzzer):
        for name, level in zip(_OUTPUTS, (heat, hold, buzzer)):
            level = 1 if level else 0
            if self._set.get(name) != level:
                self._set[name] = level
                self._queue.append("SET %s %d" % (name, level))

    def safe(self):
        self._queue.clear()
        self._set.clear()
        self.outputs(0, 0, 0)
        self._call(";".join(self._queue))
        self._queue.clear()

    def level(self, name):
        return int(self._call("GET " + name).split()[1])

    def read(self, s):
        snap = self._snap
        s.ms = int(snap[1])
        s.adc = int(snap[2])
        s.dial = int(snap[3])
        s.ref = int(snap[4])
        s.lever = int(snap[5])
        s.cancel = int(snap[6])
        s.fb_light = int(snap[7])
        s.fb_right = int(snap[8])
        s.fb_dark = int(snap[9])
        s.heat_sense = int(snap[10])
        s.rtc_ms = self._rtc

    def ticks_ms(self):
        return self._now

    def wait(self, deadline, heartbeat):
        left = deadline - self._now
        if left > 0:
            if heartbeat:
                self._queue.append("SLEEP %d heartbeat %d" % (left, HEARTBEAT_MS))
            else:
                self._queue.append("SLEEP %d" % left)
        self._queue.append("RTC")
        self._queue.append("SNAP")
        self._send_queue()

    def reset(self):
        self._call("RESET HARD")
        sys.exit()
