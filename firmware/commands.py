# Host commands (C frames, firmware/PROTOCOL.md): checked here, carried out by the loop.
# Anything malformed, unknown, replayed, for another boot or out of range is rejected
# before it can change anything. No command reaches a limit of the guard.
from firmware import protocol

LEVELS = (1, 2, 3, 4, 5, 6, 7)
RATINGS = ("light", "right", "dark")
_NO_ARG = ("cancel", "status")


class CommandError(Exception):
    def __init__(self, seq, reason):
        super().__init__(reason)
        self.seq = seq        # the command's sequence number, "-" when unreadable
        self.reason = reason  # one word for the R frame


class Commands:
    def __init__(self, boot_id):
        self.boot_id = boot_id
        self.seq = 0  # last sequence number taken; the host starts at 1

    def parse(self, line):
        """(seq, verb, arg) of a valid new command: arg is the level (int) for start, the
        rating for feedback, None otherwise. Raises CommandError."""
        try:
            f = protocol.decode(line)
        except protocol.FrameError as exc:
            raise CommandError("-", exc.code)
        if f[0] != "C":
            raise CommandError("-", "kind")
        if len(f[1]) > 10:
            raise CommandError("-", "seq")
        seq = int(f[1])
        if f[4] != self.boot_id:
            raise CommandError(seq, "boot_id")
        if seq <= self.seq:
            raise CommandError(seq, "replay")
        # From here on the number is spent, whatever the verb: it can never be replayed.
        self.seq = seq
        verb, arg = f[5], f[6]
        if verb == "start":
            if len(arg) != 1 or not arg.isdigit() or int(arg) not in LEVELS:
                raise CommandError(seq, "range")
            return seq, verb, int(arg)
        if verb == "feedback":
            if arg not in RATINGS:
                raise CommandError(seq, "range")
            return seq, verb, arg
        if verb in _NO_ARG:
            if arg != "-":
                raise CommandError(seq, "range")
            return seq, verb, None
        raise CommandError(seq, "verb")
