"""Buffers (tui_client.buffers): entries, scroll, unread and highlight, switching."""

from __future__ import annotations

from protocol import Message
from tui_client.buffers import (
    GAP_PAGE,
    Buffer,
    BufferKind,
    Buffers,
    ChannelModes,
    EntryKind,
    Gap,
    Roster,
)
from tui_client.identity import Identity

ME = Identity("me")


def msg(i: int, sender: str = "bob", text: str = "hi", **kw: object) -> Message:
    return Message(i, 1_700_000_000.0 + i, sender, text, **kw)  # type: ignore[arg-type]


def ids(buffer: Buffer) -> list[int]:
    return [e.key[0] for e in buffer.entries if e.kind == EntryKind.MESSAGE]


def channel(name: str = "#dev", *history: Message) -> Buffer:
    buffer = Buffer(BufferKind.CHANNEL, name)
    buffer.show()
    buffer.add_messages(history, ME, live=False)
    return buffer


def test_messages_merge_by_id_in_order_without_duplicates() -> None:
    buffer = channel("#dev", msg(3), msg(5))
    buffer.add_message(msg(4), ME)
    assert not buffer.add_message(msg(5), ME).new
    buffer.add_history([msg(1), msg(2), msg(3)], ME)
    assert ids(buffer) == [1, 2, 3, 4, 5]


def test_local_lines_follow_the_newest_message() -> None:
    buffer = channel("#dev", msg(1))
    buffer.add_line("-- carol joined", EntryKind.SYSTEM)
    buffer.add_message(msg(2), ME)
    kinds = [(e.kind, e.text) for e in buffer.entries]
    join_at = kinds.index((EntryKind.SYSTEM, "-- carol joined"))
    assert kinds[join_at + 1] == (EntryKind.MESSAGE, "hi")


def test_roster_operators_follow_renames_and_leave_with_the_nick() -> None:
    roster = Roster(["me", "bob", "Carol"], operators=["CAROL", "ghost"])
    assert roster.is_operator("carol") and not roster.is_operator("ghost")  # members only
    assert roster.ranked() == ["Carol", "bob", "me"] and roster.names == ["bob", "Carol", "me"]
    assert roster.label("carol") == "@carol" and roster.label("bob") == "bob"
    assert roster.rename("Carol", "Zed") and roster.is_operator("zed")
    assert roster.set_operator("bob", True) and not roster.set_operator("nobody", True)
    assert roster.ranked() == ["bob", "Zed", "me"]
    roster.set_operator("bob", False)
    assert roster.remove("zed") and not roster.is_operator("zed")
    roster.add("zed")  # back, but not an operator until told
    assert not roster.is_operator("zed")
    roster.replace(["me", "zed"])  # operators unchanged when not given
    roster.replace(["me", "zed"], operators=["me"])
    assert roster.ranked() == ["me", "zed"]


def test_channel_modes_change_one_at_a_time() -> None:
    buffer = Buffer(BufferKind.CHANNEL, "#ops")
    assert buffer.modes == ChannelModes() and buffer.modes.flags == ""
    buffer.set_modes(invite_only=True)
    buffer.set_modes(topic_lock=True)
    assert buffer.modes == ChannelModes(True, True) and buffer.modes.flags == "+ti"
    buffer.set_modes(invite_only=False)
    assert buffer.modes.flags == "+t"
    buffer.enter(["me"], None, None)  # a new snapshot says it all
    assert buffer.modes.flags == ""


def test_roster_is_sorted_case_insensitively_each_nick_once() -> None:
    roster = Roster(["me", "bob"])
    assert roster.add("Carol") and not roster.add("carol")
    assert roster.names == ["bob", "Carol", "me"]
    assert roster.rename("bob", "zed") and not roster.rename("nobody", "x")
    assert roster.remove("CAROL") and "carol" not in roster
    assert roster.names == ["me", "zed"] and len(roster) == 2


def test_unread_and_highlight_count_only_while_hidden_and_only_others() -> None:
    buffer = channel("#dev")
    buffer.add_message(msg(1), ME)
    assert buffer.unread == 0  # shown: read at once
    buffer.hide()
    buffer.add_message(msg(2), ME)
    buffer.add_message(msg(3, sender="me", text="mine"), ME)
    buffer.add_line("-- x joined", EntryKind.SYSTEM)
    buffer.add_message(msg(4, text="backlog me"), ME, live=False)
    assert buffer.unread == 1 and not buffer.highlight
    added = buffer.add_message(msg(5, text="hey ME, look"), ME)
    assert added.alert and buffer.unread == 2 and buffer.highlight
    buffer.show()
    assert buffer.unread == 0 and not buffer.highlight


