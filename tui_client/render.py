"""Turn the client's state into rows of styled text, and page through a buffer.

Pure: a row is a list of (text, style) segments that fit the pane width; the
style names are mapped to curses attributes by :mod:`tui_client.view` (and to
nothing by the plain client). Every text from the network passes through
:func:`tui_client.width.safe_text` here, so no control character reaches a
terminal. This module only reads the state: scrolling goes through the
buffer's own methods. Not thread-safe (UI thread only).
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from typing import Final

from protocol import nick_key
from tui_client.buffers import Buffer, Buffers, Entry, EntryKind
from tui_client.identity import Identity
from tui_client.prefs import Prefs
from tui_client.secret import SecretPrompt
from tui_client.status import ConnectionStatus
from tui_client.width import cut, pad, safe_text, text_width
from tui_client.wrap import wrap

__all__ = [
    "PALETTE_SIZE",
    "Renderer",
    "Row",
    "Scene",
    "Segment",
    "buflist_rows",
    "entry_rows",
    "format_plain",
    "nick_style",
    "prompt_text",
    "roster_rows",
    "status_text",
    "title_text",
]

PALETTE_SIZE: Final = 6
TIME_COLS: Final = 8  # "[HH:MM] "
ACTIVITY_NAME_COLS: Final = 12  # a buffer's name in the folded activity list

Segment = tuple[str, str]
Row = list[Segment]


@dataclass(frozen=True, slots=True)
class Scene:
    """The parts of the client's state a frame is drawn from (read only)."""

    buffers: Buffers
    me: Identity
    status: ConnectionStatus
    prefs: Prefs
    confirm_text: str | None = None  # a long message waiting for y/n
    prompt: SecretPrompt | None = None  # a password being asked for, masked


def nick_style(nick: str) -> str:
    """Return the stable colour style for a nick: ``nick0`` ... ``nick5``."""
    return f"nick{zlib.crc32(nick_key(nick).encode('utf-8')) % PALETTE_SIZE}"


def _clock(ts: float) -> str:
    return time.strftime("[%H:%M] ", time.localtime(ts))


def _prefix(entry: Entry, me: Identity) -> tuple[list[Segment], str]:
    """Return the segments before the body, and the body's style."""
    sender = safe_text(entry.sender)
    mine = me.is_me(entry.sender)
    who_style = "self" if mine else nick_style(entry.sender)
    body_style = "mention" if not mine and me.mentions_me(entry.text) else "text"
    if entry.to is not None:
        target = "you" if me.is_me(entry.to) else safe_text(entry.to)
        source = "you" if mine else sender
        return [(f"*{source} -> {target}*: ", "private")], "private"
    if entry.action:
        return [("* ", "action"), (sender, who_style), (" ", "action")], (
            "mention" if body_style == "mention" else "action"
        )
    return [(sender, who_style), (": ", "text")], body_style


def entry_rows(entry: Entry, me: Identity, width: int) -> list[Row]:
    """Return the rows of one entry wrapped to ``width`` with a hanging indent."""
    width = max(1, width)
    head: list[Segment] = [(_clock(entry.ts), "time")]
    if entry.kind == EntryKind.MESSAGE:
        parts, body_style = _prefix(entry, me)
        head += parts
    else:
        body_style = entry.kind
    prefix_cols = sum(text_width(t) for t, _s in head)
    if prefix_cols >= width:  # too narrow for the prefix: drop the time
        head, prefix_cols = head[1:], prefix_cols - TIME_COLS
    indent = prefix_cols if prefix_cols <= width // 2 else min(TIME_COLS, width // 2)
    lines = wrap(safe_text(entry.text), width - indent, first_width=max(1, width - prefix_cols))
    rows: list[Row] = [_fit(head + [(lines[0], body_style)], width)]
    rows += [[(" " * indent, "text"), (line, body_style)] for line in lines[1:]]
    return rows


