"""Split the terminal into panes: messages, roster, status line and input line.

Pure arithmetic on the terminal size; drawing is left to :mod:`tui_client.view`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["MIN_COLS", "MIN_ROWS", "ROSTER_COLS", "Layout", "Rect", "compute_layout"]

MIN_COLS: Final = 30
MIN_ROWS: Final = 8
ROSTER_COLS: Final = 20  # the roster pane, its separator column included
ROSTER_MIN_TOTAL_COLS: Final = 60  # narrower than this, the roster hides itself


@dataclass(frozen=True, slots=True)
class Rect:
    """A rectangle of cells: top row, left column, height, width."""

    y: int
    x: int
    h: int
    w: int


@dataclass(frozen=True, slots=True)
class Layout:
    """Where each pane goes; ``too_small`` means only a notice fits."""

    rows: int
    cols: int
    too_small: bool
    messages: Rect
    roster: Rect | None
    status: Rect
    input: Rect


def compute_layout(rows: int, cols: int, roster_wanted: bool = True) -> Layout:
    """Return the panes for a terminal of ``rows`` x ``cols`` cells."""
    rows, cols = max(rows, 1), max(cols, 1)
    too_small = rows < MIN_ROWS or cols < MIN_COLS
    body = max(rows - 2, 0)
    show_roster = roster_wanted and not too_small and cols >= ROSTER_MIN_TOTAL_COLS
    roster = Rect(0, cols - ROSTER_COLS, body, ROSTER_COLS) if show_roster else None
    message_cols = cols - ROSTER_COLS if show_roster else cols
    return Layout(
        rows=rows,
        cols=cols,
        too_small=too_small,
        messages=Rect(0, 0, body, message_cols),
        roster=roster,
        status=Rect(max(rows - 2, 0), 0, 1, cols),
        input=Rect(rows - 1, 0, 1, cols),
    )