def test_a_private_message_is_a_highlight() -> None:
    buffer = Buffer(BufferKind.QUERY, "bob")
    added = buffer.add_message(msg(1, text="psst", to="me"), ME)
    assert added.alert and buffer.unread == 1 and buffer.highlight


def test_new_counter_while_scrolled() -> None:
    buffer = channel("#dev", msg(1))
    buffer.set_scroll(5)
    buffer.add_message(msg(2), ME)
    buffer.add_line("-- x joined", EntryKind.SYSTEM)
    assert buffer.unseen == 1
    buffer.absorb_appended(lambda _entry: 2)
    assert buffer.scroll == 9  # stays on the same rows
    buffer.set_scroll(0)
    assert buffer.unseen == 0


def test_history_paging_flags() -> None:
    buffer = channel("#dev", msg(10))
    assert buffer.wants_history()
    buffer.note_history_requested()
    assert not buffer.wants_history()
    buffer.add_history([msg(8), msg(9)], ME)
    assert buffer.oldest_message_id() == 8 and buffer.wants_history()
    buffer.add_history([], ME)
    assert buffer.history_exhausted and not buffer.wants_history()
    left = channel("#old", msg(10))
    left.leave()
    assert not left.wants_history() and not left.joined and len(left.roster) == 0


def test_clear_stops_paging_and_ignores_known_ids() -> None:
    buffer = channel("#dev", msg(1), msg(2))
    buffer.clear()
    assert buffer.entries == [] and buffer.history_exhausted
    buffer.add_message(msg(2), ME)
    assert buffer.entries == []


def test_memory_is_bounded_per_buffer_and_old_messages_can_come_back() -> None:
    buffer = Buffer(BufferKind.CHANNEL, "#dev", max_entries=50)
    for i in range(1, 201):
        buffer.add_message(msg(i, text=f"m{i}"), ME)
    assert len(buffer.entries) <= 100
    oldest = buffer.oldest_message_id()
    assert oldest is not None and oldest > 100 and buffer.wants_history()
    buffer.set_scroll(5)  # reading: nothing is trimmed under the reader
    buffer.add_history([msg(i) for i in range(oldest - 10, oldest)], ME)
    assert buffer.oldest_message_id() == oldest - 10


def test_buffers_open_in_order_after_the_server_buffer() -> None:
    buffers = Buffers()
    dev = buffers.open_channel("#Dev")
    bob = buffers.open_query("bob")
    assert [b.name for b in buffers] == ["server", "#Dev", "bob"]
    assert buffers.open_channel("#dev") is dev  # one channel, first spelling kept
    assert buffers.find("#DEV") is dev and buffers.find("BOB") is bob
    assert buffers.find("#bob") is None and buffers.find("dev") is None
    assert buffers.current is buffers.server
    assert buffers.joined_channels() == ["#Dev"]


def test_switching_by_number_and_step_wraps_and_marks_read() -> None:
    buffers = Buffers()
    dev = buffers.open_channel("#dev")
    ops = buffers.open_channel("#ops")
    ops.add_message(msg(1), ME)
    assert ops.unread == 1 and buffers.activity() == [(3, ops)]
    assert buffers.switch_number(3) and buffers.current is ops and ops.unread == 0
    assert not buffers.switch_number(3) and not buffers.switch_number(9)
    assert buffers.step(1) and buffers.current is buffers.server
    assert buffers.step(-1) and buffers.current is ops
    assert buffers.step(-1) and buffers.current is dev
    dev.add_message(msg(2), ME)
    assert dev.unread == 0  # the shown buffer has nothing unread


def test_closing_moves_to_the_buffer_before_and_the_server_buffer_stays() -> None:
    buffers = Buffers()
    dev = buffers.open_channel("#dev")
    bob = buffers.open_query("bob")
    buffers.switch_to(bob)
    assert buffers.close(bob) and buffers.current is dev
    assert buffers.find("bob") is None
    assert not buffers.close(buffers.server)
    assert buffers.open_query("bob") is not bob  # a fresh buffer