def _fit(row: Row, width: int) -> Row:
    """Cut a row's segments so the whole row fits ``width``."""
    out: Row = []
    left = width
    for text, style in row:
        head, _rest = cut(text, left)
        if head:
            out.append((head, style))
            left -= text_width(head)
    return out


def format_plain(buffer: Buffer, entry: Entry, me: Identity) -> str:
    """Return an entry as one plain line: ``[12:00] #dev alice: hi``.

    Lines of a channel carry its name, those of a private buffer the peer's
    nick; server notices carry nothing.
    """
    head = _clock(entry.ts)
    if buffer.is_channel or buffer.is_query:
        head += safe_text(buffer.name) + " "
    if entry.kind == EntryKind.MESSAGE:
        parts, _style = _prefix(entry, me)
        head += "".join(t for t, _s in parts)
    return head + safe_text(entry.text).replace("\n", "\n" + " " * TIME_COLS)


def prompt_text(prompt: SecretPrompt) -> tuple[str, str]:
    """Return the input line of a password question: the question, and the masked answer."""
    return f"{prompt.question} (Esc cancels): ", prompt.masked


def _activity_label(number: int, buffer: Buffer) -> str:
    name = cut(safe_text(buffer.name), ACTIVITY_NAME_COLS)[0]
    return f"{number}:{name}({buffer.unread}{'!' if buffer.highlight else ''})"


def status_text(scene: Scene, folded: bool = False, now: float | None = None) -> str:
    """Return the status line: ``2:#dev | alice | connected | 3 online | 1 new | host:port``.

    ``folded`` (no room for the buffer list) adds the other buffers with unread
    messages after the current one: ``act: 1:#lobby(4) 3:bob(1!)``.
    """
    buffers, status = scene.buffers, scene.status
    current = buffers.current
    parts = [f"{buffers.current_index + 1}:{safe_text(current.name)}"]
    activity = buffers.activity()
    if folded and activity:
        parts.append("act: " + " ".join(_activity_label(n, b) for n, b in activity))
    parts += [safe_text(scene.me.nick) or "?", status.word(now)]
    if status.connected and current.is_channel and current.joined:  # else it would be stale
        parts.append(f"{current.roster.count} online")
    if current.unseen:
        parts.append(f"{current.unseen} new")
    elif current.scroll:
        parts.append("scrolled")
    if not scene.prefs.bell_enabled:
        parts.append("bell off")
    parts.append(f"{status.host}:{status.port}")
    return " | ".join(parts)


def title_text(buffer: Buffer, status: ConnectionStatus) -> str:
    """Return the top line: the channel, its modes (``[+ti]``) and topic; the peer; the server."""
    name = safe_text(buffer.name)
    if buffer.is_channel:
        if not buffer.joined:
            return f"{name}: you are not in this channel (/join {name} to go back)"
        flags = buffer.modes.flags
        if flags:
            name = f"{name} [{flags}]"
        if buffer.topic:
            return f"{name}: {safe_text(buffer.topic)}"
        return f"{name}: no topic (/topic TEXT sets one)"
    if buffer.is_query:
        return f"{name}: private conversation"
    return f"server notices and replies: {status.host}:{status.port}"


def buflist_rows(buffers: Buffers, width: int, height: int) -> list[Row]:
    """Return the buffer list: `` 2.#dev   3!`` per buffer, the current one kept in view.

    Styles: ``buf_current`` for the current buffer, ``mention`` for one with a
    highlight, ``buf_unread`` for one with unread messages, ``system`` for a
    channel we left.
    """
    width = max(1, width)
    all_buffers = list(buffers)
    digits = len(str(len(all_buffers)))
    current = buffers.current
    rows: list[Row] = []
    for number, buffer in enumerate(all_buffers, start=1):
        count = f"{buffer.unread}{'!' if buffer.highlight else ''}" if buffer.unread else ""
        label = f"{number:>{digits}}.{safe_text(buffer.name)}"
        room = max(1, width - (len(count) + 1 if count else 0))
        text = pad(cut(label, room)[0], room) + (" " + count if count else "")
        if buffer is current:
            style = "buf_current"
        elif buffer.highlight:
            style = "mention"
        elif buffer.unread:
            style = "buf_unread"
        elif buffer.is_channel and not buffer.joined:
            style = "system"
        else:
            style = "text"
        rows.append([(pad(text, width), style)])
    if len(rows) > height > 0:
        start = min(max(0, buffers.current_index - height + 1), len(rows) - height)
        rows = rows[start : start + height]
    return rows


