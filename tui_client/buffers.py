"""Buffers: one per channel, one per private conversation, one for server notices.

Pure Python, no terminal and no socket. A :class:`Buffer` owns what one
conversation shows: its entries (messages in id order without duplicates, so a
history page or a reconnect's replay can be merged at any time, and local lines
after the newest message), its scroll position and "N new" counter, its unread
count and highlight mark while another buffer is shown, its history paging, the
gap a reconnect may leave (when the server's replay was cut at its cap: filled
page by page, oldest first, see :meth:`Buffer.expect_gap`), and
for a channel its roster (:mod:`tui_client.roster`: whether only part of it is
known and was asked for whole, and where its pane is scrolled), topic, modes
and whether we are in it. :class:`Buffers` owns the ordered collection (the
server buffer first, the others in the order they were opened) and which one
is current. Turning entries into rows is left to
:mod:`tui_client.render`; deciding what a server frame means, to
:mod:`tui_client.events`. Not thread-safe: only the UI thread (or the plain
client's main loop) uses them.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from protocol import MAX_HISTORY_LIMIT, Message, channel_key, is_channel, nick_key
from tui_client.identity import Identity
from tui_client.roster import OPERATOR_MARK, Roster

__all__ = [
    "MAX_ENTRIES",
    "OPERATOR_MARK",
    "Buffer",
    "BufferKind",
    "Buffers",
    "ChannelModes",
    "Entry",
    "EntryKind",
    "GAP_PAGE",
    "Gap",
    "Roster",
]

EntryKey = tuple[int, int, int]

MAX_ENTRIES: Final = 20_000
"""Entries one buffer keeps in memory while live; older ones are fetched again on scroll-up."""
TRIM_STEP: Final = 1_000
GAP_PAGE: Final = MAX_HISTORY_LIMIT
"""Messages asked for per page while filling a gap (a shorter page reaches its top)."""
SERVER_BUFFER_NAME: Final = "server"


class EntryKind:
    """What an entry is: a chat message, or a local line of some kind."""

    MESSAGE: Final = "message"
    SYSTEM: Final = "system"  # join/leave/rename/connection, drawn dim
    ERROR: Final = "error"
    INFO: Final = "info"


class BufferKind:
    """The three kinds of buffer."""

    SERVER: Final = "server"
    CHANNEL: Final = "channel"
    QUERY: Final = "query"


@dataclass(frozen=True, slots=True)
class Entry:
    """One thing in a message pane: a chat message or a local line (see :class:`EntryKind`)."""

    key: EntryKey
    ts: float
    kind: str
    text: str
    sender: str = ""
    to: str | None = None
    action: bool = False


def _entry_key(entry: Entry) -> EntryKey:
    return entry.key


@dataclass(frozen=True, slots=True)
class ChannelModes:
    """A channel's switches: only operators set the topic; only the invited may join."""

    topic_lock: bool = False
    invite_only: bool = False

    @property
    def flags(self) -> str:
        """Return the switches that are on as IRC writes them: ``+ti``, or empty."""
        letters = ("t" if self.topic_lock else "") + ("i" if self.invite_only else "")
        return f"+{letters}" if letters else ""


@dataclass(frozen=True, slots=True)
class Gap:
    """Messages a buffer may lack: those with ids strictly between ``after`` and ``before``."""

    after: int
    before: int


@dataclass(frozen=True, slots=True)
class Added:
    """What merging one message did: ``new`` (not a duplicate), ``alert`` (ring the bell)."""

    new: bool
    alert: bool = False


