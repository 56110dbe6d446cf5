"""Drawing with curses: the only module that calls curses drawing functions.

Every function takes the window it draws on. What to draw comes from
:mod:`tui_client.render` (rows of styled text) and :mod:`tui_client.layout`;
the text has already been made safe there. Call only from the UI thread.
"""

from __future__ import annotations

import curses
import logging
import os
from typing import Any, Final

from tui_client.editor import LineEditor
from tui_client.layout import MIN_COLS, MIN_ROWS, Layout, Rect
from tui_client.render import (
    PALETTE_SIZE,
    Renderer,
    Row,
    Scene,
    buflist_rows,
    prompt_text,
    roster_rows,
    status_text,
    title_text,
)
from tui_client.width import cut, pad, text_width

__all__ = ["Attrs", "draw", "make_attrs"]

log = logging.getLogger(__name__)

Attrs = dict[str, int]
PROMPT: Final = "> "
SEPARATOR: Final = "\u2502"
_NICK_COLOURS: Final = ("GREEN", "YELLOW", "BLUE", "MAGENTA", "CYAN", "RED")


def make_attrs(use_colour: bool | None = None) -> Attrs:
    """Return style name -> curses attribute, with colours unless NO_COLOR is set.

    Call after ``initscr``.
    """
    if use_colour is None:
        use_colour = curses.has_colors() and "NO_COLOR" not in os.environ
        _use_terminal_defaults()
    bold, dim, rev = curses.A_BOLD, curses.A_DIM, curses.A_REVERSE
    attrs: Attrs = {
        "text": curses.A_NORMAL,
        "time": dim,
        "self": bold,
        "mention": bold | rev,
        "system": dim,
        "error": bold,
        "info": curses.A_NORMAL,
        "private": bold,
        "action": curses.A_NORMAL,
        "status": rev,
        "title": rev,
        "buf_current": rev | bold,
        "buf_unread": bold,
        "header": bold | curses.A_UNDERLINE,
        "me_in_roster": bold,
    }
    for i in range(PALETTE_SIZE):
        attrs[f"nick{i}"] = bold if i % 2 else curses.A_NORMAL
    if not use_colour:
        return attrs
    try:
        curses.start_color()
        curses.use_default_colors()
        background = -1
    except curses.error:
        background = curses.COLOR_BLACK
    pairs: dict[str, int] = {}
    for number, name in enumerate(_NICK_COLOURS, start=1):
        curses.init_pair(number, getattr(curses, f"COLOR_{name}"), background)
        pairs[name] = curses.color_pair(number)
    for i in range(PALETTE_SIZE):
        attrs[f"nick{i}"] = pairs[_NICK_COLOURS[i]]
    attrs["error"] = bold | pairs["RED"]
    attrs["private"] = bold | pairs["MAGENTA"]
    attrs["action"] = pairs["CYAN"]
    attrs["self"] = bold | pairs["YELLOW"]
    return attrs


def _use_terminal_defaults() -> None:
    """Keep the terminal's own colours for plain text (curses.wrapper starts colour)."""
    try:
        curses.use_default_colors()
    except curses.error:
        pass  # colour not started or not supported: nothing is coloured anyway


def _put(win: Any, y: int, x: int, text: str, attr: int = 0) -> None:
    """Write text, ignoring the error curses raises for the bottom-right cell."""
    if not text:
        return
    try:
        win.addstr(y, x, text, attr)
    except curses.error:
        pass  # writing the last cell moves the cursor off screen; the text is drawn


def _draw_row(win: Any, y: int, x: int, row: Row, width: int, attrs: Attrs) -> None:
    col = 0
    for text, style in row:
        head, _rest = cut(text, width - col)
        _put(win, y, x + col, head, attrs.get(style, 0))
        col += text_width(head)
        if col >= width:
            break


