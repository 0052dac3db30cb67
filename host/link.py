"""The device link: a serial port and the MicroPython on its other end.

Built on mpremote's SerialTransport (raw REPL, fs_* helpers); what can go wrong is raised
as a LinkError subclass whose message is one line a user can act on.
"""

import contextlib
import errno
import io
import os
import time

import serial

from host.errors import ToasterError

# Seconds the device gets to answer one raw-REPL step. The transport's own default waits
# for ever on a pseudo-terminal, which would hang on a port with nothing behind it.
REPLY_TIMEOUT_S = 2
ENTER_TIMEOUT_S = 5


class LinkError(ToasterError):
    """Something between the host and the device failed."""


class PortMissing(LinkError):
    pass


class PortBusy(LinkError):
    pass


class NoMicroPython(LinkError):
    pass


class DeviceFull(LinkError):
    pass


class LinkLost(LinkError):
    pass


class DeviceError(LinkError):
    """Code sent to the device raised; the message is the device's last traceback line."""


def _busy(port):
    return PortBusy("%s is in use by another program (a `toaster telemetry record`, "
                    "mpremote or a serial terminal?): close it and try again" % port)


def _missing(port):
    return PortMissing("no such port: %s (`toaster devices` lists the ports)" % port)


def port_error(port, exc):
    """The LinkError for a failure to open `port`."""
    code = getattr(exc, "errno", None)
    text = str(exc)
    if code in (errno.EBUSY, errno.EAGAIN) or "exclusively lock" in text:
        return _busy(port)
    if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO) or "No such file" in text:
        return _missing(port)
    if code == errno.EACCES:
        return LinkError("permission denied on %s: add yourself to the group that owns "
                         "it (often `dialout`) and log in again" % port)
    return LinkError("cannot open %s: %s" % (port, text))


def open_serial(port, baudrate=115200, timeout=None):
    """pyserial's port for `port` (a path or a pyserial URL such as loop://), opened
    exclusively, or a LinkError."""
    if "://" not in port and not os.path.exists(port):
        raise _missing(port)
    try:
        return serial.serial_for_url(port, baudrate=baudrate, timeout=timeout,
                                     exclusive=True)
    except (serial.SerialException, OSError) as exc:
        raise port_error(port, exc) from None


