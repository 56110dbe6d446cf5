"""Everything the client shows, as plain Python: messages, roster, status, scroll.

:class:`ClientState` applies server frames and local events; it never touches the
terminal or the socket. Messages are kept in id order without duplicates, so a
history page or a reconnect's replay can be merged at any time. Turning entries
into rows of text is left to :mod:`tui_client.render`. Not thread-safe: only the
UI thread (or the plain client's main loop) uses it.
"""

from __future__ import annotations

import bisect
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from protocol import (
    Bye,
    Error,
    History,
    Join,
    Leave,
    Message,
    Rename,
    Roster,
    ServerFrame,
    Welcome,
    nick_key,
)

__all__ = ["ClientState", "Entry", "Status"]

log = logging.getLogger(__name__)

EntryKey = tuple[int, int, int]


class Status:
    """Connection states shown in the status line."""

    CONNECTING: Final = "connecting"
    CONNECTED: Final = "connected"
    RECONNECTING: Final = "reconnecting"
    DISCONNECTED: Final = "disconnected"


@dataclass(frozen=True, slots=True)
class Entry:
    """One thing in the message pane: a chat message or a local/system line.

    ``kind`` is ``message``, ``system`` (join/leave/rename, dim), ``error`` or ``info``.
    """

    key: EntryKey
    ts: float
    kind: str
    text: str
    sender: str = ""
    to: str | None = None
    action: bool = False


def _entry_key(entry: Entry) -> EntryKey:
    return entry.key


MAX_ENTRIES: Final = 20_000
"""Entries kept in memory while live; older ones are fetched again on scroll-up."""
TRIM_STEP: Final = 1_000


