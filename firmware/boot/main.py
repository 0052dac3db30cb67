# /main.py on every device: the slot selector (firmware/boot/README.md). It picks the slot
# to boot, puts it first on sys.path and hands over to firmware.app.main(). It drives no
# pin (the heater enable has a hardware pull-down until the firmware drives it low) and
# writes no file. `import __main__; __main__.BOOTED` is (slot, reason) for the boot frame.
import json
import os
import sys

SLOTS = ("a", "b")
BOOTED = None


def pointer(name):
    """The slot a pointer file names, or None when it is missing or garbage."""
    try:
        with open(name, "rb") as f:
            slot = f.read(8).strip()
    except OSError:
        return None
    for name in SLOTS:
        if slot == name.encode():
            return name
    return None


def complete(slot):
    """True when the slot's manifest reads and every file it lists is there. Whoever
    writes a slot removes its manifest first and writes it last, after checking hashes."""
    try:
        with open(slot + "/manifest.json") as f:
            files = json.load(f)["files"]
        for rel in files:
            os.stat(slot + "/" + rel)
        return True
    except Exception:
        return False


def candidates():
    """(slot, reason) in the order to try them: the active slot, the one a switch was
    under way to, then any other."""
    seen = []
    for slot, reason in ((pointer("active"), "active"), (pointer("active.new"), "active.new"),
                         (SLOTS[0], "fallback"), (SLOTS[1], "fallback")):
        if slot is not None and slot not in seen:
            seen.append(slot)
            yield slot, reason


def load(slot):
    """Import firmware.app from a slot, or forget every trace of the slot and return None
    when it cannot (a missing file, a .mpy for another port, a syntax error)."""
    sys.path.insert(0, slot)
    try:
        from firmware import app
        return app
    except Exception as exc:
        sys.print_exception(exc)
        sys.path.remove(slot)
        for name in list(sys.modules):
            if name == "firmware" or name.startswith("firmware."):
                del sys.modules[name]
        return None


def boot():
    global BOOTED
    for slot, reason in candidates():
        if complete(slot):
            app = load(slot)
            if app is not None:
                BOOTED = (slot, reason)
                app.main()
                return
    print("boot: no bootable slot (firmware/boot/README.md); staying at the REPL")


boot()
