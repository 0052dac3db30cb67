# Start-up self-tests (R22, IEC 60730 Annex H where Python can do it honestly): the files
# of the slot against manifest.json (SHA-256), and the outputs read back low. The ADC
# reference channel is checked by the guard on every sample, from the first one on.
import binascii
import hashlib
import json
import os

_DIR = 0x4000  # os.ilistdir type of a directory


def sha256(path, buf):
    h = hashlib.sha256()
    view = memoryview(buf)
    with open(path, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(view[:n])
    return binascii.hexlify(h.digest()).decode()


def files(slot):
    """(version, failures) for the slot folder. failures holds "manifest" (missing or
    unreadable), "firmware" (a firmware file or board.json differs, is missing, or a
    firmware file is not listed) and "model" (a model file differs or is missing)."""
    try:
        with open(slot + "/manifest.json") as f:
            manifest = json.load(f)
        version = str(manifest["version"])
        listed = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return "-", ["manifest"]
    buf = bytearray(512)
    failures = []
    for rel in listed:
        try:
            same = sha256(slot + "/" + rel, buf) == listed[rel]
        except OSError:
            same = False
        part = "model" if rel.startswith("model/") else "firmware"
        if not same and part not in failures:
            failures.append(part)
    if "firmware" not in failures:
        for rel in _tree(slot, "firmware"):
            if rel not in listed:
                failures.append("firmware")
                break
    return version, failures


def _tree(root, rel):
    for entry in os.ilistdir(root + "/" + rel):
        path = rel + "/" + entry[0]
        if entry[1] == _DIR:
            yield from _tree(root, path)
        else:
            yield path


def outputs(board):
    """["outputs"] when an output does not read back low after boot, else []."""
    for name in ("heat_en", "heartbeat", "hold", "buzzer"):
        if board.level(name) != 0:
            return ["outputs"]
    return []
