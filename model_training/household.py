"""A simulated household learning its toaster (model_training/FEEDBACK.md, "The study").

Users share one toaster and one model. Each has a habitual browning level and a true
preferred browning that differs from the factory target of that level (darker or
lighter, plus noise from toast to toast); they press a feedback button only sometimes,
more often when unhappy. Each round: the current package is flashed onto the virtual
device (the real firmware on MicroPython, the simulator behind it), the users toast,
the host recorder records the serial telemetry over the pty, a new package is trained
from that telemetry with the current one as its base, and the next round runs on it.
"""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from model_training import targets
from model_training.errors import DataError

# A user says "right" within the target band's tolerance of what they want.
TOLERANCE_DE = targets.TOLERANCE_DE
NOISE_DE = 1.5                         # a user's preference from one toast to the next
FEEDBACK_P = {True: 0.3, False: 0.8}   # chance of pressing a button: happy, unhappy
OFFSET_DE = (4.0, 8.0)                 # how far a user's taste is from the factory's
LEVELS = (2, 3, 4, 5, 6)               # habitual levels (room for a shift both ways)
# Between one toast and the next (carriage up to lever down): one user's breakfast, then
# the next one's. The chamber takes about 30 min to cool from a toast to near room
# temperature; back to back, toasts start ever hotter, which the factory data hold little of.
GAP_S = (1200.0, 2400.0)


@dataclass
class User:
    name: str
    level: int
    offset_de: float       # preferred browning minus the factory target of the level

    @property
    def preferred_de(self):
        return targets.target(self.level) + self.offset_de

    def rate(self, de, rng):
        """(rating the toast deserves, whether the user presses it) for a final DE."""
        want = self.preferred_de + rng.normal(0.0, NOISE_DE)
        rating = ("light" if de < want - TOLERANCE_DE else
                  "dark" if de > want + TOLERANCE_DE else "right")
        return rating, bool(rng.random() < FEEDBACK_P[rating == "right"])


def household(n, seed=0):
    """n users: distinct habitual levels while there are levels left, tastes alternately
    darker and lighter than the factory's, by OFFSET_DE."""
    rng = np.random.default_rng(seed)
    levels = list(rng.permutation(LEVELS))
    users = []
    for i in range(n):
        level = int(levels[i % len(levels)])
        sign = 1 if i % 2 == 0 else -1
        users.append(User("user%d" % (i + 1), level,
                          round(sign * float(rng.uniform(*OFFSET_DE)), 1)))
    return users


def toast_round(package, users, toasts_each, folder, rng, progress=None, gap_s=GAP_S):
    """Every user toasts toasts_each slices (in turns) on the virtual device running
    `package`, flashed over its serial port and recorded from it by the host recorder
    into folder. Returns one row per toast."""
    from host import demo, flash
    from host.virtual_device import VirtualDevice

    from hardware.simulator.scenario import Scenario
    from host import closed_loop

    rows = []
    with closed_loop.watch(VirtualDevice(console="pty"), Scenario()) as device:
        flash.flash(device.port, "sim", model=package, say=lambda line: None)
        recording = demo.Recording(device.port, Path(folder))
        try:
            device.control("RESET HARD")   # the recording starts with the boot frame
            recording.wait_boot()
            demo.wait_for_loop(device)
            for _ in range(toasts_each):
                for user in users:
                    row, up_ms = toast(device, recording, user, rng)
                    if rows and row["file"] == rows[-1]["file"]:
                        raise DataError("the toaster did not start %s's toast (see %s)"
                                        % (user.name, folder))
                    rows.append(row)
                    # The next user comes later: the toaster cools in between.
                    demo.wait_until(device, up_ms + 1000 * rng.uniform(*gap_s))
                    if progress:
                        progress(1)
        finally:
            recording.stop()
    return rows


def toast(device, recording, user, rng):
    """One slice at the user's level, rated as the user sees it: (row, carriage-up ms)."""
    from host import closed_loop, demo
    from host.telemetry import summary

    seen = len(device.truth()["watch"])
    device.control("LOAD start=room")
    # The user pushes the lever a moment after putting the slice in.
    demo.wait_until(device, int(device.control("TIME")) + closed_loop.LATE_PUSH_MS)
    up_ms = demo.push_lever(device, user.level)
    # The popped-up slice still browns a little: its colour once settled.
    demo.wait_until(device, up_ms + closed_loop.SETTLE_S * 1000)
    truth = device.truth()
    de = float(truth["delta_e"])
    rating, pressed = user.rate(de, rng)
    if pressed:
        device.control("PRESS fb_%s" % rating)
    # The rating's frame comes a tick after the press: the recording must reach past it.
    s = summary.summarise(recording.toast(int(device.control("TIME")) + 1000))
    return {"user": user.name, "level": user.level, "de": round(de, 2),
            "preferred_de": user.preferred_de, "error_de": round(de - user.preferred_de, 2),
            "deserved": rating, "pressed": pressed, "recorded_rating": s["rating"],
            "model": s["model"], "policy": s["policy"], "stop_reason": s["stop_reason"],
            "duration_s": s["duration_s"], "faults": s["faults"],
            "guard_ticks": s["guard_ticks"], "file": s["file"],
            "violations": violations(truth, seen)}, up_ms


