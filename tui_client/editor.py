"""The input line: text, a cursor on grapheme boundaries, history, and scrolling.

Pure state with no terminal. :class:`LineEditor` changes on editing calls and
tells the view what part of the line to show so the cursor stays visible.
Mapping keys to these calls is left to :mod:`tui_client.keys`.
"""

from __future__ import annotations

from tui_client.width import grapheme_width, graphemes, text_width

__all__ = ["LineEditor"]

NEWLINE_MARK = "\u23ce"  # shown for a newline inside a pasted message


class LineEditor:
    """An editable line with readline-like keys. Not thread-safe (UI thread only)."""

    def __init__(self, history_size: int = 200) -> None:
        self.text = ""
        self.cursor = 0  # index into ``text``, always on a grapheme boundary
        self._history: list[str] = []
        self._history_size = history_size
        self._history_pos: int | None = None
        self._draft = ""
        self._first = 0  # first shown grapheme (horizontal scroll)

    # -- helpers

    def _bounds(self) -> list[int]:
        """Return the string offsets of every grapheme boundary."""
        offsets = [0]
        for cluster in graphemes(self.text):
            offsets.append(offsets[-1] + len(cluster))
        return offsets

    def set_text(self, text: str, cursor: int | None = None) -> None:
        """Replace the whole line; the cursor goes to the end unless given."""
        self.text = text
        self.cursor = len(text) if cursor is None else self._snap(cursor)

    def _snap(self, index: int) -> int:
        """Return the grapheme boundary at or before ``index``."""
        index = max(0, min(index, len(self.text)))
        return max(b for b in self._bounds() if b <= index)

    # -- editing

    def insert(self, text: str) -> None:
        """Insert ``text`` at the cursor."""
        self.text = self.text[: self.cursor] + text + self.text[self.cursor :]
        self.cursor = self._snap(self.cursor + len(text))

    def left(self) -> None:
        """Move one grapheme left."""
        self.cursor = max((b for b in self._bounds() if b < self.cursor), default=0)

    def right(self) -> None:
        """Move one grapheme right."""
        self.cursor = min((b for b in self._bounds() if b > self.cursor), default=len(self.text))

    def home(self) -> None:
        """Move to the start of the line."""
        self.cursor = 0

    def end(self) -> None:
        """Move to the end of the line."""
        self.cursor = len(self.text)

    def backspace(self) -> None:
        """Delete the grapheme before the cursor."""
        start = max((b for b in self._bounds() if b < self.cursor), default=0)
        self.text = self.text[:start] + self.text[self.cursor :]
        self.cursor = start

    def delete(self) -> None:
        """Delete the grapheme under the cursor."""
        stop = min((b for b in self._bounds() if b > self.cursor), default=len(self.text))
        self.text = self.text[: self.cursor] + self.text[stop:]

    def kill_line(self) -> None:
        """Delete everything before the cursor (Ctrl-U)."""
        self.text = self.text[self.cursor :]
        self.cursor = 0

    def kill_word(self) -> None:
        """Delete the word before the cursor and the spaces after it (Ctrl-W)."""
        start = self.cursor
        while start > 0 and self.text[start - 1].isspace():
            start -= 1
        while start > 0 and not self.text[start - 1].isspace():
            start -= 1
        self.text = self.text[:start] + self.text[self.cursor :]
        self.cursor = start

    # -- history

    def submit(self, remember: bool = True) -> str:
        """Return the line, remember it (unless told not to), and clear the editor."""
        line = self.text
        if remember and line.strip() and (not self._history or self._history[-1] != line):
            self._history.append(line)
            del self._history[: -self._history_size]
        self.text, self.cursor, self._first = "", 0, 0
        self._history_pos = None
        return line

    def history_prev(self) -> None:
        """Show the previous sent line (Up)."""
        if not self._history:
            return
        if self._history_pos is None:
            self._draft = self.text
            self._history_pos = len(self._history)
        self._history_pos = max(0, self._history_pos - 1)
        self.set_text(self._history[self._history_pos])

    def history_next(self) -> None:
        """Show the next sent line, or the draft after the newest (Down)."""
        if self._history_pos is None:
            return
        self._history_pos += 1
        if self._history_pos >= len(self._history):
            self._history_pos = None
            self.set_text(self._draft)
        else:
            self.set_text(self._history[self._history_pos])

    # -- display

    def visible(self, width: int) -> tuple[str, int]:
        """Return the shown part of the line and the cursor column in it.

        Scrolls horizontally so that the cursor cell is always inside ``width``.
        Newlines show as a return symbol.
        """
        width = max(1, width)
        clusters = [NEWLINE_MARK if c == "\n" else c for c in graphemes(self.text)]
        index = len(graphemes(self.text[: self.cursor]))
        self._first = min(self._first, index, len(clusters))
        while sum(grapheme_width(c) for c in clusters[self._first : index]) + 1 > width:
            self._first += 1
        shown = ""
        used = 0
        for cluster in clusters[self._first :]:
            w = grapheme_width(cluster)
            if used + w > width:
                break
            shown += cluster
            used += w
        column = text_width("".join(clusters[self._first : index]))
        return shown, column
