"""`toaster flash`: the app image onto a device, switched in atomically.

The device layout and the rules for writing a slot are firmware/boot/README.md's; the
image is host/image.py's. In short: write the slot that does not boot (manifest first
removed, files whose SHA-256 already matches left alone), read every hash back, write the
manifest, switch `active` with a rename, restart, and read the boot frame to see which
slot and version came up. An interruption anywhere leaves a device that boots a complete
version.
"""

import contextlib
import json
from dataclasses import dataclass, field

from host import image
from host.errors import ToasterError
from host.link import DeviceError, DeviceFull, Link, LinkError, open_serial

# The number in the top bits of sys.implementation._mpy for each mpy-cross -march the
# boards use (py/persistentcode.h: MP_NATIVE_ARCH_*).
MPY_ARCH = {"x64": 2, "armv6m": 4, "xtensawin": 10}
LISTEN_S = 0.7       # an idle toaster sends a tick every 500 ms
BOOT_TIMEOUT_S = 20  # restart to boot frame, USB re-enumeration and self-test included


class FlashError(ToasterError):
    pass


def no_step(step, detail=None):
    """Checkpoint hook: flash() calls it between steps (tests interrupt a flash here)."""


@dataclass
class Plan:
    """What a flash will do to the device."""
    board: str
    version: str
    slot: str                    # the slot written
    booting: str | None          # the slot the device boots now, left as it is
    booting_version: str | None
    write: list = field(default_factory=list)     # slot-relative paths to copy
    same: list = field(default_factory=list)      # already there, same SHA-256
    remove: list = field(default_factory=list)    # in the slot, not in the image
    selector: bool = False       # /main.py missing or different
    need: int = 0                # bytes the new files take, in whole blocks
    free: int | None = None      # bytes free, counting what the slot gives back

    def lines(self, image_files, every_file=False):
        size = sum(len(image_files[rel]) for rel in self.write)
        out = ["flash %s image %s into slot %s (%d files: %d to copy, %.1f kB; %d unchanged)"
               % (self.board, self.version, self.slot, len(self.write) + len(self.same),
                  len(self.write), size / 1024, len(self.same))]
        out.append("  the device boots %s now; it stays intact until the switch"
                   % ("slot %s (version %s)" % (self.booting, self.booting_version)
                      if self.booting else "no complete slot"))
        if self.selector:
            out.append("  write /main.py (the slot selector)")
        if self.remove:
            out.append("  remove from slot %s: %s" % (self.slot, ", ".join(self.remove)))
        for rel in self.write if every_file else ():
            out.append("  copy %s/%s (%d bytes)" % (self.slot, rel, len(image_files[rel])))
        if self.free is not None:
            out.append("  space: %.1f kB needed, %.1f kB available" % (self.need / 1024,
                                                                       self.free / 1024))
        out.append("  then: check every hash, write %s/manifest.json, switch active -> %s, "
                   "restart" % (self.slot, self.slot))
        return out


# -- the device as found -------------------------------------------------------------------

def _manifest(data):
    try:
        manifest = json.loads(data)
    except ValueError:
        return None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        return None
    return manifest


def _pointer(data):
    slot = data[:8].decode("ascii", "replace").strip() if data is not None else None
    return slot if slot in image.SLOTS else None


def survey(link):
    """What is on the device: slot files, manifests, pointers, and the slot that boots by
    the selector's rules (firmware/boot/main.py)."""
    state = {"files": {}, "manifests": {}}
    for slot in image.SLOTS:
        state["files"][slot] = link.files(slot)
        data = link.read_file(slot + "/manifest.json")
        state["manifests"][slot] = _manifest(data) if data is not None else None
    active, new = _pointer(link.read_file("active")), _pointer(link.read_file("active.new"))
    state["booting"] = None
    for slot in (active, new) + image.SLOTS:
        manifest = slot and state["manifests"][slot]
        if manifest and all(rel in state["files"][slot] for rel in manifest["files"]):
            state["booting"] = slot
            break
    return state


def guess_board(link, state):
    """The board of the app on the device, else the one its architecture fits."""
    for slot in (state["booting"],) + image.SLOTS:
        manifest = slot and state["manifests"][slot]
        if manifest and manifest.get("board") in image.boards.BOARDS:
            return manifest["board"]
    arch = link.implementation()["arch"]
    fits = [b for b in image.boards.BOARDS
            if MPY_ARCH.get(image.boards.load(b)["arch"]) == arch]
    if len(fits) == 1:
        return fits[0]
    raise FlashError("cannot tell which board is on %s: name it with --board (%s)"
                     % (link.port, "|".join(image.boards.BOARDS)))


