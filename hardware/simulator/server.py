"""The simulator's socket server: the MCU role (the firmware's sim board) and the control
role (tests, the virtual device, tools). Protocol: hardware/simulator/PROTOCOL.md.

`Server(path, scenario).start()` serves a Unix-domain socket from background threads and
returns once it accepts connections; `python -m hardware.simulator` runs one in its own
process. Every request is handled under one lock, so the toaster sees one command at a
time whatever the number of clients. A bad request gets an ERR reply, is logged, and
changes nothing.
"""

import array
import fcntl
import json
import logging
import os
import socket
import stat
import termios
import threading
import time

from hardware.simulator import faults as fault_catalogue
from hardware.simulator.scenario import Scenario
from hardware.simulator.tcs34725 import BusError
from hardware.simulator.toaster import ADC_CHANNELS, BUTTONS, RESET_CAUSES, Toaster

log = logging.getLogger("hardware.simulator")

MAX_LINE = 1024
VERSION = 1
# Console pacing (lockstep): hold virtual time while the console's reader is a quarter of
# the pipe behind (so that the MCU always finds room: a tick writes under 1 KB), and give
# up holding after this long without progress (a reader that has gone).
CONSOLE_GIVE_UP_S = 2.0
OUTPUT_PINS = fault_catalogue.OUTPUTS
INPUT_PINS = fault_catalogue.INPUTS


def _backlog_limit(fd):
    """Unread bytes on a console fd at which the MCU's link counts as behind: a quarter of
    a pipe, a quarter of a terminal's 4 KB input buffer."""
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            return fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ) // 4
        if os.isatty(fd):
            return 1024
    except OSError:
        pass
    raise ValueError("console fd %d is not an open pipe or terminal" % fd)


class RequestError(Exception):
    """A request that gets `ERR <reason>`."""


def _int(text, lo=None, hi=None, what="number"):
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise RequestError("%s must be a decimal integer, not %r" % (what, text)) from None
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise RequestError("%s must be %s-%s" % (what, lo, hi))
    return value


def _args(words, n_min, n_max, usage):
    if not n_min <= len(words) - 1 <= n_max:
        raise RequestError("usage: " + usage)


def _keywords(words):
    out = {}
    for word in words:
        key, eq, value = word.partition("=")
        if not eq or not key:
            raise RequestError("expected key=value, got %r" % word)
        out[key] = value
    return out


class Session:
    """One client connection: its role, and for the MCU the reset generation it booted in."""

    def __init__(self, server, conn):
        self.server = server
        self.conn = conn
        self.role = None
        self.generation = None
        self.dead = False            # the MCU this session spoke for was reset
        self.event_cursor = 0


