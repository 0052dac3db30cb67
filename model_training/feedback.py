"""Recorded toasts and their feedback -> training data (model_training/FEEDBACK.md).

Two rules turn a rating into a label, one in browning (DE) and one in time:

- the household's preferred browning at a level: the target DE the toast's model aimed at,
  moved by STEP_DE per rating ("dark" -STEP_DE, "light" +STEP_DE, "right" 0), averaged
  over the sessions of that level. Only the base model's own sessions count (its targets
  are in its manifest's `levels`); the new targets relabel the factory's simulated runs,
  which carry the true DE;
- the ideal stop in the session's own trace: "right" (and a weak label) at the model's
  own stop; "dark" at the first tick whose estimated browning was STEP_DE below the
  browning at the stop; "light" beyond the trace (the toast stopped before it), so every
  recorded tick is "keep toasting". Browning is estimated from the clear channel alone:
  the CIE lightness drop since the start, times DE_PER_LSTAR.

A session without a rating is either a weak label (the model's own stop was right, shift
0) or left out: `unrated="weak" | "drop"`.
"""

import hashlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from model_training import targets
from model_training.errors import DataError
from model_training.runs import Run

STEP_DE = 4.0           # one rating moves the preferred browning by this much
SHIFT = {"dark": -STEP_DE, "light": STEP_DE, "right": 0.0, None: 0.0}
# Browning from the clear channel: untoasted crumb L* ~80 (hardware/simulator/colour.py
# UNTOASTED); the clear channel follows luminance Y, so L* = 116 (Y/Yn)^(1/3) - 16 with
# Y/Yn = Y0 * c/c0. DE is mostly the L* drop; the rest (a*, b*) adds about a quarter:
# DE / L*-drop = 1.2-1.3 on simulated toasts of every level (1.25 over 16 toasts).
LSTAR_START = 80.0
DE_PER_LSTAR = 1.25
START_TICKS = 10        # ticks whose median is the clear channel's start value
CHANNELS = ("temp_dc", "adc", "r", "g", "b", "c")
UNRATED = ("weak", "drop")


@dataclass
class Dataset:
    """Telemetry runs labelled by feedback, the household's targets per level, and what
    was left out and why."""
    runs: list                                  # telemetry runs (meta: session, rating ...)
    targets: dict                               # level -> preferred target DE
    base_targets: dict                          # level -> target DE of the base model
    skipped: Counter = field(default_factory=Counter)   # reason -> sessions
    unrated: str = "weak"

    def summary(self):
        ratings = Counter(r.meta["rating"] or "none" for r in self.runs)
        return {"sessions": len(self.runs) + sum(self.skipped.values()),
                "used": len(self.runs),
                "with_feedback": sum(1 for r in self.runs if r.meta["rating"]),
                "per_label": dict(sorted(Counter(r.meta["label"] for r in self.runs).items())),
                "per_rating": dict(sorted(ratings.items())),
                "skipped": dict(self.skipped), "unrated": self.unrated,
                "step_de": STEP_DE,
                "targets": {str(k): round(v, 2) for k, v in sorted(self.targets.items())}}

    def to_json(self):
        """The data set as `toaster dataset from-telemetry --out` writes it."""
        return {"summary": self.summary(),
                "base_targets": {str(k): v for k, v in sorted(self.base_targets.items())},
                "runs": [{"name": r.name, "level": r.level, "ideal_stop_ms": r.stop_ms,
                          **{k: r.meta[k] for k in ("session", "file", "sha256", "model",
                                                    "rating", "label", "stop_ms")},
                          "toast_ms": r.toast_ms.tolist(),
                          "channels": {c: v.tolist() for c, v in r.channels.items()}}
                         for r in self.runs]}

    def levels(self):
        """The manifest's `levels` for a model trained to these targets (PACKAGE.md)."""
        return {str(lv): {"target_de": round(de, 2),
                          "band_de": [round(de - targets.TOLERANCE_DE, 2),
                                      round(de + targets.TOLERANCE_DE, 2)],
                          "factory_de": targets.target(lv)}
                for lv, de in sorted(self.targets.items())}

    def sessions(self):
        """Provenance: every session used, by id and the SHA-256 of its file."""
        return [{"session": r.meta["session"], "sha256": r.meta["sha256"],
                 "model": r.meta["model"], "rating": r.meta["rating"]} for r in self.runs]


def browning(run):
    """Estimated DE per tick from the clear channel's drop since the start."""
    c = run.channels["c"].astype(np.float64)
    # The median: a first reading can be cut short by the carriage going down.
    c0 = float(np.median(c[:START_TICKS]))
    if c0 <= 0:
        return np.zeros(len(c))
    y0 = ((LSTAR_START + 16) / 116) ** 3
    lstar = 116 * np.cbrt(np.clip(c / c0, 0, None) * y0) - 16
    return DE_PER_LSTAR * (LSTAR_START - lstar)


