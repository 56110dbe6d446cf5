"""The full-screen client: the UI loop that ties keys, network events and drawing.

The UI thread owns curses. Each loop iteration waits briefly for keys
(``get_wch`` with a timeout), applies them, drains the network queue into the
state, and redraws once if anything changed. The socket lives in
:mod:`tui_client.net`; drawing in :mod:`tui_client.view`.
"""

from __future__ import annotations

import curses
import logging
import queue
import ssl
import sys
import time
from collections.abc import Callable
from typing import Any, Final

from protocol import HistoryQuery, Nick, ProtocolError
from tui_client.commands import (
    HELP_LINES,
    CommandError,
    LocalAction,
    QuitCommand,
    SendFrame,
    parse_input,
)
from tui_client.completion import NickCompleter
from tui_client.editor import LineEditor
from tui_client.keys import Key, KeyDecoder, Paste, build_bindings
from tui_client.layout import Layout, compute_layout
from tui_client.net import Connection, NetEvent, NetStatus
from tui_client.render import Renderer, status_text
from tui_client.state import ClientState
from tui_client.view import Attrs, draw, make_attrs

__all__ = ["ChatApp"]

log = logging.getLogger(__name__)

LOOP_TIMEOUT_MS: Final = 80
MAX_KEYS_PER_LOOP: Final = 65536
CONFIRM_LINES: Final = 5
HISTORY_PAGE: Final = 100
WHEEL_ROWS: Final = 3
HANGUP_ERRORS: Final = 200
"""Key reads failing at once, in a row, that mean the terminal is gone (not just idle)."""
BRACKETED_PASTE_ON: Final = "\x1b[?2004h"
BRACKETED_PASTE_OFF: Final = "\x1b[?2004l"


