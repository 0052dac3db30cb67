"""`toaster`: the command line. Each command lives in its own module under host/commands/."""

import argparse
import importlib
import sys

from host.errors import ToasterError

# "command" or "group command" -> module. A module provides HELP, add_arguments(parser) and
# run(args), which returns an exit status (None for 0). Command modules import their heavy
# dependencies inside run(), so that `toaster --help` stays fast.
COMMANDS = {
    "devices": "host.commands.devices",
    "sim run": "host.commands.sim_run",
    "flash": "host.commands.flash",
    "virtual-device": "host.commands.virtual_device",
    "telemetry record": "host.commands.telemetry_record",
    "telemetry report": "host.commands.telemetry_report",
    "telemetry export": "host.commands.telemetry_export",
    "model check": "host.commands.model_check",
    "train": "host.commands.train",
    "evaluate": "host.commands.evaluate",
    "export": "host.commands.export",
    "model card": "host.commands.model_card",
    "dataset from-telemetry": "host.commands.dataset",
    "study household": "host.commands.study",
    "demo": "host.commands.demo",
}

# One line of help per command group.
GROUPS = {
    "sim": "the simulated toaster on its own (no firmware)",
    "telemetry": "record, summarise and export the toaster's serial telemetry",
    "dataset": "training data sets made from the toaster's own telemetry",
    "study": "simulated studies on the virtual toaster (the household learning its toaster)",
    "model": "model files and packages: check a .tflite against the firmware's interpreter, show a model card",
}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="toaster",
        description="Smart toaster tools: simulator, virtual device, flashing, telemetry, models.",
    )
    groups = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    group_parsers = {}
    for path, module_name in COMMANDS.items():
        words = path.split()
        module = importlib.import_module(module_name)
        if len(words) == 1:
            sub = groups.add_parser(words[0], help=module.HELP, description=module.HELP)
        else:
            group, name = words
            if group not in group_parsers:
                gp = groups.add_parser(group, help=GROUPS.get(group, ""),
                                       description=GROUPS.get(group, ""))
                group_parsers[group] = gp.add_subparsers(dest="subcommand", metavar="SUBCOMMAND",
                                                         required=True)
            sub = group_parsers[group].add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status = args._run(args)
    except ToasterError as exc:
        print("toaster: %s" % exc, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("toaster: interrupted", file=sys.stderr)
        return 130
    return status or 0


if __name__ == "__main__":
    sys.exit(main())
