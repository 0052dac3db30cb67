# Raspberry Pi Pico (RP2040). ADC on GP26-GP28 (0-3.3 V); the flag lives in the watchdog's
# SCRATCH0 register, which survives a watchdog or soft reset and clears at power-on
# (SCRATCH4-7 belong to the boot ROM).
import machine
from micropython import const

from firmware.boards import mcu

_SCRATCH0 = const(0x4005800C)  # WATCHDOG_BASE 0x40058000 + 0x0c (RP2040 datasheet 4.7.6)


class Board(mcu.Board):
    name = "rp2"
    WDT_MAX_MS = 8388  # RP2040: 24-bit counter at 2 ticks per microsecond

    def flag(self):
        return machine.mem32[_SCRATCH0]

    def set_flag(self, n):
        machine.mem32[_SCRATCH0] = n
