"""Session files: where each record goes, and reading them back (format: FORMAT.md).

A recording folder holds `device.jsonl` (everything outside a toast: boot frames,
status and command replies, idle ticks), one `session-<boot_id>-<NNN>.jsonl` per toast,
and `raw-<time>.bin` per recorder run (the bytes as they came off the wire).
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

DEVICE_LOG = "device.jsonl"
SESSION_GLOB = "session-*.jsonl"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_ENCODE = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


def session_name(boot_id, session):
    return "session-%s-%03d.jsonl" % (_UNSAFE.sub("_", str(boot_id)), session)


class SessionFiles:
    """Writes records where they belong; every line is flushed as it is written, so that a
    crash loses at most the record being written.

    A toast's file opens at the frame that says it started (E to "toasting"; or the first
    tick of a toast already running when the recorder joined) and takes every record
    until the toaster is idle again (E to "idle"): ticks, events, faults, command
    replies, the recorder's own events. Feedback (K) that comes later is appended to it.
    A new boot ends any toast in progress.
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._device = open(self.folder / DEVICE_LOG, "a", encoding="ascii")
        self._toast = None       # (boot_id, session) of the toast being written
        self._toast_file = None
        self.sessions = []       # paths of the session files written to, in order

    def write(self, record):
        kind = record["kind"]
        if kind == "B":
            self._end_toast()
        key = (record["boot_id"], record.get("session"))
        if kind == "K" and key != self._toast:
            with self._open(key) as f:  # feedback for a toast already over
                return self._put(f, record)
        if (kind == "E" and record["to"] == "toasting" or kind == "T"
                and record["state"] == "toasting") and key != self._toast and key[1]:
            self._end_toast()
            self._toast = key
            self._toast_file = self._open(key)
        if self._toast is None:
            return self._put(self._device, record)
        self._put(self._toast_file, record)
        if kind == "E" and record["to"] == "idle":
            self._end_toast()

    def close(self):
        self._end_toast()
        self._device.close()

    def _open(self, key):
        path = self.folder / session_name(*key)
        if path not in self.sessions:
            self.sessions.append(path)
        return open(path, "a", encoding="ascii")

    def _end_toast(self):
        if self._toast_file is not None:
            self._toast_file.close()
        self._toast = self._toast_file = None

    @staticmethod
    def _put(f, record):
        f.write(_ENCODE(record) + "\n")
        f.flush()


@dataclass
class Session:
    """One toast as recorded: its records in order, and lines that were not JSON (a
    record cut short by a crash of the recorder)."""
    path: Path
    records: list = field(default_factory=list)
    damaged: int = 0

    @property
    def boot_id(self):
        return self.records[0]["boot_id"] if self.records else None

    @property
    def number(self):
        for r in self.records:
            if r.get("session") is not None:
                return r["session"]
        return None


def read_records(path):
    """The records of one JSON Lines file, and how many lines could not be read."""
    records, damaged = [], 0
    with open(path, "rb") as f:
        for line in f:
            try:
                records.append(json.loads(line))
            except ValueError:
                damaged += 1
    return records, damaged


def session_paths(path):
    """The session files at `path`: the file itself, or those in a recording folder (and
    its sub-folders, so that several recordings can be read together)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(path)
    return sorted(path.rglob(SESSION_GLOB))


def load(path):
    """The sessions at `path` (a session file or a recording folder), oldest first."""
    sessions = []
    for p in session_paths(path):
        records, damaged = read_records(p)
        sessions.append(Session(p, records, damaged))
    return sorted(sessions, key=lambda s: (s.records[0]["host_t"] if s.records else 0,
                                           s.path.name))


def load_some(path):
    """load(path), or a ToasterError saying why there is nothing to read there."""
    from host.errors import ToasterError
    try:
        found = load(path)
    except FileNotFoundError:
        raise ToasterError("no such file or folder: %s" % path) from None
    except OSError as exc:
        raise ToasterError("cannot read %s: %s" % (path, exc.strerror or exc)) from None
    if not found:
        raise ToasterError("no toast sessions in %s (session files are named %s)"
                           % (path, SESSION_GLOB))
    return found