class Buffer:
    """One conversation: a channel, a private conversation, or the server notices."""

    def __init__(self, kind: str, name: str, max_entries: int = MAX_ENTRIES) -> None:
        self.kind = kind
        self._name = name
        self.max_entries = max_entries
        self._entries: list[Entry] = []
        self._ids: set[int] = set()
        self._seq = 0
        self._last_id = 0
        self._scroll = 0  # rows scrolled up from the bottom; 0 is live
        self._appended: list[Entry] = []  # arrived below a scrolled-up view
        self._unseen = 0  # messages among those
        self._visible = False
        self._unread = 0  # messages that arrived while another buffer was shown
        self._highlight = False  # one of them named us, or was private
        self._history_pending = False
        self._history_exhausted = False
        self._gap: Gap | None = None
        self._gap_pending = False
        self._joined = kind == BufferKind.CHANNEL
        self._topic = ""
        self._topic_by = ""
        self._modes = ChannelModes()
        self.roster = Roster()
        self._roster_asked = False  # the whole roster of a partial one was asked for
        self._quiet_rosters = 0  # answers on their way that only fill the roster in
        self._roster_top = 0  # the first member the roster pane shows (0: the top)
        self.listener: Callable[[Buffer, Entry], None] | None = None  # told of new entries

    # -- identity

    @property
    def name(self) -> str:
        """The channel name, the peer's nick, or ``server``."""
        return self._name

    @property
    def key(self) -> str:
        """The comparison key of the name (channel or nick casefold; server: empty)."""
        if self.kind == BufferKind.SERVER:
            return ""
        return channel_key(self._name) if self.kind == BufferKind.CHANNEL else nick_key(self._name)

    @property
    def is_channel(self) -> bool:
        return self.kind == BufferKind.CHANNEL

    @property
    def is_query(self) -> bool:
        return self.kind == BufferKind.QUERY

    def rename(self, name: str) -> None:
        """Follow a peer's new nick (query buffers)."""
        self._name = name

    # -- entries

    @property
    def entries(self) -> list[Entry]:
        """The entries in display order. Read only: change them through the methods."""
        return self._entries

    def _insert(self, entry: Entry) -> None:
        index = bisect.bisect_left(self._entries, entry.key, key=_entry_key)
        at_end = index == len(self._entries)
        self._entries.insert(index, entry)
        self._trim()
        if self._scroll > 0 and at_end:
            self._appended.append(entry)
            if entry.kind == EntryKind.MESSAGE:
                self._unseen += 1
        if self.listener is not None:
            self.listener(self, entry)

    def _trim(self) -> None:
        """Forget the oldest entries past ``max_entries``, in steps, while live.

        Never while scrolled up (the view would jump); what is forgotten comes
        back from the server's history when the user scrolls up to it.
        """
        excess = len(self._entries) - self.max_entries
        if self._scroll > 0 or excess < min(TRIM_STEP, self.max_entries):
            return
        for entry in self._entries[:excess]:
            if entry.kind == EntryKind.MESSAGE:
                self._ids.discard(entry.key[0])
        del self._entries[:excess]
        self._history_exhausted = False
        oldest = self.oldest_message_id()
        if self._gap is not None and (oldest is None or oldest > self._gap.after):
            self._give_up_gap()  # nothing below the gap is left: paging back fills it

    def add_message(self, msg: Message, me: Identity, live: bool = True) -> Added:
        """Merge one message; ``live`` ones (not backlog) count as unread and may alert.

        A message alerts when it is from someone else and private or names us.
        """
        if msg.id in self._ids:
            return Added(new=False)
        self._ids.add(msg.id)
        self._last_id = max(self._last_id, msg.id)
        self._insert(
            Entry((msg.id, 0, 0), msg.ts, EntryKind.MESSAGE, msg.text, msg.sender, msg.to,
                  msg.action)
        )
        if not live or me.is_me(msg.sender):
            return Added(new=True)
        alert = msg.to is not None or me.mentions_me(msg.text)
        if not self._visible:
            self._unread += 1
            self._highlight = self._highlight or alert
        return Added(new=True, alert=alert)

    def add_messages(self, messages: Iterable[Message], me: Identity, live: bool = True) -> int:
        """Merge many messages; return how many were new."""
        return sum(1 for m in messages if self.add_message(m, me, live).new)

    def add_line(self, text: str, kind: str = EntryKind.INFO, ts: float | None = None) -> None:
        """Add a local line after the newest message known."""
        self._seq += 1
        stamp = time.time() if ts is None else ts
        self._insert(Entry((self._last_id, 1, self._seq), stamp, kind, text))

    def clear(self) -> None:
        """Empty the pane (older history is not fetched again)."""
        self._entries.clear()
        self._scroll = 0
        self._unseen = 0
        self._appended.clear()
        self._history_exhausted = True
        self._gap = None

    def oldest_message_id(self) -> int | None:
        """Return the id of the oldest message loaded, if any."""
        for entry in self._entries:
            if entry.kind == EntryKind.MESSAGE:
                return entry.key[0]
        return None

    def _newest_message_id(self) -> int | None:
        for entry in reversed(self._entries):
            if entry.kind == EntryKind.MESSAGE:
                return entry.key[0]
        return None

    def forget_requests(self) -> None:
        """Forget the history and gap pages asked for: the connection that would answer is gone."""
        self._history_pending = False
        self._gap_pending = False

    # -- history paging

    def wants_history(self) -> bool:
        """Tell whether an older page could be asked for now (channels we are in, queries)."""
        oldest = self.oldest_message_id()
        return (
            (self.is_query or (self.is_channel and self._joined))
            and not self._history_pending
            and not self._history_exhausted
            and oldest is not None
            and oldest > 1
        )

    def note_history_requested(self) -> None:
        """Record that a page was asked for; none more until it arrives."""
        self._history_pending = True

    def add_history(self, messages: Iterable[Message], me: Identity) -> int:
        """Merge a page of older messages; an empty one means the oldest is loaded."""
        self._history_pending = False
        new = self.add_messages(messages, me, live=False)
        if new == 0:
            self._history_exhausted = True
        return new

    @property
    def history_pending(self) -> bool:
        return self._history_pending

    @property
    def history_exhausted(self) -> bool:
        return self._history_exhausted

    # -- the gap a reconnect leaves

    @property
    def gap(self) -> Gap | None:
        """The messages this buffer may lack in the middle, while it fills them in."""
        return self._gap

    def expect_gap(self, below: int) -> None:
        """Note that messages between the newest loaded and ``below`` may be missing.

        Call it before merging a snapshot whose history the server cut at its cap
        (a resume's 1,000, a join's 50) and which starts at ``below``. Nothing is
        missing when nothing was loaded. A gap still open widens to take the new one in.
        """
        newest = self._newest_message_id()
        if newest is None or newest + 1 >= below:
            return
        gap = self._gap
        self._gap = Gap(newest, below) if gap is None else Gap(
            min(gap.after, newest), max(gap.before, below)
        )
        self._gap_pending = False

    def maybe_gap_query(self) -> Gap | None:
        """Return the part of the gap to ask for next (its oldest ``GAP_PAGE`` messages).

        None when there is no gap, a page is on its way, or the buffer cannot ask
        (a channel we are not in). A buffer already holding ``max_entries`` gives the
        rest of the gap up: it forgets what lies below it, so paging back fetches the
        gap in its turn.
        """
        gap = self._gap
        if gap is None or self._gap_pending or not (self.is_query or self._joined):
            return None
        if len(self._entries) >= self.max_entries:
            self._give_up_gap()
            return None
        return gap

    def note_gap_requested(self) -> None:
        """Record that a page of the gap was asked for; none more until it arrives."""
        self._gap_pending = True

    def add_gap_page(self, messages: list[Message], after: int, me: Identity) -> int:
        """Merge a page of the gap: the oldest messages newer than ``after``; return how many new.

        They were missed, so they count as unread like the rest of a reconnect's
        replay. A page shorter than ``GAP_PAGE`` reaches the top: the gap is
        filled. A page for another ``after`` (a gap given up or closed since) is
        ignored: merged, it would leave a hole below it.
        """
        gap = self._gap
        if gap is None or after != gap.after:
            return 0
        self._gap_pending = False
        new = self.add_messages(messages, me)
        if self._gap is gap:  # not given up by trimming meanwhile
            top = max((m.id for m in messages), default=gap.after)
            done = len(messages) < GAP_PAGE or top + 1 >= gap.before
            self._gap = None if done else Gap(top, gap.before)
        return new

    def _give_up_gap(self) -> None:
        """Forget what lies below the gap (its messages come back when paged to)."""
        gap = self._gap
        if gap is None:
            return
        cut = bisect.bisect_left(self._entries, (gap.after + 1, 0, 0), key=_entry_key)
        for entry in self._entries[:cut]:
            if entry.kind == EntryKind.MESSAGE:
                self._ids.discard(entry.key[0])
        del self._entries[:cut]
        self._gap = None
        self._gap_pending = False
        self._history_exhausted = False

    # -- scrolling

    @property
    def scroll(self) -> int:
        """Rows scrolled up from the bottom; 0 is live."""
        return self._scroll

    @property
    def unseen(self) -> int:
        """Messages that arrived below the view while scrolled up."""
        return self._unseen

    def set_scroll(self, rows: int) -> None:
        """Scroll to ``rows`` above the bottom; 0 goes back to live and clears 'new'."""
        self._scroll = max(0, rows)
        if self._scroll == 0:
            self._unseen = 0
            self._appended.clear()

    def absorb_appended(self, rows_of: Callable[[Entry], int]) -> None:
        """Keep a scrolled-up view still while entries arrive below it.

        ``rows_of`` tells how many rows an entry takes at the current width.
        """
        if self._appended and self._scroll > 0:
            self._scroll += sum(rows_of(e) for e in self._appended)
        self._appended.clear()

    # -- activity

    @property
    def unread(self) -> int:
        """Messages from others that arrived while this buffer was not shown."""
        return self._unread

    @property
    def highlight(self) -> bool:
        """Whether one of the unread messages named us or was private."""
        return self._highlight

    @property
    def visible(self) -> bool:
        return self._visible

    def show(self) -> None:
        """Become the shown buffer: what was unread is read."""
        self._visible = True
        self._unread = 0
        self._highlight = False

    def hide(self) -> None:
        """Stop being the shown buffer: new messages count as unread."""
        self._visible = False

    # -- channel state

    @property
    def joined(self) -> bool:
        """For a channel: whether we are in it (False after /part or a failed rejoin)."""
        return self._joined

    @property
    def topic(self) -> str:
        return self._topic

    @property
    def topic_by(self) -> str:
        return self._topic_by

    @property
    def modes(self) -> ChannelModes:
        """What the channel's operators switched on (a channel's own; off elsewhere)."""
        return self._modes

    def enter(
        self,
        roster: Iterable[str],
        topic: str | None,
        topic_by: str | None,
        operators: Iterable[str] = (),
        modes: ChannelModes | None = None,
        users: int | None = None,
    ) -> None:
        """Record that we are in this channel, with its members, operators, topic and modes.

        ``users`` says how many members there are when ``roster`` lists only some.
        """
        self._joined = True
        self.roster.replace(roster, operators, users)
        self._roster_asked = False
        self._quiet_rosters = 0
        self._roster_top = 0
        self._topic = topic or ""
        self._topic_by = topic_by or ""
        self._modes = modes or ChannelModes()

    def set_modes(self, topic_lock: bool | None = None, invite_only: bool | None = None) -> None:
        """Follow a change of modes (None: that one is unchanged)."""
        self._modes = ChannelModes(
            self._modes.topic_lock if topic_lock is None else topic_lock,
            self._modes.invite_only if invite_only is None else invite_only,
        )

    def leave(self) -> None:
        """Record that we left this channel: nobody is listed until we are back."""
        self._joined = False
        self.roster.clear()
        self._roster_asked = False
        self._quiet_rosters = 0
        self._roster_top = 0
        self._history_pending = False

    @property
    def roster_top(self) -> int:
        """The member (from 0, operators first) at the top of the roster pane."""
        return self._roster_top

    def scroll_roster(self, rows: int, shown: int) -> None:
        """Move the roster pane down (+) or up (-) by ``rows``; ``shown`` members fit in it."""
        most = max(0, len(self.roster) - max(1, shown))
        self._roster_top = min(max(0, self._roster_top + rows), most)

    # -- the whole roster, when the server sent only part of it

    def wants_roster(self) -> bool:
        """Tell whether to ask for the whole roster: a channel we are in, partial, not asked."""
        return self.is_channel and self._joined and self.roster.partial and not self._roster_asked

    @property
    def roster_asked(self) -> bool:
        """Whether the whole roster was asked for since we entered (its answer may be due)."""
        return self._roster_asked

    def note_roster_asked(self, quiet: bool = True) -> None:
        """Record that ``who`` was sent for the whole roster; a ``quiet`` answer is not listed."""
        self._roster_asked = True
        if quiet:
            self._quiet_rosters += 1

    def list_rosters(self) -> None:
        """List the roster answers on their way, quiet ones too: the user asked to see them."""
        self._quiet_rosters = 0

    def take_roster_answer(self) -> bool:
        """Match a ``roster`` answer to its request; return whether to list it in the buffer."""
        if self._quiet_rosters:
            self._quiet_rosters -= 1
            return False
        return True

    def set_topic(self, text: str, by: str) -> None:
        """Take ``text`` (empty: none) as the topic, set by ``by``."""
        self._topic = text
        self._topic_by = by if text else ""


