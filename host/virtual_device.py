"""The virtual device: the toaster simulator, the firmware on the MicroPython unix port, and
the console between them and the host.

    with VirtualDevice(fs) as dev:                  # console on pipes: frames for Python
        boot = dev.expect("B")
        dev.control("LEVER DOWN")                   # the simulator's control role
        frames = dev.until(lambda f: f["kind"] == "E" and f["to"] == "done")

    with VirtualDevice(fs, console="pty") as dev:   # a serial port for tools
        print(dev.port)                             # mpremote connect <port> resume ...

Like a board, the device has its own filesystem (a folder: main.py, slots, see
firmware/boot/README.md); MicroPython runs with that folder as its working directory and
imports nothing from anywhere else. When the firmware process ends or the simulator resets
the MCU (watchdog, machine.reset()), the process is started again, as the chip would
reboot, and the simulator knows the cause for the next boot frame. The console stays open
across restarts, as behind a USB-UART bridge; its buffers are bounded, so a host that
stops reading makes the firmware drop frames (it never blocks on the console). In
lockstep the console is paced: virtual time waits for a reader that falls behind, so that
a busy host loses nothing; one that stops reading for 2 s no longer holds it.
"""

import array
import collections
import errno
import fcntl
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import termios
import threading
import time
import tty
from pathlib import Path

from firmware import protocol
from host import micropython as mp
from host.errors import ToasterError
from host.telemetry.framing import FrameReader

CONSOLE_TAIL = 8192          # bytes of console output kept for error messages
BRIDGE_BUFFER = 4096         # bytes in flight each way between the port and the device
MAX_FRAMES = 100000          # frames queued for the caller before the device must drop
READ_GATHER_S = 0.002        # the console reader's pause after a read (see _read_pipe)
RAW_REPL = b"raw REPL; CTRL-B to exit\r\n"
FRIENDLY = b'Type "help()" for more information.'

# The unix port's machine module has no reset(), and its soft_reset() only ends the
# program; a board's reset the chip. The virtual board adds both, as a port's own modules
# would (on MICROPYPATH, outside the device's filesystem): the simulator resets the MCU
# and the virtual device restarts the process, as the chip reboots.
MACHINE = r"""from umachine import *
import os, socket, struct, time
import umachine


def _reset(cause):
    sim = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path = os.getenv("TOASTER_SIM_SOCKET").encode()
    sim.connect(struct.pack("H", socket.AF_UNIX) + path + b"\0")
    sim.write(b"HELLO control 1\nRESET " + cause + b"\n")
    sim.readline()
    sim.readline()


def reset():
    _reset(b"HARD")
    while True:
        time.sleep(1)


def soft_reset():
    _reset(b"SOFT")
    umachine.soft_reset()  # SystemExit, as on a board
"""


class DeviceTimeout(ToasterError):
    """The device did not do what was waited for in time."""


class SimulatorError(ToasterError):
    """The simulator refused a request, or is not there."""


# -- the simulator ------------------------------------------------------------------------

