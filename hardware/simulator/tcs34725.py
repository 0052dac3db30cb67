"""The TCS34725 colour sensor at register level (ams datasheet, "TCS3472 Color Light-to-
Digital Converter"): command byte, ENABLE, ATIME, WTIME, CONFIG, CONTROL, ID, STATUS and
the CDATAL..BDATAH data registers, with integration cycles timed in virtual ms.

Command byte: bit 7 set; bits 6:5 the transaction type (00 repeated byte, 01 auto-increment,
11 special function); bits 4:0 the register address.
"""

ADDRESS = 0x29
ENABLE, ATIME, WTIME, CONFIG, CONTROL, ID, STATUS, CDATAL = 0x00, 0x01, 0x03, 0x0D, 0x0F, 0x12, 0x13, 0x14
PON, AEN, WEN = 0x01, 0x02, 0x08
AVALID = 0x01
CHIP_ID = 0x44          # TCS34725 (the TCS34727 reads 0x4D)
GAINS = (1, 4, 16, 60)
CYCLE_MS = 2.4
_WRITABLE = {ENABLE, ATIME, WTIME, 0x04, 0x05, 0x06, 0x07, 0x0C, CONFIG, CONTROL}
_RESTART = {ENABLE, ATIME, WTIME, CONFIG, CONTROL}


class BusError(Exception):
    """A transfer the chip would NACK, or a broken bus: the reply is ERR EIO."""


class TCS34725:
    """Registers and timing of one chip. `sample(t_end_ms, gain, atime_ms, cycles, index)`
    returns (clear, red, green, blue) for the integration that ended at t_end_ms."""

    def __init__(self, sample):
        self._sample = sample
        self.reset()

    def reset(self):
        """Power-on register values (the chip loses them with the supply, not an MCU reset)."""
        self.regs = bytearray(32)
        self.regs[ATIME] = 0xFF
        self.regs[WTIME] = 0xFF
        self.regs[ID] = CHIP_ID
        self._start_ms = None

    @property
    def gain(self):
        return GAINS[self.regs[CONTROL] & 0x03]

    @property
    def cycles(self):
        return 256 - self.regs[ATIME]

    @property
    def atime_ms(self):
        return self.cycles * CYCLE_MS

    def _period_ms(self):
        period = self.atime_ms
        if self.regs[ENABLE] & WEN:
            wait = (256 - self.regs[WTIME]) * CYCLE_MS
            period += wait * (12 if self.regs[CONFIG] & 0x02 else 1)
        return period

    def last_integration(self, t_ms):
        """End time (ms) of the latest completed integration, or None."""
        if self._start_ms is None:
            return None
        first = self._start_ms + CYCLE_MS + self.atime_ms     # 2.4 ms warm-up after PON
        if t_ms < first:
            return None
        k = int((t_ms - first) // self._period_ms())
        return first + k * self._period_ms()

    def data(self, t_ms):
        """The data registers 0x14..0x1B as the chip holds them at t_ms (8 bytes)."""
        end = self.last_integration(t_ms)
        if end is None:
            return bytes(8)
        values = self._sample(end, self.gain, self.atime_ms, self.cycles, int(round(end * 10)))
        return b"".join(int(v).to_bytes(2, "little") for v in values)

    def _parse(self, command):
        if not command & 0x80:
            raise BusError("command bit not set")
        return (command >> 5) & 0x03, command & 0x1F

    def write(self, data, t_ms):
        """An I2C write: command byte, then data bytes for the addressed register(s)."""
        if not data:
            raise BusError("empty write")
        kind, address = self._parse(data[0])
        if kind == 3:
            return                                  # special function: clear interrupt
        if kind == 2:
            raise BusError("reserved transaction type")
        for i, value in enumerate(data[1:]):
            reg = (address + i) & 0x1F if kind == 1 else address
            if reg in _WRITABLE:
                self.regs[reg] = value
                if reg in _RESTART:
                    self._restart(t_ms)

    def _restart(self, t_ms):
        on = self.regs[ENABLE] & (PON | AEN) == (PON | AEN)
        self._start_ms = t_ms if on else None

    def read(self, command, n, t_ms):
        """An I2C read of n bytes starting at the register the command byte addresses."""
        kind, address = self._parse(command)
        if kind not in (0, 1):
            raise BusError("read needs a repeated-byte or auto-increment command")
        live = bytearray(self.regs)
        live[STATUS] = AVALID if self.last_integration(t_ms) is not None else 0
        live[CDATAL:CDATAL + 8] = self.data(t_ms)
        return bytes(live[(address + i) & 0x1F if kind == 1 else address] for i in range(n))
