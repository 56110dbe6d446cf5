"""Pane layout (tui_client.layout)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tui_client.layout import ROSTER_COLS, compute_layout


def test_normal_terminal() -> None:
    layout = compute_layout(30, 100)
    assert not layout.too_small
    assert layout.roster is not None and layout.roster.w == ROSTER_COLS
    assert layout.roster.x == 100 - ROSTER_COLS
    assert layout.messages.w == 100 - ROSTER_COLS and layout.messages.h == 28
    assert layout.status.y == 28 and layout.input.y == 29


def test_roster_can_be_hidden() -> None:
    layout = compute_layout(30, 100, roster_wanted=False)
    assert layout.roster is None and layout.messages.w == 100


def test_narrow_terminal_hides_roster() -> None:
    layout = compute_layout(20, 50)
    assert layout.roster is None and not layout.too_small


def test_too_small() -> None:
    assert compute_layout(7, 80).too_small
    assert compute_layout(24, 29).too_small
    assert not compute_layout(8, 30).too_small


@given(st.integers(1, 300), st.integers(1, 400), st.booleans())
def test_panes_stay_inside(rows: int, cols: int, roster: bool) -> None:
    layout = compute_layout(rows, cols, roster)
    for rect in (layout.messages, layout.status, layout.input, layout.roster):
        if rect is not None and not layout.too_small:
            assert 0 <= rect.y and rect.y + rect.h <= rows
            assert 0 <= rect.x and rect.x + rect.w <= cols