def violations(truth, seen):
    """Guardrail violations of the toast whose watch records start at `seen`: heater on
    at the cutoff or past the time limit (host/closed_loop.py's checks of the simulator's
    truth), the thermal fuse open. The study requires none."""
    from host import closed_loop

    out = closed_loop.check(truth["watch"][seen:])[0]
    if truth.get("fuse_open"):
        out.append("the thermal fuse opened")
    return out


def round_summary(rows):
    """Share of "just right" among the ratings given, share of toasts the users were
    happy with (rated or not), browning error against each user's preference."""
    err = np.array([r["error_de"] for r in rows])
    given = [r["recorded_rating"] for r in rows if r["recorded_rating"]]
    return {"toasts": len(rows), "rated": len(given),
            "right_share": round(given.count("right") / len(given), 3) if given else None,
            "happy_share": round(float(np.mean([r["deserved"] == "right" for r in rows])), 3),
            "de_mae": round(float(np.mean(np.abs(err))), 2),
            "de_bias": round(float(np.mean(err)), 2),
            "model_decided": sum(1 for r in rows if r["policy"] not in (None, "fallback")),
            "guard_interventions": sum(1 for r in rows if r["guard_ticks"]
                                       or r["stop_reason"] == "time_limit"),
            "burnt": sum(1 for r in rows if r["de"] >= targets.BURNT_DE),
            "violations": sum(1 for r in rows if r["violations"])}


def study(out, users, rounds, toasts_each, base, seed=0, unrated="weak", say=print,
          progress_factory=None, gap_s=GAP_S):
    """The whole study; base: the factory package of round 1. Writes out/study.json,
    returns its dict (per round: model, targets, summary)."""
    from model_training import package, pipeline

    out = Path(out)
    rng = np.random.default_rng(seed)
    current = Path(base)
    result = {"users": [asdict(u) for u in users], "toasts_each": toasts_each,
              "unrated": unrated, "seed": seed, "rounds": []}
    for k in range(1, rounds + 1):
        meta = package.read(current)[1]
        folder = out / ("round%d" % k) / "telemetry"
        bar = progress_factory(len(users) * toasts_each, "round %d" % k) \
            if progress_factory else None
        rows = toast_round(current, users, toasts_each, folder, rng,
                           progress=bar.update if bar else None, gap_s=gap_s)
        if bar:
            bar.close()
        summary = round_summary(rows)
        result["rounds"].append({"round": k, "model": meta["id"], "package": str(current),
                                 "levels": {u.level: meta["levels"][str(u.level)]["target_de"]
                                            for u in users},
                                 "summary": summary, "toasts": rows})
        say(line(k, meta["id"], summary))
        result["improvement"] = improvement(result["rounds"])
        (out / "study.json").write_text(json.dumps(result, indent=1))
        if k < rounds:
            nxt = out / ("round%d" % k) / "model"
            pipeline.train_package(nxt, pipeline.Source("telemetry", path=str(folder),
                                                        base=str(current), unrated=unrated),
                                   seed=seed, quiet=True)
            current = nxt
    return result


def line(k, model, s):
    return ("round %d  model %s (decided %d)  toasts %d rated %d  just right %s  "
            "happy %.0f %%  DE error %.2f (bias %+.2f)  burnt %d  guard %d  violations %d"
            % (k, model, s["model_decided"], s["toasts"], s["rated"],
               "-" if s["right_share"] is None else "%.0f %%" % (100 * s["right_share"]),
               100 * s["happy_share"], s["de_mae"], s["de_bias"], s["burnt"],
               s["guard_interventions"], s["violations"]))


def improvement(rounds):
    """First round against the last: change of each headline figure."""
    a, b = rounds[0]["summary"], rounds[-1]["summary"]
    return {"de_mae": round(b["de_mae"] - a["de_mae"], 2),
            "happy_share": round(b["happy_share"] - a["happy_share"], 3),
            "right_share": (round(b["right_share"] - a["right_share"], 3)
                            if a["right_share"] is not None and b["right_share"] is not None
                            else None),
            "violations": sum(r["summary"]["violations"] for r in rounds)}


def plot(result, path):
    """Per round: browning error and the shares of happy toasts and "just right"."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    rounds = [r["round"] for r in result["rounds"]]
    s = [r["summary"] for r in result["rounds"]]
    fig, (ax_de, ax_share) = plt.subplots(1, 2, figsize=(9, 3.2))
    ax_de.plot(rounds, [x["de_mae"] for x in s], marker="o", label="mean |DE error|")
    ax_de.plot(rounds, [x["de_bias"] for x in s], marker=".", linestyle=":", label="bias")
    ax_de.axhline(0, color="grey", linewidth=0.8)
    ax_de.set_ylabel("browning vs preference, DE")
    ax_share.plot(rounds, [100 * x["happy_share"] for x in s], marker="o",
                  label="toasts the users liked")
    ax_share.plot(rounds, [100 * (x["right_share"] or 0) for x in s], marker="s",
                  label='"just right" of the ratings')
    ax_share.set_ylim(0, 100)
    ax_share.set_ylabel("%")
    for ax in (ax_de, ax_share):
        ax.set_xlabel("round")
        ax.set_xticks(rounds)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("household of %d, %d toasts each per round, unrated sessions: %s"
                 % (len(result["users"]), result["toasts_each"], result["unrated"]),
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
