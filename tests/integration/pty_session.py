#!/usr/bin/env python3
"""Drive a command on a new pseudo-terminal and script an interactive session.

usage: pty_session.py SCENARIO -- COMMAND [ARG...]

The command runs as the session leader of a new session whose controlling terminal is a new
pty (pty.fork), as it would from a terminal emulator. Exit status 0 when the scenario passed;
otherwise 1, with the reason (and the output seen so far) on stderr.

Scenarios:
  shell   COMMAND starts an interactive bash: window size at start and after a resize,
          Ctrl-Z stops a job and `fg` resumes it, Ctrl-C reaches it, `exit 7` is the exit code.
  isatty  COMMAND runs `sandbox-probe isatty`: stdin and stdout are a terminal, /dev/pts/0.
  private-pty  COMMAND runs `sandbox-probe isatty`: the terminal is not the caller's pty.
  interrupt    COMMAND runs `sandbox-probe sleep N` with stdin from /dev/null: Ctrl-C -> 130.
  attach  COMMAND is `sandbox attach NAME` of a detached sandbox running an interactive shell
          (bash): a command typed runs there, the window size passes through, Ctrl-P Ctrl-Q
          leaves it running (exit 0).
  attach-term  COMMAND is `sandbox attach NAME` (a --tty sandbox): SIGTERM ends it (143) and the
          terminal is out of raw mode again.
  attach-again  COMMAND attaches to the same sandbox again: the earlier output is shown, and
          `exit 5` ends the sandbox (exit 5).
  late-reply   COMMAND's payload prints a cursor position query, closes its terminal and waits
          on the fifo $PTY_SESSION_FIFO: the terminal's answer, typed once the sandbox stopped
          relaying, must not reach the shell that runs after the sandbox.
"""
import errno
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time

DEADLINE = 10.0  # seconds, for every expectation


class Failure(Exception):
    pass


def set_winsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def shorten(data, limit=1500):
    text = data.decode("utf-8", "replace")
    return text if len(text) <= limit else "..." + text[-limit:]


class Session:
    def __init__(self, argv, rows=24, cols=80, env=None):
        self.argv = argv
        self.seen = b""     # everything read, for messages
        self.unread = b""   # not yet consumed by expect()
        self.eof = False
        self.status = None  # exit code (negative: killed by that signal) once reaped
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # child: the pty slave is stdin/stdout/stderr and the ctty
            try:
                set_winsize(0, rows, cols)  # before the command starts
                os.execvpe(argv[0], argv, env if env is not None else os.environ)
            except BaseException as e:  # noqa: BLE001 - report anything, then exit
                os.write(2, f"pty_session: exec {argv[0]}: {e}\n".encode())
            finally:
                os._exit(127)

    # -- I/O
    def send(self, text):
        data = text.encode() if isinstance(text, str) else text
        os.write(self.fd, data)

    def _read(self, timeout):
        """Read what arrives within timeout: bytes read (0 if none), -1 at end of output."""
        if self.eof:
            time.sleep(min(max(timeout, 0), 0.05))
            return -1
        ready, _, _ = select.select([self.fd], [], [], max(timeout, 0))
        if not ready:
            return 0
        try:
            data = os.read(self.fd, 65536)
        except OSError as e:
            if e.errno != errno.EIO:  # EIO: every slave fd is closed
                raise
            data = b""
        if not data:
            self.eof = True
            return -1
        self.seen += data
        self.unread += data
        return len(data)

    def expect(self, pattern, timeout=DEADLINE, what=None):
        """Wait until pattern (a regex) appears in the unread output; consume up to its end."""
        rx = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        end = time.monotonic() + timeout
        while True:
            m = rx.search(self.unread)
            if m:
                self.unread = self.unread[m.end():]
                return m
            left = end - time.monotonic()
            if left <= 0:
                raise Failure(f"timed out after {timeout:.0f} s waiting for {what or pattern!r}")
            if self._read(left) < 0:
                raise Failure(f"the command ended while waiting for {what or pattern!r}")

    def settle(self, quiet=0.3, timeout=DEADLINE):
        """Read until no output came for `quiet` seconds."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self._read(quiet) <= 0:
                return

    def resize(self, rows, cols):
        # The kernel sends SIGWINCH to the pty's foreground process group: the sandbox.
        set_winsize(self.fd, rows, cols)

    # -- process
    def wait(self, timeout=DEADLINE):
        """Wait for the command to exit, draining its output. Returns the exit code."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(st)
                # drain what is left (the pty may still hold output)
                while self._read(0.05) > 0:
                    pass
                return self.status
            self._read(0.05)
        raise Failure(f"the command did not exit within {timeout:.0f} s")

    def close(self):
        """Hang up and make sure the command is gone."""
        if self.status is None:
            try:
                os.close(self.fd)  # hangup: SIGHUP to the session
            except OSError:
                pass
            end = time.monotonic() + 3
            while time.monotonic() < end:
                pid, st = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    self.status = os.waitstatus_to_exitcode(st)
                    return
                time.sleep(0.05)
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except OSError:
                pass
            self.status = -signal.SIGKILL
        else:
            try:
                os.close(self.fd)
            except OSError:
                pass