def _draw_messages(
    win: Any, rect: Rect, scene: Scene, renderer: Renderer, attrs: Attrs
) -> bool:
    """Draw the current buffer's messages; return True when its oldest loaded line is shown."""
    rows, at_top = renderer.visible(scene.buffers.current, scene.me, rect.w, rect.h)
    top = rect.y + rect.h - len(rows)
    for i, row in enumerate(rows):
        _draw_row(win, top + i, rect.x, row, rect.w, attrs)
    return at_top


def _draw_roster(win: Any, rect: Rect, scene: Scene, attrs: Attrs) -> None:
    for y in range(rect.y, rect.y + rect.h):
        _put(win, y, rect.x, SEPARATOR, attrs["system"])
    inner = rect.w - 2
    rows = roster_rows(scene.buffers.current, scene.me, inner, rect.h)
    for i, row in enumerate(rows):
        _draw_row(win, rect.y + i, rect.x + 2, row, inner, attrs)


def _draw_buflist(win: Any, rect: Rect, scene: Scene, attrs: Attrs) -> None:
    inner = rect.w - 1
    for i, row in enumerate(buflist_rows(scene.buffers, inner, rect.h)):
        _draw_row(win, rect.y + i, rect.x, row, inner, attrs)
    for y in range(rect.y, rect.y + rect.h):
        _put(win, y, rect.x + inner, SEPARATOR, attrs["system"])


def _draw_input(win: Any, rect: Rect, scene: Scene, editor: LineEditor, attrs: Attrs) -> int:
    """Draw the prompt and the input line; return the cursor column."""
    if scene.confirm_text is not None:
        lines = scene.confirm_text.count("\n") + 1
        question = f"Send this {lines}-line message? [y/N] "
        _put(win, rect.y, rect.x, cut(question, rect.w - 1)[0], attrs["header"])
        return min(text_width(question), rect.w - 1)
    if scene.prompt is not None and scene.prompt.active:
        question, masked = prompt_text(scene.prompt)
        question = cut(question, max(1, rect.w // 2))[0]
        room = max(0, rect.w - 1 - text_width(question))
        masked = masked[max(0, len(masked) - room):]  # the marks nearest the cursor
        _put(win, rect.y, rect.x, question, attrs["header"])
        _put(win, rect.y, rect.x + text_width(question), masked)
        return min(text_width(question) + len(masked), rect.w - 1)
    _put(win, rect.y, rect.x, PROMPT, attrs["self"])
    shown, column = editor.visible(rect.w - len(PROMPT))
    _put(win, rect.y, rect.x + len(PROMPT), shown)
    return len(PROMPT) + column


def draw(
    win: Any,
    layout: Layout,
    scene: Scene,
    renderer: Renderer,
    editor: LineEditor,
    attrs: Attrs,
) -> bool:
    """Redraw the whole screen into ``win`` (not refreshed); return whether the top is shown."""
    win.erase()
    if layout.too_small:
        _put(win, 0, 0, cut("terminal too small", layout.cols - 1)[0], attrs["error"])
        need = f"need {MIN_COLS}x{MIN_ROWS}"
        _put(win, min(1, layout.rows - 1), 0, cut(need, layout.cols - 1)[0])
        return False
    title = layout.title
    current = scene.buffers.current
    _put(win, title.y, title.x, pad(title_text(current, scene.status), title.w), attrs["title"])
    if layout.buflist is not None:
        _draw_buflist(win, layout.buflist, scene, attrs)
    at_top = _draw_messages(win, layout.messages, scene, renderer, attrs)
    if layout.roster is not None:
        _draw_roster(win, layout.roster, scene, attrs)
    status = layout.status
    line = status_text(scene, folded=layout.folded)
    _put(win, status.y, status.x, pad(line, status.w), attrs["status"])
    column = _draw_input(win, layout.input, scene, editor, attrs)
    try:
        win.move(layout.input.y, min(column, layout.cols - 1))
    except curses.error:
        pass  # the cursor cannot go there on this terminal size
    return at_top