class ChatApp:
    """The full-screen chat client; :meth:`run` is given to ``curses.wrapper``."""

    def __init__(
        self,
        host: str,
        port: int,
        nick: str,
        password: str | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.state = ClientState(host, port, nick)
        self.editor = LineEditor()
        self.completer = NickCompleter()
        self.renderer = Renderer()
        self.decoder = KeyDecoder()
        self.events: queue.Queue[NetEvent] = queue.Queue()
        self.conn = Connection(host, port, nick, self.events, password=password, tls=tls)
        self.quit_reason: str | None = None
        self._bindings: dict[str | int, str] = {}
        self._attrs: Attrs = {}
        self._layout: Layout = compute_layout(24, 80)
        self._last_status = ""
        self._at_top = False
        self._instant_errors = 0
        self.redraws = 0
        self._actions: dict[str, Callable[[], None]] = {
            "enter": self._enter,
            "left": self.editor.left,
            "right": self.editor.right,
            "home": self.editor.home,
            "end": self._end,
            "backspace": self.editor.backspace,
            "delete": self.editor.delete,
            "kill_line": self.editor.kill_line,
            "kill_word": self.editor.kill_word,
            "history_prev": self.editor.history_prev,
            "history_next": self.editor.history_next,
            "complete": self._complete,
            "page_up": lambda: self._scroll(self._page()),
            "page_down": lambda: self._scroll(-self._page()),
            "toggle_roster": self._toggle_roster,
            "resize": self._resize,
            "mouse": self._mouse,
            "redraw": self._redraw_all,
            "escape": self._escape,
            "interrupt": self._interrupt,
        }

    # -- main loop

    def run(self, stdscr: Any) -> int:
        """Run until the user quits; return the exit status. UI thread only."""
        self._setup(stdscr)
        self.conn.start()
        try:
            while not self.state.quit_requested:
                for key in self._read_keys(stdscr):
                    self._on_key(key)
                self._drain_events()
                self._maybe_draw(stdscr)
        finally:
            log.info("UI loop ended after %d redraws", self.redraws)
            self.conn.stop(self.quit_reason)
            sys.stdout.write(BRACKETED_PASTE_OFF)
            sys.stdout.flush()
        return 0

    def _setup(self, stdscr: Any) -> None:
        self.stdscr = stdscr
        self._bindings = build_bindings(curses)
        self._attrs = make_attrs()
        stdscr.keypad(True)
        stdscr.timeout(LOOP_TIMEOUT_MS)
        try:
            curses.curs_set(1)
        except curses.error:
            pass  # the terminal cannot show a cursor
        wheel = getattr(curses, "BUTTON4_PRESSED", 0) | getattr(curses, "BUTTON5_PRESSED", 0)
        if wheel:
            curses.mousemask(wheel)
        sys.stdout.write(BRACKETED_PASTE_ON)
        sys.stdout.flush()
        self._relayout(stdscr)
        self.state.add_line(f"-- connecting to {self.state.host}:{self.state.port} ...", "system")
        self.state.add_line("-- type /help for commands", "system")

    def _read_keys(self, stdscr: Any) -> list[Key]:
        """Wait briefly for a key, then take every key already waiting."""
        keys: list[Key] = []
        started = time.monotonic()
        try:
            first = stdscr.get_wch()
        except curses.error:
            self._note_empty_read(time.monotonic() - started)
            return self.decoder.flush()  # no key within the timeout
        self._instant_errors = 0
        keys += self.decoder.feed(first)
        stdscr.timeout(0)
        try:
            for _ in range(MAX_KEYS_PER_LOOP):
                keys += self.decoder.feed(stdscr.get_wch())
        except curses.error:
            pass  # nothing more waiting
        finally:
            stdscr.timeout(LOOP_TIMEOUT_MS)
        return self._merge_paste_burst(keys)

    def _note_empty_read(self, waited_s: float) -> None:
        """Quit when reads keep failing without waiting: the terminal hung up."""
        if waited_s >= LOOP_TIMEOUT_MS / 4000:
            self._instant_errors = 0
            return
        self._instant_errors += 1
        if self._instant_errors >= HANGUP_ERRORS:
            log.warning("the terminal is gone; quitting")
            self.quit_reason = "terminal closed"
            self.state.quit_requested = True

    @staticmethod
    def _merge_paste_burst(keys: list[Key]) -> list[Key]:
        """Treat text typed faster than a person as one paste: inner Enters become newlines."""
        text_chars = [k for k in keys if isinstance(k, str) and (k.isprintable() or k in "\r\n")]
        if len(text_chars) != len(keys) or len(keys) < 3:
            return keys
        joined = "".join(text_chars).replace("\r\n", "\n").replace("\r", "\n")
        body = joined.rstrip("\n")
        if "\n" not in body:
            return keys
        tail: list[Key] = ["\n"] if joined.endswith("\n") else []
        return [Paste(body), *tail]

    def _on_key(self, key: Key) -> None:
        self.state.dirty = True
        if isinstance(key, Paste):
            self.completer.reset()
            self.editor.insert(key.text)
            return
        if self.state.confirm_text is not None:
            self._answer_confirm(key)
            return
        action = self._bindings.get(key)
        if action is None and isinstance(key, int):
            name = curses.keyname(key) if 0 <= key < 1024 else b""
            action = "end" if name.startswith(b"kEND") else None
        if action is not None:
            if action != "complete":
                self.completer.reset()
            self._actions[action]()
        elif isinstance(key, str) and key.isprintable():
            self.completer.reset()
            self.editor.insert(key)

    # -- network events

    def _drain_events(self) -> None:
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return
            if isinstance(event, NetStatus):
                self.state.set_status(event.status, event.retry_in_s or None)
            else:
                self.state.apply(event)

    # -- drawing

    def _relayout(self, stdscr: Any) -> None:
        rows, cols = stdscr.getmaxyx()
        self._layout = compute_layout(rows, cols, self.state.roster_visible)
        self.state.dirty = True

    def _maybe_draw(self, stdscr: Any) -> None:
        status = status_text(self.state)
        if not self.state.dirty and status == self._last_status:
            return
        width = self._layout.messages.w
        self.renderer.absorb_appended(self.state, width)
        self._at_top = draw(
            stdscr, self._layout, self.state, self.renderer, self.editor, self._attrs
        )
        stdscr.noutrefresh()
        curses.doupdate()
        self.redraws += 1
        self._last_status = status_text(self.state)
        self.state.dirty = False
        if self.state.bell_pending:
            self.state.bell_pending = False
            try:
                curses.beep()
            except curses.error:
                pass  # no bell on this terminal

    # -- actions

    def _enter(self) -> None:
        line = self.editor.text
        if line.count("\n") + 1 > CONFIRM_LINES:
            self.state.confirm_text = line
            return
        self.editor.submit()
        self._run_line(line)

    def _answer_confirm(self, key: Key) -> None:
        line, self.state.confirm_text = self.state.confirm_text, None
        if key in ("y", "Y") and line is not None:
            self.editor.submit()
            self._run_line(line)
        else:
            self.state.add_line("-- not sent; the text is still in the input line", "system")

    def _run_line(self, line: str) -> None:
        command = parse_input(line)
        if command is None:
            return
        if isinstance(command, CommandError):
            self.state.add_line(f"! {command.message}", "error")
        elif isinstance(command, QuitCommand):
            self.quit_reason = command.reason
            self.state.quit_requested = True
        elif isinstance(command, LocalAction):
            self._local(command.name)
        elif isinstance(command, SendFrame):
            self._send(command, line)

    def _send(self, command: SendFrame, line: str) -> None:
        frame = command.frame
        if isinstance(frame, Nick) and not self.conn.connected:
            self.state.nick = frame.nick
            self.conn.change_nick(frame.nick)
            self.state.add_line(f"-- will connect as {frame.nick}", "system")
            return
        if not self.conn.send(frame):
            self.state.add_line(
                "! Not connected, so nothing was sent; wait for the reconnect.", "error"
            )
            self.editor.set_text(line)

    def _local(self, name: str) -> None:
        if name == "roster":
            self._toggle_roster()
        elif name == "clear":
            self.state.clear()
        elif name == "help":
            for text in HELP_LINES:
                self.state.add_line(text, "info")
        elif name == "bell":
            self.state.bell_enabled = not self.state.bell_enabled
            self.state.add_line(f"-- bell {'on' if self.state.bell_enabled else 'off'}", "system")

    def _end(self) -> None:
        self.editor.end()
        self.state.set_scroll(0)

    def _interrupt(self) -> None:
        raise KeyboardInterrupt

    def _escape(self) -> None:
        self.completer.reset()

    def _complete(self) -> None:
        result = self.completer.complete(self.editor.text, self.editor.cursor, self.state.roster)
        if result is not None:
            self.editor.set_text(*result)

    def _page(self) -> int:
        return max(1, self._layout.messages.h - 1)

    def _scroll(self, rows: int) -> None:
        rect = self._layout.messages
        hit_top = self.renderer.scroll_by(self.state, rows, rect.w, rect.h)
        if rows > 0 and (hit_top or self._at_top):
            self._maybe_fetch_history()

    def _maybe_fetch_history(self) -> None:
        state = self.state
        oldest = state.oldest_message_id()
        if state.history_pending or state.history_exhausted or oldest is None or oldest <= 1:
            return
        try:
            query = HistoryQuery(before=oldest, limit=HISTORY_PAGE)
        except ProtocolError:
            return
        if self.conn.send(query):
            state.history_pending = True

    def _toggle_roster(self) -> None:
        self.state.roster_visible = not self.state.roster_visible
        self._relayout(self.stdscr)

    def _resize(self) -> None:
        curses.update_lines_cols()
        self._relayout(self.stdscr)
        self._redraw_all()

    def _redraw_all(self) -> None:
        self.stdscr.clear()
        self.state.dirty = True

    def _mouse(self) -> None:
        try:
            _id, _x, _y, _z, bstate = curses.getmouse()
        except curses.error:
            return  # not a mouse event we asked for
        if bstate & getattr(curses, "BUTTON4_PRESSED", 0):
            self._scroll(WHEEL_ROWS)
        elif bstate & getattr(curses, "BUTTON5_PRESSED", 0):
            self._scroll(-WHEEL_ROWS)