def ask_size(s, rows, cols, timeout=DEADLINE):
    """Send `stty size` until it answers "ROWS COLS" (the first may race a resize)."""
    end = time.monotonic() + timeout
    want = re.compile(rf"(?<![0-9]){rows} {cols}(?![0-9])".encode())
    while True:
        s.send("stty size\r")
        try:
            s.expect(want, timeout=min(2.0, max(end - time.monotonic(), 0.1)),
                     what=f"'{rows} {cols}' from stty size")
            return
        except Failure:
            if time.monotonic() >= end:
                raise Failure(f"timed out after {timeout:.0f} s waiting for "
                              f"'{rows} {cols}' from stty size")


def scenario_shell(argv, env):
    s = Session(argv, rows=30, cols=100, env=env)
    try:
        s.expect(rb".", what="the shell's first output (a prompt)")
        s.settle()
        ask_size(s, 30, 100)
        s.settle()

        s.resize(40, 120)
        ask_size(s, 40, 120)
        s.settle()

        s.send("sleep 100\r")
        time.sleep(0.5)
        s.send(b"\x1a")  # Ctrl-Z
        s.expect(r"Stopped", what="'Stopped' after Ctrl-Z")
        s.settle()

        s.send("fg\r")
        time.sleep(0.5)
        s.send(b"\x03")  # Ctrl-C
        time.sleep(0.2)
        s.send("echo rc=$?\r")
        s.expect(r"rc=130", what="'rc=130' after Ctrl-C of the resumed sleep")
        s.settle()

        s.send("exit 7\r")
        code = s.wait()
        if code != 7:
            raise Failure(f"exit code: expected 7, got {code}")
    except Failure as f:
        raise Failure(f"{f}\noutput seen:\n{shorten(s.seen)}") from None
    finally:
        s.close()


def probe_output(argv, env, check):
    """Runs a probe under the pty until it exits 0; check(key=value dict) raises Failure."""
    s = Session(argv, env=env)
    try:
        code = s.wait()
        out = s.seen.decode("utf-8", "replace").replace("\r", "")
        check(dict(re.findall(r"^([\w.]+)=(.*)$", out, re.M)))
        if code != 0:
            raise Failure(f"exit code: expected 0, got {code}")
    except Failure as f:
        raise Failure(f"{f}\noutput seen:\n{shorten(s.seen)}") from None
    finally:
        s.close()


def expect_value(values, key, want):
    if key not in values:
        raise Failure(f"{key}: expected '{want}', but there is no '{key}=' line")
    if values[key] != want:
        raise Failure(f"{key}: expected '{want}', got '{values[key]}'")


def scenario_isatty(argv, env):
    def check(values):
        for key, want in (("stdin_tty", "1"), ("stdout_tty", "1"), ("tty", "/dev/pts/0")):
            expect_value(values, key, want)
    probe_output(argv, env, check)


def scenario_private_pty(argv, env):
    """The payload's terminal is a pty of the sandbox's own, never the caller's (here: the
    session's pty on the host's /dev/pts), even when the profile has no /dev."""
    host_devpts = os.stat("/dev/pts/ptmx").st_dev

    def check(values):
        expect_value(values, "stdin_tty", "1")
        if "stdin_dev" not in values:
            raise Failure("no stdin_dev= line")
        if int(values["stdin_dev"]) == host_devpts:
            raise Failure("the payload's terminal is the caller's (on the host's /dev/pts)")
    probe_output(argv, env, check)


def scenario_interrupt(argv, env):
    """Ctrl-C on the terminal ends a payload that does not catch it (exit 130), also when
    only the output is a terminal (the command is run with stdin from /dev/null)."""
    s = Session(["/bin/sh", "-c", 'exec "$@" </dev/null', "sh"] + argv, env=env)
    try:
        s.expect(r"pid=\d+", what="the payload to start")
        time.sleep(0.3)
        s.send("\x03")
        code = s.wait()
        if code != 130:
            raise Failure(f"exit code after Ctrl-C: expected 130, got {code}")
    except Failure as f:
        raise Failure(f"{f}\noutput seen:\n{shorten(s.seen)}") from None
    finally:
        s.close()


# Run after the sandbox on the same terminal: reports what input is pending there, unread.
PENDING_READER = r'''
import os, termios
attrs = termios.tcgetattr(0)
attrs[3] &= ~termios.ICANON  # pending bytes of an unfinished line count too
attrs[6][termios.VMIN] = 0
attrs[6][termios.VTIME] = 0
termios.tcsetattr(0, termios.TCSANOW, attrs)
print("pending=%r" % os.read(0, 4096))
'''


