"""The model card of a package: card.json (every figure) and card.md (the same for people,
with PNG plots beside it). Built at training time from the evaluation; `toaster model
card` re-renders it, and with --logs adds an evaluation on logs the model never saw."""

import json
from pathlib import Path

from model_training import targets

CARD_JSON = "card.json"
CARD_MD = "card.md"


def build(meta, evaluation, history, times):
    return {"id": meta["id"], "name": meta["name"], "created": meta["created"],
            "consecutive": meta["decision"].get("consecutive", 1),
            "sha256": meta["sha256"], "features": meta["features"]["inputs"],
            "window": meta["features"].get("window"), "metrics": meta["metrics"],
            "size": meta["size"], "provenance": meta["provenance"], "evaluation": evaluation,
            "history": [list(h) for h in history], "times_s": times}


def write(folder, card):
    folder = Path(folder)
    (folder / CARD_JSON).write_text(json.dumps(card, indent=1) + "\n")
    plots = plot(folder, card)
    (folder / CARD_MD).write_text(markdown(card, plots))


def read(folder):
    path = Path(folder) / CARD_JSON
    if not path.is_file():
        return None
    return json.loads(path.read_text())


# -- figures ------------------------------------------------------------------------------


def _main_eval(card):
    ev = card["evaluation"]
    for key, title in (("held_out", "held-out runs"), ("leave_one_run_out",
                                                          "leave-one-run-out"),
                       ("logs", "logs")):
        if key in ev:
            return key, title, ev[key]
    return None, None, None


