"""Run the real client in a pseudo-terminal and read its screen through pyte.

POSIX only (pty, termios); used by the end-to-end TUI tests and the screenshot
script. Nothing here asserts: tests poll the screen with :meth:`TuiProcess.wait_for`.
"""

from __future__ import annotations

import fcntl
import os
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pyte

ROOT = Path(__file__).resolve().parent.parent
WAIT_S = 8.0

KEY_PGUP = "\x1b[5~"
KEY_PGDN = "\x1b[6~"
KEY_END = "\x1bOF"
KEY_HOME = "\x1bOH"
KEY_UP = "\x1bOA"
KEY_LEFT = "\x1bOD"
KEY_F2 = "\x1bOQ"
KEY_F11 = "\x1b[23~"
KEY_F12 = "\x1b[24~"
PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"


class _Screen(pyte.Screen):
    """pyte's screen plus SU/SD (CSI S / T) and REP (CSI b), which ncurses may use."""

    _last_char = " "

    def draw(self, data: str) -> None:
        if data:
            self._last_char = data[-1]
        super().draw(data)

    def repeat_char(self, count: int = 1, *args: object, **kwargs: object) -> None:
        self.draw(self._last_char * max(count, 1))

    def _margins(self) -> tuple[int, int]:
        margins = self.margins
        return (margins.top, margins.bottom) if margins else (0, self.lines - 1)

    def scroll_up(self, count: int = 1, *args: object, **kwargs: object) -> None:
        y, x = self.cursor.y, self.cursor.x
        self.cursor.y = self._margins()[1]
        for _ in range(max(count, 1)):
            self.index()
        self.cursor.y, self.cursor.x = y, x

    def scroll_down(self, count: int = 1, *args: object, **kwargs: object) -> None:
        y, x = self.cursor.y, self.cursor.x
        self.cursor.y = self._margins()[0]
        for _ in range(max(count, 1)):
            self.reverse_index()
        self.cursor.y, self.cursor.x = y, x


class _Stream(pyte.ByteStream):
    csi = {**pyte.ByteStream.csi, "S": "scroll_up", "T": "scroll_down", "b": "repeat_char"}


def _take_terminal() -> None:
    """In the child, after setsid: make the pty its controlling terminal (for ^C, SIGWINCH).

    SIGINT goes back to its default: a test runner started in the background ignores it,
    and Python would then never raise KeyboardInterrupt.
    """
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _take_terminal_ignoring_hangup() -> None:
    """As :func:`_take_terminal`, and ignore SIGHUP the way ``nohup`` does."""
    _take_terminal()
    signal.signal(signal.SIGHUP, signal.SIG_IGN)


def _set_size(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class TuiProcess:
    """``python -m tui_client ARGS`` in a pty of ``cols`` x ``rows``, mirrored in a pyte screen."""

    def __init__(
        self,
        args: list[str],
        cols: int = 100,
        rows: int = 30,
        env: dict[str, str] | None = None,
        ignore_hangup: bool = False,
    ) -> None:
        self.master, slave = os.openpty()
        _set_size(slave, rows, cols)
        full_env = {
            k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")
        }
        full_env.update(
            TERM="xterm-256color", LANG="C.UTF-8", LC_ALL="C.UTF-8", PYTHONPATH=str(ROOT)
        )
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tui_client", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=ROOT,
            env=full_env,
            start_new_session=True,
            close_fds=True,
            preexec_fn=_take_terminal_ignoring_hangup if ignore_hangup else _take_terminal,
        )
        os.close(slave)
        self.screen = _Screen(cols, rows)
        self.stream = _Stream(self.screen)
        self.raw = bytearray()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, name="pty-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO once the client has exited and the slave is closed
                return
            if not data:
                return
            with self._lock:
                self.raw += data
                self.stream.feed(data)

    # -- input

    def write(self, text: str) -> None:
        """Send keys (text and escape sequences) to the client."""
        os.write(self.master, text.encode("utf-8"))

    def type_line(self, text: str) -> None:
        """Type ``text`` like a person, then Enter."""
        self.write(text)
        self.wait_for(lambda lines: text[-10:] in lines[-1], timeout=WAIT_S)
        self.write("\r")

    def resize(self, rows: int, cols: int) -> None:
        """Change the terminal size and tell the client (SIGWINCH)."""
        with self._lock:
            _set_size(self.master, rows, cols)
            self.screen.resize(rows, cols)
        os.kill(self.proc.pid, signal.SIGWINCH)

    # -- output

    def lines(self) -> list[str]:
        """Return the screen as text lines, the way a person reads it."""
        with self._lock:
            return list(self.screen.display)

    def text(self) -> str:
        return "\n".join(self.lines())

    def wait_for(
        self, predicate: Callable[[list[str]], bool] | str, timeout: float = WAIT_S
    ) -> list[str]:
        """Poll the screen until ``predicate`` holds (or the text appears); return the lines."""
        check = predicate if callable(predicate) else (lambda lines: predicate in "\n".join(lines))
        deadline = time.monotonic() + timeout
        while True:
            lines = self.lines()
            if check(lines):
                return lines
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"screen never matched {predicate!r}; screen:\n" + "\n".join(lines)
                )
            time.sleep(0.02)

    def wait_exit(self, timeout: float = WAIT_S) -> int:
        """Wait for the client to exit; return its status."""
        status = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=2)
        return status

    def close(self) -> None:
        """Kill the client if it still runs and release the pty."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=WAIT_S)
        self._reader.join(timeout=2)
        try:
            os.close(self.master)
        except OSError:
            pass  # already closed