def canonical(fd):
    return bool(termios.tcgetattr(fd)[3] & termios.ICANON)


def release(fifo, timeout=DEADLINE):
    """Opens the fifo for writing once its reader (the payload) has it open, and closes it."""
    end = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError as e:
            if e.errno != errno.ENXIO:  # ENXIO: no reader yet
                raise
            if time.monotonic() > end:
                raise Failure(f"the payload did not open {fifo} within {timeout:.0f} s") from None
            time.sleep(0.02)
    os.write(fd, b"go\n")
    os.close(fd)


def scenario_late_reply(argv, env):
    """The payload asks the terminal for the cursor position (ESC [ 6 n) and lets go of the
    terminal, and the terminal answers late: after the sandbox stopped relaying (the supervisor
    put the terminal back out of raw mode), while the sandbox still runs. The answer must be
    discarded when the sandbox ends, not read by the shell after it. Deterministic: the payload
    only exits once the answer was typed (it waits on a fifo)."""
    fifo = os.environ["PTY_SESSION_FIFO"]
    env = dict(env, PENDING_READER=PENDING_READER)
    script = '"$@"; echo "rc=$?"; exec python3 -c "$PENDING_READER"'
    s = Session(["/bin/sh", "-c", script, "sh"] + argv, env=env)
    try:
        s.expect(re.escape(b"query:\x1b[6n"), what="the payload's cursor position query")
        # The supervisor relays in raw mode; once it stopped, the terminal is canonical again.
        end = time.monotonic() + DEADLINE
        while not canonical(s.fd):
            if time.monotonic() > end:
                raise Failure("the terminal did not leave raw mode after the payload closed it")
            s._read(0.02)
        s.send(b"\x1b[24;1R")  # the terminal's late answer
        release(fifo)  # now the payload may exit
        s.expect(r"rc=0", what="the sandbox's exit code 0")
        m = s.expect(r"pending=(b'[^\r\n]*'|b\"[^\r\n]*\")", what="the pending input after the sandbox")
        if m.group(1) != b"b''":
            raise Failure(f"the shell after the sandbox received {m.group(1).decode()} (the terminal's late answer)")
        s.wait()
    except Failure as f:
        raise Failure(f"{f}\noutput seen:\n{shorten(s.seen)}") from None
    finally:
        s.close()


def scenario_attach(argv, env):
    s = Session(argv, rows=30, cols=100, env=env)
    try:
        s.settle()
        s.send("echo attached-$((6 * 7))\r")
        s.expect(r"attached-42\r\n", what="the typed command's output")
        ask_size(s, 30, 100)
        s.resize(33, 111)
        ask_size(s, 33, 111)
        s.send("\x10\x11")  # Ctrl-P Ctrl-Q
        code = s.wait()
        if code != 0:
            raise Failure(f"attach exited {code} after the detach keys, expected 0")
        if b"detached from" not in s.seen:
            raise Failure("attach did not say it detached")
    finally:
        s.close()


def scenario_attach_term(argv, env):
    """attach is ended by a signal (SIGTERM): it leaves the terminal as it found it."""
    s = Session(argv, env=env)
    try:
        s.settle()
        if canonical(s.fd):
            raise Failure("attach did not put the terminal in raw mode")
        os.kill(s.pid, signal.SIGTERM)
        code = s.wait()
        if code != 143:
            raise Failure(f"attach exited {code} on SIGTERM, expected 143")
        if not canonical(s.fd):
            raise Failure("attach left the terminal in raw mode after SIGTERM")
    finally:
        s.close()


def scenario_attach_again(argv, env):
    s = Session(argv, env=env)
    try:
        s.expect(r"attached-42", what="the earlier output, shown again")
        s.send("exit 5\r")
        code = s.wait()
        if code != 5:
            raise Failure(f"attach exited {code} when the sandbox's shell exited 5")
    finally:
        s.close()


SCENARIOS = {"attach": scenario_attach, "attach-again": scenario_attach_again, "attach-term": scenario_attach_term, "shell": scenario_shell, "isatty": scenario_isatty, "private-pty": scenario_private_pty,
             "interrupt": scenario_interrupt, "late-reply": scenario_late_reply}


def main():
    args = sys.argv[1:]
    if len(args) < 3 or args[0] not in SCENARIOS or args[1] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    # A timeout's SIGTERM must still run the finally blocks that end the session.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("pty_session: terminated"))
    env = dict(os.environ)
    env["TERM"] = "xterm"
    try:
        SCENARIOS[args[0]](args[2:], env)
    except (Failure, OSError) as f:
        print(f"pty_session {args[0]}: {f}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
