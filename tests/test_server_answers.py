"""Tagged answers, echoes, whois, lookups, away and history spans, on both hubs in process.

A recording dialect stands for a protocol like IRC: its links may not get their
own messages back, and it spells a tagged answer as one line holding the frames.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hub_support import Mailbag, Peer
from redis_support import RedisProcess

from protocol import (
    HistoryQuery,
    JoinChannel,
    Msg,
    Nick,
    Part,
    Say,
    ServerFrame,
    SetTopic,
    Who,
    WhoisQuery,
)
from server.config import ServerConfig
from server.hub import Link, Span
from server.local_hub import LocalHub
from server.store import MessageStore


class Recording:
    """A dialect that writes frames as JSON, marks answers, and may not echo."""

    batches_presence = False

    def __init__(self, echoes: bool) -> None:
        self.echoes = echoes

    def encode(self, frame: ServerFrame, nick: str | None = None, tag: str | None = None) -> bytes:
        return json.dumps(frame.to_wire()).encode() + b"\n"

    def encode_answer(self, frames: list[ServerFrame], nick: str, tag: str) -> bytes:
        answer = {"type": "answer", "tag": tag, "frames": [f.to_wire() for f in frames]}
        return json.dumps(answer).encode() + b"\n"


@pytest.fixture(params=["local", "redis"])
def make_hub(request: pytest.FixtureRequest, tmp_path: Path,
             redis_servers: Callable[[], RedisProcess]) -> Iterator[Callable[[Mailbag], Any]]:
    hubs: list[Any] = []

    def make(bag: Mailbag) -> Any:
        if request.param == "local":
            hub: Any = LocalHub(MessageStore(tmp_path / "chat.db", "#lobby"), bag, ServerConfig())
        else:
            from server.redis_hub import RedisHub, connect

            hub = RedisHub(connect(redis_servers().url), bag, ServerConfig())
        hub.start()
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        hub.stop("server_shutdown")


def peer(hub: Any, bag: Mailbag, nick: str, *channels: str, echoes: bool | None = None) -> Peer:
    p = Peer(hub, bag, nick)
    if echoes is not None:
        p.link = Link(p.outbox, nick, Recording(echoes))
    p.hello(nick, channels=list(channels) or ["#lobby"])
    p.sync()
    return p


def answer(p: Peer) -> dict[str, Any]:
    (frame,) = [f for f in p.sync() if f["type"] == "answer"]
    return frame


def test_a_tagged_request_gets_one_answer_with_what_it_caused(make_hub: Any) -> None:
    bag = Mailbag()
    hub = make_hub(bag)
    irc = peer(hub, bag, "irc", "#a", echoes=True)
    other = peer(hub, bag, "other", "#a")
    hub.who(irc.link, Who(channel="#a"), tag="t1")
    got = answer(irc)
    assert got["tag"] == "t1" and [f["type"] for f in got["frames"]] == ["roster"]
    hub.join(irc.link, JoinChannel(channel="#b"), tag="t2")
    assert [f["type"] for f in answer(irc)["frames"]] == ["channel"]
    hub.part(irc.link, Part(channel="#nowhere"), tag="t3")
    assert [f.get("code") for f in answer(irc)["frames"]] == ["not_in_channel"]
    hub.rename(irc.link, Nick(nick="irc"), tag="t4")  # the same nick: nothing to show
    assert answer(irc) == {"type": "answer", "tag": "t4", "frames": []}
    hub.set_topic(irc.link, SetTopic(channel="#a", text="news"), tag="t5")
    assert [f["type"] for f in answer(irc)["frames"]] == ["topic"]
    assert [f["type"] for f in other.sync()] == ["topic"]  # #b is not theirs


def test_echoes_follow_the_dialect_and_the_tag(make_hub: Any) -> None:
    bag = Mailbag()
    hub = make_hub(bag)
    echo = peer(hub, bag, "echo", "#a", echoes=True)
    quiet = peer(hub, bag, "quiet", "#a", echoes=False)
    native = peer(hub, bag, "native", "#a")
    for p in (echo, quiet, native):
        p.sync()
    hub.say(quiet.link, Say(text="from quiet", channel="#a"))
    hub.say(echo.link, Say(text="tagged", channel="#a"), tag="e1")
    hub.say(quiet.link, Say(text="quiet tagged", channel="#a"), tag="q1")
    hub.tell(quiet.link, Msg(to="echo", text="psst"))
    seen_quiet = quiet.sync()
    assert [f.get("text") for f in seen_quiet if f["type"] == "message"] == ["tagged"]
    assert {"type": "answer", "tag": "q1", "frames": []} in seen_quiet
    seen_echo = echo.sync()
    tagged = [f for f in seen_echo if f["type"] == "answer"]
    assert [f["text"] for f in tagged[0]["frames"]] == ["tagged"]
    plain = [f["text"] for f in seen_echo if f["type"] == "message"]
    assert plain == ["from quiet", "quiet tagged", "psst"]
    assert [f["text"] for f in native.sync()] == ["from quiet", "tagged", "quiet tagged"]


def test_whois_lookup_and_away(make_hub: Any) -> None:
    bag = Mailbag()
    hub = make_hub(bag)
    alice = peer(hub, bag, "alice", "#a", "#b", echoes=True)
    bob = peer(hub, bag, "bob", "#a", echoes=True)
    hub.whois(bob.link, WhoisQuery(nick="ALICE"))
    (whois,) = [f for f in bob.sync() if f["type"] == "whois"]
    assert whois["nick"] == "alice" and whois["channels"] == ["#a", "#b"]
    assert whois["connected_since"] > 0 and whois["idle"] >= 0 and "away" not in whois
    hub.whois(bob.link, WhoisQuery(nick="ghost"))
    assert [f["code"] for f in bob.sync() if f["type"] == "error"] == ["no_such_user"]
    hub.lookup(bob.link, nicks=["ghost", "Alice", "bob"])
    (presence,) = bob.sync()
    assert [u["nick"] for u in presence["users"]] == ["alice", "bob"]
    hub.lookup(bob.link, channel="#a")
    assert [u["nick"] for u in bob.sync()[0]["users"]] == ["alice", "bob"]
    hub.set_away(alice.link, "lunch", tag="aw")
    assert answer(alice)["frames"] == [{"type": "away_set", "text": "lunch"}]
    hub.tell(bob.link, Msg(to="alice", text="there?"))
    notices = [f for f in bob.sync() if f["type"] == "away"]
    assert notices == [{"type": "away", "nick": "alice", "text": "lunch"}]
    hub.whois(bob.link, WhoisQuery(nick="alice"))
    assert [f.get("away") for f in bob.sync() if f["type"] == "whois"] == ["lunch"]
    hub.set_away(alice.link, None)
    alice.sync()
    hub.whois(bob.link, WhoisQuery(nick="alice"))
    assert [f.get("away") for f in bob.sync() if f["type"] == "whois"] == [None]


def test_history_of_a_conversation_and_by_span(make_hub: Any) -> None:
    bag = Mailbag()
    hub = make_hub(bag)
    alice = peer(hub, bag, "alice", "#a")
    bob = peer(hub, bag, "bob", "#a")
    carol = peer(hub, bag, "carol", "#a", echoes=True)
    hub.tell(alice.link, Msg(to="bob", text="one"))
    hub.tell(bob.link, Msg(to="alice", text="two"))
    hub.tell(carol.link, Msg(to="alice", text="not ours"))
    for i in range(5):
        hub.say(alice.link, Say(text=f"c{i}", channel="#a"))
    ids = {f["text"]: f["id"] for f in alice.sync() if f["type"] == "message"}
    bob.sync()
    hub.history(bob.link, HistoryQuery(peer="alice"))
    (page,) = bob.sync()
    assert page["with"] == "alice" and [m["text"] for m in page["messages"]] == ["one", "two"]
    hub.history(bob.link, HistoryQuery(channel="#a", after=ids["c1"], limit=2))
    (page,) = bob.sync()
    assert [m["text"] for m in page["messages"]] == ["c2", "c3"] and page["after"] == ids["c1"]
    hub.history_span(bob.link, "#a", Span(after_id=ids["c0"], before_id=ids["c4"],
                                          newest=True), 2)
    assert [m["text"] for m in bob.sync()[0]["messages"]] == ["c2", "c3"]
    hub.history_span(bob.link, "alice", Span(newest=False), 1)
    (page,) = bob.sync()
    assert page["with"] == "alice" and [m["text"] for m in page["messages"]] == ["one"]
    hub.history_span(carol.link, "#zz", Span(), 5, tag="h")
    assert [f["code"] for f in answer(carol)["frames"]] == ["not_in_channel"]


def test_census_counts_users_and_remembers_the_peak(make_hub: Any) -> None:
    bag = Mailbag()
    hub = make_hub(bag)
    alice = peer(hub, bag, "alice", "#a", echoes=True)
    bob = peer(hub, bag, "bob", "#a", "#b")
    alice.sync()
    hub.census(alice.link)
    (census,) = alice.sync()
    assert census == {"type": "census", "users": 2, "local": 2, "channels": 2,
                      "peak_users": 2, "peak_local": 2}
    hub.leave(bob.link, "gone")
    hub.census(alice.link)
    (census,) = [f for f in alice.sync() if f["type"] == "census"]
    assert (census["users"], census["local"], census["channels"]) == (1, 1, 1)
    assert (census["peak_users"], census["peak_local"]) == (2, 2)


def test_a_quit_is_a_leave_per_channel_and_one_quitted_per_user(make_hub: Any) -> None:
    bag = Mailbag()
    hub = make_hub(bag)
    watcher = peer(hub, bag, "watcher", "#a", "#b", echoes=True)
    native = peer(hub, bag, "native", "#a", "#b")
    leaver = peer(hub, bag, "leaver", "#a", "#b")
    watcher.sync()
    native.sync()
    hub.leave(leaver.link, "bye now")
    seen = watcher.sync()
    assert [(f["type"], f.get("channel")) for f in seen] == [
        ("leave", "#a"), ("leave", "#b"), ("quitted", None)]
    assert seen[-1]["nick"] == "leaver" and seen[-1]["reason"] == "bye now"
    assert [f["type"] for f in native.sync()] == ["leave", "leave"]  # JSON Lines: no quitted


def test_a_join_of_a_channel_one_is_in_answers_a_rejoined(make_hub: Any) -> None:
    from server.hub import Rejoined

    seen: list[ServerFrame] = []

    class Spy(Recording):
        def encode(self, frame: ServerFrame, nick: str | None = None,
                   tag: str | None = None) -> bytes:
            seen.append(frame)
            return super().encode(frame, nick, tag)

    bag = Mailbag()
    hub = make_hub(bag)
    alice = Peer(hub, bag, "alice")
    alice.link = Link(alice.outbox, "alice", Spy(echoes=True))
    alice.hello("alice", channels=["#a"])
    alice.sync()
    hub.join(alice.link, JoinChannel(channel="#A"))
    alice.sync()
    hub.join(alice.link, JoinChannel(channel="#b"))
    alice.sync()
    channels = [f for f in seen if f.TYPE == "channel"]
    assert [type(f) is Rejoined for f in channels] == [True, False]  # #a came in the welcome


def test_a_private_message_to_oneself_arrives_once_echoed_or_not(make_hub: Any) -> None:
    bag = Mailbag()
    hub = make_hub(bag)
    quiet = peer(hub, bag, "quiet", "#a", echoes=False)
    native = peer(hub, bag, "native", "#a")
    hub.tell(quiet.link, Msg(to="quiet", text="note to self"))
    hub.tell(native.link, Msg(to="native", text="mine"))
    assert [f["text"] for f in quiet.sync() if f["type"] == "message"] == ["note to self"]
    assert [f["text"] for f in native.sync() if f["type"] == "message"] == ["mine"]


def test_redial_moves_a_link_to_another_dialect_in_its_channels(make_hub: Any) -> None:
    bag = Mailbag()
    hub = make_hub(bag)
    switcher = peer(hub, bag, "switcher", "#a", "#b", echoes=False)
    other = peer(hub, bag, "other", "#a")
    hub.say(switcher.link, Say(text="before", channel="#a"))
    assert [f for f in switcher.sync() if f["type"] == "message"] == []
    hub.redial(switcher.link, Recording(echoes=True))
    hub.say(switcher.link, Say(text="after", channel="#a"))
    hub.say(other.link, Say(text="hello", channel="#a"))
    texts = [f["text"] for f in switcher.sync() if f["type"] == "message"]
    assert texts == ["after", "hello"]
    hub.part(switcher.link, Part(channel="#b"))  # its outbox moved in every channel
    assert [f["type"] for f in switcher.sync()] == ["leave"]


def test_lookup_of_everyone_and_a_channel_topic(make_hub: Any) -> None:
    bag = Mailbag()
    hub = make_hub(bag)
    alice = peer(hub, bag, "alice", "#a", echoes=True)
    peer(hub, bag, "bob", "#b")
    alice.sync()
    hub.set_topic(alice.link, SetTopic(channel="#a", text="the news"))
    alice.sync()
    hub.lookup(alice.link)
    (everyone,) = alice.sync()
    assert sorted(u["nick"] for u in everyone["users"]) == ["alice", "bob"]
    hub.lookup(alice.link, channel="#A")
    (presence,) = alice.sync()
    assert (presence["channel"], presence["topic"], presence["topic_by"]) == (
        "#a", "the news", "alice")
    assert presence["topic_ts"] > 0


def test_json_lines_leave_out_the_marks_of_irc_formatting() -> None:
    from protocol import Message
    from server.hub import JSON_LINES, strip_format_marks

    bold = "\ufdd2bold\ufdd2 and \ufdd3" + "04red"
    message = Message(id=1, ts=1.0, sender="a", text=bold, channel="#a")
    assert b"\xef\xb7" not in JSON_LINES.encode(message)
    assert json.loads(JSON_LINES.encode(message))["text"] == "bold and 04red"
    assert strip_format_marks(bold) == "bold and 04red"