def check_device(link, board):
    """Refuse a device that does not run MicroPython, or one of another architecture."""
    impl = link.implementation()
    if impl["name"] != "micropython":
        raise FlashError("%s runs %s, not MicroPython" % (link.port, impl["name"]))
    want = image.boards.load(board)["arch"]
    arch = impl["arch"]
    if arch is not None and MPY_ARCH.get(want) != arch:
        have = next((a for a, n in MPY_ARCH.items() if n == arch), "arch %d" % arch)
        raise FlashError("%s is %s (MicroPython %s, native code %s) but the %s image is "
                         "built for %s: is --board right?"
                         % (link.port, impl["machine"], impl["version"], have, board, want))


def make_plan(link, state, img, space=None):
    """The Plan for writing `img`; space is (free bytes, block size) or None (unknown)."""
    free, block = space or (None, 4096)
    slot = image.SLOTS[1] if state["booting"] == image.SLOTS[0] else image.SLOTS[0]
    booting = state["booting"]
    plan = Plan(board=img.board, version=img.version, slot=slot, booting=booting,
                booting_version=booting and state["manifests"][booting].get("version"))
    there = state["files"][slot]
    hashes = img.manifest["files"]
    for rel in sorted(img.files):
        if rel in there and link.hash_file(slot + "/" + rel) == hashes[rel]:
            plan.same.append(rel)
        else:
            plan.write.append(rel)
    plan.remove = sorted(rel for rel in there if rel not in img.files
                         and rel != "manifest.json")
    selector = image.SELECTOR.read_bytes()
    plan.selector = link.hash_file("main.py") != image.sha256(selector)

    def blocks(n):
        return -(-n // block) * block
    plan.need = sum(blocks(len(img.files[rel])) for rel in plan.write) \
        + blocks(len(img.manifest_bytes())) + (blocks(len(selector)) if plan.selector else 0)
    if free is not None:
        # Whatever the slot holds now is rewritten or removed, so it counts as free.
        plan.free = free + sum(blocks(size) for rel, size in there.items()
                               if rel not in plan.same)
    return plan


# -- writing -------------------------------------------------------------------------------

def _write_atomic(link, path, data, hook):
    link.write_file(path + ".new", data)
    hook("written", path + ".new")
    link.rename(path + ".new", path)  # replaces: littlefs does, MicroPython's FAT too


def write_slot(link, plan, img, hook=no_step, progress=None):
    """Steps 2-6 of firmware/boot/README.md: after this the slot is complete and checked.
    progress(total bytes) may return a bar (update(n), close()), e.g. a tqdm."""
    slot = plan.slot
    bar = progress(sum(len(img.files[rel]) for rel in plan.write)) if progress else None
    if plan.selector:
        _write_atomic(link, "main.py", image.SELECTOR.read_bytes(), hook)
    link.remove(slot + "/manifest.json")
    hook("manifest_removed")
    for rel in plan.remove:
        link.remove(slot + "/" + rel)
    for folder in sorted({rel.rsplit("/", 1)[0] for rel in plan.write if "/" in rel}):
        link.makedirs(slot + "/" + folder)
    link.makedirs(slot)
    for rel in plan.write:
        sent = [0]

        def chunk(done, total, rel=rel, sent=sent):
            hook("writing", rel)
            if bar is not None:
                bar.update(done - sent[0])
            sent[0] = done
        link.write_file(slot + "/" + rel, img.files[rel], progress=chunk)
        hook("written", rel)
    if bar is not None:
        bar.close()
    hashes = img.manifest["files"]
    for rel in sorted(hashes):
        got = link.hash_file(slot + "/" + rel)
        if got != hashes[rel]:
            raise FlashError("%s/%s reads back with %s SHA-256 than written: the device's "
                             "flash may be failing; slot %s was not switched to"
                             % (slot, rel, "no" if got is None else "another", slot))
    hook("verified")
    manifest = img.manifest_bytes()
    link.write_file(slot + "/manifest.json", manifest)
    if link.hash_file(slot + "/manifest.json") != image.sha256(manifest):
        raise FlashError("%s/manifest.json reads back differently; slot %s was not "
                         "switched to" % (slot, slot))
    hook("manifest_written")


def switch(link, slot, hook=no_step):
    """Step 6: active.new, then rename it over active."""
    link.write_file("active.new", slot.encode())
    hook("active_new_written")
    link.rename("active.new", "active")
    hook("switched")


def wait_boot(link):
    """The B frame of the boot after a restart, as a dict, or None after BOOT_TIMEOUT_S.
    The port may vanish and come back under the same name (a USB board re-enumerating)."""
    import time

    from host.telemetry.framing import listen
    end = time.monotonic() + BOOT_TIMEOUT_S
    ser = link.serial
    while time.monotonic() < end:
        try:
            heard = listen(ser, min(1.0, end - time.monotonic()),
                           until=lambda f: f["kind"] == "B")
        except (OSError, ValueError):  # the port went away: a USB board re-enumerating
            with contextlib.suppress(Exception):
                ser.close()
            ser = None
            heard = []
        boot = next((f for f in heard if f["kind"] == "B"), None)
        if boot is not None:
            return boot
        if ser is None or not ser.is_open:
            try:
                ser = open_serial(link.port, timeout=0.05)
                link.transport.serial = ser
            except LinkError:
                time.sleep(0.2)
    return None


# -- the whole job -------------------------------------------------------------------------

def check_model(folder):
    """Refuse a model package whose files or hash are wrong, or whose model the firmware's
    own interpreter cannot run bit-exactly with TFLM (host/model_check.py)."""
    files = image.model_files(folder)  # files there, SHA-256 as model.json says
    from host import model_check
    try:
        report = model_check.check(files["model/model.tflite"], runs=5)
    except Exception as exc:
        raise FlashError("%s: the reference interpreters cannot read model.tflite (%s): "
                         "not flashing it" % (folder, _first_line(exc))) from None
    if report["error"]:
        raise FlashError("%s: the firmware's interpreter cannot run model.tflite (%s): not "
                         "flashing it" % (folder, report["error"].splitlines()[0]))
    if report["tflm"]["error"]:
        raise FlashError("%s: TensorFlow Lite Micro cannot run model.tflite (%s): not "
                         "flashing it" % (folder, report["tflm"]["error"]))
    if not report["bit_exact"]:
        raise FlashError("%s: the firmware's interpreter differs from TFLM on model.tflite "
                         "(largest difference per output: %s): not flashing it"
                         % (folder, report["max_abs_diff"]))


def _first_line(exc):
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def flash(port, board=None, model=None, dry_run=False, say=print, hook=no_step,
          progress=None, version=None):
    """Flash the checkout's firmware (and a model package) onto the device at `port`.
    version names the build (default: host/image.py's, from the files' digest).
    Returns (plan, boot frame as a dict, or None after a dry run)."""
    if model is not None:
        check_model(model)

    def build(board):
        return image.build(board, model, version=version)
    img = build(board) if board else None
    link = Link(port)
    try:
        return _flash(link, img, board, build, dry_run, say, hook, progress)
    except (FlashError, DeviceError, DeviceFull) as exc:
        if link.entered:  # refused or failed after interrupting the firmware: restart it
            with contextlib.suppress(LinkError):
                _restart(link)
        raise exc
    finally:
        link.close()


def _flash(link, img, board, build, dry_run, say, hook, progress):
    from host.telemetry.framing import listen
    heard = [f for f in listen(link.serial, LISTEN_S) if f["kind"] == "T"]
    if heard and heard[-1]["state"] == "toasting":
        raise FlashError("the toaster on %s is toasting: flash it when the toast is done"
                         % link.port)
    link.enter()
    hook("connected")
    if heard and heard[-1]["session"] not in ("0", "-"):
        # A toast since boot started the MCU watchdog, which nothing stops but a reset; at
        # the REPL nobody feeds it. Start afresh: the firmware starts it at the first toast.
        say("restarting the device first (its watchdog runs since the last toast)")
        _restart(link)
        if wait_boot(link) is None:
            raise FlashError("%s did not come back after a restart" % link.port)
        link.enter()
    state = survey(link)
    if board is None:
        board = guess_board(link, state)
        img = build(board)
    check_device(link, board)
    plan = make_plan(link, state, img, link.free_bytes("."))
    for line in plan.lines(img.files, every_file=dry_run):
        say(line)
    if dry_run:
        _restart(link)  # back to toasting as it was
        return plan, None
    if plan.free is not None and plan.need > plan.free:
        raise DeviceFull("not enough space on %s: slot %s needs %.1f kB, %.1f kB free; "
                         "remove files or flash without --model"
                         % (link.port, plan.slot, plan.need / 1024, plan.free / 1024))
    write_slot(link, plan, img, hook, progress)
    switch(link, plan.slot, hook)
    _restart(link)
    hook("restarted")
    boot = wait_boot(link)
    if boot is None:
        raise FlashError("%s sent no boot frame within %d s of the restart: slot %s is "
                         "active; check the console (mpremote connect %s repl)"
                         % (link.port, BOOT_TIMEOUT_S, plan.slot, link.port))
    if (boot["slot"], boot["fw"]) != (plan.slot, plan.version):
        raise FlashError("the device booted slot %s version %s instead of slot %s "
                         "version %s (selftest: %s)" % (boot["slot"], boot["fw"], plan.slot,
                                                        plan.version, boot["selftest"]))
    say("booted slot %s, version %s, policy %s, self-test %s"
        % (boot["slot"], boot["fw"], boot["policy"], boot["selftest"]))
    return plan, boot


def _restart(link):
    """A board gets machine.reset(); the unix port of the virtual device a soft reset
    (machine.reset() does not exist there; the virtual device restarts the process)."""
    link.restart(hard=link.implementation()["platform"] not in ("linux", "darwin"))
