"""Rows, status and topic lines, the buffer list, paging, and drawing on a mock window."""

from __future__ import annotations

import sys
import types
from typing import Any

from protocol import Channel, Message, Welcome
from tui_client.buffers import Buffer, Buffers
from tui_client.editor import LineEditor
from tui_client.events import EventApplier
from tui_client.identity import Identity
from tui_client.layout import compute_layout
from tui_client.prefs import Prefs
from tui_client.render import (
    Renderer,
    Scene,
    buflist_rows,
    entry_rows,
    format_plain,
    nick_style,
    roster_rows,
    status_text,
    title_text,
)
from tui_client.secret import Ask, Purpose, SecretPrompt
from tui_client.status import ConnectionStatus, Status
from tui_client.width import text_width


def msg(i: int, sender: str = "bob", text: str = "hi", **kw: Any) -> Message:
    return Message(i, 1_700_000_000.0 + i, sender, text, **kw)


class Client:
    def __init__(self, *history: Message, channels: tuple[str, ...] = ("#dev",)) -> None:
        self.me = Identity("me")
        self.status = ConnectionStatus("127.0.0.1", 9000)
        self.prefs = Prefs()
        self.buffers = Buffers()
        self.prompt = SecretPrompt()
        self.applier = EventApplier(self.buffers, self.me, self.status, self.prefs, self.prompt)
        frames = [Channel(n, ["me", "bob"], list(history) if i == 0 else [])
                  for i, n in enumerate(channels)]
        self.applier.apply(Welcome("me", "srv", ["me", "bob"], [], channels=frames))

    @property
    def current(self) -> Buffer:
        return self.buffers.current

    def scene(self) -> Scene:
        return Scene(self.buffers, self.me, self.status, self.prefs, prompt=self.prompt)


def row_text(row: list[tuple[str, str]]) -> str:
    return "".join(t for t, _s in row)


def rows_of(client: Client, width: int) -> list[str]:
    return [row_text(r) for e in client.current.entries for r in entry_rows(e, client.me, width)]


def test_message_formats() -> None:
    client = Client(msg(1, text="hello"), msg(2, text="waves", action=True))
    client.applier.apply(msg(3, text="psst", to="me"))
    client.applier.apply(msg(4, sender="me", text="back", to="bob"))
    assert [line[8:] for line in rows_of(client, 60)[:2]] == ["bob: hello", "* bob waves"]
    client.buffers.switch_to(client.buffers.find("bob"))  # type: ignore[arg-type]
    assert [line[8:] for line in rows_of(client, 60)] == ["*bob -> you*: psst",
                                                          "*you -> bob*: back"]


def test_hanging_indent_and_width() -> None:
    client = Client(msg(1, text="word " * 40))
    rows = [row_text(r) for r in entry_rows(client.current.entries[0], client.me, 40)]
    assert len(rows) > 3
    assert all(text_width(r) <= 40 for r in rows)
    assert all(r.startswith(" " * len("[00:00] bob: ")) for r in rows[1:])


def test_a_highlighted_message_does_not_paint_its_indent() -> None:
    client = Client(msg(1, text="me: " + "please look " * 10))
    rows = entry_rows(client.current.entries[0], client.me, 40)
    assert len(rows) > 1
    for row in rows[1:]:
        (indent, indent_style), (_body, body_style) = row
        assert indent.strip() == "" and indent_style == "text" and body_style == "mention"


def test_network_text_is_sanitised_before_drawing() -> None:
    # the server strips these too; the client must not trust it
    client = Client()
    for i, text in enumerate(["\x1b[2Jboom", "\u009b31mred", "bell\x07", "a\rb"], start=1):
        raw = Message.__new__(Message)
        for field, value in dict(
            id=i, ts=1.0, sender="ev\x1bil", text=text, action=False, to=None, channel="#dev"
        ).items():
            object.__setattr__(raw, field, value)
        client.current.add_message(raw, client.me)
    joined = "\n".join(rows_of(client, 80))
    assert not any(ch in joined for ch in "\x1b\x9b\x07\r")
    assert "\ufffd[2Jboom" in joined and "\ufffd31mred" in joined


def test_status_line() -> None:
    client = Client()
    assert status_text(client.scene()) == "2:#dev | me | connected | 2 online | 127.0.0.1:9000"
    client.current.set_scroll(3)
    client.applier.apply(msg(7, channel="#dev"))
    assert "| 1 new |" in status_text(client.scene())
    client.status.set(Status.RECONNECTING, 4.0, now=0.0)
    line = status_text(client.scene(), now=0.0)
    assert line.startswith("2:#dev | me | reconnecting in 4s |") and "online" not in line


def test_folded_status_line_lists_the_buffers_with_activity() -> None:
    client = Client(channels=("#dev", "#ops"))
    client.applier.apply(msg(1, channel="#ops"))
    client.applier.apply(msg(2, text="hi me", to="me"))
    assert "act:" not in status_text(client.scene(), folded=False)
    assert status_text(client.scene(), folded=True).startswith(
        "2:#dev | act: 3:#ops(1) 4:bob(1!) | me |"
    )


