"""Turn client state into rows of styled text, and page through them.

Pure: a row is a list of (text, style) segments that fit the pane width; the
style names are mapped to curses attributes by :mod:`tui_client.view` (and to
nothing by the plain client). Every text from the network passes through
:func:`tui_client.width.safe_text` here, so no control character reaches a
terminal. Not thread-safe (UI thread only).
"""

from __future__ import annotations

import time
import zlib
from typing import Final

from protocol import nick_key
from tui_client.state import ClientState, Entry, Status
from tui_client.width import cut, safe_text, text_width
from tui_client.wrap import wrap

__all__ = [
    "PALETTE_SIZE",
    "Renderer",
    "Row",
    "Segment",
    "format_plain",
    "nick_style",
    "status_text",
]

PALETTE_SIZE: Final = 6
TIME_COLS: Final = 8  # "[HH:MM] "

Segment = tuple[str, str]
Row = list[Segment]


def nick_style(nick: str) -> str:
    """Return the stable colour style for a nick: ``nick0`` ... ``nick5``."""
    return f"nick{zlib.crc32(nick_key(nick).encode('utf-8')) % PALETTE_SIZE}"


def _clock(ts: float) -> str:
    return time.strftime("[%H:%M] ", time.localtime(ts))


def _prefix(entry: Entry, state: ClientState) -> tuple[list[Segment], str]:
    """Return the segments before the body, and the body's style."""
    sender = safe_text(entry.sender)
    me = state.is_me(entry.sender)
    who_style = "self" if me else nick_style(entry.sender)
    body_style = "mention" if not me and state.mentions_me(entry.text) else "text"
    if entry.to is not None:
        target = "you" if state.is_me(entry.to) else safe_text(entry.to)
        source = "you" if me else sender
        return [(f"*{source} -> {target}*: ", "private")], "private"
    if entry.action:
        return [("* ", "action"), (sender, who_style), (" ", "action")], (
            "mention" if body_style == "mention" else "action"
        )
    return [(sender, who_style), (": ", "text")], body_style


def entry_rows(entry: Entry, state: ClientState, width: int) -> list[Row]:
    """Return the rows of one entry wrapped to ``width`` with a hanging indent."""
    width = max(1, width)
    head: list[Segment] = [(_clock(entry.ts), "time")]
    if entry.kind == "message":
        parts, body_style = _prefix(entry, state)
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


def format_plain(entry: Entry, state: ClientState) -> str:
    """Return an entry as one plain line for the line-mode client."""
    head = _clock(entry.ts)
    if entry.kind == "message":
        parts, _style = _prefix(entry, state)
        head += "".join(t for t, _s in parts)
    return head + safe_text(entry.text).replace("\n", "\n" + " " * TIME_COLS)


def status_text(state: ClientState, now: float | None = None) -> str:
    """Return the status line: ``host:port | nick | connected | N online | 3 new``."""
    parts = [f"{state.host}:{state.port}", safe_text(state.nick) or "?", state.status_word(now)]
    if state.status == Status.CONNECTED:  # while away the count would be stale
        parts.append(f"{len(state.roster)} online")
    if state.unseen:
        parts.append(f"{state.unseen} new")
    elif state.scroll:
        parts.append("scrolled")
    if not state.bell_enabled:
        parts.append("bell off")
    return " | ".join(parts)


class Renderer:
    """Wrap entries for one width, caching rows, and page through them."""

    def __init__(self) -> None:
        self._cache: dict[tuple[object, ...], list[Row]] = {}
        self._width = 0

    def rows(self, entry: Entry, state: ClientState, width: int) -> list[Row]:
        """Return the (cached) rows of ``entry`` at ``width``."""
        if width != self._width:
            self._cache.clear()
            self._width = width
        key = (entry, state.nick)
        rows = self._cache.get(key)
        if rows is None:
            if len(self._cache) > 50_000:
                self._cache.clear()
            rows = self._cache[key] = entry_rows(entry, state, width)
        return rows

    def total_rows(self, state: ClientState, width: int) -> int:
        """Return how many rows all entries take at ``width``."""
        return sum(len(self.rows(e, state, width)) for e in state.entries)

    def absorb_appended(self, state: ClientState, width: int) -> None:
        """Keep a scrolled-up view still while new entries arrive below it."""
        if state.appended_while_scrolled and state.scroll > 0:
            extra = sum(len(self.rows(e, state, width)) for e in state.appended_while_scrolled)
            state.scroll += extra
        state.appended_while_scrolled.clear()

    def visible(self, state: ClientState, width: int, height: int) -> tuple[list[Row], bool]:
        """Return the rows that fill a pane (top to bottom) and whether the oldest is shown."""
        self.clamp(state, width, height)
        wanted = height + state.scroll
        collected: list[Row] = []
        consumed = 0
        for entry in reversed(state.entries):
            collected[:0] = self.rows(entry, state, width)
            consumed += 1
            if len(collected) >= wanted:
                break
        end = max(0, len(collected) - state.scroll)
        start = max(0, end - height)
        at_top = consumed == len(state.entries) and start == 0
        return collected[start:end], at_top

    def clamp(self, state: ClientState, width: int, height: int) -> None:
        """Keep the scroll offset inside the content."""
        if state.scroll > 0:
            most = max(0, self.total_rows(state, width) - height)
            if state.scroll > most:
                state.set_scroll(most)

    def scroll_by(self, state: ClientState, rows: int, width: int, height: int) -> bool:
        """Scroll up (rows > 0) or down; return True when the top was hit going up."""
        before = state.scroll
        state.set_scroll(state.scroll + rows)
        self.clamp(state, width, height)
        return rows > 0 and state.scroll - before < rows
