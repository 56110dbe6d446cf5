"""The full-screen client: the UI loop that ties keys, network events and drawing.

The UI thread owns curses; the only other thread is the connection's receiver
(:mod:`tui_client.net`), which feeds a queue and is joined on the way out.
Each loop iteration waits briefly for keys (``get_wch`` with a timeout),
applies them, drains the network queue into the buffers
(:mod:`tui_client.events`), asks for the next page of any gap a reconnect
left, and for the whole roster of a big channel the first time it is shown
with only part of it, and redraws once if anything changed. Commands are
carried out by :mod:`tui_client.actions`; drawing is :mod:`tui_client.view`.
While a password is asked for (:mod:`tui_client.secret`) the input line
belongs to it: typed keys go to the masked answer, Enter ends a step, Esc
cancels; switching buffers, scrolling and redrawing still work.
"""

from __future__ import annotations

import curses
import functools
import logging
import queue
import ssl
import sys
import time
from collections.abc import Callable
from typing import Any, Final

from protocol import HistoryQuery, ProtocolError
from tui_client.actions import CommandRunner
from tui_client.buffers import Buffers, EntryKind
from tui_client.commands import keeps_history, parse_input
from tui_client.completion import Completer, NameIndex
from tui_client.editor import LineEditor
from tui_client.events import EventApplier
from tui_client.identity import Identity
from tui_client.keys import Key, KeyDecoder, Paste, build_bindings, key_help, keyname_action
from tui_client.layout import Layout, compute_layout
from tui_client.net import Connection, NetEvent
from tui_client.prefs import Prefs
from tui_client.render import Renderer, Scene, status_text
from tui_client.secret import Purpose, SecretPrompt
from tui_client.status import ConnectionStatus
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
PROMPT_PASS_THROUGH: Final = frozenset({
    "buffer_prev", "buffer_next", "page_up", "page_down", "toggle_roster", "roster_up",
    "roster_down", "resize", "mouse", "redraw", "interrupt",
})
"""Actions that keep working while a password is asked for (the rest go to the prompt)."""


