"""The closed-loop evaluation's report: report.md with PNG plots, and results.json
(model_training/evaluate.py makes the figures; this module only shows them).

Plots: browning error per policy (distribution) and per scenario group (mean absolute
error, the lowest marked), outcome shares (in band, underdone, overdone, burnt), time to
done per level, and the safety margins (highest chamber-sensor temperature with the
heater on, against the guard's cutoff; heater-on time against the time limit).
"""

import json
from pathlib import Path

import numpy as np

from host import closed_loop
from model_training import suite, targets

COLOURS = {"model": "#1b7837", "timer": "#b2182b", "rule": "#2166ac"}


def write(out, summary, results, policies):
    """report.md, results.json (summary + every toast) and the plots in out; the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    import matplotlib

    matplotlib.use("Agg")
    plots = {"errors": _errors(out, results), "groups": _groups(out, summary),
             "outcomes": _outcomes(out, summary), "time": _times(out, results),
             "safety": _safety(out, results)}
    data = {**summary, "packages": {k: str(v) for k, v in policies.items()},
            "toasts": {k: [r.to_dict() for r in rs] for k, rs in results.items()}}
    (out / "results.json").write_text(json.dumps(data, indent=1) + "\n")
    (out / "report.md").write_text(markdown(summary, policies, plots))
    return out / "report.md"


def markdown(summary, policies, plots):
    s = summary["suite"]
    names = list(summary["policies"])
    lines = ["# Closed-loop evaluation", "",
             "Suite v%d (seed %d, model_training/suite.py): %d toasts in sessions of 1-4 "
             "batches on one toaster; the real firmware on MicroPython, lockstep virtual time "
             "(host/closed_loop.py). Browning is the simulator's true DE %g s after the "
             "carriage came up; the band is target +-%g DE; burnt is DE >= %g."
             % (s["version"], s["seed"], s["toasts"], closed_loop.SETTLE_S,
                targets.TOLERANCE_DE, targets.BURNT_DE), ""]
    for name in names:
        lines.append("- %s: `%s`" % (name, policies[name]))
    refused = [(n, p["refused"]) for n, p in summary["policies"].items() if p["refused"]]
    for name, why in refused:
        lines += ["", "**%s REFUSED**: %s. Its figures below are not the model's." % (name, why)]
    rows = (("browning MAE (DE)", "browning_mae"), ("bias (DE)", "browning_bias"),
            ("90 % of errors within (DE)", "browning_p90_abs"), ("in band", "in_band_rate"),
            ("underdone", "underdone_rate"), ("overdone", "overdone_rate"),
            ("burnt", "burnt_rate"), ("time to done (s, mean)", "time_to_done_s"),
            ("safety violations", "violations"),
            ("toasts with a guard intervention", "guard_interventions"),
            ("pushes the host made late (not on the scheduled tick)", "late_pushes"),
            ("highest chamber sensor with heater on (C)", "max_ntc_on_c"))
    lines += ["", "## Overall", "", "| | " + " | ".join(names) + " |",
              "|---|" + "---|" * len(names)]
    for label, key in rows:
        cells = [_cell(summary["policies"][n][key], key) for n in names]
        lines.append("| %s | %s |" % (label, " | ".join(cells)))
    lines.append("| stop reasons | %s |" % " | ".join(
        ", ".join("%s %d" % kv for kv in sorted(summary["policies"][n]["stop_reasons"].items()))
        for n in names))
    lines += ["", "![browning error](%s)" % plots["errors"].name,
              "![outcomes](%s)" % plots["outcomes"].name, "",
              "## By scenario group (browning MAE, DE; lowest in bold)", "",
              "| group | toasts | " + " | ".join(names) + " |",
              "|---|---|" + "---|" * len(names)]
    for group in suite.GROUPS:
        maes = [summary["policies"][n]["by_group"].get(group, {}).get("browning_mae")
                for n in names]
        if maes[0] is None:
            continue
        best = min(m for m in maes if m is not None)
        cells = [("**%.2f**" if m == best else "%.2f") % m for m in maes]
        count = summary["policies"][names[0]]["by_group"][group]["toasts"]
        lines.append("| %s | %d | %s |" % (group, count, " | ".join(cells)))
    lines += ["", "![by group](%s)" % plots["groups"].name, "",
              "## Time to done and safety", "",
              "![time to done](%s)" % plots["time"].name,
              "![safety](%s)" % plots["safety"].name, "",
              "Safety invariants, on the simulator's truth at every 250 ms thermal step "
              "(host/closed_loop_sim.py): the heater is never powered with the chamber "
              "sensor at or above the guard's %g C cutoff, never more than %g s into a "
              "toast, and the thermal fuse never opens." % (closed_loop.CUTOFF_C,
                                                           closed_loop.LIMIT_S), ""]
    return "\n".join(lines) + "\n"


def _cell(value, key):
    if value is None:
        return "-"
    if key.endswith("_rate"):
        return "%.1f %%" % (100 * value)
    return "%g" % value


def _figure(path, fig):
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def _errors(out, results):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    bins = np.arange(-32, 34, 1.0)
    for name, rs in results.items():
        ax.hist([r.error for r in rs], bins=bins, histtype="step", lw=2,
                color=COLOURS.get(name), label=name)
    ax.axvspan(-targets.TOLERANCE_DE, targets.TOLERANCE_DE, color="0.9", zorder=0,
               label="target band")
    ax.set(xlabel="final browning - target (DE)", ylabel="toasts",
           title="Browning error per policy")
    ax.legend()
    return _figure(out / "errors.png", fig)


def _groups(out, summary):
    """Bars per group; a second panel without the policies far behind (over 3 x the best
    overall MAE), so that the close ones can be told apart."""
    import matplotlib.pyplot as plt

    names = list(summary["policies"])
    overall = {n: summary["policies"][n]["browning_mae"] for n in names}
    close = [n for n in names if overall[n] <= 3 * min(overall.values())]
    groups = [g for g in suite.GROUPS if g in summary["policies"][names[0]]["by_group"]]
    panels = [names] + ([close] if len(close) < len(names) else [])
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 3.2 + 2.6 * len(panels)),
                             squeeze=False)
    x = np.arange(len(groups))
    for ax, shown in zip(axes[:, 0], panels):
        width = 0.8 / len(shown)
        for k, name in enumerate(shown):
            maes = [summary["policies"][name]["by_group"][g]["browning_mae"] for g in groups]
            ax.bar(x + k * width, maes, width, color=COLOURS.get(name), label=name)
        ax.set_xticks(x + width * (len(shown) - 1) / 2, groups, rotation=30, ha="right")
        ax.set(ylabel="browning MAE (DE)")
        ax.legend(fontsize=8)
    axes[0, 0].set_title("Browning error by scenario group (lower wins)")
    if len(panels) > 1:
        axes[1, 0].set_title("the same, %s only" % " and ".join(close))
    return _figure(out / "groups.png", fig)


def _outcomes(out, summary):
    import matplotlib.pyplot as plt

    names = list(summary["policies"])
    parts = (("in_band_rate", "in band", "#4daf4a"), ("underdone_rate", "underdone", "#fee08b"),
             ("overdone_rate", "overdone (not burnt)", "#fc8d59"), ("burnt_rate", "burnt", "#000"))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    left = np.zeros(len(names))
    for key, label, colour in parts:
        share = np.array([summary["policies"][n][key] for n in names]) * 100
        if key == "overdone_rate":   # burnt toasts are overdone too: count them once
            share -= np.array([summary["policies"][n]["burnt_rate"] for n in names]) * 100
        ax.barh(names, share, left=left, color=colour, label=label)
        left += share
    ax.set(xlabel="% of toasts", title="Outcomes")
    ax.legend(loc="lower right", fontsize=8)
    return _figure(out / "outcomes.png", fig)


def _times(out, results):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    names = list(results)
    width = 0.8 / len(names)
    for k, name in enumerate(names):
        data = [[r.duration_s for r in results[name] if r.level == lv and r.duration_s]
                or [0] for lv in targets.LEVELS]
        pos = np.array(list(targets.LEVELS)) + (k - (len(names) - 1) / 2) * width
        box = ax.boxplot(data, positions=pos, widths=width * 0.9, patch_artist=True,
                         showfliers=False)
        for patch in box["boxes"]:
            patch.set_facecolor(COLOURS.get(name))
        ax.plot([], [], color=COLOURS.get(name), lw=6, label=name)
    ax.set_xticks(list(targets.LEVELS), [str(lv) for lv in targets.LEVELS])
    ax.set(xlabel="level", ylabel="time to done (s)", title="Time to done per level")
    ax.legend()
    return _figure(out / "time.png", fig)


def _safety(out, results):
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, rs in results.items():
        a.hist([r.max_ntc_on_c for r in rs if r.max_ntc_on_c is not None],
               bins=np.arange(20, 262, 5), histtype="step", lw=2, color=COLOURS.get(name),
               label=name)
        b.hist([r.heater_on_s for r in rs], bins=np.arange(0, 372, 10), histtype="step",
               lw=2, color=COLOURS.get(name), label=name)
    a.axvline(closed_loop.CUTOFF_C, color="k", ls="--", label="guard cutoff")
    b.axvline(closed_loop.LIMIT_S, color="k", ls="--", label="time limit")
    a.set(xlabel="highest true chamber sensor temperature with heater on (C)", ylabel="toasts")
    b.set(xlabel="heater-on time in the toast (s)")
    a.legend(fontsize=8)
    b.legend(fontsize=8)
    fig.suptitle("Safety margins (simulator truth)")
    return _figure(out / "safety.png", fig)
