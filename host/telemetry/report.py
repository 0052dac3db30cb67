"""`toaster telemetry report`: a summary per session, totals per model id, and a plot of a
toast (temperature, colour, heater, guard and stop on one time axis)."""

import time
from collections import Counter, defaultdict

from host.telemetry.summary import elapsed_s, start_ms, summarise

CUTOFF_C = 250  # the guard's over-temperature cutoff (ARCHITECTURE.md)


def _f(value, fmt):
    return "-" if value is None else fmt % value


_SESSION = "%-22s %-10s %-9s %2s %7s %-10s %-14s %6s %6s %7s %-6s %s"
_MODEL = "%-10s %6s %6s %9s %6s %7s %7s  %-24s %s"


def guarded(s):
    """Did the guard overrule the policy in this toast (a limit, a fault)?"""
    return bool(s["guard_ticks"] or s["faults"] or s["stop_reason"] == "time_limit")


def session_lines(summaries):
    out = [_SESSION % ("session", "model", "policy", "L", "time s", "end", "stop reason",
                       "max C", "end C", "darker", "rating", "notes")]
    for s in summaries:
        notes = []
        if s["faults"]:
            notes.append("faults: " + s["faults"])
        if s["guard_ticks"]:
            notes.append("guard active %d ticks" % s["guard_ticks"])
        if s["missing"]:
            notes.append("%d frames missing" % s["missing"])
        if s["link_lost"]:
            notes.append("link lost %dx" % s["link_lost"])
        if not s["complete"]:
            notes.append("incomplete")
        darker = None if s["colour_change"] is None else 100 * s["colour_change"]
        out.append(_SESSION % (
            "%s/%s" % (s["boot_id"], s["session"]), s["model"] or "-", s["policy"] or "-",
            _f(s["level"], "%d"), _f(s["duration_s"], "%.1f"), s["end_state"] or "-",
            s["stop_reason"] or "-", _f(s["temp_max_c"], "%.1f"), _f(s["temp_end_c"], "%.1f"),
            _f(darker, "%.0f%%"), s["rating"] or "-", "; ".join(notes)))
    return out


def model_lines(summaries):
    """Per model id, in the order the versions first toasted: toasts, how they ended,
    guard interventions per 1,000 toasts, toasts the fallback finished after a model
    fault, feedback, stop reasons."""
    by_model = defaultdict(list)
    for s in sorted(summaries, key=lambda s: s["start_host_t"] or 0):
        by_model[s["model"] or "-"].append(s)
    out = [_MODEL % ("model", "toasts", "done", "cancelled", "fault", "guard/k",
                     "m.fault", "feedback l/r/d (rated)", "stop reasons")]
    for model, group in by_model.items():
        ends = Counter(s["end_state"] for s in group)
        ratings = Counter(s["rating"] for s in group if s["rating"])
        reasons = Counter(s["stop_reason"] for s in group if s["stop_reason"])
        out.append(_MODEL % (
            model, len(group), ends["done"], ends["cancelled"], ends["fault"],
            "%.0f" % (1000 * sum(map(guarded, group)) / len(group)),
            sum(1 for s in group if s["model_faults"]),
            "%d/%d/%d (%d%%)" % (ratings["light"], ratings["right"], ratings["dark"],
                                 100 * sum(ratings.values()) / len(group)),
            ", ".join("%s %d" % kv for kv in reasons.most_common())))
    return out


def text(sessions, package=None):
    """The report as lines of text; with a model package, a line per toast of that model
    on what its recomputed output says about the stop."""
    summaries = [summarise(s) for s in sessions]
    damaged = sum(s.damaged for s in sessions)
    first = min((s["start_host_t"] for s in summaries if s["start_host_t"]), default=None)
    out = ["%d session%s%s" % (len(sessions), "" if len(sessions) == 1 else "s",
                                ", from %s" % time.strftime("%Y-%m-%d %H:%M",
                                                            time.localtime(first))
                                if first else "")]
    if damaged:
        out.append("%d unreadable line%s skipped" % (damaged, "" if damaged == 1 else "s"))
    out += [""] + session_lines(summaries) + [""] + model_lines(summaries)
    if package is not None:
        out.append("")
        for session, s in zip(sessions, summaries):
            replayed = package.replay(session)
            if replayed:
                out.append("%s/%s: %s" % (s["boot_id"], s["session"],
                                          package.verdict(session, replayed)))
        if out[-1] == "":
            out.append("no toast by model %s (%s)" % (package.id, package.folder))
    return out