class ChatApp:
    """The full-screen chat client; :meth:`run` is given to ``curses.wrapper``.

    It wires the parts together and owns only the UI loop's own state (the
    screen size, a question waiting for y/n, whether to redraw or ring).
    """

    def __init__(
        self,
        host: str,
        port: int,
        nick: str,
        password: str | None = None,
        tls: ssl.SSLContext | None = None,
        channels: list[str] | None = None,
        nick_password: str | None = None,
    ) -> None:
        self.me = Identity(nick)
        self.status = ConnectionStatus(host, port)
        self.prefs = Prefs()
        self.buffers = Buffers()
        self.editor = LineEditor()
        self.prompt = SecretPrompt()
        self.completer = Completer()
        self.renderer = Renderer()
        self.decoder = KeyDecoder()
        self.events: queue.Queue[NetEvent] = queue.Queue()
        self.conn = Connection(
            host, port, nick, self.events, password=password, tls=tls, channels=channels,
            nick_password=nick_password,
        )
        self.applier = EventApplier(self.buffers, self.me, self.status, self.prefs, self.prompt)
        self.runner = CommandRunner(
            self.buffers, self.me, self.status, self.prefs, self.conn, self.prompt,
            key_help=key_help(),
        )
        self.quit_requested = False
        self.quit_reason: str | None = None
        self.confirm_text: str | None = None  # a long message waiting for y/n
        self._dirty = True
        self._bell_pending = False
        self._bindings: dict[Key, str] = {}
        self._attrs: Attrs = {}
        self._size = (24, 80)
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
            "buffer_prev": lambda: self._switched(self.buffers.step(-1)),
            "buffer_next": lambda: self._switched(self.buffers.step(1)),
            "page_up": lambda: self._scroll(self._page()),
            "page_down": lambda: self._scroll(-self._page()),
            "toggle_roster": self.prefs.toggle_roster,
            "roster_up": lambda: self._scroll_roster(-1),
            "roster_down": lambda: self._scroll_roster(1),
            "resize": self._resize,
            "mouse": self._mouse,
            "redraw": self._redraw_all,
            "escape": self._escape,
            "interrupt": self._interrupt,
        }
        for number in range(1, 10):
            self._actions[f"goto:{number}"] = functools.partial(self._goto, number)
        self._prompt_actions: dict[str, Callable[[], None]] = {
            "enter": self._answer_prompt,
            "backspace": self.prompt.backspace,
            "kill_line": self.prompt.clear,
            "kill_word": self.prompt.clear,
            "escape": self._cancel_prompt,
        }

    # -- main loop

    def run(self, stdscr: Any) -> int:
        """Run until the user quits; return the exit status. UI thread only."""
        self._setup(stdscr)
        self.conn.start()
        try:
            while not self.quit_requested:
                for key in self._read_keys(stdscr):
                    self._on_key(key)
                self._drain_events()
                self.runner.fill_gaps()  # a reconnect's replay was cut: the middle, in pages
                self.runner.ask_whole_roster()  # a partial channel just shown: once
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
        self._size = stdscr.getmaxyx()
        server = self.buffers.server
        server.add_line(f"-- connecting to {self.status.host}:{self.status.port} ...",
                        EntryKind.SYSTEM)
        server.add_line("-- type /help for commands and keys", EntryKind.SYSTEM)

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
            self.quit_requested = True

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
        self._dirty = True
        if self.prompt.active:
            self._on_prompt_key(key)
            return
        if isinstance(key, Paste):
            self.completer.reset()
            self.editor.insert(key.text)
            return
        if self.confirm_text is not None:
            self._answer_confirm(key)
            return
        action = self._action_of(key)
        if action is not None:
            if action != "complete":
                self.completer.reset()
            self._actions[action]()
        elif isinstance(key, str) and key.isprintable():
            self.completer.reset()
            self.editor.insert(key)

    def _action_of(self, key: Key) -> str | None:
        action = self._bindings.get(key)
        if action is None and isinstance(key, int) and 0 <= key < 1024:
            action = keyname_action(curses.keyname(key).decode("ascii", "replace"))
        return action

    def _on_prompt_key(self, key: Key) -> None:
        """A key while a password is asked for: it edits the masked answer, or passes."""
        if isinstance(key, Paste):
            self.prompt.insert(key.text)
            return
        action = self._action_of(key)
        if action is not None:
            if action in self._prompt_actions:
                self._prompt_actions[action]()
            elif action in PROMPT_PASS_THROUGH or action.startswith("goto:"):
                self._actions[action]()
        elif isinstance(key, str) and key.isprintable():
            self.prompt.insert(key)

    def _answer_prompt(self) -> None:
        answered = self.prompt.submit()
        if answered is not None:
            self.runner.answer(*answered)

    def _cancel_prompt(self) -> None:
        ask = self.prompt.cancel()
        again = "/identify" if ask is not None and ask.purpose == Purpose.HELLO else "the command"
        self.buffers.current.add_line(
            f"-- not asked any more; nothing was sent ({again} asks again)", EntryKind.SYSTEM
        )

    # -- network events

    def _drain_events(self) -> None:
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return
            self._dirty = True
            if self.applier.apply(event):
                self._bell_pending = True

    # -- drawing

    def _layout(self) -> Layout:
        rows, cols = self._size
        roster = self.prefs.roster_visible and self.buffers.current.is_channel
        return compute_layout(rows, cols, roster)

    def _scene(self) -> Scene:
        return Scene(self.buffers, self.me, self.status, self.prefs, self.confirm_text, self.prompt)

    def _maybe_draw(self, stdscr: Any) -> None:
        layout = self._layout()
        scene = self._scene()
        status = status_text(scene, layout.folded)
        if not self._dirty and status == self._last_status:
            return
        self.renderer.absorb_appended(self.buffers.current, self.me, layout.messages.w)
        self._at_top = draw(stdscr, layout, scene, self.renderer, self.editor, self._attrs)
        stdscr.noutrefresh()
        curses.doupdate()
        self.redraws += 1
        self._last_status = status_text(scene, layout.folded)
        self._dirty = False
        if self._bell_pending:
            self._bell_pending = False
            try:
                curses.beep()
            except curses.error:
                pass  # no bell on this terminal

    # -- actions

    def _enter(self) -> None:
        line = self.editor.text
        if line.count("\n") + 1 > CONFIRM_LINES:
            self.confirm_text = line
            return
        self.editor.submit(remember=keeps_history(line))
        self._run_line(line)

    def _answer_confirm(self, key: Key) -> None:
        line, self.confirm_text = self.confirm_text, None
        if key in ("y", "Y") and line is not None:
            self.editor.submit(remember=keeps_history(line))
            self._run_line(line)
        else:
            self.buffers.current.add_line(
                "-- not sent; the text is still in the input line", EntryKind.SYSTEM
            )

    def _run_line(self, line: str) -> None:
        command = parse_input(line)
        if command is None:
            return
        before = self.buffers.current
        outcome = self.runner.run(command)
        if outcome.quit:
            self.quit_reason = outcome.quit_reason
            self.quit_requested = True
        elif not outcome.sent:
            self.buffers.current.add_line(
                "! Not connected, so nothing was sent; wait for the reconnect.", EntryKind.ERROR
            )
            self.editor.set_text(line)
        self._switched(self.buffers.current is not before)

    def _goto(self, number: int) -> None:
        self._switched(self.buffers.switch_number(number))

    def _switched(self, changed: bool) -> None:
        """After a buffer switch: no completion cycle or top-of-pane state carries over."""
        if changed:
            self.completer.reset()
            self._at_top = False

    def _end(self) -> None:
        self.editor.end()
        self.buffers.current.set_scroll(0)

    def _interrupt(self) -> None:
        raise KeyboardInterrupt

    def _escape(self) -> None:
        self.completer.reset()

    def _complete(self) -> None:
        current = self.buffers.current
        nicks: NameIndex | list[str] = (
            current.roster if current.is_channel else [current.name, self.me.nick]
        )
        result = self.completer.complete(
            self.editor.text, self.editor.cursor, nicks, self.buffers.channel_names()
        )
        if result is not None:
            self.editor.set_text(*result)

    def _page(self) -> int:
        return max(1, self._layout().messages.h - 1)

    def _scroll(self, rows: int) -> None:
        rect = self._layout().messages
        buffer = self.buffers.current
        hit_top = self.renderer.scroll_by(buffer, self.me, rows, rect.w, rect.h)
        if rows > 0 and (hit_top or self._at_top):
            self._maybe_fetch_history()

    def _scroll_roster(self, pages: int) -> None:
        rect = self._layout().roster
        if rect is None:
            return  # no roster pane: nothing to scroll
        shown = max(1, rect.h - 2)  # below the header, above the "+N more" row
        self.buffers.current.scroll_roster(pages * shown, shown)

    def _maybe_fetch_history(self) -> None:
        buffer = self.buffers.current
        oldest = buffer.oldest_message_id()
        if not buffer.wants_history() or oldest is None:
            return
        peer = buffer.name if buffer.is_query else None
        channel = None if buffer.is_query else buffer.name
        try:
            query = HistoryQuery(before=oldest, limit=HISTORY_PAGE, channel=channel, peer=peer)
        except ProtocolError:
            return
        if self.conn.send(query):
            buffer.note_history_requested()

    def _resize(self) -> None:
        curses.update_lines_cols()
        self._size = self.stdscr.getmaxyx()
        self._redraw_all()

    def _redraw_all(self) -> None:
        self.stdscr.clear()
        self._dirty = True

    def _mouse(self) -> None:
        try:
            _id, _x, _y, _z, bstate = curses.getmouse()
        except curses.error:
            return  # not a mouse event we asked for
        if bstate & getattr(curses, "BUTTON4_PRESSED", 0):
            self._scroll(WHEEL_ROWS)
        elif bstate & getattr(curses, "BUTTON5_PRESSED", 0):
            self._scroll(-WHEEL_ROWS)
