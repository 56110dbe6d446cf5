"""Rows, status line, paging and the view's drawing with a mock window."""

from __future__ import annotations

import sys
import types
from typing import Any

from protocol import Message, Welcome
from tui_client.editor import LineEditor
from tui_client.layout import compute_layout
from tui_client.render import Renderer, entry_rows, format_plain, nick_style, status_text
from tui_client.state import ClientState, Status
from tui_client.width import text_width


def msg(i: int, sender: str = "bob", text: str = "hi", **kw: Any) -> Message:
    return Message(i, 1_700_000_000.0 + i, sender, text, **kw)


def state_with(*messages: Message) -> ClientState:
    state = ClientState("127.0.0.1", 9000, "me")
    state.apply(Welcome("me", "srv", ["me", "bob"], list(messages)))
    return state


def row_text(row: list[tuple[str, str]]) -> str:
    return "".join(t for t, _s in row)


def rows_of(state: ClientState, width: int) -> list[str]:
    return [row_text(r) for e in state.entries for r in entry_rows(e, state, width)]


def test_message_formats() -> None:
    state = state_with(
        msg(1, text="hello"),
        msg(2, text="waves", action=True),
        msg(3, text="psst", to="me"),
        msg(4, sender="me", text="back", to="bob"),
    )
    lines = [line[8:] for line in rows_of(state, 60)[:4]]
    assert lines == ["bob: hello", "* bob waves", "*bob -> you*: psst", "*you -> bob*: back"]


def test_hanging_indent_and_width() -> None:
    state = state_with(msg(1, text="word " * 40))
    rows = [row_text(r) for r in entry_rows(state.entries[0], state, 40)]
    assert len(rows) > 3
    assert all(text_width(r) <= 40 for r in rows)
    assert all(r.startswith(" " * len("[00:00] bob: ")) for r in rows[1:])


def test_a_highlighted_message_does_not_paint_its_indent() -> None:
    state = state_with(msg(1, text="me: " + "please look " * 10))
    rows = entry_rows(state.entries[0], state, 40)
    assert len(rows) > 1
    for row in rows[1:]:
        (indent, indent_style), (_body, body_style) = row
        assert indent.strip() == "" and indent_style == "text" and body_style == "mention"


def test_network_text_is_sanitised_before_drawing() -> None:
    # the server strips these too; the client must not trust it
    state = state_with()
    for i, text in enumerate(["\x1b[2Jboom", "\u009b31mred", "bell\x07", "a\rb"], start=1):
        raw = Message.__new__(Message)
        for field, value in dict(
            id=i, ts=1.0, sender="ev\x1bil", text=text, action=False, to=None
        ).items():
            object.__setattr__(raw, field, value)
        state.add_message(raw)
    joined = "\n".join(rows_of(state, 80))
    assert not any(ch in joined for ch in "\x1b\x9b\x07\r")
    assert "\ufffd[2Jboom" in joined and "\ufffd31mred" in joined


def test_status_line() -> None:
    state = state_with()
    assert status_text(state) == "127.0.0.1:9000 | me | connected | 2 online"
    state.set_scroll(3)
    state.apply(msg(7))
    assert status_text(state).endswith("| 1 new")
    state.set_status(Status.RECONNECTING, 4.0, now=0.0)
    assert status_text(state, now=0.0).startswith("127.0.0.1:9000 | me | reconnecting in 4s |")
    assert "online" not in status_text(state, now=0.0)


def test_nick_colour_is_stable_and_case_insensitive() -> None:
    assert nick_style("Alice") == nick_style("alice")
    assert nick_style("alice").startswith("nick")


def test_plain_format() -> None:
    state = state_with(msg(1, text="two\nlines"))
    assert format_plain(state.entries[0], state).endswith("bob: two\n        lines")


def test_paging_and_top_detection() -> None:
    state = state_with(*[msg(i, text=f"line {i}") for i in range(1, 101)])
    renderer = Renderer()
    rows, at_top = renderer.visible(state, 50, 10)
    assert row_text(rows[-1]).endswith("-- connected to srv as me") and not at_top
    assert not renderer.scroll_by(state, 9, 50, 10)
    rows, _ = renderer.visible(state, 50, 10)
    assert row_text(rows[-1]).endswith("line 92")
    assert renderer.scroll_by(state, 1000, 50, 10)
    rows, at_top = renderer.visible(state, 50, 10)
    assert at_top and row_text(rows[0]).endswith("line 1")


def test_scrolled_view_stays_put_when_messages_arrive() -> None:
    state = state_with(*[msg(i, text=f"line {i}") for i in range(1, 51)])
    renderer = Renderer()
    renderer.scroll_by(state, 20, 50, 10)
    before = [row_text(r) for r in renderer.visible(state, 50, 10)[0]]
    for i in range(51, 56):
        state.apply(msg(i))
    renderer.absorb_appended(state, 50)
    after = [row_text(r) for r in renderer.visible(state, 50, 10)[0]]
    assert before == after and state.unseen == 5


class FakeWindow:
    """Records what is written, like a curses window."""

    def __init__(self, rows: int, cols: int) -> None:
        self.cells = [[" "] * cols for _ in range(rows)]
        self.cursor = (0, 0)

    def erase(self) -> None:
        for row in self.cells:
            row[:] = [" "] * len(row)

    def addstr(self, y: int, x: int, text: str, attr: int = 0) -> None:
        for ch in text:
            if x < len(self.cells[y]):
                self.cells[y][x] = ch
            x += 1

    def move(self, y: int, x: int) -> None:
        self.cursor = (y, x)

    def text(self) -> list[str]:
        return ["".join(row).rstrip() for row in self.cells]


def test_view_draws_panes_on_a_mock_window() -> None:
    import curses  # the view imports curses; drawing itself needs no terminal

    from tui_client.view import draw, make_attrs

    attrs = make_attrs(use_colour=False)
    state = state_with(msg(1, text="hello there"))
    editor = LineEditor()
    editor.insert("typing")
    win = FakeWindow(12, 60)
    draw(win, compute_layout(12, 60), state, Renderer(), editor, attrs)
    screen = win.text()
    assert "Online (2)" in screen[0]
    assert any("*me" in line for line in screen)
    assert any("bob: hello there" in line for line in screen)
    assert screen[10].startswith("127.0.0.1:9000 | me | connected | 2 online")
    assert screen[11] == "> typing" and win.cursor == (11, 8)
    small = FakeWindow(5, 20)
    draw(small, compute_layout(5, 20), state, Renderer(), editor, attrs)
    assert small.text()[0] == "terminal too small"
    assert isinstance(curses, types.ModuleType) and "tui_client.view" in sys.modules