class Server:
    """A toaster served on a Unix-domain socket.

    realtime: virtual time follows the wall clock (else lockstep: it advances only in
    SLEEP and ADVANCE). stall_ms: in lockstep, once the MCU has been silent this long
    (wall clock), virtual time follows the wall clock until it speaks again.
    console_fds: in lockstep, where the MCU's console output waits to be read (a pipe's
    read end; the terminals along a pty console): an MCU SLEEP waits while one of them
    holds more than a quarter of its buffer, as a serial link that carries everything the
    MCU sends (without it, a reader that falls behind loses frames)."""

    def __init__(self, path, scenario=None, toaster=None, realtime=False, stall_ms=None,
                 console_fds=()):
        self.path = str(path)
        self.toaster = toaster or Toaster(scenario or Scenario())
        self.realtime = realtime
        self.stall_ms = stall_ms
        self._console = [(fd, _backlog_limit(fd)) for fd in console_fds]
        self.paced_s = 0.0             # wall time SLEEPs waited for the console reader
        self._reader_gone = False
        self._fionread = array.array("i", [0])
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._sock = None
        self._threads = []
        self._stop = threading.Event()
        self._mcu = None
        self._wall0 = None
        self._virtual0 = 0
        self._last_mcu = None
        self.requests = 0

    # -- lifecycle ------------------------------------------------------------------------

    def start(self):
        """Bind, listen and serve from daemon threads; returns self once connectable."""
        if os.path.exists(self.path):
            os.unlink(self.path)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(self.path)
        self._sock.listen(8)
        self._wall0 = time.monotonic()
        self._virtual0 = self.toaster.t_ms
        self._spawn(self._accept_loop)
        if self.realtime or self.stall_ms:
            self._spawn(self._clock_loop)
        return self

    def stop(self):
        self._stop.set()
        try:
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the accept loop (close does not)
        except OSError:
            pass
        try:
            self._sock.close()
        except OSError:
            pass
        with self.lock:
            self.changed.notify_all()
        if os.path.exists(self.path):
            try:
                os.unlink(self.path)
            except OSError:
                pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _spawn(self, target, *args):
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._spawn(self._serve, conn)

    # -- time -----------------------------------------------------------------------------

    def _wall_ms(self):
        return self._virtual0 + int((time.monotonic() - self._wall0) * 1000.0)

    def _clock_loop(self):
        """Realtime: keep virtual time on the wall clock. Lockstep with a stall clock: let
        time run while the MCU is silent."""
        while not self._stop.wait(0.005):
            with self.lock:
                if self.realtime:
                    self._sync()
                elif self._last_mcu is not None:
                    silent = (time.monotonic() - self._last_mcu) * 1000.0
                    if silent > self.stall_ms:
                        self._advance(5)

    def _sync(self):
        if self.realtime:
            target = self._wall_ms()
            if target > self.toaster.t_ms:
                self._advance(target - self.toaster.t_ms)

    def _advance(self, ms, stop_on_reset=False):
        self.toaster.advance(ms, stop_on_reset)
        self.changed.notify_all()

    def _sleep(self, session, ms, pin=None, every=None):
        """SLEEP in MCU ms, toggling `pin` every `every` ms (the heartbeat while heating)."""
        t = self.toaster
        true_ms = t.mcu_to_true_ms(ms)
        step = t.mcu_to_true_ms(every) if pin else true_ms
        end = t.t_ms + true_ms
        if not self.realtime:
            self._pace()
            if self._gone(session):
                return
            while t.t_ms + step <= end and pin:
                self._advance(step, stop_on_reset=True)
                if self._gone(session):
                    return
                t.set_output(pin, 1 - t.commanded[pin])
            self._advance(end - t.t_ms, stop_on_reset=True)
            return
        # Realtime: wait on the wall clock between toggles, outside the lock.
        next_toggle = t.t_ms + step if pin else end
        while True:
            target = min(next_toggle, end)
            delay = (target - self._wall_ms()) / 1000.0
            if delay > 0:
                self.lock.release()
                try:
                    time.sleep(delay)
                finally:
                    self.lock.acquire()
            self._sync()
            if self._gone(session) or t.t_ms >= end:
                return
            if pin and t.t_ms >= next_toggle:
                t.set_output(pin, 1 - t.commanded[pin])
                next_toggle += step

    def _pace(self):
        """Lockstep: wait (outside the lock) while the console reader is behind. A reader
        that reads nothing for CONSOLE_GIVE_UP_S is taken for gone until it catches up:
        time runs on and the MCU drops frames, as it would on an unread port."""
        if not self._console:
            return
        unread = self._unread()
        if unread is None or self._reader_gone:
            self._reader_gone = unread is not None
            return
        start = progress = time.monotonic()
        while unread is not None:
            self.lock.release()
            try:
                time.sleep(0.001)
            finally:
                self.lock.acquire()
            now, before, unread = time.monotonic(), unread, self._unread()
            if unread is None or unread < before:
                progress = now
            elif now - progress > CONSOLE_GIVE_UP_S:
                log.warning("the console has not been read for %g s: time runs on",
                            CONSOLE_GIVE_UP_S)
                self._reader_gone = True
                break
        self.paced_s += time.monotonic() - start

    def _unread(self):
        """Bytes unread on the console fds when one is over its limit, else None."""
        total, over = 0, False
        for fd, limit in self._console:
            fcntl.ioctl(fd, termios.FIONREAD, self._fionread)
            total += self._fionread[0]
            over = over or self._fionread[0] > limit
        return total if over else None

    def _gone(self, session):
        return session.generation != self.toaster.mcu_generation

    # -- connections ------------------------------------------------------------------------

    def _serve(self, conn):
        session = Session(self, conn)
        buf = b""
        discarding = False                 # inside a line that was already too long
        try:
            with conn:
                while not self._stop.is_set():
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        if discarding:
                            discarding = False
                            continue
                        conn.sendall(self.handle_line(session, line).encode() + b"\n")
                        if session.dead:
                            return
                    if len(buf) > MAX_LINE and not discarding:
                        log.warning("request line over %d bytes", MAX_LINE)
                        conn.sendall(b"ERR line over %d bytes\n" % MAX_LINE)
                        discarding = True
                    if discarding:
                        buf = b""
        except OSError:
            pass
        finally:
            with self.lock:
                if self._mcu is session:
                    self._mcu = None
                    self.changed.notify_all()

    def handle_line(self, session, raw):
        """One request line (bytes, without the line break) -> its reply line (str)."""
        if len(raw) > MAX_LINE:
            log.warning("request line over %d bytes", MAX_LINE)
            return "ERR line over %d bytes" % MAX_LINE
        try:
            line = raw.decode("ascii").rstrip("\r")
        except UnicodeDecodeError:
            log.warning("non-ASCII request %r", raw[:80])
            return "ERR not ASCII"
        replies = []
        with self.lock:
            self.requests += 1
            if session.role == "mcu":
                self._last_mcu = time.monotonic()
            self._sync()
            for command in line.split(";"):
                if session.dead:
                    replies.append("ERR RESET")
                else:
                    replies.append(self._handle(session, command.strip()))
        return ";".join(replies)

    def _handle(self, session, command):
        words = command.split()
        try:
            if not words:
                raise RequestError("empty command")
            verb = words[0].upper()
            if session.role is None:
                if verb != "HELLO":
                    raise RequestError("say HELLO <role> %d first" % VERSION)
                return self._hello(session, words)
            if session.role == "mcu":
                if self._gone(session):
                    session.dead = True
                    return "ERR RESET"
                return self._mcu_command(session, verb, words)
            return self._control_command(session, verb, words)
        except RequestError as exc:
            log.warning("%s: %s -> ERR %s", session.role or "client", command[:120], exc)
            return "ERR %s" % exc
        except Exception:                      # never let a request crash the simulator
            log.exception("%s: %s failed", session.role, command[:120])
            return "ERR internal error"

    def _hello(self, session, words):
        _args(words, 2, 2, "HELLO <mcu|control> %d" % VERSION)
        role, version = words[1].lower(), words[2]
        if version != str(VERSION):
            raise RequestError("protocol version %s not supported (this is %d)" % (version, VERSION))
        if role == "mcu":
            if self._mcu is not None and not self._gone(self._mcu):
                raise RequestError("busy: another MCU is connected")
            try:
                t_ms, cause, flag = self.toaster.boot()
            except RuntimeError:
                raise RequestError("NOPOWER") from None
            session.role = "mcu"
            session.generation = self.toaster.mcu_generation
            self._mcu = session
            self._last_mcu = time.monotonic()
            self.changed.notify_all()
            return "OK %d %s %d" % (t_ms, cause, flag)
        if role == "control":
            session.role = "control"
            session.event_cursor = len(self.toaster.events)
            return "OK %d" % self.toaster.t_ms
        raise RequestError("role must be mcu or control")

    # -- MCU role ---------------------------------------------------------------------------

    def _mcu_command(self, session, verb, words):
        t = self.toaster
        if verb == "TIME":
            _args(words, 0, 0, "TIME")
            return "OK %d" % t.mcu_ms()
        if verb == "RTC":  # a second clock on its own crystal: a clock_skew leaves it true
            _args(words, 0, 0, "RTC")
            return "OK %d" % t.t_ms
        if verb == "SET":
            _args(words, 2, 2, "SET <pin> <0|1>")
            if words[1] not in OUTPUT_PINS:
                raise RequestError("unknown output %r (outputs: %s)" % (words[1], ", ".join(OUTPUT_PINS)))
            t.set_output(words[1], _int(words[2], 0, 1, "level"))
            return "OK"
        if verb == "SLEEP":
            if len(words) == 2:
                self._sleep(session, _int(words[1], 0, 600000, "ms"))
            elif len(words) == 4:
                if words[2] not in OUTPUT_PINS:
                    raise RequestError("unknown output %r" % words[2])
                self._sleep(session, _int(words[1], 0, 600000, "ms"), words[2],
                            _int(words[3], 1, 600000, "every_ms"))
            else:
                raise RequestError("usage: SLEEP <ms> [<pin> <every_ms>]")
            if self._gone(session):
                session.dead = True
                return "ERR RESET"
            return "OK %d" % t.mcu_ms()
        if verb == "FEED":
            _args(words, 0, 0, "FEED")
            t.wdt_feed()
            return "OK"
        if verb == "WDT":
            _args(words, 1, 1, "WDT <timeout_ms>")
            try:
                t.wdt_start(_int(words[1], 1, 16777, "timeout_ms"))
            except ValueError as exc:
                raise RequestError(str(exc)) from None
            return "OK"
        if verb == "FLAG":
            _args(words, 1, 1, "FLAG <n>")
            t.flag = _int(words[1], -2 ** 31, 2 ** 31 - 1, "flag")
            return "OK"
        if verb == "RESET":
            _args(words, 1, 1, "RESET <HARD|SOFT>")
            cause = words[1].upper()
            if cause not in ("HARD", "SOFT"):
                raise RequestError("the firmware can reset HARD or SOFT")
            t.reset_mcu(cause)
            session.dead = True
            self.changed.notify_all()
            return "OK"
        return self._read_command(verb, words) or self._unknown(verb, "mcu")

    def _read_command(self, verb, words):
        """Reads both roles may do: GET, ADC, I2C, SNAP."""
        t = self.toaster
        if verb == "GET":
            _args(words, 1, 1, "GET <pin>")
            if words[1] not in INPUT_PINS + OUTPUT_PINS:
                raise RequestError("unknown pin %r (inputs: %s)" % (words[1], ", ".join(INPUT_PINS)))
            return "OK %d" % t.get(words[1])
        if verb == "ADC":
            _args(words, 1, 1, "ADC <ntc|dial|ref>")
            if words[1] not in ADC_CHANNELS:
                raise RequestError("unknown ADC channel %r (channels: %s)" % (words[1], ", ".join(ADC_CHANNELS)))
            return "OK %d" % t.adc(words[1])
        if verb == "I2C":
            return self._i2c(words)
        if verb == "SNAP":
            _args(words, 0, 0, "SNAP")
            values = t.snap()
            colour = "-" if values[-1] is None else values[-1].hex()
            return "OK " + " ".join("%d" % v for v in values[:-1]) + " " + colour
        return None

    def _i2c(self, words):
        t = self.toaster
        if len(words) < 3 or words[1].upper() not in ("W", "R"):
            raise RequestError("usage: I2C W <addr> <hex> | I2C R <addr> <reg> <n>")
        addr = _int(words[2], 0, 127, "addr")
        try:
            if words[1].upper() == "W":
                _args(words, 3, 3, "I2C W <addr> <hex>")
                try:
                    data = bytes.fromhex(words[3])
                except ValueError:
                    raise RequestError("data must be hex digits") from None
                if not 1 <= len(data) <= 32:
                    raise RequestError("write 1-32 bytes")
                t.i2c_write(addr, data)
                return "OK"
            _args(words, 4, 4, "I2C R <addr> <reg> <n>")
            data = t.i2c_read(addr, _int(words[3], 0, 255, "reg"), _int(words[4], 1, 32, "n"))
            return "OK " + data.hex()
        except BusError:
            return "ERR EIO"
        except LookupError:
            return "ERR ENODEV"

    def _unknown(self, verb, role):
        raise RequestError("unknown command %r for role %s" % (verb, role))

    # -- control role -----------------------------------------------------------------------

    def _control_command(self, session, verb, words):
        t = self.toaster
        if verb == "TIME":
            _args(words, 0, 0, "TIME")
            return "OK %d" % t.t_ms
        if verb == "ADVANCE":
            _args(words, 1, 1, "ADVANCE <ms>")
            if self.realtime:
                raise RequestError("realtime: time follows the wall clock")
            self._advance(_int(words[1], 0, 3600000, "ms"))
            return "OK %d" % t.t_ms
        if verb == "LEVER":
            _args(words, 1, 2, "LEVER <DOWN [ms]|HOLD|RELEASE|UP|1|0>")
            action = {"1": "DOWN", "0": "UP"}.get(words[1], words[1].upper())
            if action == "DOWN":
                t.press_lever(_int(words[2], 1, 60000, "ms") if len(words) == 3 else None)
            elif action == "HOLD" and len(words) == 2:
                t.hold_lever(True)
            elif action == "RELEASE" and len(words) == 2:
                t.hold_lever(False)
            elif action == "UP" and len(words) == 2:
                t.lift_lever()
            else:
                raise RequestError("usage: LEVER <DOWN [ms]|HOLD|RELEASE|UP>")
            return "OK"
        if verb == "DIAL":
            _args(words, 1, 1, "DIAL <1-7>")
            t.set_dial(_int(words[1], 0, 7, "dial position"))
            return "OK"
        if verb == "PRESS":
            _args(words, 1, 2, "PRESS <button> [ms]")
            if words[1] not in BUTTONS:
                raise RequestError("unknown button %r (buttons: %s)" % (words[1], ", ".join(BUTTONS)))
            t.press(words[1], _int(words[2], 0, 600000, "ms") if len(words) == 3 else 200)
            return "OK"
        if verb == "BUTTON":
            _args(words, 2, 2, "BUTTON <button> <0|1>")
            if words[1] not in BUTTONS:
                raise RequestError("unknown button %r (buttons: %s)" % (words[1], ", ".join(BUTTONS)))
            if _int(words[2], 0, 1, "level"):
                t.press(words[1], 0)
            else:
                t.release(words[1])
            return "OK"
        if verb == "LOAD":
            try:
                bread = t.scenario.with_(**self._scenario_fields(words[1:])) if len(words) > 1 else None
                t.load_bread(bread)
            except (TypeError, ValueError) as exc:
                raise RequestError(str(exc)) from None
            return "OK"
        if verb == "FAULT":
            usage = "usage: FAULT <name> [key=value ...] [at=<ms> | in=<ms>] [for=<ms>]"
            if len(words) < 2:
                raise RequestError(usage)
            params = _keywords(words[2:])
            at = params.pop("at", None)
            after = params.pop("in", None)
            duration = params.pop("for", None)
            if at is not None and after is not None:
                raise RequestError(usage)
            if after is not None:  # from now: in the same request as a LEVER DOWN, exact
                at = str(t.t_ms + _int(after, 0, None, "in"))
            try:
                t.inject(words[1], at_ms=None if at is None else _int(at, 0, None, "at"),
                         for_ms=None if duration is None else _int(duration, 1, None, "for"), **params)
            except ValueError as exc:
                raise RequestError(str(exc)) from None
            return "OK"
        if verb == "CLEAR":
            _args(words, 1, 1, "CLEAR <fault|ALL>")
            name = words[1]
            if name.upper() != "ALL" and name not in fault_catalogue.CATALOGUE:
                raise RequestError("unknown fault %r" % name)
            t.clear(None if name.upper() == "ALL" else name)
            return "OK"
        if verb == "RESET":
            _args(words, 1, 1, "RESET <%s>" % "|".join(RESET_CAUSES))
            if words[1].upper() not in RESET_CAUSES:
                raise RequestError("cause must be one of %s" % ", ".join(RESET_CAUSES))
            t.reset_mcu(words[1].upper())
            self.changed.notify_all()
            return "OK"
        if verb == "DRIVE":
            _args(words, 1, 1, "DRIVE <ON|OFF|PINS>")
            mode = words[1].upper()
            if mode not in ("ON", "OFF", "PINS"):
                raise RequestError("usage: DRIVE <ON|OFF|PINS>")
            t.drive(None if mode == "PINS" else mode == "ON")
            return "OK"
        if verb == "TRUTH":
            _args(words, 0, 0, "TRUTH")
            return "OK " + json.dumps(t.truth(), separators=(",", ":"))
        if verb == "EVENTS":
            _args(words, 0, 0, "EVENTS")
            new = t.events[session.event_cursor:]
            session.event_cursor = len(t.events)
            return "OK " + json.dumps(new, separators=(",", ":"))
        if verb == "WAIT":
            return self._wait(session, words)
        if verb == "SCENARIO":
            _args(words, 0, 0, "SCENARIO")
            return "OK " + json.dumps(t.scenario.to_dict(), separators=(",", ":"))
        if verb == "FAULTS":
            _args(words, 0, 0, "FAULTS")
            return "OK " + json.dumps({"active": t.faults, "known": sorted(fault_catalogue.CATALOGUE)},
                                      separators=(",", ":"), default=str)
        if verb == "STATUS":
            _args(words, 0, 0, "STATUS")
            return "OK " + json.dumps({"t_ms": t.t_ms, "mcu_connected": self._mcu is not None and not self._gone(self._mcu),
                                       "mcu_booted": t.mcu_booted, "realtime": self.realtime,
                                       "requests": self.requests, "paced_s": round(self.paced_s, 3)},
                                      separators=(",", ":"))
        return self._read_command(verb, words) or self._unknown(verb, "control")

    def _scenario_fields(self, words):
        try:
            return Scenario.parse_fields(_keywords(words))
        except ValueError as exc:
            raise RequestError(str(exc)) from None

    def _wait(self, session, words):
        _args(words, 2, 2, "WAIT <event kind> <timeout_ms>")
        kind = words[1]
        timeout = _int(words[2], 0, 600000, "timeout_ms") / 1000.0
        deadline = time.monotonic() + timeout
        while True:
            events = self.toaster.events
            for i in range(session.event_cursor, len(events)):
                if events[i]["kind"] == kind:
                    session.event_cursor = i + 1
                    return "OK " + json.dumps(events[i], separators=(",", ":"))
            left = deadline - time.monotonic()
            if left <= 0 or self._stop.is_set():
                return "ERR timeout"
            self.changed.wait(min(left, 0.05))

