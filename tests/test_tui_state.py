"""Client state (tui_client.state): merging, roster, status, scroll counters."""

from __future__ import annotations

from protocol import Bye, Error, History, Join, Leave, Message, Rename, Roster, Welcome
from tui_client.state import ClientState, Status


def msg(i: int, sender: str = "bob", text: str = "hi", **kw: object) -> Message:
    return Message(i, 1_700_000_000.0 + i, sender, text, **kw)  # type: ignore[arg-type]


def welcomed(*history: Message, roster: tuple[str, ...] = ("me", "bob")) -> ClientState:
    state = ClientState(nick="me")
    state.apply(Welcome("me", "srv", list(roster), list(history)))
    return state


def ids(state: ClientState) -> list[int]:
    return [e.key[0] for e in state.entries if e.kind == "message"]


def test_messages_merge_by_id_in_order() -> None:
    state = welcomed(msg(3), msg(5))
    state.apply(msg(4))
    state.apply(msg(5))
    state.apply(History([msg(1), msg(2), msg(3)]))
    assert ids(state) == [1, 2, 3, 4, 5]
    assert state.last_id == 5


def test_reconnect_gap_is_filled_without_duplicates() -> None:
    state = welcomed(msg(1), msg(2))
    state.set_status(Status.RECONNECTING, 1)
    state.apply(Welcome("me", "srv", ["me"], [msg(2), msg(3), msg(4)]))
    assert ids(state) == [1, 2, 3, 4]
    assert state.status == Status.CONNECTED
    assert any("reconnected" in e.text for e in state.entries)


def test_system_lines_follow_the_newest_message() -> None:
    state = welcomed(msg(1))
    state.apply(Join("carol", 1.0))
    state.apply(msg(2))
    kinds = [(e.kind, e.text) for e in state.entries]
    join_at = kinds.index(("system", "-- carol joined"))
    assert kinds[join_at + 1] == ("message", "hi")


def test_roster_updates() -> None:
    state = welcomed()
    state.apply(Join("Carol", 1.0))
    state.apply(Join("carol", 1.0))
    assert state.roster == ["bob", "Carol", "me"]
    state.apply(Rename("bob", "zed", 2.0))
    state.apply(Leave("Carol", "quit", 3.0))
    assert state.roster == ["me", "zed"]
    assert any(e.text == "-- bob is now known as zed" for e in state.entries)
    assert any(e.text == "-- Carol left (quit)" for e in state.entries)
    state.apply(Roster(["x", "me"]))
    assert state.roster == ["me", "x"]


def test_own_rename_changes_nick() -> None:
    state = welcomed()
    state.apply(Rename("me", "Me2", 1.0))
    assert state.nick == "Me2" and state.is_me("me2")


def test_mentions_and_bell() -> None:
    state = welcomed()
    assert state.mentions_me("hey ME!")
    assert not state.mentions_me("meme time")
    state.apply(msg(1, text="hello me"))
    assert state.bell_pending
    state.bell_pending = False
    state.apply(msg(2, sender="me", text="me me me"))
    assert not state.bell_pending
    state.apply(msg(3, text="psst", to="me"))
    assert state.bell_pending
    state.bell_pending = False
    state.bell_enabled = False
    state.apply(msg(4, text="me?"))
    assert not state.bell_pending


def test_new_counter_while_scrolled() -> None:
    state = welcomed(msg(1))
    state.set_scroll(5)
    state.apply(msg(2))
    state.apply(Join("x", 1.0))
    assert state.unseen == 1 and len(state.appended_while_scrolled) == 2
    state.set_scroll(0)
    assert state.unseen == 0 and not state.appended_while_scrolled


def test_history_page_flags() -> None:
    state = welcomed(msg(10))
    state.history_pending = True
    state.apply(History([msg(8), msg(9)], before=10))
    assert not state.history_pending and not state.history_exhausted
    assert state.oldest_message_id() == 8
    state.apply(History([], before=8))
    assert state.history_exhausted


def test_status_countdown() -> None:
    state = ClientState()
    state.set_status(Status.RECONNECTING, 4, now=100.0)
    assert state.status_word(now=100.0) == "reconnecting in 4s"
    assert state.status_word(now=102.5) == "reconnecting in 2s"


def test_nick_taken_before_welcome_says_what_to_do() -> None:
    state = ClientState(nick="bob")
    state.apply(Error("nick_taken", "That nick is taken."))
    assert "/nick NAME" in state.entries[-1].text


def test_clear() -> None:
    state = welcomed(msg(1), msg(2))
    state.clear()
    assert state.entries == [] and state.history_exhausted
    state.apply(msg(2))
    assert state.entries == []


def test_a_dropped_connection_is_said_once_a_bye_is_not_repeated() -> None:
    state = ClientState("h", 1, "alice")
    state.apply(Welcome(nick="alice", server="s", roster=["alice"], history=[]))
    state.set_status(Status.RECONNECTING, 1.0)
    assert state.entries[-1].text == "-- lost the connection to the server"
    state.apply(Welcome(nick="alice", server="s", roster=["alice"], history=[]))
    state.apply(Bye(reason="server_shutdown"))
    state.set_status(Status.RECONNECTING, 1.0)
    texts = [entry.text for entry in state.entries]
    assert texts[-1] == "-- server closed the connection (server_shutdown)"
    assert texts.count("-- lost the connection to the server") == 1


def test_memory_is_bounded_and_old_messages_can_come_back() -> None:
    state = ClientState("h", 1, "alice", max_entries=50)
    state.apply(Welcome(nick="alice", server="s", roster=["alice"], history=[]))
    for i in range(1, 201):
        state.apply(Message(id=i, ts=float(i), sender="bob", text=f"m{i}"))
    assert len(state.entries) <= 100
    oldest = state.oldest_message_id()
    assert oldest is not None and oldest > 100
    assert not state.history_exhausted
    state.set_scroll(5)  # reading: nothing is trimmed under the reader
    state.apply(History(messages=[Message(id=i, ts=float(i), sender="bob", text=f"m{i}")
                                  for i in range(oldest - 10, oldest)], before=oldest))
    assert state.oldest_message_id() == oldest - 10