class Buffers:
    """The buffers in display order, the server buffer first, and the current one."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self.listener: Callable[[Buffer, Entry], None] | None = None  # told of new entries
        self._server = self._new(BufferKind.SERVER, SERVER_BUFFER_NAME)
        self._list: list[Buffer] = [self._server]
        self._by_key: dict[str, Buffer] = {}
        self._by_name: dict[str, Buffer] = {}  # exact spellings seen, to skip casefolding
        self._current = self._server
        self._server.show()
        self._known_channels: dict[str, str] = {}  # key -> name, from /list and our own

    def _new(self, kind: str, name: str) -> Buffer:
        buffer = Buffer(kind, name, self.max_entries)
        buffer.listener = self._on_entry
        return buffer

    def _on_entry(self, buffer: Buffer, entry: Entry) -> None:
        if self.listener is not None:
            self.listener(buffer, entry)

    # -- reading

    @property
    def server(self) -> Buffer:
        return self._server

    @property
    def current(self) -> Buffer:
        return self._current

    @property
    def current_index(self) -> int:
        return self._list.index(self._current)

    def __iter__(self) -> Iterator[Buffer]:
        return iter(list(self._list))

    def __len__(self) -> int:
        return len(self._list)

    def index_of(self, buffer: Buffer) -> int:
        return self._list.index(buffer)

    def find(self, name: str) -> Buffer | None:
        """Return the channel or query buffer called ``name`` (any case), if open."""
        buffer = self._by_name.get(name)
        if buffer is not None and buffer.name == name:
            return buffer
        key = channel_key(name) if is_channel(name) else nick_key(name)
        buffer = self._by_key.get(key)
        if buffer is not None and buffer.is_channel == is_channel(name):
            self._by_name[name] = buffer
            return buffer
        return None

    def channels(self) -> list[Buffer]:
        """Return the channel buffers in display order."""
        return [b for b in self._list if b.is_channel]

    def joined_channels(self) -> list[str]:
        """Return the names of the channels we are in, in display order."""
        return [b.name for b in self._list if b.is_channel and b.joined]

    def forget_requests(self) -> None:
        """After a reconnect: no history or gap page asked for before it will come."""
        for buffer in self._list:
            buffer.forget_requests()

    def channel_names(self) -> list[str]:
        """Return every channel name we know of (ours, then those /list showed)."""
        names = {b.key: b.name for b in self.channels()}
        for key, name in self._known_channels.items():
            names.setdefault(key, name)
        return list(names.values())

    def activity(self) -> list[tuple[int, Buffer]]:
        """Return (number from 1, buffer) for each other buffer with unread messages."""
        return [
            (i, b) for i, b in enumerate(self._list, start=1) if b is not self._current and b.unread
        ]

    # -- opening and closing

    def _add(self, buffer: Buffer) -> Buffer:
        self._list.append(buffer)
        self._by_key[buffer.key] = buffer
        self._by_name[buffer.name] = buffer
        return buffer

    def open_channel(self, name: str) -> Buffer:
        """Return the buffer of channel ``name``, opening one at the end if none is open."""
        buffer = self.find(name)
        if buffer is None:
            buffer = self._add(self._new(BufferKind.CHANNEL, name))
            self._known_channels[buffer.key] = name
        return buffer

    def open_query(self, nick: str) -> Buffer:
        """Return the private buffer with ``nick``, opening one at the end if none is open."""
        buffer = self.find(nick)
        if buffer is None:
            buffer = self._add(self._new(BufferKind.QUERY, nick))
        return buffer

    def close(self, buffer: Buffer) -> bool:
        """Close a channel or query buffer; the one before it becomes current if it was.

        The server buffer cannot be closed: returns False.
        """
        if buffer is self._server or buffer not in self._list:
            return False
        index = self._list.index(buffer)
        self._list.remove(buffer)
        self._by_key.pop(buffer.key, None)
        self._by_name = {n: b for n, b in self._by_name.items() if b is not buffer}
        if buffer is self._current:
            self.switch_to(self._list[max(0, index - 1)])
        return True

    def rename_query(self, old: str, new: str) -> Buffer | None:
        """Follow a peer's rename in their private buffer; return it if there is one."""
        buffer = self.find(old)
        if buffer is None or not buffer.is_query or self.find(new) not in (None, buffer):
            return None
        self._by_key.pop(buffer.key, None)
        self._by_name = {n: b for n, b in self._by_name.items() if b is not buffer}
        buffer.rename(new)
        self._by_key[buffer.key] = buffer
        self._by_name[new] = buffer
        return buffer

    def note_channels(self, names: Iterable[str]) -> None:
        """Remember channel names (from a listing) for completion."""
        for name in names:
            self._known_channels.setdefault(channel_key(name), name)

    # -- switching

    def switch_to(self, buffer: Buffer) -> bool:
        """Make ``buffer`` current; return False if it already was (or is not open)."""
        if buffer is self._current or buffer not in self._list:
            return False
        self._current.hide()
        self._current = buffer
        buffer.show()
        return True

    def switch_number(self, number: int) -> bool:
        """Make buffer ``number`` (from 1, as the buffer list shows) current."""
        if not 1 <= number <= len(self._list):
            return False
        return self.switch_to(self._list[number - 1])

    def step(self, delta: int) -> bool:
        """Move ``delta`` buffers down (+) or up (-) the list, wrapping around."""
        index = (self.current_index + delta) % len(self._list)
        return self.switch_to(self._list[index])
