# Boot: heater off before anything else, then who we are (slot, version, reset cause),
# the self-tests, the policy, and the loop. /main.py (firmware/boot/main.py) calls main().
import binascii
import gc
import json
import os

from micropython import const

from firmware import boards, selftest
from firmware.flag import TOASTING

# Self-test failures that leave the toaster in the safe state for good.
_FATAL = ("manifest", "firmware", "outputs")
# Colour sensor: 24 x 2.4 ms = 57.6 ms of integration, a fresh reading every 100 ms tick.
_COLOUR_CYCLES = const(24)
_COLOUR_GAIN = const(16)
# The modules a model or baseline policy brings in and the fallback does without.
_MODEL_MODULES = ("firmware.model_policy", "firmware.baselines", "firmware.features",
                  "firmware.tflite")


def slot_dir():
    """The folder this firmware runs from: the one holding firmware/ and board.json."""
    import firmware
    parts = firmware.__file__.rsplit("/", 2)
    return parts[0] if len(parts) == 3 else "."


def main():
    slot = slot_dir()
    try:
        with open(slot + "/board.json") as f:
            config = json.load(f)
    except (OSError, ValueError) as exc:
        # Nothing is driven without a pin map; the heater enable has a hardware pull-down.
        raise SystemExit("firmware: cannot read %s/board.json: %s" % (slot, exc))
    board = boards.load(config)  # drives the heater enable low first
    try:
        try:
            loop = boot(slot, config, board)
        except Exception as exc:
            _boot_failed(exc)
            raise
        config = None  # boot has taken what it needs: the heap is the loop's now
        gc.collect()
        loop.run()
    finally:
        try:
            board.safe()
        except Exception:
            pass


def _boot_failed(exc):
    """The loop could not be built (a damaged module, say): the heater stays off and the host
    still learns why, in an F frame of its own."""
    import sys
    try:
        from firmware import protocol
        out = getattr(sys.stdout, "buffer", sys.stdout)
        out.write(protocol.encode("F", 0, 0, "-", (0, "boot", type(exc).__name__)))
    except Exception:
        pass  # the protocol module itself may be what is damaged


def boot(slot, config, board):
    cause = board.reset_cause()
    flag = board.flag()
    failures = []
    from firmware.tcs34725 import TCS34725
    colour = TCS34725(board.i2c)
    try:
        colour.setup(_COLOUR_CYCLES, _COLOUR_GAIN)
    except (OSError, ValueError):
        failures.append("colour")
        colour = None
    # The model first, into a heap that holds next to nothing yet: loading it takes the
    # largest blocks the firmware ever needs. Loading is not using: model_policy checks
    # model.tflite against model.json, the file check below both against the manifest,
    # and a model that fails it is dropped before the first toast.
    gc.collect()
    model, problem = _model(slot, failures, cause, flag)
    start = (slot, config, board, cause, flag, colour)
    try:
        return _checked(*start, failures[:], model, problem)
    except MemoryError:
        if model is None:
            raise
        # The toaster comes first: without the model the firmware fits.
        model = None
        _forget_model()
        return _checked(*start, failures + ["model"], None, "memory")


def _checked(slot, config, board, cause, flag, colour, failures, model, problem):
    """The file and output self-tests, then the loop (a model that fails them is dropped)."""
    gc.collect()
    version, found = selftest.files(slot)
    failures += [f for f in found + selftest.outputs(board) if f not in failures]
    if model is not None and "model" in found:
        model, problem = None, "selftest"
    return _loop(slot, config, board, cause, flag, version, failures, colour, model, problem)


def _loop(slot, config, board, cause, flag, version, failures, colour, model, problem):
    """The loop, built; the boot frame and the boot faults sent."""
    from firmware import protocol
    from firmware.commands import Commands
    from firmware.console import Console
    from firmware.guard import Guard
    from firmware.loop import Loop
    from firmware.policy import Fallback
    from firmware.telemetry import Telemetry
    from firmware.thermistor import Thermistor
    gc.collect()

    telemetry = Telemetry(Console(), getattr(model, "id", "-") if model is not None else "-")
    ntc = Thermistor.from_config(config["ntc"])
    guard = Guard(ntc, config["ref"]["counts"], config["ref"]["tolerance"])
    boot_id = binascii.hexlify(os.urandom(4)).decode()
    loop = Loop(board, ntc, guard, Fallback(), model, colour, telemetry, Commands(boot_id),
                (config["dial"]["counts"], config["dial"]["tolerance"]), version)
    loop.sense()
    telemetry.send("B", board.ticks_ms(), (
        protocol.VERSION, version, slot.rsplit("/", 1)[-1], board.name, cause, boot_id,
        model.name if model is not None else "fallback", "+".join(failures) or "ok"))
    if problem is not None:
        telemetry.send("F", board.ticks_ms(), (0, "model", problem))
    fatal = [f for f in failures if f in _FATAL]
    loop.boot(flag, cause, "selftest" if fatal else None)
    return loop


def _model(slot, failures, cause, flag):
    """(policy, problem): the model policy of the slot's model/ folder, or None with the
    reason the fallback toasts instead (None when the slot simply has no model)."""
    folder = slot + "/model"
    if not _exists(folder + "/model.json"):
        return None, None
    if "colour" in failures:
        return None, "selftest"
    if flag & TOASTING or cause == "WDT":
        # The last toast ended in a reset: the model may be what hung. Fallback until
        # the next clean boot.
        failures.append("model_off")
        return None, "after_reset"
    try:
        if not _exists(folder + "/model.tflite"):
            # A baseline policy package (model.json alone): no interpreter imported.
            from firmware import baselines
            return baselines.load(folder), None
        from firmware import model_policy
        gc.collect()  # the import's garbage out of the way of the loader's big blocks
        return model_policy.load(folder), None
    except Exception as exc:
        failures.append("model")
        _forget_model()
        return None, "load_" + type(exc).__name__


def _forget_model():
    """Unimport what only the model uses, so that the fallback gets its heap back."""
    import sys
    import firmware
    for name in list(sys.modules):
        for dropped in _MODEL_MODULES:
            if name == dropped or name.startswith(dropped + "."):
                del sys.modules[name]
    for dropped in _MODEL_MODULES:
        name = dropped.split(".")[1]
        if hasattr(firmware, name):
            delattr(firmware, name)
    gc.collect()


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False
