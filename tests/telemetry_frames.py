"""Frames as a device sends them, for the telemetry tests and the benchmark."""

from firmware import protocol
from host.telemetry import records

# A plausible value for every field (numbers where the records expect numbers).
_TEXT = {"state": "toasting", "policy": "fallback", "guard": "ok", "reason": "policy",
         "from": "idle", "to": "toasting", "rating": "right", "result": "ok"}


def fields_for(kind, i=0):
    return [i % 900 if name in records.NUMBERS else _TEXT.get(name, "x%d" % (i % 7))
            for name in protocol.FIELDS[kind]]


def tick(seq, ms, session=1, state="toasting", model="m1", temp_dc=1800, level=4,
         tt_ms=None):
    """A T frame."""
    values = dict(zip(protocol.FIELDS["T"], fields_for("T", seq)))
    values.update(session=session, state=state, temp_dc=temp_dc, level=level,
                  tt_ms=ms if tt_ms is None else tt_ms, policy="fallback", guard="ok")
    return protocol.encode("T", seq, ms, model, [values[n] for n in protocol.FIELDS["T"]])


def boot(boot_id, seq=0, ms=0, model="m1"):
    return protocol.encode("B", seq, ms, model, (protocol.VERSION, "1.0", "a", "sim",
                                                 "PWRON", boot_id, "fallback", "ok"))


def event(seq, ms, session, old, new, reason, model="m1"):
    return protocol.encode("E", seq, ms, model, (session, old, new, reason))


def feedback(seq, ms, session, rating, model="m1"):
    return protocol.encode("K", seq, ms, model, (session, 4, rating, 150000, "policy",
                                                 2100, 900, 500))


def toast_life(boot_id="a1b2c3d4", first_seq=0, session=1, model="m1", end="done",
               reason="policy", rating="dark"):
    """A device's boot, idle ticks, a toast, the return to idle and late feedback."""
    seq = iter(range(first_seq, first_seq + 100))
    s, m = session, model
    frames = [boot(boot_id, next(seq), model=m),
              tick(next(seq), 500, session=s - 1, state="idle", model=m),
              event(next(seq), 600, s, "idle", "toasting", "lever", model=m)]
    frames += [tick(next(seq), 700 + 100 * i, session=s, tt_ms=100 * i, model=m,
                    temp_dc=1500 + 100 * i) for i in range(3)]
    frames += [event(next(seq), 1000, s, "toasting", end, reason, model=m),
               tick(next(seq), 1100, session=s, state=end, model=m),
               event(next(seq), 1200, s, end, "idle", "lever_up", model=m),
               tick(next(seq), 1500, session=s, state="idle", model=m)]
    if rating:
        frames.append(feedback(next(seq), 9000, s, rating, model=m))
    return frames


def stream(n, model="m1"):
    """n tick frames with consecutive sequence numbers, as one byte string."""
    return b"".join(tick(i, i * 100, model=model) for i in range(n))
