"""Frames as records: the typed dictionaries the session files hold (FORMAT.md)."""

from firmware import protocol

# Fields that carry numbers; every other field stays the string the device sent. Ids
# (model, boot_id) are strings even when they happen to be all digits. "-" in a number
# field (e.g. the cmd_seq of an unreadable command) becomes null.
NUMBERS = frozenset((
    "seq", "ms", "proto", "session", "tt_ms", "temp_dc", "adc", "r", "g", "b", "c",
    "level", "heat", "out", "dropped", "lever", "cmd_seq", "overruns", "stop_ms", "c0",
    "c_stop",
))
TEXT = frozenset((
    "kind", "model", "fw", "slot", "board", "reset", "boot_id", "policy", "selftest",
    "state", "guard", "fault", "from", "to", "reason", "code", "detail", "rating",
    "result", "verb", "arg", "stop_reason",
))

# Records the recorder adds itself (kind "H"): link and port events.
HOST = "H"


# Per kind: (field name, is a number) in frame order.
_LAYOUT = {kind: tuple((name, name in NUMBERS) for name in protocol.HEADER + names)
           for kind, names in protocol.FIELDS.items()}


def from_frame(fields, host_t, boot_id):
    """The record of one decoded frame, received at host time `host_t` (Unix seconds)
    from the boot `boot_id` (None when the recorder has not seen that boot's B frame)."""
    record = {"host_t": round(host_t, 3), "boot_id": boot_id}
    for (name, number), text in zip(_LAYOUT[fields[0]], fields):
        if number:
            try:
                text = int(text)
            except ValueError:
                text = None
        record[name] = text
    return record


def host_event(event, host_t, boot_id, model, detail=None):
    """A record of something the recorder saw (link lost, port back, ...)."""
    return {"host_t": round(host_t, 3), "boot_id": boot_id, "kind": HOST, "model": model,
            "event": event, "detail": detail}
