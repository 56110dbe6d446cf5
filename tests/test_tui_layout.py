"""Pane layout (tui_client.layout): topic, buffer list, messages, roster, status, input."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tui_client.layout import BUFLIST_COLS, ROSTER_COLS, compute_layout


def test_normal_terminal() -> None:
    layout = compute_layout(30, 100)
    assert not layout.too_small and not layout.folded
    assert layout.title.y == 0 and layout.title.w == 100
    assert layout.buflist is not None and layout.buflist.x == 0
    assert layout.buflist.w == BUFLIST_COLS and layout.buflist.y == 1
    assert layout.roster is not None and layout.roster.w == ROSTER_COLS
    assert layout.roster.x == 100 - ROSTER_COLS
    assert layout.messages.x == BUFLIST_COLS
    assert layout.messages.w == 100 - ROSTER_COLS - BUFLIST_COLS and layout.messages.h == 27
    assert layout.status.y == 28 and layout.input.y == 29


def test_roster_can_be_hidden() -> None:
    layout = compute_layout(30, 100, roster_wanted=False)
    assert layout.roster is None and layout.messages.w == 100 - BUFLIST_COLS


def test_under_70_columns_the_buffer_list_folds_into_the_status_line() -> None:
    assert not compute_layout(24, 70).folded
    layout = compute_layout(24, 69)
    assert layout.folded and layout.buflist is None and layout.messages.x == 0
    assert layout.roster is not None  # 69 - 20 leaves the messages 49 columns


def test_the_roster_gives_way_before_the_messages_get_too_narrow() -> None:
    assert compute_layout(24, 70).roster is None  # 70 - 18 - 20 = 32 < 40
    assert compute_layout(24, 78).roster is not None
    assert compute_layout(20, 50).roster is None and not compute_layout(20, 50).too_small


def test_too_small() -> None:
    assert compute_layout(7, 80).too_small
    assert compute_layout(24, 29).too_small
    assert not compute_layout(8, 30).too_small


@given(st.integers(1, 300), st.integers(1, 400), st.booleans())
def test_panes_stay_inside_and_do_not_overlap(rows: int, cols: int, roster: bool) -> None:
    layout = compute_layout(rows, cols, roster)
    if layout.too_small:
        return
    rects = [layout.title, layout.buflist, layout.messages, layout.roster, layout.status,
             layout.input]
    shown = [r for r in rects if r is not None]
    for rect in shown:
        assert 0 <= rect.y and rect.y + rect.h <= rows
        assert 0 <= rect.x and rect.x + rect.w <= cols
    cells = [(y, x) for r in shown for y in range(r.y, r.y + r.h) for x in range(r.x, r.x + r.w)]
    assert len(cells) == len(set(cells)) == rows * cols