class ClientState:
    """The client's model of the chat."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8080,
        nick: str = "",
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self.host = host
        self.port = port
        self.nick = nick
        self.max_entries = max_entries
        self.entries: list[Entry] = []
        self._ids: set[int] = set()
        self._seq = 0
        self.roster: list[str] = []
        self.status: str = Status.CONNECTING
        self.retry_at: float | None = None  # time.monotonic() of the next attempt
        self.welcomed_once = False
        self.closed_by_server = False  # the last connection ended with a bye
        self.scroll = 0  # rows scrolled up from the bottom; 0 is live
        self.appended_while_scrolled: list[Entry] = []
        self.unseen = 0
        self.last_id = 0
        self.roster_visible = True
        self.bell_enabled = True
        self.bell_pending = False
        self.history_pending = False
        self.history_exhausted = False
        self.confirm_text: str | None = None  # a long message waiting for y/n
        self.quit_requested = False
        self.dirty = True
        self.listener: Callable[[Entry], None] | None = None  # told of every new entry
        self._handlers: dict[type[Any], Callable[[Any], None]] = {
            Welcome: self._on_welcome,
            Message: self._on_message,
            Join: self._on_join,
            Leave: self._on_leave,
            Rename: self._on_rename,
            Roster: self._on_roster,
            History: self._on_history,
            Error: self._on_error,
            Bye: self._on_bye,
        }

    # -- entries

    def _insert(self, entry: Entry) -> None:
        index = bisect.bisect_left(self.entries, entry.key, key=_entry_key)
        at_end = index == len(self.entries)
        self.entries.insert(index, entry)
        self._trim()
        if self.scroll > 0 and at_end:
            self.appended_while_scrolled.append(entry)
            if entry.kind == "message":
                self.unseen += 1
        self.dirty = True
        if self.listener is not None:
            self.listener(entry)

    def _trim(self) -> None:
        """Forget the oldest entries past ``max_entries``, in steps, while live.

        Never while scrolled up (the view would jump); what is forgotten comes
        back from the server's history when the user scrolls up to it.
        """
        excess = len(self.entries) - self.max_entries
        if self.scroll > 0 or excess < min(TRIM_STEP, self.max_entries):
            return
        for entry in self.entries[:excess]:
            if entry.kind == "message":
                self._ids.discard(entry.key[0])
        del self.entries[:excess]
        self.history_exhausted = False

    def add_message(self, msg: Message) -> bool:
        """Merge one message; return False if its id was already known."""
        if msg.id in self._ids:
            return False
        self._ids.add(msg.id)
        self.last_id = max(self.last_id, msg.id)
        self._insert(
            Entry((msg.id, 0, 0), msg.ts, "message", msg.text, msg.sender, msg.to, msg.action)
        )
        if (
            self.bell_enabled
            and nick_key(msg.sender) != nick_key(self.nick)
            and (msg.to is not None or self.mentions_me(msg.text))
        ):
            self.bell_pending = True
        return True

    def add_messages(self, messages: Iterable[Message]) -> int:
        """Merge many messages; return how many were new."""
        return sum(1 for m in messages if self.add_message(m))

    def add_line(self, text: str, kind: str = "info", ts: float | None = None) -> None:
        """Add a local line after the newest message known."""
        self._seq += 1
        stamp = time.time() if ts is None else ts
        self._insert(Entry((self.last_id, 1, self._seq), stamp, kind, text))

    def clear(self) -> None:
        """Empty the message pane (older history is not fetched again)."""
        self.entries.clear()
        self.scroll = 0
        self.unseen = 0
        self.appended_while_scrolled.clear()
        self.history_exhausted = True
        self.dirty = True

    def oldest_message_id(self) -> int | None:
        """Return the id of the oldest message loaded, if any."""
        for entry in self.entries:
            if entry.kind == "message" and entry.key[1] == 0:
                return entry.key[0]
        return None

    _WORD_CHARS: Final = r"[\w\-.]"

    def mentions_me(self, text: str) -> bool:
        """Tell whether ``text`` names our nick as a whole word (any case)."""
        if not self.nick:
            return False
        key = re.escape(nick_key(self.nick))
        pattern = rf"(?<!{self._WORD_CHARS}){key}(?!{self._WORD_CHARS})"
        return re.search(pattern, nick_key(text)) is not None

    def is_me(self, nick: str) -> bool:
        """Tell whether ``nick`` is ours (case-insensitively)."""
        return bool(self.nick) and nick_key(nick) == nick_key(self.nick)

    # -- scrolling

    def set_scroll(self, rows: int) -> None:
        """Scroll to ``rows`` above the bottom; 0 goes back to live and clears 'new'."""
        rows = max(0, rows)
        if rows != self.scroll:
            self.scroll = rows
            self.dirty = True
        if rows == 0:
            if self.unseen:
                self.dirty = True
            self.unseen = 0
            self.appended_while_scrolled.clear()

    # -- connection

    def set_status(
        self, status: str, retry_in_s: float | None = None, now: float | None = None
    ) -> None:
        """Record the connection status; ``retry_in_s`` for 'reconnecting'.

        Losing a connection the server did not close with ``bye`` gets a line,
        so a crash or a network drop is as visible as a clean shutdown.
        """
        lost = self.status == Status.CONNECTED and status != Status.CONNECTED
        if lost and not self.closed_by_server:
            self.add_line("-- lost the connection to the server", "system")
        self.closed_by_server = False
        self.status = status
        if retry_in_s is None:
            self.retry_at = None
        else:
            self.retry_at = (time.monotonic() if now is None else now) + retry_in_s
        self.dirty = True

    def status_word(self, now: float | None = None) -> str:
        """Return the status as shown: 'reconnecting in 4s' counts down."""
        if self.status == Status.RECONNECTING and self.retry_at is not None:
            left = self.retry_at - (time.monotonic() if now is None else now)
            return f"reconnecting in {max(0, int(left + 0.999))}s"
        return self.status

    # -- server frames

    def apply(self, frame: ServerFrame) -> None:
        """Apply one frame from the server."""
        handler = self._handlers.get(type(frame))
        if handler is not None:
            handler(frame)

    def _on_welcome(self, frame: Welcome) -> None:
        self.nick = frame.nick
        self.roster = sorted(frame.roster, key=nick_key)
        new = self.add_messages(frame.history)
        self.set_status(Status.CONNECTED)
        if not self.welcomed_once:
            self.add_line(f"-- connected to {frame.server} as {frame.nick}", "system")
            if frame.motd:
                self.add_line(frame.motd, "info")
        else:
            self.add_line(
                f"-- reconnected as {frame.nick} ({new} missed messages loaded)", "system"
            )
        self.welcomed_once = True

    def _on_message(self, frame: Message) -> None:
        self.add_message(frame)

    def _on_join(self, frame: Join) -> None:
        if not any(nick_key(n) == nick_key(frame.nick) for n in self.roster):
            self.roster = sorted([*self.roster, frame.nick], key=nick_key)
        self.add_line(f"-- {frame.nick} joined", "system", frame.ts)

    def _on_leave(self, frame: Leave) -> None:
        self.roster = [n for n in self.roster if nick_key(n) != nick_key(frame.nick)]
        self.add_line(f"-- {frame.nick} left ({frame.reason})", "system", frame.ts)

    def _on_rename(self, frame: Rename) -> None:
        self.roster = sorted(
            [frame.new if nick_key(n) == nick_key(frame.old) else n for n in self.roster],
            key=nick_key,
        )
        if self.is_me(frame.old):
            self.nick = frame.new
            self.add_line(f"-- you are now known as {frame.new}", "system", frame.ts)
        else:
            self.add_line(f"-- {frame.old} is now known as {frame.new}", "system", frame.ts)

    def _on_roster(self, frame: Roster) -> None:
        self.roster = sorted(frame.users, key=nick_key)
        self.add_line(f"-- online ({len(frame.users)}): {', '.join(self.roster)}", "system")

    def _on_history(self, frame: History) -> None:
        self.history_pending = False
        if self.add_messages(frame.messages) == 0:
            self.history_exhausted = True
        self.dirty = True

    def _on_error(self, frame: Error) -> None:
        text = frame.message
        if frame.code == "nick_taken" and self.status != Status.CONNECTED:
            text = f"{frame.message} Choose another nick with /nick NAME."
        self.add_line(f"! {text}", "error")

    def _on_bye(self, frame: Bye) -> None:
        self.closed_by_server = True
        self.add_line(f"-- server closed the connection ({frame.reason})", "system")
