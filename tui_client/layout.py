"""Split the terminal into panes: topic, buffer list, messages, roster, status, input.

Pure arithmetic on the terminal size; drawing is left to :mod:`tui_client.view`.
The topic line is the top row; the buffer list sits on the left and folds into
the status line under :data:`BUFLIST_MIN_TOTAL_COLS` columns; the roster sits on
the right while the messages keep :data:`MIN_MESSAGE_COLS` columns beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = [
    "BUFLIST_COLS",
    "BUFLIST_MIN_TOTAL_COLS",
    "MIN_COLS",
    "MIN_MESSAGE_COLS",
    "MIN_ROWS",
    "ROSTER_COLS",
    "Layout",
    "Rect",
    "compute_layout",
]

MIN_COLS: Final = 30
MIN_ROWS: Final = 8
ROSTER_COLS: Final = 20  # the roster pane, its separator column included
BUFLIST_COLS: Final = 18  # the buffer list, its separator column included
BUFLIST_MIN_TOTAL_COLS: Final = 70  # narrower than this, the buffer list folds into the status
MIN_MESSAGE_COLS: Final = 40  # the roster hides itself rather than squeeze the messages more


@dataclass(frozen=True, slots=True)
class Rect:
    """A rectangle of cells: top row, left column, height, width."""

    y: int
    x: int
    h: int
    w: int


@dataclass(frozen=True, slots=True)
class Layout:
    """Where each pane goes; ``too_small`` means only a notice fits.

    ``folded`` means the buffer list is shown in the status line instead of its pane.
    """

    rows: int
    cols: int
    too_small: bool
    title: Rect
    buflist: Rect | None
    messages: Rect
    roster: Rect | None
    status: Rect
    input: Rect
    folded: bool


def compute_layout(rows: int, cols: int, roster_wanted: bool = True) -> Layout:
    """Return the panes for a terminal of ``rows`` x ``cols`` cells."""
    rows, cols = max(rows, 1), max(cols, 1)
    too_small = rows < MIN_ROWS or cols < MIN_COLS
    body_y = 1
    body_h = max(rows - 3, 0)
    show_buflist = not too_small and cols >= BUFLIST_MIN_TOTAL_COLS
    left = BUFLIST_COLS if show_buflist else 0
    show_roster = roster_wanted and not too_small and cols - left - ROSTER_COLS >= MIN_MESSAGE_COLS
    right = ROSTER_COLS if show_roster else 0
    return Layout(
        rows=rows,
        cols=cols,
        too_small=too_small,
        title=Rect(0, 0, 1, cols),
        buflist=Rect(body_y, 0, body_h, BUFLIST_COLS) if show_buflist else None,
        messages=Rect(body_y, left, body_h, max(cols - left - right, 1)),
        roster=Rect(body_y, cols - ROSTER_COLS, body_h, ROSTER_COLS) if show_roster else None,
        status=Rect(max(rows - 2, 0), 0, 1, cols),
        input=Rect(rows - 1, 0, 1, cols),
        folded=not show_buflist,
    )