class Simulator:
    """`python -m hardware.simulator` in a process of its own (its physics then never
    competes with the console for one interpreter lock)."""

    def __init__(self, path, realtime=False, stall_ms=None, args=(), log=None):
        self.path = path
        self.argv = [sys.executable, "-m", "hardware.simulator", "--socket", path]
        if realtime:
            self.argv.append("--realtime")
        if stall_ms is not None:
            self.argv += ["--stall-ms", str(stall_ms)]
        self.argv += list(args)
        self.log = log
        self.proc = None
        self._pass_fds = ()

    def pace(self, console_fds):
        """Hold lockstep time while the console's reader is behind: console_fds are where
        the firmware's output waits to be read (a pipe's read end, terminals)."""
        for fd in console_fds:
            self.argv += ["--console-fd", str(fd)]
        self._pass_fds = tuple(console_fds)

    def start(self, timeout=30.0):
        log = open(self.log, "wb") if self.log else subprocess.DEVNULL
        try:
            # One toaster's physics has no matrix to share out: OpenBLAS's idle worker
            # threads would only spin (measured: 0.1 s of CPU at each start).
            env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
            self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=log,
                                         env=env, pass_fds=self._pass_fds,
                                         start_new_session=True)
        finally:
            if self.log:
                log.close()
        ready = _readline(self.proc.stdout, timeout)
        if not ready.startswith(b"ready "):
            self.stop()
            raise SimulatorError("the simulator did not start: %s" % (
                self._stderr() or ready.decode(errors="replace").strip() or "no reply"))
        return self

    def _stderr(self):
        try:
            text = Path(self.log).read_text(errors="replace").strip()
        except (OSError, TypeError):
            return ""
        return text.splitlines()[-1] if text else ""

    def last_words(self):
        """Why the simulator process ended, for an error message ("" while it runs)."""
        if self.proc is None or self.proc.poll() is None:
            return ""
        return " (simulator exited with %d: %s)" % (self.proc.returncode, self._stderr())

    def client(self):
        return SimClient(self.path)

    def stop(self):
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def _readline(stream, timeout):
    """One line from a pipe, or what there is when the timeout runs out or it closes."""
    sel = selectors.DefaultSelector()
    sel.register(stream, selectors.EVENT_READ)
    line = b""
    deadline = time.monotonic() + timeout
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not sel.select(left):
            break
        byte = os.read(stream.fileno(), 1)
        if not byte:
            break
        line += byte
    sel.close()
    return line


class SimClient:
    """A control-role connection to the simulator: one request line, one reply line."""

    def __init__(self, path):
        import socket
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.sock.connect(path)
        except OSError as exc:
            self.sock.close()
            raise SimulatorError("cannot reach the simulator at %s: %s"
                                 % (path, exc.strerror or exc)) from None
        self.reader = self.sock.makefile("rb")
        self.ok("HELLO control 1")

    def call(self, line):
        """The reply line to one request line (OK ... or ERR ...)."""
        self.sock.sendall(line.encode() + b"\n")
        reply = self.reader.readline()
        if not reply:
            raise SimulatorError("the simulator has gone")
        return reply.decode().rstrip("\n")

    def ok(self, line):
        """What follows OK in the reply; SimulatorError for ERR."""
        reply = self.call(line)
        if not reply.startswith("OK"):
            raise SimulatorError("simulator: %s -> %s" % (line, reply))
        return reply[3:]

    def wait_reset(self, ms):
        """The next MCU reset event within ms (a dict), or None."""
        reply = self.call("WAIT mcu_reset %d" % ms)
        return json.loads(reply[3:]) if reply.startswith("OK") else None

    def status(self):
        return json.loads(self.ok("STATUS"))

    def close(self):
        self.reader.close()
        self.sock.close()


# -- the device side of the console -----------------------------------------------------

class PipeWire:
    """The firmware's stdin and stdout/stderr as pipes that outlive each process."""

    def __init__(self, size=None):
        self.stdin_r, self.stdin_w = os.pipe()
        self.stdout_r, self.stdout_w = os.pipe()
        if size:  # a UART bridge holds a few hundred bytes; a pipe 64 KB by default
            fcntl.fcntl(self.stdout_w, fcntl.F_SETPIPE_SZ, size)
        self.host_in, self.host_out = self.stdout_r, self.stdin_w

    def child_fds(self):
        return self.stdin_r, self.stdout_w

    def flush_input(self):
        """Forget what the host sent that the firmware did not read (a UART's FIFO does
        not survive a reset)."""
        os.set_blocking(self.stdin_r, False)
        try:
            while os.read(self.stdin_r, 65536):
                pass
        except BlockingIOError:
            pass
        os.set_blocking(self.stdin_r, True)

    def close(self):
        for fd in (self.stdin_r, self.stdin_w, self.stdout_r, self.stdout_w):
            _close(fd)


