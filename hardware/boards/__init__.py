"""Pin maps of the boards the firmware runs on, and board.json: what a device image carries.

board.json = the board's pin map (hardware/boards/<board>.json) + the analog front end from
hardware/parts.json, reduced to what the firmware reads (format: hardware/boards/README.md).
host/image.py writes it into every slot; tests build it with compose().

    python -m hardware.boards esp32s3      # print the board.json of a board
"""

import json
import sys
from pathlib import Path

from hardware.simulator.analog import adc_counts, dial_nominal_counts, ref_mv

HERE = Path(__file__).resolve().parent
PARTS = HERE.parent / "parts.json"
BOARDS = tuple(sorted(p.stem for p in HERE.glob("*.json")))


def load(board):
    """The pin map of a board (hardware/boards/<board>.json)."""
    if board not in BOARDS:
        raise ValueError("unknown board %r (boards: %s)" % (board, ", ".join(BOARDS)))
    return json.loads((HERE / (board + ".json")).read_text())


def compose(board, parts=None):
    """board.json for a board, as a dict."""
    spec = load(board)
    if parts is None:
        parts = json.loads(PARTS.read_text())
    # The front end is the same on every board; the ADC may be the board's own (rp2).
    parts = dict(parts, adc=dict(parts["adc"], **spec.get("adc", {})))
    adc = parts["adc"]

    def counts(mv):
        return int(round(adc_counts(float(mv), adc)))

    ntc, divider = parts["ntc"], parts["ntc_divider"]
    config = {
        "board": spec["board"],
        "arch": spec["arch"],
        "ntc": {
            "r25_ohm": ntc["r25_ohm"], "b_k": ntc["b_k"], "t0_c": ntc["t0_c"],
            "supply_mv": divider["supply_mv"], "r_series_ohm": divider["r_series_ohm"],
            "r_parallel_ohm": divider["r_parallel_ohm"], "r_fixed_ohm": divider["r_fixed_ohm"],
            "transfer_mv_counts": adc["transfer_mv_counts"],
            "valid_counts": [counts(mv) for mv in adc["usable_mv"]],
        },
        "ref": {"counts": counts(ref_mv(parts)), "tolerance": spec["ref_tolerance_counts"]},
        "dial": {"counts": dial_nominal_counts(parts),
                 "tolerance": spec["dial_tolerance_counts"]},
    }
    for key in ("pins", "active_low", "i2c"):
        if key in spec:
            config[key] = spec[key]
    return config


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m hardware.boards BOARD   (boards: %s)" % ", ".join(BOARDS),
              file=sys.stderr)
        return 2
    try:
        print(json.dumps(compose(args[0]), indent=1))
    except ValueError as exc:
        print("hardware.boards: %s" % exc, file=sys.stderr)
        return 2
    return 0