def test_title_line_shows_the_topic_the_peer_or_the_server() -> None:
    client = Client(channels=("#dev",))
    status = client.status
    assert title_text(client.current, status) == "#dev: no topic (/topic TEXT sets one)"
    client.current.set_topic("release on Friday", "bob")
    assert title_text(client.current, status) == "#dev: release on Friday"
    client.current.leave()
    assert "not in this channel" in title_text(client.current, status)
    assert title_text(client.buffers.open_query("bob"), status) == "bob: private conversation"
    assert "127.0.0.1:9000" in title_text(client.buffers.server, status)


def test_buffer_list_rows_show_numbers_unread_counts_and_marks() -> None:
    client = Client(channels=("#dev", "#ops", "#a-very-long-channel-name"))
    client.applier.apply(msg(1, channel="#ops"))
    client.applier.apply(msg(2, channel="#ops", text="me: look"))
    client.applier.apply(msg(3, channel="#a-very-long-channel-name"))
    rows = buflist_rows(client.buffers, 16, 20)
    texts = [row_text(r) for r in rows]
    assert texts[0] == "1.server        "
    assert texts[1] == "2.#dev          " and rows[1][0][1] == "buf_current"
    assert texts[2] == "3.#ops        2!" and rows[2][0][1] == "mention"
    assert texts[3] == "4.#a-very-long 1" and rows[3][0][1] == "buf_unread"
    assert all(text_width(t) == 16 for t in texts)


def test_buffer_list_keeps_the_current_buffer_in_view() -> None:
    client = Client(channels=tuple(f"#c{i}" for i in range(12)))
    client.buffers.switch_number(13)
    rows = [row_text(r).strip() for r in buflist_rows(client.buffers, 16, 5)]
    assert len(rows) == 5 and rows[-1] == "13.#c11"


def test_roster_rows_mark_us_and_fold_the_rest() -> None:
    client = Client()
    for nick in ("carol", "dave", "erin", "frank"):
        client.current.roster.add(nick)
    rows = [row_text(r) for r in roster_rows(client.current, client.me, 18, 4)]
    assert rows[0].strip() == "Members (6)" and rows[1:] == [" bob", " carol", "+4 more"]
    rows = [row_text(r) for r in roster_rows(client.current, client.me, 18, 10)]
    assert "*me" in rows


def test_roster_rows_of_a_partial_roster_count_every_member() -> None:
    client = Client()
    client.current.roster.replace(["me", "op"], operators=["op"], users=10_000)
    rows = [row_text(r).rstrip() for r in roster_rows(client.current, client.me, 18, 6)]
    assert rows == ["Members (10000)", " @op", "*me", "+9998 more"]
    client.status.set(Status.CONNECTED)
    assert "| 10000 online |" in status_text(client.scene())
    client.current.roster.replace([f"u{i:05d}" for i in range(10_000)], operators=["u09999"])
    rows = [row_text(r).rstrip() for r in roster_rows(client.current, client.me, 18, 5)]
    assert rows == ["Members (10000)", " @u09999", " u00000", " u00001", "+9997 more"]
    assert [row_text(r) for r in roster_rows(client.current, client.me, 18, 1)] == [
        "Members (10000)   "]


def test_the_roster_pane_scrolls_within_the_members_listed() -> None:
    client = Client()
    buffer = client.current
    buffer.roster.replace([f"u{i:03d}" for i in range(100)], operators=["u050"])
    buffer.scroll_roster(10, shown=8)
    rows = [row_text(r).rstrip() for r in roster_rows(buffer, client.me, 18, 10)]
    assert rows == ["Members (100)", *[f" u{i:03d}" for i in range(9, 17)], "+92 more"]
    buffer.scroll_roster(1000, shown=8)
    assert buffer.roster_top == 92
    rows = [row_text(r).rstrip() for r in roster_rows(buffer, client.me, 18, 10)]
    assert rows[1:-1] == [f" u{i:03d}" for i in range(92, 100)]
    buffer.roster.update([], [f"u{i:03d}" for i in range(40, 100)])  # shrank under the view
    rows = [row_text(r).rstrip() for r in roster_rows(buffer, client.me, 18, 10)]
    assert rows[1:-1] == [f" u{i:03d}" for i in range(32, 40)]
    buffer.scroll_roster(-1000, shown=8)
    assert buffer.roster_top == 0
    buffer.scroll_roster(5, shown=8)
    client.applier.apply(Channel("#dev", ["me"], []))  # entered again: from the top
    assert buffer.roster_top == 0


def test_roster_rows_list_operators_first_with_their_mark() -> None:
    client = Client()
    client.current.roster.replace(["me", "bob", "Carol", "dave"], operators=["dave", "me"])
    rows = [row_text(r) for r in roster_rows(client.current, client.me, 18, 10)]
    assert [r.rstrip() for r in rows[1:]] == [" @dave", "*@me", " bob", " Carol"]