def plot(session, path, package=None):
    """One toast on one time axis: chamber temperature, colour, the model's output
    (recomputed from its package, when given: model_output.py), heater commanded and
    sensed, guard verdicts, faults and the stop, saved as an image at `path`."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    s = summarise(session)
    t0 = start_ms(session.records)
    ticks = [r for r in session.records if r["kind"] == "T"]
    t = [elapsed_s(r["ms"], t0) for r in ticks]
    replayed = package.replay(session) if package is not None else None
    rows = [3, 2] + ([2] if replayed else []) + [1]
    fig, axes = plt.subplots(len(rows), 1, sharex=True, figsize=(10, 1.3 + 0.95 * sum(rows)),
                             gridspec_kw={"height_ratios": rows})
    ax_temp, ax_col, ax_heat = axes[0], axes[1], axes[-1]
    fig.suptitle("toast %s/%s  model %s  policy %s  level %s  ->  %s (%s)%s" % (
        s["boot_id"], s["session"], s["model"], s["policy"], s["level"],
        s["end_state"] or "unfinished", s["stop_reason"] or "-",
        "  rated %s" % s["rating"] if s["rating"] else ""), fontsize=10)

    temps = [r["temp_dc"] / 10 if r["temp_dc"] is not None else float("nan") for r in ticks]
    ax_temp.plot(t, temps, color="tab:red", label="chamber")
    if max((x for x in temps if x == x), default=0) > CUTOFF_C - 80:
        ax_temp.axhline(CUTOFF_C, color="tab:red", linestyle=":", linewidth=1,
                        label="cutoff %d C" % CUTOFF_C)
    ax_temp.set_ylabel("temperature C")

    c0 = next((r["c"] for r in ticks if r["c"]), None)
    for key, colour in (("c", "black"), ("r", "tab:red"), ("g", "tab:green"),
                        ("b", "tab:blue")):
        base = next((r[key] for r in ticks if r[key]), None)
        if base:
            ax_col.plot(t, [100 * r[key] / base if r[key] is not None else float("nan")
                            for r in ticks], color=colour, linewidth=1.5 if key == "c" else 0.8,
                        label={"c": "clear"}.get(key, key))
    ax_col.set_ylabel("colour, %% of start%s" % ("" if c0 else " (no data)"))

    if replayed:
        ax_model = axes[2]
        ax_model.plot([elapsed_s(r["ms"], t0) for r, _, _ in replayed],
                      [p for _, _, p in replayed], color="tab:cyan", label="P(continue)")
        ax_model.axhline(package.probability(package.threshold_q), color="tab:cyan",
                         linestyle=":", linewidth=1, label="threshold")
        ax_model.set_ylim(-0.05, 1.05)
        ax_model.set_ylabel("model %s" % package.id)

    ax_heat.step(t, [r["heat"] for r in ticks], where="post", color="tab:orange",
                 label="commanded")
    ax_heat.step(t, [r["out"] for r in ticks], where="post", color="tab:brown",
                 linestyle="--", label="sensed")
    ax_heat.set_ylabel("heater")
    ax_heat.set_yticks([0, 1], ["off", "on"])
    ax_heat.set_xlabel("time since the toast started, s")

    # Guard verdicts other than ok, faults, state changes and the stop on every panel.
    guard = [(x, r["guard"]) for x, r in zip(t, ticks) if r["guard"] != "ok"]
    # Events and faults as vertical lines; those within 1 % of the time axis of each
    # other share a line and a label.
    span = max(t[-1] if t else 0, 1)
    marks = []  # [x, labels, colour]
    for r in session.records:
        if r["kind"] not in ("E", "F"):
            continue
        x = elapsed_s(r["ms"], t0)
        if not marks or x - marks[-1][0] > span / 100:
            marks.append([x, [], "tab:gray"])
        if r["kind"] == "F":
            marks[-1][1].append("fault: " + r["code"])
            marks[-1][2] = "tab:purple"
        else:
            marks[-1][1].append("%s (%s)" % (r["to"], r["reason"]))
    marks = [(x, ", ".join(labels), colour) for x, labels, colour in marks]
    for ax in axes:
        for x, _, colour in marks:
            ax.axvline(x, color=colour, linewidth=1, alpha=0.7)
        if guard:
            ax.axvspan(min(x for x, _ in guard), max(x for x, _ in guard),
                       color="tab:purple", alpha=0.08)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right" if ax is ax_temp else "upper left", fontsize=7)
    top = ax_temp.get_ylim()[1]
    for x, label, colour in marks:
        ax_temp.text(x, top, " " + label, rotation=90, va="top", fontsize=7, color=colour)
    if guard:
        ax_temp.text(guard[0][0], ax_temp.get_ylim()[0], " guard: %s" % guard[0][1],
                     fontsize=7, color="tab:purple", va="bottom")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