class PtyWire:
    """The firmware's stdin/stdout/stderr on the slave of a pseudo-terminal (raw mode);
    the master side is what the bridge to the host's port talks to."""

    def __init__(self):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.host_in = self.host_out = self.master

    def child_fds(self):
        return self.slave, self.slave

    def flush_input(self):
        termios.tcflush(self.slave, termios.TCIFLUSH)

    def close(self):
        _close(self.master)
        _close(self.slave)


def _close(fd):
    try:
        os.close(fd)
    except OSError:
        pass


# -- the host side -----------------------------------------------------------------------

class Frames(FrameReader):
    """Frames from the console for a Python caller: a bounded queue and the boot id."""

    def __init__(self, limit=MAX_FRAMES):
        super().__init__()
        self.limit = limit
        self.queue = collections.deque()
        self.cond = threading.Condition()
        self.boot = None          # the last boot frame (a dict)
        self._read = []           # the frames of the chunk being cut

    def data_received(self, data):
        # One wake-up of the waiting caller per chunk read, not one per frame.
        super().data_received(data)
        if self._read:
            with self.cond:
                self.queue.extend(self._read)
                self.cond.notify_all()
            self._read.clear()

    def handle_frame(self, fields, line):
        frame = protocol.as_dict(fields)
        if frame["kind"] == "B":
            self.boot = frame
        self._read.append(frame)

    def full(self):
        return len(self.queue) >= self.limit


class Bridge:
    """Copies bytes between two file descriptors both ways through bounded buffers, like a
    USB-UART bridge: when one side stops reading, the other side's writes stop being
    taken (and the firmware's non-blocking console drops frames)."""

    def __init__(self, port_fd, device_fd, watch=None):
        self.fds = (port_fd, device_fd)
        self.watch = watch            # called with every chunk the device sends
        self.inject = (collections.deque(), collections.deque())  # to the port, the device
        self._wake_r, self._wake_w = os.pipe()
        self._stop = False
        for fd in (port_fd, device_fd, self._wake_r):
            os.set_blocking(fd, False)
        self.thread = threading.Thread(target=self._run, name="console-bridge", daemon=True)

    def start(self):
        self.thread.start()

    def send_to_port(self, data):
        """Bytes for the host from the bridge itself, after what the device sent."""
        self.inject[0].append(data)
        os.write(self._wake_w, b"x")

    def send_to_device(self, data):
        """Bytes for the device from the bridge itself, after what the host sent."""
        self.inject[1].append(data)
        os.write(self._wake_w, b"x")

    def stop(self):
        self._stop = True
        os.write(self._wake_w, b"x")
        self.thread.join(timeout=5)
        _close(self._wake_r)
        _close(self._wake_w)

    def _run(self):
        port, device = self.fds
        to_port, to_device = bytearray(), bytearray()
        sel = selectors.DefaultSelector()
        while not self._stop:
            for queue, buf in zip(self.inject, (to_port, to_device)):
                while queue:
                    buf += queue.popleft()
            events = {}
            if len(to_port) < BRIDGE_BUFFER:
                events[device] = selectors.EVENT_READ
            if len(to_device) < BRIDGE_BUFFER:
                events[port] = selectors.EVENT_READ
            if to_port:
                events[port] = events.get(port, 0) | selectors.EVENT_WRITE
            if to_device:
                events[device] = events.get(device, 0) | selectors.EVENT_WRITE
            events[self._wake_r] = selectors.EVENT_READ
            for fd, mask in events.items():
                sel.register(fd, mask)
            try:
                ready = sel.select(timeout=1.0)
            finally:
                for fd in events:
                    sel.unregister(fd)
            for key, mask in ready:
                fd = key.fd
                if fd == self._wake_r:
                    _drain(fd)
                    continue
                if mask & selectors.EVENT_READ:
                    room = BRIDGE_BUFFER - (len(to_port) if fd == device else len(to_device))
                    data = _read(fd, room)
                    if fd == device:
                        to_port += data
                        if data and self.watch:
                            self.watch(data)
                    else:
                        to_device += data
                if mask & selectors.EVENT_WRITE:
                    buf = to_port if fd == port else to_device
                    del buf[:_write(fd, buf)]
        sel.close()