class Link:
    """A MicroPython device on `port`. enter() takes it to the raw REPL without a soft
    reset (the running firmware is interrupted with Ctrl-C, as `mpremote resume` does);
    until then the port only listens."""

    def __init__(self, port, baudrate=115200):
        from mpremote.transport import TransportError
        from mpremote.transport_serial import SerialTransport
        self.port = port
        self.entered = False
        if "://" not in port and not os.path.exists(port):
            raise _missing(port)
        try:
            self.transport = SerialTransport(port, baudrate=baudrate, exclusive=True,
                                             timeout=REPLY_TIMEOUT_S)
        except TransportError:
            # The transport hides why; opening the port ourselves tells.
            open_serial(port, baudrate).close()
            raise LinkError("cannot open %s" % port) from None

    def enter(self):
        """Interrupt the running program (Ctrl-C) and enter the raw REPL."""
        from mpremote.transport import TransportError
        said = io.StringIO()
        try:
            self._interrupt()
            with contextlib.redirect_stdout(said):
                self.transport.enter_raw_repl(soft_reset=False,
                                              timeout_overall=ENTER_TIMEOUT_S)
            self.entered = True
        except (serial.SerialException, OSError):
            raise LinkLost("lost the connection to %s while connecting" % self.port) \
                from None
        except TransportError:
            heard = said.getvalue().strip()
            raise NoMicroPython(
                "no MicroPython REPL answered on %s%s: is MicroPython running there? "
                "(a bare board needs `toaster flash --micropython IMAGE` first)"
                % (self.port, " (it said %s)" % heard[:60] if heard not in ("", "b''")
                   else "")) from None

    def _interrupt(self):
        """Ctrl-C until the program stops: a prompt, or silence. A device still booting
        can miss one (bytes sent during a reset are lost); and mpremote's own wait for
        the raw REPL never ends while the firmware keeps sending frames."""
        ser = self.serial
        end = time.monotonic() + ENTER_TIMEOUT_S
        timeout, ser.timeout = ser.timeout, 0.02
        try:
            while time.monotonic() < end:
                ser.write(b"\r\x03")
                tail, last = b"", time.monotonic()
                until = last + 0.5
                while time.monotonic() < until:
                    data = ser.read(ser.in_waiting or 1)
                    if data:
                        tail, last = (tail + data)[-16:], time.monotonic()
                        if tail.endswith((b">>> ", b"\r\n>")):
                            return
                    elif time.monotonic() - last > 0.2:
                        return  # quiet: at a prompt already, or nobody there
        finally:
            ser.timeout = timeout
        raise NoMicroPython("%s keeps sending but does not stop for Ctrl-C: is MicroPython "
                            "running there (with Ctrl-C enabled)?" % self.port)

    @property
    def serial(self):
        return self.transport.serial

    def close(self):
        with contextlib.suppress(Exception):
            self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @contextlib.contextmanager
    def errors(self, doing, path=None):
        """Turn what the transport raises while `doing` something into LinkErrors."""
        from mpremote.transport import TransportError, TransportExecError
        try:
            yield
        except TransportExecError as exc:
            raise self._device_error(doing, path, exc.error_output) from None
        except OSError as exc:
            # pyserial wraps most port failures; a few (ioctl on a vanished tty) come
            # through as they are. Anything else is the device's, mapped back by mpremote.
            if isinstance(exc, serial.SerialException) or exc.errno in (
                    errno.EIO, errno.ENXIO, errno.ENODEV, errno.EBADF, None):
                raise LinkLost("lost the connection to %s while %s (cable pulled or device "
                               "reset?)" % (self.port, doing)) from None
            raise self._device_error(doing, path, "OSError: [Errno %d] %s"
                                     % (exc.errno, errno.errorcode.get(exc.errno, ""))) \
                from None
        except TransportError as exc:
            raise LinkLost("%s stopped answering while %s: %s"
                           % (self.port, doing, exc)) from None

    def _device_error(self, doing, path, output):
        last = output.strip().splitlines()[-1] if output.strip() else "error"
        if "ENOSPC" in output or "[Errno 28]" in output:
            return DeviceFull("the device ran out of space while %s%s"
                              % (doing, " (%s)" % path if path else ""))
        return DeviceError("the device failed while %s%s: %s"
                           % (doing, " (%s)" % path if path else "", last))

    # -- running code --------------------------------------------------------------------

    def exec(self, code, doing="running code"):
        with self.errors(doing):
            return self.transport.exec(code)

    def eval(self, expression, doing="running code"):
        with self.errors(doing):
            return self.transport.eval(expression)

    def implementation(self):
        """What the device runs: a dict with name ("micropython"), version, machine,
        platform (sys.platform: "linux" for the unix port of the virtual device) and arch
        (the native-code architecture number from sys.implementation._mpy, or None)."""
        self.exec("import sys", "asking what it runs")
        name, version, machine, platform, mpy = self.eval(
            "(sys.implementation.name, '.'.join(str(v) for v in sys.implementation.version"
            "[:3]), getattr(sys.implementation, '_machine', '-'), sys.platform,"
            " getattr(sys.implementation, '_mpy', 0))", "asking what it runs")
        return {"name": name, "version": version, "machine": machine,
                "platform": platform, "arch": mpy >> 10 & 15 if mpy else None}

    # -- files ---------------------------------------------------------------------------

    def read_file(self, path):
        """The file's bytes, or None when there is no such file."""
        try:
            with self.errors("reading", path):
                return bytes(self.transport.fs_readfile(path))
        except DeviceError as exc:
            if "ENOENT" in str(exc) or "Errno 2]" in str(exc):
                return None
            raise

    def write_file(self, path, data, progress=None):
        with self.errors("writing", path):
            self.transport.fs_writefile(path, data, chunk_size=1024,
                                        progress_callback=progress)

    def hash_file(self, path):
        """SHA-256 (hex) of a file on the device, computed there; None when missing."""
        try:
            with self.errors("hashing", path):
                return self.transport.fs_hashfile(path, "sha256").hex()
        except DeviceError as exc:
            if "ENOENT" in str(exc) or "Errno 2]" in str(exc):
                return None
            raise

    def files(self, folder):
        """{relative path: size} of all files under `folder` on the device ({} when there
        is no such folder)."""
        code = ("import os\n"
                "def walk(d, p):\n"
                " try:\n  entries = list(os.ilistdir(d))\n except OSError:\n  return\n"
                " for e in entries:\n"
                "  if e[1] & 0x4000:\n   walk(d + '/' + e[0], p + e[0] + '/')\n"
                "  else:\n   print(p + e[0], os.stat(d + '/' + e[0])[6])\n"
                "walk(%r, '')\n" % folder)
        out = self.exec(code, "listing %s" % folder)
        found = {}
        for line in out.decode().splitlines():
            if line.strip():
                rel, size = line.rsplit(" ", 1)
                found[rel] = int(size)
        return found

    def makedirs(self, path):
        code = ("import os\np = ''\nfor part in %r.split('/'):\n p = p + part\n"
                " try:\n  os.mkdir(p)\n except OSError:\n  pass\n p = p + '/'\n" % path)
        self.exec(code, "creating %s" % path)

    def remove(self, path):
        self.exec("import os\ntry:\n os.remove(%r)\nexcept OSError:\n pass\n" % path,
                  "removing %s" % path)

    def remove_tree(self, path):
        code = ("import os\n"
                "def rm(d):\n"
                " try:\n  entries = list(os.ilistdir(d))\n except OSError:\n  return\n"
                " for e in entries:\n"
                "  if e[1] & 0x4000:\n   rm(d + '/' + e[0])\n"
                "  else:\n   os.remove(d + '/' + e[0])\n"
                " os.rmdir(d)\n"
                "rm(%r)\n" % path)
        self.exec(code, "removing %s" % path)

    def rename(self, old, new):
        self.exec("import os\nos.rename(%r, %r)" % (old, new), "renaming %s" % old)

    def free_bytes(self, path="."):
        """(free bytes, block size) of the filesystem holding `path`; None if unknown."""
        try:
            self.exec("import os")
            st = self.eval("os.statvfs(%r)" % path, "asking for free space")
        except DeviceError:
            return None
        return st[0] * st[4], st[0]  # (free bytes, block size)

    def leave(self):
        """Back from the raw REPL to the friendly one, without a reset."""
        with self.errors("leaving the raw REPL"):
            self.transport.exit_raw_repl()
        self.entered = False

    def restart(self, hard):
        """Restart the device into /main.py: machine.reset() (hard: a board, where a soft
        reset would leave a running watchdog running), or leave the raw REPL and
        soft-reset (the virtual device: the unix port ends and is started again). The
        port may go away for a while (USB boards re-enumerate)."""
        with self.errors("restarting"):
            self.entered = False
            if hard:
                self.transport.exec_raw_no_follow("import machine\nmachine.reset()")
            else:
                self.transport.exit_raw_repl()
                self.serial.write(b"\x04")  # ctrl-D at the friendly REPL: soft reset
