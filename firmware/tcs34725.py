# TCS34725 colour sensor (ams datasheet DS000300), register level, on any object with
# machine.I2C's writeto/readfrom_mem_into: the real bus on boards, the simulator's
# registers on the sim board.
import time

from micropython import const

ADDRESS = const(0x29)
_CMD = const(0x80)       # command bit: the byte names a register
_AUTO = const(0x20)      # auto-increment: read a block of registers
_ENABLE = const(0x00)
_PON = const(0x01)
_AEN = const(0x02)
_ATIME = const(0x01)
_CONTROL = const(0x0F)
_ID = const(0x12)
_CDATAL = const(0x14)    # CDATAL..BDATAH: clear, red, green, blue, 16 bits each, LE
IDS = (0x44, 0x4D)       # TCS34721/5, TCS34723/7
GAINS = (1, 4, 16, 60)


class TCS34725:
    def __init__(self, i2c, address=ADDRESS):
        self.i2c = i2c
        self.address = address
        self._data = bytearray(8)
        self._reg = bytearray(1)
        self._write = bytearray(2)

    def setup(self, integration_cycles, gain):
        """Check the chip and start it: integration time = cycles x 2.4 ms. Raises OSError
        when the chip does not answer, ValueError when it is not a TCS3472x."""
        self.i2c.readfrom_mem_into(self.address, _CMD | _ID, self._reg)
        if self._reg[0] not in IDS:
            raise ValueError("colour sensor ID 0x%02x" % self._reg[0])
        self._set(_ENABLE, _PON)
        time.sleep_ms(3)  # the oscillator needs 2.4 ms after PON before AEN
        self._set(_ATIME, 256 - integration_cycles)
        self._set(_CONTROL, GAINS.index(gain))
        self._set(_ENABLE, _PON | _AEN)
        return self._reg[0]

    def read(self, s):
        """Latest counts into the sample (c, r, g, b). Raises OSError on a bus fault."""
        self.i2c.readfrom_mem_into(self.address, _CMD | _AUTO | _CDATAL, self._data)
        d = self._data
        s.c = d[0] | d[1] << 8
        s.r = d[2] | d[3] << 8
        s.g = d[4] | d[5] << 8
        s.b = d[6] | d[7] << 8

    def _set(self, reg, value):
        self._write[0] = _CMD | reg
        self._write[1] = value
        self.i2c.writeto(self.address, self._write)