def test_title_line_shows_the_modes() -> None:
    client = Client()
    status = client.status
    client.current.set_modes(topic_lock=True)
    assert title_text(client.current, status) == "#dev [+t]: no topic (/topic TEXT sets one)"
    client.current.set_modes(invite_only=True)
    client.current.set_topic("ship it", "bob")
    assert title_text(client.current, status) == "#dev [+ti]: ship it"
    client.current.set_modes(topic_lock=False, invite_only=False)
    assert title_text(client.current, status) == "#dev: ship it"


def test_nick_colour_is_stable_and_case_insensitive() -> None:
    assert nick_style("Alice") == nick_style("alice")
    assert nick_style("alice").startswith("nick")


def test_plain_format_names_the_channel_or_the_peer() -> None:
    client = Client(msg(1, text="two\nlines"))
    entry = client.current.entries[0]
    assert format_plain(client.current, entry, client.me).endswith("#dev bob: two\n        lines")
    client.applier.apply(msg(2, text="psst", to="me"))
    query = client.buffers.find("bob")
    assert query is not None
    assert format_plain(query, query.entries[-1], client.me)[8:] == "bob *bob -> you*: psst"
    server = client.buffers.server
    assert format_plain(server, server.entries[-1], client.me)[8:].startswith("-- connected")


def test_paging_and_top_detection() -> None:
    client = Client(*[msg(i, text=f"line {i}") for i in range(1, 101)])
    renderer, buffer, me = Renderer(), client.current, client.me
    rows, at_top = renderer.visible(buffer, me, 50, 10)
    assert row_text(rows[-1]).endswith("-- you are in #dev (2 here)") and not at_top
    assert not renderer.scroll_by(buffer, me, 9, 50, 10)
    rows, _ = renderer.visible(buffer, me, 50, 10)
    assert row_text(rows[-1]).endswith("line 92")
    assert renderer.scroll_by(buffer, me, 1000, 50, 10)
    rows, at_top = renderer.visible(buffer, me, 50, 10)
    assert at_top and row_text(rows[0]).endswith("line 1")


def test_scrolled_view_stays_put_when_messages_arrive() -> None:
    client = Client(*[msg(i, text=f"line {i}") for i in range(1, 51)])
    renderer, buffer, me = Renderer(), client.current, client.me
    renderer.scroll_by(buffer, me, 20, 50, 10)
    before = [row_text(r) for r in renderer.visible(buffer, me, 50, 10)[0]]
    for i in range(51, 56):
        client.applier.apply(msg(i, channel="#dev"))
    renderer.absorb_appended(buffer, me, 50)
    after = [row_text(r) for r in renderer.visible(buffer, me, 50, 10)[0]]
    assert before == after and buffer.unseen == 5


def test_each_buffer_keeps_its_own_scroll() -> None:
    client = Client(*[msg(i, text=f"line {i}") for i in range(1, 51)], channels=("#dev", "#ops"))
    renderer = Renderer()
    renderer.scroll_by(client.current, client.me, 20, 50, 10)
    client.buffers.step(1)
    assert client.current.name == "#ops" and client.current.scroll == 0
    client.buffers.step(-1)
    assert client.current.scroll == 20


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
    client = Client(msg(1, text="hello there"), channels=("#dev", "#ops"))
    client.current.set_topic("ship it", "bob")
    editor = LineEditor()
    editor.insert("typing")
    win = FakeWindow(12, 100)
    draw(win, compute_layout(12, 100), client.scene(), Renderer(), editor, attrs)
    screen = win.text()
    assert screen[0] == "#dev: ship it"
    assert screen[1].startswith("1.server") and "Members (2)" in screen[1]
    assert screen[2].startswith("2.#dev") and screen[3].startswith("3.#ops")
    assert any("*me" in line for line in screen)
    assert any("bob: hello there" in line for line in screen)
    assert screen[10].startswith("2:#dev | me | connected | 2 online")
    assert screen[11] == "> typing" and win.cursor == (11, 8)
    narrow = FakeWindow(12, 60)
    draw(narrow, compute_layout(12, 60), client.scene(), Renderer(), editor, attrs)
    assert not narrow.text()[1].startswith("1.server")  # folded into the status line
    small = FakeWindow(5, 20)
    draw(small, compute_layout(5, 20), client.scene(), Renderer(), editor, attrs)
    assert small.text()[0] == "terminal too small"
    client.prompt.open(Ask(Purpose.HELLO, "me"))  # a password question takes the input line
    client.prompt.insert("hunter22")
    asking = FakeWindow(12, 100)
    draw(asking, compute_layout(12, 100), client.scene(), Renderer(), editor, attrs)
    question = "Password of me (Esc cancels): "
    assert asking.text()[11] == question + "********"
    assert asking.cursor == (11, len(question) + 8)
    assert "typing" not in asking.text()[11] and "hunter22" not in "\n".join(asking.text())
    assert isinstance(curses, types.ModuleType) and "tui_client.view" in sys.modules