def plot(folder, card, prefix=""):
    """PNG plots into folder; returns {name: file name}."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {}
    key, title, ev = _main_eval(card) if not prefix else ("logs", "logs", card)
    if ev:
        rows = [r for r in ev["runs"] if "error_s" in r]
        if rows:
            fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
            ideal = [r["ideal_stop_s"] for r in rows]
            a.scatter(ideal, [r["model_stop_s"] for r in rows], s=12, label="model")
            if any("timer_stop_s" in r and r["timer_stop_s"] is not None for r in rows):
                a.scatter(ideal, [r["timer_stop_s"] for r in rows], s=12, marker="x",
                          label="fixed timer")
            lo, hi = min(ideal), max(ideal)
            a.plot([lo, hi], [lo, hi], "k--", lw=1, label="ideal")
            a.set_xlabel("ideal stop (s)")
            a.set_ylabel("stop (s)")
            a.set_title("Stop time, %s" % title)
            a.legend()
            err = [r["error_s"] for r in rows]
            t_err = [r["timer_error_s"] for r in rows if "timer_error_s" in r]
            bins = 30 if len(rows) > 60 else 12
            b.hist(err, bins=bins, alpha=0.7, label="model")
            if t_err:
                b.hist(t_err, bins=bins, alpha=0.5, label="fixed timer")
            b.axvline(0, color="k", lw=1)
            b.set_xlabel("stop - ideal stop (s): < 0 early, > 0 late")
            b.set_ylabel("runs")
            b.set_title("Stop time error")
            b.legend()
            fig.tight_layout()
            out["stops"] = prefix + "stops.png"
            fig.savefig(Path(folder) / out["stops"], dpi=90)
            plt.close(fig)
        de_rows = [r for r in rows if "delta_e" in r]
        if de_rows:
            fig, ax = plt.subplots(figsize=(7, 4))
            for level in targets.LEVELS:
                low, high = targets.band(level)
                ax.fill_between([level - 0.4, level + 0.4], low, high, color="g", alpha=0.15)
            ax.scatter([r["level"] - 0.1 for r in de_rows], [r["delta_e"] for r in de_rows],
                       s=8, label="model")
            timed = [r for r in de_rows if "timer_de_error" in r]
            ax.scatter([r["level"] + 0.1 for r in timed],
                       [targets.target(r["level"]) + r["timer_de_error"] for r in timed],
                       s=8, marker="x", label="timer per level")
            ax.axhline(targets.BURNT_DE, color="r", lw=1, label="burnt")
            ax.set_xlabel("browning level")
            ax.set_ylabel("final DE")
            ax.set_title("Final browning vs the level's target band (green)")
            ax.legend()
            fig.tight_layout()
            out["browning"] = prefix + "browning.png"
            fig.savefig(Path(folder) / out["browning"], dpi=90)
            plt.close(fig)
    hist = card.get("history")
    if hist and not prefix:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot([h[0] for h in hist], label="training loss")
        ax.plot([h[1] for h in hist], label="early-stopping runs loss")
        ax.set_xlabel("epoch")
        ax.set_ylabel("log loss")
        ax.legend()
        fig.tight_layout()
        out["training"] = "training.png"
        fig.savefig(Path(folder) / out["training"], dpi=90)
        plt.close(fig)
    return out


# -- Markdown -----------------------------------------------------------------------------


def _fmt(v, unit=""):
    if v is None:
        return "-"
    if isinstance(v, float):
        return ("%.2f" % v) + unit
    return str(v) + unit


def comparison(summary):
    """Markdown lines: model vs fixed timer."""
    lines = ["| | model | fixed timer |", "|---|---|---|"]
    pairs = [("stop time MAE", "stop_time_mae_s", "timer_stop_time_mae_s", " s"),
             ("stop time bias (+ late)", "stop_time_bias_s", "timer_stop_time_bias_s", " s"),
             ("final DE MAE", "de_mae", "timer_de_mae", ""),
             ("in the level's band (+-3 DE)", "in_band", "timer_in_band", "")]
    for label, a, b, unit in pairs:
        if a in summary:
            lines.append("| %s | %s | %s |" % (label, _fmt(summary.get(a), unit),
                                              _fmt(summary.get(b), unit)))
    return lines


def verdict(summary):
    if "timer_stop_time_mae_s" not in summary:
        return ""
    gain = summary["improvement_s"]
    pct = summary["improvement_pct"]
    if gain > 0:
        return ("The model stops %.2f s closer to the ideal stop than the fixed timer on "
                "average (%.0f %% less error)." % (gain, pct))
    return ("The model does NOT beat the fixed timer: it misses by %.2f s more on average."
            % -gain)


def markdown(card, plots):
    m, size, prov = card["metrics"], card["size"], card["provenance"]
    ver = m.get("verification", {})
    key, title, ev = _main_eval(card)
    lines = ["# Model card: %s (%s)" % (card["name"], card["id"]), "",
             "Created %s from %s data (%d runs, data set SHA-256 `%s...`), code %s, seed %s."
             % (card["created"], prov["data"]["source"], prov["runs"],
                prov["dataset_sha256"][:16], prov["code_version"], prov["training_seed"]), "",
             "What it does: every control tick it answers whether toasting should continue; "
             "the toast stops after %s \"no\" in a row. Inputs (firmware/features.py, window "
             "%s ticks): %s." % (card.get("consecutive", 1), card["window"], ", ".join(
                 i["kind"] + ("(" + i["channel"] + ")" if "channel" in i else "")
                 for i in card["features"])), ""]
    if ev:
        s = ev["summary"]
        lines += ["## Stop time on %s" % title, "",
                  "Each run decided by a float model trained on all the other runs (the "
                  "shipped int8 model learned from all of them)." if key == "leave_one_run_out"
                  else "The int8 model as shipped, in TFLM, on runs it never saw.", "",
                  "Ideal stop: %s. Fixed timer: %s, trained on the same runs." % (
                      "the burnt onset labelled in the log" if prov["data"]["source"] == "logs"
                      else "the simulated DE (plus carry-over after pop-up) reaches the "
                           "level's target",
                      "the mean ideal stop" if prov["data"]["source"] == "logs"
                      else "the mean ideal stop per level"), ""]
        lines += comparison(s) + ["", verdict(s), ""]
        lines += ["%d runs; %d never stopped by the model (they end at their last tick). "
                  "Tick accuracy %.2f %%; confusion (ticks) [[continue->continue, "
                  "continue->stop], [stop->continue, stop->stop]] = %s." % (
                      s["runs"], s["never_stopped"], 100 * s["tick_accuracy"],
                      s["confusion"]), ""]
        if "stops" in plots:
            lines += ["![stop times](%s)" % plots["stops"], ""]
        if "browning" in plots:
            lines += ["![browning](%s)" % plots["browning"], ""]
        groups = ev.get("by_group", {})
        if groups:
            de = "de_mae" in s
            lines += ["### By group", "", "| group | runs | stop MAE (s) | timer MAE (s) |"
                      + (" DE MAE | in band |" if de else ""),
                      "|---|---|---|---|" + ("---|---|" if de else "")]
            for g, gs in groups.items():
                row = "| %s | %d | %s | %s |" % (g or "-", gs["runs"],
                                                 _fmt(gs.get("stop_time_mae_s")),
                                                 _fmt(gs.get("timer_stop_time_mae_s")))
                if de:
                    row += " %s | %s |" % (_fmt(gs.get("de_mae")), _fmt(gs.get("in_band")))
                lines.append(row)
            lines.append("")
        if len(ev["runs"]) <= 60:
            lines += ["### Per run", "", "| run | ideal (s) | model (s) | timer (s) |",
                      "|---|---|---|---|"]
            for r in ev["runs"]:
                lines.append("| %s | %s | %s%s | %s |" % (
                    r["run"], _fmt(r["ideal_stop_s"]), _fmt(r["model_stop_s"]),
                    "" if r["stopped"] else " (never stopped)", _fmt(r.get("timer_stop_s"))))
            lines.append("")
    if "held_out" in card["evaluation"] and "leave_one_run_out" in card["evaluation"]:
        s = card["evaluation"]["leave_one_run_out"]["summary"]
        lines += ["## Leave-one-run-out", ""] + comparison(s) + [""]
    lines += ["## Export and verification", "",
              "int8 (ai-edge-quantizer static recipe, int8 input and output). On %s "
              "held-out ticks the int8 model (inputs from firmware/features.py, run in TFLM) "
              "decides as the float model on %.2f %% (required: %.0f %%). LiteRT: same "
              "decision on %.2f %%, outputs within %d steps of TFLM. Firmware interpreter: "
              "%s on %s inputs." % (
                  ver.get("held_out_ticks"), 100 * ver.get("decision_agreement", 0),
                  100 * ver.get("min_decision_agreement", 0),
                  100 * ver.get("litert_decision_agreement", 0),
                  ver.get("litert_max_diff_steps", -1),
                  "bit-exact with TFLM" if ver.get("firmware_bit_exact") else "not checked",
                  ver.get("firmware_checked_inputs", "-")), "",
              "## Size and speed", "",
              "| | |", "|---|---|",
              "| model.tflite | %s bytes |" % size["tflite_bytes"],
              "| parameters | %s |" % size["parameters"],
              "| MACs per decision | %s |" % size["macs"],
              "| arena (firmware interpreter) | %s bytes |" % _fmt(size["arena_bytes"]),
              "| arena (TFLM) | %s bytes |" % _fmt(size["tflm_arena_bytes"]),
              "| inference (%s) | %s us |" % (size["inference_measured_on"],
                                              _fmt(size["inference_us"])),
              "| decide() in the firmware's model policy (features, int8 input, invoke, "
              "decision) | %s us |" % _fmt(size.get("decide_us")),
              "| training | %s s, %s epochs |" % (m.get("training_seconds"), m.get("epochs")),
              ""]
    if "training" in plots:
        lines += ["![training](%s)" % plots["training"], ""]
    lines += ["## Limits", "",
              "- Figures come from the data named above; a toaster, bread or sensor outside "
              "it is outside what was measured.",
              "- The model can only stop a toast early: the firmware's guard bounds every "
              "toast whatever the model says, and any model fault hands the toast to the "
              "fallback timer.", ""]
    if prov["data"]["source"] == "logs":
        lines.insert(-1, "- %d real runs are few: the leave-one-run-out figures carry an "
                         "uncertainty of a second or more." % prov["runs"])
    return "\n".join(lines)


def logs_report(result):
    """Markdown for `toaster model card --logs`: per run and overall, beside the timer."""
    s = result["summary"]
    lines = ["# %s on %s" % (result["model"], result["folder"]), ""] + comparison(s) + \
        ["", verdict(s), ""]
    lines += ["| run | ideal (s) | model (s) | timer (s) |", "|---|---|---|---|"]
    for r in result["runs"]:
        lines.append("| %s | %s | %s%s | %s |" % (
            r["run"], _fmt(r["ideal_stop_s"]), _fmt(r["model_stop_s"]),
            "" if r["stopped"] else " (never stopped)", _fmt(r.get("timer_stop_s"))))
    return "\n".join(lines) + "\n"
