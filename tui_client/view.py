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

from protocol import nick_key
from tui_client.editor import LineEditor
from tui_client.layout import Layout, Rect
from tui_client.render import PALETTE_SIZE, Renderer, Row, status_text
from tui_client.state import ClientState
from tui_client.width import cut, pad, safe_text, text_width

__all__ = ["Attrs", "draw", "make_attrs"]

log = logging.getLogger(__name__)

Attrs = dict[str, int]
PROMPT: Final = "> "
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
    win: Any, rect: Rect, state: ClientState, renderer: Renderer, attrs: Attrs
) -> bool:
    """Draw the message pane; return True when the oldest loaded line is shown."""
    rows, at_top = renderer.visible(state, rect.w, rect.h)
    top = rect.y + rect.h - len(rows)
    for i, row in enumerate(rows):
        _draw_row(win, top + i, rect.x, row, rect.w, attrs)
    return at_top


def _draw_roster(win: Any, rect: Rect, state: ClientState, attrs: Attrs) -> None:
    for y in range(rect.y, rect.y + rect.h):
        _put(win, y, rect.x, "\u2502", attrs["system"])
    inner = rect.w - 2
    x = rect.x + 2
    _put(win, rect.y, x, pad(f"Online ({len(state.roster)})", inner), attrs["header"])
    names = sorted(state.roster, key=lambda n: (nick_key(n), n))
    room = rect.h - 1
    if len(names) > room:
        names = names[: max(room - 1, 0)]
        more = f"+{len(state.roster) - len(names)} more"
    else:
        more = ""
    for i, name in enumerate(names):
        me = state.is_me(name)
        label = ("*" if me else " ") + safe_text(name)
        style = "me_in_roster" if me else "text"
        _put(win, rect.y + 1 + i, x, cut(label, inner)[0], attrs[style])
    if more:
        _put(win, rect.y + rect.h - 1, x, cut(more, inner)[0], attrs["system"])


def _draw_input(win: Any, rect: Rect, state: ClientState, editor: LineEditor, attrs: Attrs) -> int:
    """Draw the prompt and the input line; return the cursor column."""
    if state.confirm_text is not None:
        lines = state.confirm_text.count("\n") + 1
        question = f"Send this {lines}-line message? [y/N] "
        _put(win, rect.y, rect.x, cut(question, rect.w - 1)[0], attrs["header"])
        return min(text_width(question), rect.w - 1)
    _put(win, rect.y, rect.x, PROMPT, attrs["self"])
    shown, column = editor.visible(rect.w - len(PROMPT))
    _put(win, rect.y, rect.x + len(PROMPT), shown)
    return len(PROMPT) + column


def draw(
    win: Any,
    layout: Layout,
    state: ClientState,
    renderer: Renderer,
    editor: LineEditor,
    attrs: Attrs,
) -> bool:
    """Redraw the whole screen into ``win`` (not refreshed); return whether the top is shown."""
    win.erase()
    if layout.too_small:
        _put(win, 0, 0, cut("terminal too small", layout.cols - 1)[0], attrs["error"])
        _put(win, min(1, layout.rows - 1), 0, cut(f"need {30}x{8}", layout.cols - 1)[0])
        return False
    at_top = _draw_messages(win, layout.messages, state, renderer, attrs)
    if layout.roster is not None:
        _draw_roster(win, layout.roster, state, attrs)
    status = layout.status
    _put(win, status.y, status.x, pad(status_text(state), status.w), attrs["status"])
    column = _draw_input(win, layout.input, state, editor, attrs)
    try:
        win.move(layout.input.y, min(column, layout.cols - 1))
    except curses.error:
        pass  # the cursor cannot go there on this terminal size
    return at_top
