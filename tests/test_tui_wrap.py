"""Word wrapping by display width (tui_client.wrap)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tui_client.width import text_width
from tui_client.wrap import wrap, wrap_hanging

_ALPHABET = st.sampled_from(
    ["a", "b", " ", " ", "\n", "ж", "中", "e\u0301", "👍🏽", "👨\u200d👩\u200d👧", "x" * 7]
)
texts = st.lists(_ALPHABET, max_size=60).map("".join)


def test_wraps_at_word_boundaries() -> None:
    assert wrap("hello world foo", 11) == ["hello world", "foo"]
    assert wrap("hello world foo", 8) == ["hello", "world", "foo"]


def test_newlines_make_lines() -> None:
    assert wrap("a\nb\n\nc", 10) == ["a", "b", "", "c"]


def test_long_word_is_broken_between_graphemes() -> None:
    assert wrap("abcdefghij", 4) == ["abcd", "efgh", "ij"]
    assert wrap("中文中文中", 4) == ["中文", "中文", "中"]
    assert wrap("中文中", 3) == ["中", "文", "中"]


def test_first_width_is_narrower() -> None:
    assert wrap("aaa bbb ccc", 7, first_width=3) == ["aaa", "bbb ccc"]


def test_hanging_indent() -> None:
    lines = wrap_hanging("[12:00] bob: one two three four", 16, 13)
    assert lines[0].startswith("[12:00] bob:")
    assert all(line.startswith(" " * 13) for line in lines[1:])
    assert all(text_width(line) <= 16 for line in lines)


def test_empty_text_is_one_line() -> None:
    assert wrap("", 5) == [""]


@given(texts, st.integers(min_value=2, max_value=40), st.integers(min_value=2, max_value=40))
def test_lines_fit_and_no_character_is_lost(text: str, width: int, first: int) -> None:
    lines = wrap(text, width, first_width=first)
    assert text_width(lines[0]) <= first
    assert all(text_width(line) <= width for line in lines[1:])
    # only spaces at breaks may go; newlines become line ends
    assert "".join(lines).replace(" ", "") == text.replace(" ", "").replace("\n", "")
    assert len(lines) >= text.count("\n") + 1
