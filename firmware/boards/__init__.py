# Board support: one interface, one driver per board (Pybricks style). The board named in
# board.json is imported by name; the loop never asks which board it runs on.
#
# A board driver module defines `Board(config)` with:
#   constructor          drives the heater enable low before anything else
#   name                 "sim", "esp32s3", "rp2"
#   reset_cause()        "POWERON", "HARD", "SOFT", "WDT", "BROWNOUT" or "DEEPSLEEP"
#   flag(), set_flag(n)  a register that survives MCU resets (not power-on); never flash
#   watchdog(ms), feed() machine.WDT: start (cannot be stopped), feed
#   outputs(heat, hold, buzzer)   drive the output pins (may take effect at the next wait)
#   safe()               heater off, hold magnet released, now
#   level(name)          read back an output pin's actual level (self-test)
#   read(s)              inputs into a firmware.sample.Sample (raw fields: ms ... heat_sense)
#   ticks_ms()           the board clock (time.ticks_ms domain)
#   wait(deadline, heartbeat)   sleep until the deadline; while heartbeat is true toggle
#                        the heartbeat pin every HEARTBEAT_MS (the relay's charge pump)
#   i2c                  the colour sensor's bus (machine.I2C interface)
#   reset()              machine.reset()
from micropython import const

HEARTBEAT_MS = const(20)


def load(config):
    """The Board of the board named in config (board.json)."""
    name = config["board"]
    module = __import__("firmware.boards." + name, None, None, ("Board",))
    return module.Board(config)