def ideal_stop_ms(run, rating):
    """The rule in time: where the ideal stop lies in the session's own trace (None:
    after the trace's end, every tick is "keep toasting")."""
    if rating == "light":
        return None
    stop = run.meta["stop_ms"]
    if rating != "dark":
        return stop
    de = browning(run)
    earlier = np.flatnonzero(de >= de[-1] - STEP_DE)
    return int(run.toast_ms[earlier[0]])


def session_run(session, period_ms):
    """(a Run of one recorded toast with meta rating/stop/model, or None) and the reason
    a session is not usable: only complete toasts the policy stopped, every tick there."""
    from host.telemetry.summary import summarise

    s = summarise(session)
    if not s["complete"]:
        return None, "incomplete"
    if s["stop_reason"] != "policy":
        return None, "stopped by %s" % s["stop_reason"]
    if s["faults"]:
        return None, "faults"
    ticks = [r for r in session.records if r["kind"] == "T" and r["state"] == "toasting"]
    if len(ticks) < 2 or any(r[c] is None for r in ticks for c in CHANNELS):
        return None, "no sensor data"
    toast_ms = np.array([r["tt_ms"] for r in ticks], np.int64)
    toast_ms -= toast_ms[0]
    if np.any(np.diff(toast_ms) != period_ms):
        return None, "ticks missing"
    feedback = [r for r in session.records if r["kind"] == "K"]
    # The stop tick itself sends no "toasting" T frame: its time is in the K frame, else
    # the tick after the last one.
    stop_ms = feedback[-1]["stop_ms"] if feedback else int(toast_ms[-1]) + period_ms
    sha = hashlib.sha256(session.path.read_bytes()).hexdigest()
    run = Run(name="tele-%s-%03d" % (s["boot_id"], s["session"]), toast_ms=toast_ms,
              channels={c: [r[c] for r in ticks] for c in CHANNELS}, level=s["level"],
              group=s["model"] or "-",
              meta={"source": "telemetry", "session": "%s/%s" % (s["boot_id"], s["session"]),
                    "file": session.path.name, "sha256": sha, "model": s["model"],
                    "policy": s["policy"], "rating": s["rating"], "stop_ms": stop_ms})
    return run, None


def label(run, unrated):
    """Sets the run's label and ideal stop by the rules; False when it is left out."""
    rating = run.meta["rating"]
    if rating is None and unrated == "drop":
        return False
    run.meta["label"] = rating or "weak"
    run.stop_ms = ideal_stop_ms(run, rating)
    return True


def household_targets(runs, base_id, base_targets):
    """Per level: the base model's target moved by the mean rating shift of its sessions."""
    shifts = {}
    for run in runs:
        if run.meta["model"] == base_id:
            shifts.setdefault(run.level, []).append(SHIFT[run.meta["rating"]])
    return {level: base_targets[level] + (float(np.mean(shifts[level])) if level in shifts
                                          else 0.0)
            for level in base_targets}


def base_targets(meta):
    """level -> target DE a package was trained for (factory targets if it names none)."""
    levels = (meta or {}).get("levels") or {}
    return {lv: float(levels.get(str(lv), {}).get("target_de", targets.target(lv)))
            for lv in targets.LEVELS}


def read(folder, base=None, unrated="weak", period_ms=100):
    """The Dataset of a recording folder; base: the manifest of the model the sessions
    ran (its id and level targets), or None for the factory targets."""
    from host.telemetry import sessions

    if unrated not in UNRATED:
        raise DataError("unrated sessions are 'weak' or 'drop', not %r" % unrated)
    try:
        found = sessions.load(folder)
    except FileNotFoundError:
        raise DataError("no such file or folder: %s" % folder) from None
    if not found:
        raise DataError("no toast sessions in %s (session files are named %s)"
                        % (folder, sessions.SESSION_GLOB))
    runs, skipped = [], Counter()
    for session in found:
        run, why = session_run(session, period_ms)
        if run is None:
            skipped[why] += 1
        elif label(run, unrated):
            runs.append(run)
        else:
            skipped["no feedback (left out)"] += 1
    before = base_targets(base)
    return Dataset(runs, household_targets(runs, (base or {}).get("id"), before), before,
                   skipped, unrated)


def relabel(runs, level_targets):
    """Simulated runs (true DE and carry-over in their truth and meta) with the ideal stop
    where DE plus carry-over reaches the level's target in level_targets, as
    model_training/sources/simulated.py labels the factory targets."""
    out = []
    for run in runs:
        reached = np.flatnonzero(run.truth["delta_e"] + run.meta["carry_de"]
                                 >= level_targets[run.level])
        out.append(Run(run.name, run.toast_ms, run.channels, run.level,
                       int(run.toast_ms[reached[0]]) if len(reached) else None, run.group,
                       run.truth, run.meta))
    return out