def test_rename_query_follows_the_peer() -> None:
    buffers = Buffers()
    bob = buffers.open_query("bob")
    assert buffers.rename_query("Bob", "robert") is bob
    assert bob.name == "robert" and buffers.find("robert") is bob and buffers.find("bob") is None


def test_channel_names_for_completion_include_listed_ones() -> None:
    buffers = Buffers()
    buffers.open_channel("#dev")
    buffers.note_channels(["#DEV", "#ops"])
    assert buffers.channel_names() == ["#dev", "#ops"]


def test_listener_hears_every_entry_with_its_buffer() -> None:
    buffers = Buffers()
    heard: list[tuple[str, str]] = []
    buffers.listener = lambda buffer, entry: heard.append((buffer.name, entry.text))
    buffers.open_channel("#dev").add_message(msg(1, text="hello"), ME)
    buffers.server.add_line("-- note")
    assert heard == [("#dev", "hello"), ("server", "-- note")]


def test_identity_mentions_whole_words_only() -> None:
    me = Identity("me")
    assert me.mentions_me("hey ME!") and not me.mentions_me("meme time")
    me.set_nick("Мария")
    assert me.is_me("мария") and me.mentions_me("привет, мария")


def test_a_gap_fills_page_by_page_in_order_and_closes_on_a_short_page() -> None:
    buffer = channel("#dev", msg(1), msg(2))
    buffer.expect_gap(1200)  # the replay, cut at its cap, starts at 1200
    buffer.add_messages([msg(i) for i in range(1200, 1210)], ME)
    assert buffer.maybe_gap_query() == Gap(2, 1200)
    buffer.note_gap_requested()
    assert buffer.maybe_gap_query() is None  # one page at a time
    bottom = 2
    for _page in range(2):
        page = [msg(i) for i in range(bottom + 1, bottom + 1 + GAP_PAGE)]
        assert buffer.add_gap_page(page, bottom, ME) == GAP_PAGE
        bottom += GAP_PAGE
        assert buffer.maybe_gap_query() == Gap(bottom, 1200)
        buffer.note_gap_requested()
    assert buffer.add_gap_page([msg(3)], 2, ME) == 0  # an answer for a bottom passed: ignored
    buffer.add_gap_page([msg(i) for i in range(bottom + 1, 1200)], bottom, ME)
    assert buffer.gap is None and buffer.maybe_gap_query() is None
    assert ids(buffer) == list(range(1, 1210))
    assert buffer.unread == 0  # shown; hidden, the missed ones would count


def test_a_gap_needs_something_below_it_and_widens_on_the_next_reconnect() -> None:
    empty = channel("#new")
    empty.expect_gap(500)
    assert empty.gap is None  # nothing loaded: nothing missing in the middle
    buffer = channel("#dev", msg(10))
    buffer.expect_gap(11)
    assert buffer.gap is None  # adjacent ids: no room for a gap
    buffer.expect_gap(2000)
    buffer.note_gap_requested()
    buffer.add_messages([msg(2000), msg(2001)], ME)
    buffer.forget_requests()  # the connection dropped before the page came
    buffer.expect_gap(5000)
    assert buffer.maybe_gap_query() == Gap(10, 5000)


def test_a_gap_too_big_to_keep_is_given_up_for_paging_back() -> None:
    buffer = Buffer(BufferKind.CHANNEL, "#dev", max_entries=60)
    buffer.add_messages([msg(i) for i in range(1, 11)], ME)
    buffer.add_line("-- lost the connection")
    buffer.expect_gap(9000)
    buffer.add_messages([msg(i) for i in range(9000, 9040)], ME)
    assert buffer.maybe_gap_query() == Gap(10, 9000)
    buffer.add_messages([msg(i) for i in range(9040, 9050)], ME)
    assert buffer.maybe_gap_query() is None  # 61 entries: full, so it gives the gap up
    assert buffer.gap is None and ids(buffer) == list(range(9000, 9050))
    assert buffer.wants_history()  # paging back from 9000 brings the middle
    left = channel("#old", msg(5))
    left.expect_gap(100)
    left.leave()
    assert left.maybe_gap_query() is None  # a channel we are not in asks nothing