def _read(fd, n):
    try:
        return os.read(fd, max(n, 1))
    except (BlockingIOError, InterruptedError):
        return b""
    except OSError as exc:
        if exc.errno == errno.EIO:   # no process on the slave side at this moment
            time.sleep(0.01)
            return b""
        raise


def _write(fd, buf):
    try:
        return os.write(fd, buf)
    except (BlockingIOError, InterruptedError):
        return 0
    except OSError as exc:
        if exc.errno == errno.EIO:
            time.sleep(0.01)
            return 0
        raise


def _drain(fd):
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


# -- the device ---------------------------------------------------------------------------

class VirtualDevice:
    """The simulator + the firmware process + its console; see the module docstring.

    fs: the device's folder (a new temporary one when None; installed from the checkout
    when it holds no main.py). console: "pipe" (frames for the caller: expect(), until(),
    send()) or "pty" (a serial port for tools: `port`). sim_args: extra options for
    `python -m hardware.simulator` (scenario, faults). realtime: virtual time follows the
    wall clock; stall_ms: in lockstep, let time run when the firmware has been silent
    this long (so a hung firmware still meets its watchdogs). pipe_size: bytes the
    console pipe holds before the firmware must drop frames (default: the system's, 64 KB).
    paced (lockstep): virtual time waits while the console's reader (frames, or a tool on
    the port) is behind, so that no frame is lost to a busy host; a reader that reads
    nothing for two seconds is taken for gone and the firmware drops frames again
    (hardware/simulator/PROTOCOL.md).
    """

    def __init__(self, fs=None, board="sim", console="pipe", realtime=False, stall_ms=None,
                 sim_args=(), heapsize=mp.DEVICE_HEAP, image=None, pipe_size=None,
                 paced=True):
        if console not in ("pipe", "pty"):
            raise ValueError("console must be 'pipe' or 'pty'")
        self._tmp = tempfile.TemporaryDirectory(prefix="toaster-vd-")
        self.fs = Path(fs) if fs is not None else Path(self._tmp.name) / "fs"
        self.board = board
        self.console = console
        self.heapsize = heapsize
        self.image = image
        self.pipe_size = pipe_size
        self.paced = paced and not realtime
        self.socket_path = str(Path(self._tmp.name) / "sim.sock")
        self._rom = Path(self._tmp.name) / "rom"   # the virtual board's own modules
        self.sim = Simulator(self.socket_path, realtime=realtime, stall_ms=stall_ms,
                             args=sim_args, log=Path(self._tmp.name) / "simulator.log")
        self.frames = Frames()
        self.boots = 0                 # firmware processes started
        self.exits = []                # (returncode, cause told to the simulator)
        self.failure = None            # why the device stopped working, if it did
        self.installed = None          # (slot, version) when start() installed an app
        self.port = None
        self._wire = None
        self._bridge = None
        self._port_fds = None
        self._fs_lock = None           # an flock on the device folder while we run
        self._proc = None
        self._lock = threading.Lock()       # guards _control
        self._proc_lock = threading.Lock()  # starting and ending the firmware process
        self._stopping = False
        self._control = None           # the caller's control-role connection
        self._command = (None, 0)      # (boot id, last command sequence number)
        self._raw_repl = False         # what the console shows: raw REPL or not
        self._output = bytearray()     # the console's last CONSOLE_TAIL bytes
        self._output_cond = threading.Condition()
        self._events = None            # the supervisor's control connection
        self._paused = threading.Event()
        self._taken = threading.Condition()   # guards _read_bytes
        self._read_bytes = 0           # console bytes read and cut into frames so far
        self._threads = []

    # -- life cycle ----------------------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        try:
            self._install()
            self._rom.mkdir()
            (self._rom / "machine.py").write_text(MACHINE)
            if self.console == "pipe":
                self._wire = PipeWire(self.pipe_size)
                self._spawn_thread(self._read_pipe, "console-reader")
                waiting = [self._wire.host_in]
            else:
                self._wire = PtyWire()
                master, slave = os.openpty()
                tty.setraw(slave)
                self._port_fds = (master, slave)  # the slave stays open: the port persists
                self.port = os.ttyname(slave)
                self._bridge = Bridge(master, self._wire.master, watch=self._watch)
                self._bridge.start()
                waiting = [self._wire.master, slave]   # for the bridge, for the port's reader
            if self.paced:
                self.sim.pace(waiting)
            self.sim.start()
            self._events = self.sim.client()   # sees every reset from the first boot on
            self._spawn()
            self._spawn_thread(self._supervise, "firmware-supervisor")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        """End the firmware, the simulator and the console; remove the temporary folder."""
        self._stopping = True
        self._paused.clear()
        self._kill()
        if self._control is not None:
            self._control.close()
        self.sim.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        self._kill()  # in case the supervisor was starting one as we stopped
        if self._events is not None:
            self._events.close()
        if self._bridge is not None:
            self._bridge.stop()
        if self._wire is not None:
            self._wire.close()
        for fd in self._port_fds or ():
            _close(fd)
        if self._fs_lock is not None:
            _close(self._fs_lock)
        with self.frames.cond:
            self.frames.cond.notify_all()
        self._tmp.cleanup()

    def _install(self):
        """Claim the device folder (one device per folder) and give a new or empty one
        the checkout's firmware."""
        if self.fs.exists() and not self.fs.is_dir():
            raise ToasterError("%s is not a folder" % self.fs)
        self.fs.mkdir(parents=True, exist_ok=True)
        self._fs_lock = os.open(self.fs, os.O_RDONLY)
        try:
            fcntl.flock(self._fs_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ToasterError("%s is in use by another virtual device" % self.fs) from None
        if (self.fs / "main.py").exists():
            return
        from host import image
        if any(self.fs.iterdir()):
            raise ToasterError("%s is neither empty nor a device folder (no main.py)" % self.fs)
        app = self.image or image.build(self.board)
        self.installed = (image.install(app, self.fs), app.version)

    def _spawn_thread(self, target, name):
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    # -- the firmware process ------------------------------------------------------------

    def _spawn(self, repl_only=False):
        """Start MicroPython: main.py at a boot, only the REPL after a raw-REPL soft
        reset (as a board skips main.py then)."""
        stdin, stdout = self._wire.child_fds()
        env = dict(os.environ, TOASTER_SIM_SOCKET=self.socket_path,
                   MICROPYPATH=".frozen:" + str(self._rom))
        args = [] if repl_only else ["-i", "main.py"]
        with self._proc_lock:
            if self._stopping:
                return
            self._wire.flush_input()
            self._proc = subprocess.Popen(mp.command(args, self.heapsize), cwd=self.fs,
                                          env=env, stdin=stdin, stdout=stdout, stderr=stdout,
                                          start_new_session=True)
            self.boots += 1

    def _supervise(self):
        """Restart the firmware whenever the MCU resets: the simulator reset it (watchdog,
        machine.reset(), brown-out), or the process ended by itself (Ctrl-D at the REPL,
        a crash), which the simulator is then told as a soft reset. One thread sees both,
        in the simulator's order, so that no reset is counted twice."""
        events = self._events
        try:
            while not self._stopping:
                event = events.wait_reset(50)
                if self._stopping:
                    return
                if event is None:
                    if self._proc.poll() is None:
                        continue
                    event = events.wait_reset(0)  # a reset that came just before the end
                if event is None:
                    # Ended by itself; killed by a signal (a crash) counts as a hard reset.
                    cause = "SOFT" if self._proc.returncode >= 0 else "HARD"
                    events.call("RESET %s" % cause)
                    while True:  # skip older resets: this process ended for this one
                        event = events.wait_reset(1000)
                        if event is None:
                            raise SimulatorError("the simulator did not log the reset")
                        if event["cause"] == cause:
                            break
                else:
                    cause = event["cause"]
                    self._kill()
                self.exits.append((self._proc.returncode, cause))
                self._reboot(cause, events)
        except (OSError, SimulatorError) as exc:
            if not self._stopping:
                self.failure = "%s%s" % (exc, self.sim.last_words())

    def _reboot(self, cause, events):
        # The simulator serves one MCU at a time: wait until it has seen the old one go.
        deadline = time.monotonic() + 5
        while events.status()["mcu_connected"] and time.monotonic() < deadline:
            time.sleep(0.002)
        # A chip without power does not boot: after a brown-out or a power loss, wait
        # for the mains (its HELLO would get ERR NOPOWER and the firmware never start).
        while not self._stopping and not json.loads(events.ok("TRUTH"))["mcu_powered"]:
            time.sleep(0.005)
        # A board reset from the raw REPL by Ctrl-D stays in the raw REPL and skips
        # main.py (mpremote relies on it); a board reset any other way runs main.py.
        repl_only = self._raw_repl and cause == "SOFT" and self._bridge is not None
        if cause == "SOFT" and self._bridge is not None:   # what a board prints
            self._bridge.send_to_port(b"soft reboot\r\n" if repl_only
                                      else b"MPY: soft reboot\r\n")
        self._raw_repl = repl_only
        self._spawn(repl_only)
        if repl_only:
            self._bridge.send_to_device(b"\x01")

    def _kill(self):
        with self._proc_lock:
            proc = self._proc
            if proc is not None and proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()

    def _watch(self, data):
        """Everything the device prints: kept for error messages, and read for the REPL
        mode it is in."""
        with self._output_cond:
            seen = bytes(self._output[-len(RAW_REPL):]) + data
            raw, friendly = seen.rfind(RAW_REPL), seen.rfind(FRIENDLY)
            if raw >= 0 or friendly >= 0:
                self._raw_repl = raw > friendly
            self._output += data
            del self._output[:-CONSOLE_TAIL]
            self._output_cond.notify_all()

    # -- the console on pipes: frames ----------------------------------------------------

    def _read_pipe(self):
        fd = self._wire.host_in
        os.set_blocking(fd, False)
        sel = selectors.DefaultSelector()
        sel.register(fd, selectors.EVENT_READ)
        while not self._stopping:
            if self._paused.is_set() or self.frames.full():
                time.sleep(0.01)
                continue
            if not sel.select(timeout=0.2):
                continue
            with self._taken:   # read and cut together, so that sync() sees either both or neither
                data = _read(fd, 65536)
                if data:
                    self._watch(data)
                    self.frames.data_received(data)
                    self._read_bytes += len(data)
                    self._taken.notify_all()
            if data:
                # Let a few frames gather: each read and wake-up costs more than a frame.
                time.sleep(READ_GATHER_S)
        sel.close()

    def sync(self, timeout=10.0):
        """Wait until every frame the firmware wrote to the console before this call is in
        the queue (next(), until()); DeviceTimeout when the reader does not get there (it is
        paused, or the queue is full). In lockstep the firmware runs far ahead of the
        reader: this, not the next frame that arrives, says that nothing is still on its way."""
        if self.console != "pipe":
            raise ValueError("sync() reads the pipe console")
        unread = array.array("i", [0])
        with self._taken:
            fcntl.ioctl(self._wire.host_in, termios.FIONREAD, unread)
            target = self._read_bytes + unread[0]
            if not self._taken.wait_for(lambda: self._read_bytes >= target or self._stopping,
                                        timeout):
                raise DeviceTimeout("the console reader did not catch up within %.1f s%s"
                                    % (timeout, self._context()))

    def pause_reading(self):
        """Stop reading the console, as a host that has gone away (the pipe fills up)."""
        self._paused.set()

    def resume_reading(self):
        self._paused.clear()

    def next(self, timeout=10.0):
        """The next frame (a dict: protocol.as_dict), or DeviceTimeout."""
        deadline = time.monotonic() + timeout
        with self.frames.cond:
            while not self.frames.queue:
                left = deadline - time.monotonic()
                if left <= 0 or self._stopping:
                    raise DeviceTimeout("no frame within %.1f s%s" % (timeout, self._context()))
                self.frames.cond.wait(left)
            return self.frames.queue.popleft()

    def until(self, match, timeout=30.0):
        """Frames up to and including the first that match(frame) accepts (a function, or
        a frame kind such as "B"), or DeviceTimeout."""
        if isinstance(match, str):
            kind = match
            match = lambda frame: frame["kind"] == kind  # noqa: E731
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            try:
                frame = self.next(max(deadline - time.monotonic(), 0.0))
            except DeviceTimeout:
                raise DeviceTimeout("nothing matched within %.1f s after %d frames%s"
                                    % (timeout, len(seen), self._context())) from None
            seen.append(frame)
            if match(frame):
                return seen

    def expect(self, match, timeout=30.0):
        """The first frame that matches (see until()); the ones before it are dropped."""
        return self.until(match, timeout)[-1]

    def send(self, verb, arg="-"):
        """A command frame for the running firmware (its boot id, the next sequence
        number), written to the console; returns the sequence number. Wait for the R
        frame with that cmd_seq for the answer."""
        boot = self.frames.boot
        if boot is None:
            raise DeviceTimeout("no boot frame yet: the device's boot id is unknown")
        boot_id, seq = self._command
        seq = seq + 1 if boot_id == boot["boot_id"] else 1
        self._command = (boot["boot_id"], seq)
        self.write(protocol.encode("C", seq, 0, "-", (boot["boot_id"], verb, arg)))
        return seq

    def write(self, data):
        """Bytes to the firmware's stdin (anything at all: tests send garbage too)."""
        fd = self._wire.host_out
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]

    def wait_output(self, text, timeout=10.0):
        """Wait until the console has shown `text` (bytes: REPL output, a traceback)."""
        deadline = time.monotonic() + timeout
        with self._output_cond:
            while text not in self._output:
                left = deadline - time.monotonic()
                if left <= 0 or self._stopping:
                    raise DeviceTimeout("%r not seen within %.1f s%s"
                                        % (text, timeout, self._context()))
                self._output_cond.wait(left)

    def _context(self):
        proc = self._proc
        state = "running" if proc is not None and proc.poll() is None else (
            "exited %s" % (proc.returncode if proc else "-"))
        tail = bytes(self._output[-1500:]).decode("ascii", "replace")
        return " (firmware %s, %d boots; console ends with:\n%s)" % (state, self.boots, tail)

    # -- the simulator's control role ----------------------------------------------------

    def control(self, line):
        """One control-role request to the simulator (hardware/simulator/PROTOCOL.md):
        what follows OK in the reply, or SimulatorError for an ERR."""
        with self._lock:
            if self._control is None:
                self._control = self.sim.client()
            return self._control.ok(line)

    def truth(self):
        """The simulator's ground truth now (DE, temperatures, heater, relay, fuse...)."""
        return json.loads(self.control("TRUTH"))

    def events(self):
        """The simulator's events since the last call (relay, fuse, resets, faults...)."""
        return json.loads(self.control("EVENTS"))
