# Frames to the host (firmware/PROTOCOL.md). Never blocks: a frame the console cannot
# take now is dropped and counted; its sequence number is used all the same, so the host
# sees the gap.
from firmware import protocol


class Telemetry:
    def __init__(self, console, model="-"):
        self.console = console
        self.model = model   # id of the model package in use, "-" for none
        self.seq = 0
        self.dropped = 0

    def send(self, kind, ms, fields):
        frame = protocol.encode(kind, self.seq, ms, self.model, fields)
        self.seq += 1
        if not self.console.write(frame):
            self.dropped += 1
            return False
        return True
