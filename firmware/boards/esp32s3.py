# ESP32-S3-DevKitC-1. ADC1 only (ADC2 is shared with the radio), 11 dB attenuation; the
# flag lives in RTC slow memory, which keeps its content through every reset but power-on.
import machine
from machine import ADC, Pin

from firmware.boards import mcu


class Board(mcu.Board):
    name = "esp32s3"
    WDT_MAX_MS = 60000  # no port limit below this; the firmware asks for 2,000 ms

    def __init__(self, config):
        super().__init__(config)
        self._rtc = machine.RTC()

    def _adc(self, pin):
        return ADC(Pin(pin), atten=ADC.ATTN_11DB)

    def flag(self):
        mem = self._rtc.memory()
        return int.from_bytes(mem[:4], "little") if len(mem) >= 4 else 0

    def set_flag(self, n):
        self._rtc.memory(n.to_bytes(4, "little"))
