"""toaster sim run: toast one slice in the simulator alone."""

import json

from host.errors import ToasterError

HELP = "toast one slice in the simulator (no firmware): fixed time or until a browning target"


def add_arguments(parser):
    from hardware.simulator.options import add_scenario_arguments

    stop = parser.add_mutually_exclusive_group()
    stop.add_argument("--heat-seconds", type=float, metavar="S", help="heat for S seconds")
    stop.add_argument("--until-delta-e", type=float, metavar="DE",
                      help="heat until the true browning reaches DE (default: the level's target)")
    parser.add_argument("--max-seconds", type=float, default=600.0, metavar="S",
                        help="give up heating after S seconds (default 600)")
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")
    parser.add_argument("--plot", metavar="FILE.png", help="draw the run: heater, temperatures, browning, sensors")
    add_scenario_arguments(parser)


def run(args):
    from hardware.simulator.options import scenario_from_args
    from hardware.simulator.scenario import level_delta_e
    from hardware.simulator.toast import toast

    try:
        scenario = scenario_from_args(args)
    except ValueError as exc:
        raise ToasterError(str(exc), exit_code=2) from None
    if args.heat_seconds is not None and not 0 < args.heat_seconds <= 3600:
        raise ToasterError("--heat-seconds must be 0-3600", exit_code=2)
    if args.until_delta_e is not None and not 0 < args.until_delta_e < 52:
        raise ToasterError("--until-delta-e must be between 0 and 52 (burnt)", exit_code=2)
    target = None
    if args.heat_seconds is None:
        target = args.until_delta_e if args.until_delta_e is not None else level_delta_e(scenario.level)
    record = toast(scenario, heat_s=args.heat_seconds, until_delta_e=target, max_s=args.max_seconds)
    outcome = record.outcome()
    outcome["target_delta_e"] = target
    outcome["scenario"] = scenario.to_dict()
    outcome["events"] = [e for e in record.events if e["kind"] in ("fault", "fuse_open", "mcu_reset")]
    if args.plot:
        _plot(record, target, args.plot)
    if args.json:
        print(json.dumps(outcome))
    else:
        reached = outcome["time_to_target_s"]
        print("%s, %.0f mm, %s, %.0f W at %.0f V: heated %.1f s%s; final browning DE %.1f; "
              "peaks: surface %.0f C, element %.0f C, chamber sensor %.0f C"
              % (scenario.bread, scenario.thickness_mm, "batch %d" % scenario.batch if scenario.batch > 1 else "cold toaster",
                 scenario.heater_w, scenario.supply_v, outcome["heat_seconds"],
                 "" if target is None else (" (DE %.0f reached at %.1f s)" % (target, reached) if reached is not None
                                            else " (DE %.0f not reached)" % target),
                 outcome["delta_e"], outcome["peak_surface_c"], outcome["peak_element_c"], outcome["peak_ntc_c"]))
        if args.plot:
            print("plot: %s" % args.plot)
    return 0


def _plot(record, target, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from hardware import boards
    from firmware.thermistor import Thermistor
    from hardware.simulator.scenario import level_delta_e

    runs = record.runs
    t = runs.t_ms / 1000.0
    truth, samples = {k: v[0] for k, v in runs.truth.items()}, {k: v[0] for k, v in runs.samples.items()}
    ntc = Thermistor.from_config(boards.compose("esp32s3")["ntc"])
    reading = np.array([ntc.celsius(c) if ntc.fault(c) is None else np.nan for c in samples["ntc"]])

    fig, axes = plt.subplots(4, 1, sharex=True, figsize=(9, 10), height_ratios=[1, 3, 2, 2])
    ax = axes[0]
    ax.fill_between(t, 0, runs.heater[0], step="post", color="tab:red", alpha=0.6)
    ax.set_ylabel("heater on")
    ax.set_yticks([0, 1])
    ax.set_title("%s toast: %s" % (runs.scenarios[0].bread, ", ".join(
        "%s=%s" % kv for kv in runs.scenarios[0].to_dict().items() if kv[0] in ("start", "heater_w", "batch", "level"))))
    ax = axes[1]
    ax.plot(t, truth["surface_c"], label="bread surface", color="tab:brown")
    ax.plot(t, truth["core_c"], label="bread core", color="tab:orange")
    ax.plot(t, truth["chamber_c"], label="chamber (reflectors)", color="tab:gray")
    ax.plot(t, reading, label="NTC reading (firmware conversion)", color="tab:blue", lw=0.8)
    ax.plot(t, truth["housing_c"], label="housing (fuse)", color="tab:green")
    ax.axhline(250, color="tab:red", ls=":", lw=1, label="software cutoff 250 C")
    ax.set_ylabel("C")
    ax2 = ax.twinx()
    ax2.plot(t, truth["element_c"], color="tab:red", lw=0.8, alpha=0.5)
    ax2.set_ylabel("element C", color="tab:red")
    ax.legend(loc="upper left", fontsize=7)
    ax = axes[2]
    ax.plot(t, truth["delta_e"], color="tab:brown", label="browning DE (truth)")
    for level in range(1, 8):
        ax.axhspan(level_delta_e(level) - 3, level_delta_e(level) + 3, color="tab:orange", alpha=0.05 + 0.02 * level)
    ax.axhline(45, color="black", ls=":", lw=1, label="burnt (DE 45)")
    if target is not None:
        ax.axhline(target, color="tab:blue", ls="--", lw=1, label="target DE %.0f" % target)
    ax.set_ylabel("DE")
    ax.set_ylim(0, 55)
    ax.legend(loc="upper left", fontsize=7)
    ax = axes[3]
    for name, colour in (("clear", "black"), ("red", "tab:red"), ("green", "tab:green"), ("blue", "tab:blue")):
        ax.plot(t, samples[name], color=colour, lw=0.8, label="TCS34725 %s" % name)
    ax.set_ylabel("colour counts")
    ax.legend(loc="upper right", fontsize=7)
    ax3 = ax.twinx()
    ax3.plot(t, samples["ntc"], color="tab:purple", lw=0.6, alpha=0.6)
    ax3.set_ylabel("NTC raw counts", color="tab:purple")
    axes[-1].set_xlabel("time (s)")
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=110)
    except OSError as exc:
        raise ToasterError("cannot write %s: %s" % (path, exc.strerror or exc)) from None
    finally:
        plt.close(fig)
