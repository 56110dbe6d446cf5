"""The input line editor (tui_client.editor): keys in, state out."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tui_client.editor import LineEditor
from tui_client.width import graphemes, text_width


def typed(text: str) -> LineEditor:
    editor = LineEditor()
    editor.insert(text)
    return editor


def test_insert_and_move_by_grapheme() -> None:
    editor = typed("ae\u0301中👨\u200d👩\u200d👧")
    editor.left()
    assert editor.text[editor.cursor :] == "👨\u200d👩\u200d👧"
    editor.left()
    editor.left()
    assert editor.text[editor.cursor :].startswith("e\u0301")
    editor.right()
    assert editor.text[editor.cursor :].startswith("中")


def test_home_end_backspace_delete() -> None:
    editor = typed("привет")
    editor.home()
    editor.delete()
    assert editor.text == "ривет"
    editor.end()
    editor.backspace()
    assert editor.text == "риве"
    editor.home()
    editor.insert("П")
    assert editor.text == "Приве" and editor.cursor == 1


def test_backspace_removes_whole_grapheme() -> None:
    editor = typed("xe\u0301")
    editor.backspace()
    assert editor.text == "x"


def test_kill_line_and_word() -> None:
    editor = typed("one two  three")
    editor.kill_word()
    assert editor.text == "one two  "
    editor.kill_word()
    assert editor.text == "one "
    editor.insert("x")
    editor.left()
    editor.kill_line()
    assert editor.text == "x" and editor.cursor == 0


def test_history_up_down_keeps_draft() -> None:
    editor = typed("first")
    editor.submit()
    editor.insert("second")
    assert editor.submit() == "second"
    editor.insert("draft")
    editor.history_prev()
    assert editor.text == "second"
    editor.history_prev()
    assert editor.text == "first"
    editor.history_prev()
    assert editor.text == "first"
    editor.history_next()
    editor.history_next()
    assert editor.text == "draft"


def test_horizontal_scroll_keeps_cursor_visible() -> None:
    editor = typed("abcdefghijklmnopqrstuvwxyz")
    shown, column = editor.visible(10)
    assert column == 9 and shown.endswith("z") and text_width(shown) <= 10
    editor.home()
    shown, column = editor.visible(10)
    assert column == 0 and shown.startswith("abc")


def test_wide_chars_scroll_by_width() -> None:
    editor = typed("中文中文中文中文")
    shown, column = editor.visible(7)
    assert text_width(shown) <= 7 and column + 1 <= 7


def test_newline_shows_as_mark() -> None:
    editor = typed("a\nb")
    shown, _column = editor.visible(10)
    assert shown == "a\u23ceb"


_ACTIONS = [
    "left",
    "right",
    "home",
    "end",
    "backspace",
    "delete",
    "kill_line",
    "kill_word",
    "history_prev",
    "history_next",
    "submit",
]
_TEXT = st.lists(st.sampled_from(["a", " ", "ж", "中", "e\u0301", "👍🏽", "\n"]), max_size=5).map(
    "".join
)


@given(
    st.lists(st.one_of(_TEXT, st.sampled_from(_ACTIONS)), max_size=40),
    st.integers(min_value=1, max_value=20),
)
def test_cursor_stays_on_a_boundary_and_visible(steps: list[str], width: int) -> None:
    editor = LineEditor()
    for step in steps:
        if step in _ACTIONS:
            getattr(editor, step)()
        else:
            editor.insert(step)
        assert 0 <= editor.cursor <= len(editor.text)
        assert "".join(graphemes(editor.text[: editor.cursor])) == editor.text[: editor.cursor]
        assert (
            graphemes(editor.text[: editor.cursor])
            == graphemes(editor.text)[: len(graphemes(editor.text[: editor.cursor]))]
        )
        shown, column = editor.visible(width)
        assert text_width(shown) <= width
        assert 0 <= column < width


def test_a_line_submitted_without_remembering_stays_out_of_the_history() -> None:
    editor = typed("/join #a")
    editor.submit()
    editor.insert("/register oops")
    assert editor.submit(remember=False) == "/register oops" and editor.text == ""
    editor.history_prev()
    assert editor.text == "/join #a"
    editor.history_prev()
    assert editor.text == "/join #a"  # nothing older
