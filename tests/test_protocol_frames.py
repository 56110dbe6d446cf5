"""Frame parsing, validation and conversion back to wire objects."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import (
    CLIENT_FRAMES,
    MAX_HISTORY_LIMIT,
    SERVER_FRAMES,
    Account,
    Bye,
    Channel,
    Channels,
    ChannelSummary,
    Error,
    Frame,
    Hello,
    History,
    HistoryQuery,
    Invite,
    Join,
    Kick,
    Leave,
    Message,
    Mode,
    PresenceUpdate,
    ProtocolError,
    Quit,
    Rename,
    Roster,
    Say,
    SetTopic,
    Topic,
    Welcome,
    Whois,
    encode_frame,
    parse_client_frame,
    parse_server_frame,
)


def code_of(obj: dict[str, Any], parse: Any = parse_client_frame) -> str:
    with pytest.raises(ProtocolError) as info:
        parse(obj)
    return info.value.code


def test_every_client_frame_parses() -> None:
    examples = [
        {"type": "hello", "nick": "alice", "proto": 1, "password": "pw", "since": 4,
         "resume": "tok", "channels": ["#lobby", "#dev"]},
        {"type": "say", "text": "hi", "action": True, "channel": "#dev"},
        {"type": "msg", "to": "bob", "text": "psst"},
        {"type": "nick", "nick": "alice2"},
        {"type": "join", "channel": "#dev", "since": 3},
        {"type": "part", "channel": "#dev", "reason": "later"},
        {"type": "topic", "channel": "#dev", "text": "release"},
        {"type": "list"},
        {"type": "who", "channel": "#dev"},
        {"type": "history", "before": 10, "limit": 20, "channel": "#dev"},
        {"type": "history", "limit": 50, "after": 3, "with": "bob"},
        {"type": "whois", "nick": "bob"},
        {"type": "register", "password": "correct horse"},
        {"type": "identify", "nick": "alice", "password": "pw"},
        {"type": "set_password", "old": "pw", "new": "a much better one"},
        {"type": "unregister", "password": "pw"},
        {"type": "kick", "channel": "#dev", "nick": "bob", "reason": "spam"},
        {"type": "ban", "nick": "bob", "channel": "#dev", "minutes": 10, "reason": "spam",
         "address": True},
        {"type": "unban", "nick": "bob", "channel": "#dev"},
        {"type": "op", "channel": "#dev", "nick": "bob"},
        {"type": "deop", "channel": "#dev", "nick": "bob"},
        {"type": "mode", "channel": "#dev", "topic_lock": False, "invite_only": True},
        {"type": "invite", "channel": "#dev", "nick": "bob"},
        {"type": "kill", "nick": "bob", "reason": "flooding"},
        {"type": "ping", "token": "t"},
        {"type": "pong", "token": "t"},
        {"type": "quit", "reason": "bye"},
    ]
    assert {e["type"] for e in examples} == set(CLIENT_FRAMES)
    for example in examples:
        frame = parse_client_frame(example)
        assert frame.to_wire() == example


def test_unknown_fields_are_ignored() -> None:
    assert parse_client_frame({"type": "who", "colour": "red"}).to_wire() == {"type": "who"}


@pytest.mark.parametrize(
    ("obj", "code"),
    [
        ({"type": "dance"}, "unknown_type"),
        ({"type": 3}, "bad_frame"),
        ({"nick": "a"}, "bad_frame"),
        ({"type": "hello"}, "bad_request"),
        ({"type": "hello", "nick": "a b"}, "nick_invalid"),
        ({"type": "hello", "nick": "a", "proto": 2}, "bad_request"),
        ({"type": "hello", "nick": "a", "since": "x"}, "bad_request"),
        ({"type": "hello", "nick": 5}, "bad_request"),
        ({"type": "say", "text": "x" * 4097}, "text_too_long"),
        ({"type": "say", "text": " "}, "bad_request"),
        ({"type": "say", "text": "x", "action": "yes"}, "bad_request"),
        ({"type": "msg", "text": "x"}, "bad_request"),
        ({"type": "history", "limit": 0}, "bad_request"),
        ({"type": "history", "before": True}, "bad_request"),
        ({"type": "ping", "token": "x" * 65}, "bad_request"),
        ({"type": "join", "channel": "dev"}, "channel_invalid"),
        ({"type": "join", "channel": "#"}, "channel_invalid"),
        ({"type": "join", "channel": "#a b"}, "channel_invalid"),
        ({"type": "join", "channel": "#" + "x" * 33}, "channel_invalid"),
        ({"type": "join"}, "bad_request"),
        ({"type": "say", "text": "x", "channel": "#no!"}, "channel_invalid"),
        ({"type": "hello", "nick": "a", "channels": ["#ok", "bad"]}, "channel_invalid"),
        ({"type": "hello", "nick": "a", "channels": "#ok"}, "bad_request"),
        ({"type": "topic", "channel": "#a", "text": "x" * 301}, "bad_request"),
        ({"type": "part", "channel": 5}, "bad_request"),
        ({"type": "who", "channel": "nope"}, "channel_invalid"),
        ({"type": "history", "channel": "#a", "before": 0}, "bad_request"),
        ({"type": "history", "channel": "#a", "with": "bob"}, "bad_request"),
        ({"type": "history", "with": "no body"}, "nick_invalid"),
        ({"type": "history", "after": -1}, "bad_request"),
        ({"type": "whois"}, "bad_request"),
        ({"type": "register", "password": "short"}, "bad_request"),
        ({"type": "register", "password": "x" * 257}, "bad_request"),
        ({"type": "set_password", "old": "x", "new": "short"}, "bad_request"),
        ({"type": "ban", "nick": "bob", "minutes": 0}, "bad_request"),
        ({"type": "mode", "channel": "#a"}, "bad_request"),
        ({"type": "kick", "channel": "a", "nick": "bob"}, "channel_invalid"),
        ({"type": "op", "channel": "#a", "nick": "no body"}, "nick_invalid"),
    ],
)
def test_invalid_client_frames(obj: dict[str, Any], code: str) -> None:
    assert code_of(obj) == code


def test_missing_field_names_only_required_ones() -> None:
    with pytest.raises(ProtocolError, match="needs the field\\(s\\): nick\\.$"):
        parse_client_frame({"type": "hello"})


def test_hello_keeps_each_channel_once_in_the_order_given() -> None:
    hello = parse_client_frame({"type": "hello", "nick": "a", "channels": ["#Dev", "#dev", "#b"]})
    assert isinstance(hello, Hello) and hello.channels == ["#Dev", "#b"]
    assert parse_client_frame({"type": "hello", "nick": "a", "channels": []}) == Hello(
        nick="a", channels=[])
    assert parse_client_frame({"type": "hello", "nick": "a", "caps": ["presence", "x"]}) == Hello(
        nick="a", caps=["presence", "x"])


def test_topic_is_one_line_and_empty_clears() -> None:
    assert SetTopic(channel="#a", text="two\nlines").text == "two lines"
    assert SetTopic(channel="#a").to_wire() == {"type": "topic", "channel": "#a", "text": ""}


def test_history_limit_is_capped_and_defaulted() -> None:
    assert parse_client_frame({"type": "history", "limit": 10_000}) == HistoryQuery(
        limit=MAX_HISTORY_LIMIT)
    assert parse_client_frame({"type": "history"}) == HistoryQuery(before=None, limit=50)


def test_texts_and_reasons_are_sanitised() -> None:
    assert Say(text="hi\x1b[31m").text == "hi[31m"
    assert Quit(reason="a\nforged log line").reason == "a forged log line"
    assert Leave(nick="a", reason="x" * 500, ts=1.0).reason == "x" * 200


def test_server_frames_round_trip() -> None:
    msg = Message(id=7, ts=1.5, sender="alice", text="hi", action=True)
    private = Message(id=8, ts=2.0, sender="bob", text="psst", to="alice")
    frames = [
        Welcome(nick="alice", server="s", roster=["alice", "bob"], history=[msg, private],
                motd="hello", resume="tok"),
        msg,
        History(messages=[msg], before=9, channel="#dev"),
        Bye(reason="quit"),
        Welcome(nick="alice", server="s", roster=[], history=[], resume="tok",
                channels=[Channel(name="#dev", roster=["alice"], history=[msg], topic="t",
                                  topic_by="bob", topic_ts=3.0)],
                private=[private]),
        Channels(channels=[ChannelSummary(name="#dev", users=2, topic="t"),
                           ChannelSummary(name="#lobby", users=1)]),
        Topic(channel="#dev", text="", by="bob", ts=4.0),
        Rename(old="a", new="b", ts=5.0, resume="tok2"),
        Roster(users=["alice"], channel="#dev"),
        History(messages=[private], after=7, peer="bob"),
        Whois(nick="bob", channels=["#dev"], idle=3, connected_since=1.0, away="lunch",
              account="bob", operator_of=["#dev"]),
        Account(nick="bob", registered=True, identified=True),
        Kick(channel="#dev", nick="bob", reason="spam", by="alice", ts=6.0),
        Mode(channel="#dev", by="alice", ts=7.0, topic_lock=False),
        Mode(channel=None, by="root", ts=7.5, ban="bob"),
        Invite(channel="#dev", nick="bob", by="alice", ts=8.0),
        Error(code="banned", message="You are banned.", reason="spam", until=9.0),
        Roster(users=["alice", "bob"], channel="#dev", operators=["alice"],
               identified=["alice", "bob"]),
        Welcome(nick="alice", server="s", roster=["alice"], history=[], caps=["presence"],
                channels=[Channel(name="#big", roster=["alice"], history=[], users=500,
                                  partial=True)]),
        PresenceUpdate(channel="#big", ts=9.5, joined=["carol", "dave"], left=["erin"]),
    ]
    for frame in frames:
        wire = json.loads(encode_frame(frame))
        assert parse_server_frame(wire) == frame
    assert json.loads(encode_frame(msg))["from"] == "alice"
    assert "to" not in json.loads(encode_frame(msg))
    assert set(SERVER_FRAMES) == {"welcome", "channel", "message", "join", "leave", "rename",
                                  "topic", "channels", "roster", "history", "whois", "error",
                                  "ping", "pong", "bye", "account", "kick", "mode", "invite",
                                  "presence"}
    listing = json.loads(encode_frame(next(f for f in frames if isinstance(f, Channels))))
    assert listing["channels"][1] == {"name": "#lobby", "users": 1}  # records carry no type


def test_nested_messages_are_validated() -> None:
    bad = {"type": "history", "messages": [{"type": "message", "id": 1, "ts": 1, "from": "a"}]}
    assert code_of(bad, parse_server_frame) == "bad_request"
    assert code_of({"type": "history", "messages": [5]}, parse_server_frame) == "bad_request"


def test_frames_are_immutable() -> None:
    frame = Hello(nick="alice")
    with pytest.raises(AttributeError):
        frame.nick = "bob"  # type: ignore[misc]


def test_a_false_flag_is_sent_only_where_it_means_something() -> None:
    assert Mode(channel="#a", by="x", ts=1.0, invite_only=False).to_wire()["invite_only"] is False
    assert "identified" not in Join(nick="a", ts=1.0, channel="#a").to_wire()


@given(st.integers(1, 2**53), st.floats(0, 4e9), st.text(min_size=1, max_size=5),
       st.booleans(), st.none() | st.just("bob"), st.none() | st.just("#dev"))
def test_the_fast_message_conversion_equals_the_generic_one(
    msg_id: int, ts: float, text: str, action: bool, to: str | None, channel: str | None,
) -> None:
    try:
        message = Message(id=msg_id, ts=ts, sender="alice", text=text, action=action, to=to,
                          channel=channel)
    except ProtocolError:
        return
    assert message.to_wire() == Frame.to_wire(message)
