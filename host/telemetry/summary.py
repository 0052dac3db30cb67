"""What a recorded toast came to: one flat summary per session, used by the report and
by the per-session export table."""

# The device's millisecond clock wraps (time.ticks_ms: 2**30 on MicroPython ports).
TICKS_PERIOD = 1 << 30
END_STATES = ("done", "cancelled", "fault")

# Columns of a session summary, in order (the export's per-session table).
COLUMNS = (
    ("boot_id", "str"), ("session", "int"), ("model", "str"), ("policy", "str"),
    ("level", "int"), ("start_host_t", "float"), ("duration_s", "float"),
    ("end_state", "str"), ("stop_reason", "str"), ("faults", "str"),
    ("model_faults", "int"), ("guard_ticks", "int"), ("temp_start_c", "float"),
    ("temp_max_c", "float"), ("temp_end_c", "float"), ("c_start", "int"),
    ("c_end", "int"), ("colour_change", "float"), ("rating", "str"), ("ticks", "int"),
    ("missing", "int"), ("link_lost", "int"), ("complete", "bool"), ("file", "str"),
)


def elapsed_s(ms, start_ms):
    return ((ms - start_ms) % TICKS_PERIOD) / 1000


def start_ms(records):
    """Device ms at which the toast started (its E frame), else at its first frame."""
    for r in records:
        if r["kind"] == "E" and r["to"] == "toasting":
            return r["ms"]
    for r in records:
        if r.get("ms") is not None:
            return r["ms"]
    return 0


def summarise(session):
    """A dict with COLUMNS' keys for a sessions.Session."""
    records = session.records
    frames = [r for r in records if r["kind"] != "H"]
    ticks = [r for r in frames if r["kind"] == "T"]
    toasting = [t for t in ticks if t["state"] == "toasting"] or ticks
    started = any(r["kind"] == "E" and r["to"] == "toasting" for r in frames)
    end = next((r for r in frames if r["kind"] == "E" and r["from"] == "toasting"
                and r["to"] in END_STATES), None)
    faults = [r for r in frames if r["kind"] == "F"]
    feedback = [r for r in frames if r["kind"] == "K"]
    t0 = start_ms(records)
    temps = [t["temp_dc"] / 10 for t in toasting if t["temp_dc"] is not None]
    c_start = toasting[0]["c"] if toasting else None
    c_end = toasting[-1]["c"] if toasting else None
    if end is not None:
        duration = elapsed_s(end["ms"], t0)
    elif toasting:
        duration = elapsed_s(toasting[-1]["ms"], t0)
    else:
        duration = None
    # Sequence numbers run on in the device log once the toast is over: count gaps up
    # to the return to idle (late feedback comes after it).
    idle = next((i for i, r in enumerate(frames) if r["kind"] == "E" and r["to"] == "idle"),
                len(frames) - 1)
    seqs = sorted({r["seq"] for r in frames[:idle + 1]})
    last = frames[-1] if frames else {}
    return {
        "boot_id": session.boot_id,
        "session": session.number,
        "model": last.get("model"),
        "policy": toasting[-1]["policy"] if toasting else None,
        "level": toasting[-1]["level"] if toasting else (
            feedback[-1]["level"] if feedback else None),
        "start_host_t": records[0]["host_t"] if records else None,
        "duration_s": duration,
        "end_state": end["to"] if end else None,
        "stop_reason": end["reason"] if end else None,
        "faults": "+".join(f["code"] for f in faults) or None,
        "model_faults": sum(1 for f in faults if f["code"] == "model"),
        "guard_ticks": sum(1 for t in ticks if t["guard"] != "ok"),
        "temp_start_c": temps[0] if temps else None,
        "temp_max_c": max(temps) if temps else None,
        "temp_end_c": temps[-1] if temps else None,
        "c_start": c_start,
        "c_end": c_end,
        "colour_change": (1 - c_end / c_start) if c_start else None,
        "rating": feedback[-1]["rating"] if feedback else None,
        "ticks": len(ticks),
        "missing": (seqs[-1] - seqs[0] + 1 - len(seqs)) if seqs else 0,
        "link_lost": sum(1 for r in records if r["kind"] == "H" and r["event"] == "link_lost"),
        "complete": started and end is not None,
        "file": session.path.name,
    }