def roster_rows(buffer: Buffer, me: Identity, width: int, height: int) -> list[Row]:
    """Return the roster pane: a header with the member count, one member a row, operators first.

    ``*`` marks us and ``@`` an operator: ``*@alice``, `` @bob``, `` carol``. Only
    the rows that fit are taken from the roster, from the buffer's
    :attr:`~tui_client.buffers.Buffer.roster_top` on; a last row counts the
    members not shown (above, below, or not listed in a partial roster).
    """
    roster = buffer.roster
    count = roster.count
    rows: list[Row] = [[(pad(f"Members ({count})", width), "header")]]
    room = max(height - 1, 0)
    size = room if count <= room else room - 1
    top = min(buffer.roster_top, max(0, len(roster) - size))  # the roster may have shrunk
    names = roster.window(top, size)
    for name in names:
        mine = me.is_me(name)
        label = ("*" if mine else " ") + safe_text(roster.label(name))
        rows.append([(cut(label, width)[0], "me_in_roster" if mine else "text")])
    if count > len(names) and room:
        rows.append([(cut(f"+{count - len(names)} more", width)[0], "system")])
    return rows


class Renderer:
    """Wrap entries for one width, caching rows, and page through a buffer."""

    def __init__(self) -> None:
        self._cache: dict[tuple[object, ...], list[Row]] = {}
        self._width = 0

    def rows(self, entry: Entry, me: Identity, width: int) -> list[Row]:
        """Return the (cached) rows of ``entry`` at ``width``."""
        if width != self._width:
            self._cache.clear()
            self._width = width
        key = (entry, me.nick)
        rows = self._cache.get(key)
        if rows is None:
            if len(self._cache) > 50_000:
                self._cache.clear()
            rows = self._cache[key] = entry_rows(entry, me, width)
        return rows

    def total_rows(self, buffer: Buffer, me: Identity, width: int) -> int:
        """Return how many rows all of a buffer's entries take at ``width``."""
        return sum(len(self.rows(e, me, width)) for e in buffer.entries)

    def absorb_appended(self, buffer: Buffer, me: Identity, width: int) -> None:
        """Keep a scrolled-up view still while new entries arrive below it."""
        buffer.absorb_appended(lambda entry: len(self.rows(entry, me, width)))

    def visible(
        self, buffer: Buffer, me: Identity, width: int, height: int
    ) -> tuple[list[Row], bool]:
        """Return the rows that fill a pane (top to bottom) and whether the oldest is shown."""
        self.clamp(buffer, me, width, height)
        wanted = height + buffer.scroll
        collected: list[Row] = []
        consumed = 0
        entries = buffer.entries
        for entry in reversed(entries):
            collected[:0] = self.rows(entry, me, width)
            consumed += 1
            if len(collected) >= wanted:
                break
        end = max(0, len(collected) - buffer.scroll)
        start = max(0, end - height)
        at_top = consumed == len(entries) and start == 0
        return collected[start:end], at_top

    def clamp(self, buffer: Buffer, me: Identity, width: int, height: int) -> None:
        """Keep the scroll offset inside the content."""
        if buffer.scroll > 0:
            most = max(0, self.total_rows(buffer, me, width) - height)
            if buffer.scroll > most:
                buffer.set_scroll(most)

    def scroll_by(self, buffer: Buffer, me: Identity, rows: int, width: int, height: int) -> bool:
        """Scroll up (rows > 0) or down; return True when the top was hit going up."""
        before = buffer.scroll
        buffer.set_scroll(buffer.scroll + rows)
        self.clamp(buffer, me, width, height)
        return rows > 0 and buffer.scroll - before < rows
