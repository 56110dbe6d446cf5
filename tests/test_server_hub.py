"""The in-process hub without sockets: ordering, fan-out runs, resume, store failures.

The property test runs random sequences of requests from a few users over a few
channels and compares everything each user received with a small model of
docs/PROTOCOL.md, frame by frame.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hub_support import Mailbag, Peer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import (
    WELCOME_HISTORY,
    Error,
    Hello,
    HistoryQuery,
    JoinChannel,
    ListChannels,
    Message,
    Msg,
    Nick,
    Part,
    ProtocolError,
    Say,
    SetTopic,
    Who,
    channel_key,
    nick_key,
)
from server.config import SERVER_NAME, ServerConfig
from server.hub import Span
from server.local_hub import LocalHub
from server.store import MessageStore, NullStore, StoreError


@pytest.fixture
def bag() -> Mailbag:
    return Mailbag()


@pytest.fixture
def hub(tmp_path: Path, bag: Mailbag) -> Iterator[LocalHub]:
    store = MessageStore(tmp_path / "chat.db", "#lobby")
    hub = LocalHub(store, bag, ServerConfig(max_channels_per_user=3))
    hub.start()
    yield hub
    hub.stop()
    store.close()


def peer(hub: LocalHub, bag: Mailbag, nick: str, *channels: str) -> Peer:
    p = Peer(hub, bag, nick)
    p.hello(nick, **({"channels": list(channels)} if channels else {}))
    p.sync()
    return p


def kinds(frames: list[dict[str, Any]]) -> list[str]:
    return [f["type"] for f in frames]


def test_a_joiner_gets_only_what_follows_its_join(hub: LocalHub, bag: Mailbag) -> None:
    watcher = peer(hub, bag, "watcher", "#x")
    talker = peer(hub, bag, "talker", "#x")
    watcher.sync()
    late = Peer(hub, bag, "late")
    late.hello("late", channels=[])
    talker.request("say", Say(text="before", channel="#x"))
    late.request("join", JoinChannel(channel="#x"))
    talker.request("say", Say(text="after", channel="#x"))
    got = late.sync()
    assert kinds(got) == ["welcome", "channel", "message"]
    assert [m["text"] for m in got[1]["history"]] == ["before"]
    assert got[2]["text"] == "after"
    assert [(f["type"], f.get("text") or f.get("nick")) for f in watcher.sync()] == [
        ("message", "before"), ("join", "late"), ("message", "after")]


def test_an_error_comes_after_the_messages_accepted_before_it(hub: LocalHub, bag: Mailbag
                                                             ) -> None:
    alice = peer(hub, bag, "alice", "#a")
    alice.request("tell", Msg(to="alice", text="note to self"))
    alice.request("say", Say(text="nowhere", channel="#elsewhere"))
    assert [(f["type"], f.get("text") or f.get("code")) for f in alice.sync()] == [
        ("message", "note to self"), ("error", "not_in_channel")]


def test_messages_are_stored_before_anyone_gets_them(hub: LocalHub, bag: Mailbag,
                                                     tmp_path: Path) -> None:
    alice = peer(hub, bag, "alice", "#a")
    alice.request("say", Say(text="kept", channel="#a"))
    message = alice.sync()[0]
    reader = MessageStore(tmp_path / "chat.db", "#lobby")
    assert [(m.id, m.text) for m in reader.page(Span(), 5, channel="#a")] == [
        (message["id"], "kept")]
    reader.close()


class FailingStore(NullStore):
    """A store whose writes fail while ``failing`` is set."""

    failing = False

    def append(self, messages: list[Message]) -> None:
        if self.failing:
            raise StoreError("Cannot store messages in test.db: disk I/O error.")
        super().append(messages)


def test_a_store_failure_refuses_the_batch_and_burns_no_id(bag: Mailbag) -> None:
    store = FailingStore()
    hub = LocalHub(store, bag, ServerConfig())
    hub.start()
    try:
        alice, bob = peer(hub, bag, "alice"), peer(hub, bag, "bob")
        alice.sync()
        alice.request("say", Say(text="one"))
        first = alice.sync()[0]["id"]
        store.failing = True
        alice.request("say", Say(text="lost"))
        bob.request("say", Say(text="lost too"))
        assert [f["code"] for f in alice.sync()] == ["server_error"]
        assert [f.get("code") for f in bob.sync() if f["type"] != "message"] == ["server_error"]
        store.failing = False
        bob.request("say", Say(text="two"))
        got = alice.sync()
        assert [(f["type"], f.get("id")) for f in got] == [("message", first + 1)]
    finally:
        hub.stop()


def test_history_pages_come_after_what_was_due(hub: LocalHub, bag: Mailbag) -> None:
    alice = peer(hub, bag, "alice", "#a")
    for i in range(70):
        alice.request("say", Say(text=f"m{i}", channel="#a"))
    alice.request("history", HistoryQuery(channel="#a", limit=5))
    got = alice.sync()
    assert kinds(got) == ["message"] * 70 + ["history"]
    assert [m["text"] for m in got[-1]["messages"]] == [f"m{i}" for i in range(65, 70)]
    late = Peer(hub, bag, "late")
    assert hub.hello(late.link, Hello(nick="late", channels=["#a"])).nick == "late"
    history = late.sync()[0]["channels"][0]["history"]
    assert [m["text"] for m in history] == [f"m{i}" for i in range(70 - WELCOME_HISTORY, 70)]


def test_resume_replays_deep_gaps_and_private_messages(hub: LocalHub, bag: Mailbag) -> None:
    alice = Peer(hub, bag, "alice")
    alice.hello("alice", channels=["#a"])
    token = alice.sync()[0]["resume"]
    bob = peer(hub, bag, "bob", "#a")
    bob.request("say", Say(text="start", channel="#a"))
    since = bob.sync()[0]["id"]
    for i in range(120):  # more than the hub keeps in memory per channel
        bob.request("say", Say(text=f"gap {i}", channel="#a"))
    bob.request("tell", Msg(to="alice", text="psst"))
    bob.sync()
    again = Peer(hub, bag, "alice-again")
    again.hello("alice", channels=["#a"], since=since, resume=token)
    welcome = again.sync()[0]
    assert [m["text"] for m in welcome["channels"][0]["history"]] == [
        f"gap {i}" for i in range(120)]
    assert [m["text"] for m in welcome["private"]] == ["psst"]
    assert bag.closing[alice.outbox] == "replaced"


def test_a_resume_counts_the_channels_it_keeps_against_the_limit(hub: LocalHub,
                                                                 bag: Mailbag) -> None:
    alice = Peer(hub, bag, "alice")
    alice.hello("alice", channels=["#a", "#b", "#c"])  # the limit here is 3
    token = alice.sync()[0]["resume"]
    greedy = Peer(hub, bag, "alice-greedy")
    with pytest.raises(ProtocolError) as refused:
        greedy.hello("alice", channels=["#d"], resume=token)  # would be in 4
    assert refused.value.code == "too_many_channels"
    assert alice.outbox not in bag.closing  # the old session is untouched
    again = Peer(hub, bag, "alice-again")
    again.hello("alice", channels=["#B", "#a"], resume=token)
    assert [c["name"] for c in again.sync()[0]["channels"]] == ["#b", "#a", "#c"]


def test_a_leaving_link_is_released_after_its_bye(hub: LocalHub, bag: Mailbag) -> None:
    alice = peer(hub, bag, "alice")
    hub.leave(alice.link, "quit", bye="quit")
    bag.wait_released(alice.outbox)
    assert alice.all_frames()[-1] == {"type": "bye", "reason": "quit"}
    stranger = Peer(hub, bag, "stranger")  # never welcomed: released all the same
    hub.leave(stranger.link, "connection closed")
    bag.wait_released(stranger.outbox)


def test_stop_says_bye_to_everyone_and_refuses_late_hellos(tmp_path: Path, bag: Mailbag) -> None:
    hub = LocalHub(NullStore(), bag, ServerConfig())
    hub.start()
    alice = peer(hub, bag, "alice")
    hub.stop()
    assert alice.all_frames()[-1] == {"type": "bye", "reason": "server_shutdown"}
    late = Peer(hub, bag, "late")
    with pytest.raises(Exception, match="shutting down"):
        late.hello("late")


# The model: what each user must receive, derived from docs/PROTOCOL.md.

USERS = ("u0", "u1", "u2", "u3")
CHANNELS = ("#a", "#B", "#c", "#d", "#A")
NICKS = ("ann", "Bob", "cat", "dan", "ANN", "eve")
MAX_CHANNELS = 3


@dataclass
class _User:
    nick: str | None = None
    channels: list[str] = field(default_factory=list)  # keys, in the order joined
    gone: bool = False


@dataclass
class _Chan:
    name: str
    members: list[str] = field(default_factory=list)  # user ids
    history: list[dict[str, Any]] = field(default_factory=list)
    topic: tuple[str, str] | None = None


class Model:
    """The protocol's rules, for a hub whose store keeps nothing (history lives in memory)."""

    def __init__(self, first_id: int) -> None:
        self.users = {u: _User() for u in USERS}
        self.chans: dict[str, _Chan] = {}
        self.expected: dict[str, list[dict[str, Any]]] = {u: [] for u in USERS}
        self.next_id = first_id

    def _send(self, user: str, frame: dict[str, Any]) -> None:
        self.expected[user].append(frame)

    def _error(self, user: str, code: str) -> None:
        self._send(user, {"type": "error", "code": code})

    def _holder(self, nick: str) -> str | None:
        for uid, u in self.users.items():
            if u.nick is not None and nick_key(u.nick) == nick_key(nick):
                return uid
        return None

    def _roster(self, chan: _Chan, extra: str | None = None) -> list[str]:
        nicks = [self.users[m].nick or "" for m in chan.members]
        if extra is not None:
            nicks.append(extra)
        return sorted(nicks, key=nick_key)

    def _snapshot(self, chan: _Chan, joining: str | None) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "channel", "name": chan.name,
                                 "roster": self._roster(chan, joining),
                                 "history": chan.history[-WELCOME_HISTORY:]}
        if chan.topic is not None:
            frame["topic"], frame["topic_by"] = chan.topic
        return frame

    def _chan(self, name: str) -> _Chan:
        return self.chans.get(channel_key(name)) or _Chan(name=name)

    def _enter(self, uid: str, chan: _Chan) -> None:
        key = channel_key(chan.name)
        self.chans.setdefault(key, chan)
        for other in chan.members:
            self._send(other, {"type": "join", "nick": self.users[uid].nick, "channel": chan.name})
        chan.members.append(uid)
        self.users[uid].channels.append(key)

    def _exit(self, uid: str, key: str, reason: str) -> dict[str, Any]:
        chan = self.chans[key]
        chan.members.remove(uid)
        self.users[uid].channels.remove(key)
        leave = {"type": "leave", "nick": self.users[uid].nick, "reason": reason,
                 "channel": chan.name}
        for other in chan.members:
            self._send(other, leave)
        if not chan.members:
            del self.chans[key]
        return leave

    def hello(self, uid: str, nick: str, channels: list[str]) -> None:
        if len(channels) > MAX_CHANNELS:
            self._error(uid, "too_many_channels")
            return
        if self._holder(nick) is not None:
            self._error(uid, "nick_taken")
            return
        user = self.users[uid]
        user.nick = nick
        wanted = [self._chan(name) for name in channels]
        frames = [self._snapshot(c, nick) for c in wanted]
        first = frames[0] if frames else {"roster": [], "history": []}
        self._send(uid, {"type": "welcome", "nick": nick, "server": SERVER_NAME,
                         "roster": first["roster"], "history": first["history"], "proto": 1,
                         "channels": frames})
        for chan in wanted:
            self._enter(uid, chan)

    def join(self, uid: str, name: str) -> None:
        user, key = self.users[uid], channel_key(name)
        if key in user.channels:
            self._send(uid, self._snapshot(self.chans[key], None))
        elif len(user.channels) >= MAX_CHANNELS:
            self._error(uid, "too_many_channels")
        else:
            chan = self._chan(name)
            self._send(uid, self._snapshot(chan, user.nick))
            self._enter(uid, chan)

    def part(self, uid: str, name: str) -> None:
        if channel_key(name) not in self.users[uid].channels:
            self._error(uid, "not_in_channel")
        else:
            self._send(uid, self._exit(uid, channel_key(name), "part"))

    def say(self, uid: str, name: str, text: str) -> None:
        key = channel_key(name)
        if key not in self.users[uid].channels:
            self._error(uid, "not_in_channel")
            return
        chan = self.chans[key]
        message = {"type": "message", "id": self.next_id, "from": self.users[uid].nick,
                   "text": text, "channel": chan.name}
        self.next_id += 1
        chan.history.append(message)
        for member in chan.members:
            self._send(member, message)

    def tell(self, uid: str, target: str, text: str) -> None:
        nick = self.users[target].nick
        if nick is None:
            self._error(uid, "no_such_user")
            return
        message = {"type": "message", "id": self.next_id, "from": self.users[uid].nick,
                   "text": text, "to": nick}
        self.next_id += 1
        self._send(uid, message)
        if target != uid:
            self._send(target, message)

    def rename(self, uid: str, nick: str) -> None:
        user = self.users[uid]
        holder = self._holder(nick)
        if nick == user.nick:
            return
        if holder is not None and holder != uid:
            self._error(uid, "nick_taken")
            return
        others = {m for key in user.channels for m in self.chans[key].members} - {uid}
        rename = {"type": "rename", "old": user.nick, "new": nick}
        user.nick = nick
        for other in sorted(others):
            self._send(other, rename)
        self._send(uid, rename)

    def topic(self, uid: str, name: str, text: str) -> None:
        key = channel_key(name)
        if key not in self.users[uid].channels:
            self._error(uid, "not_in_channel")
            return
        chan = self.chans[key]
        nick = self.users[uid].nick or ""
        chan.topic = (text, nick) if text else None
        for member in chan.members:
            self._send(member, {"type": "topic", "channel": chan.name, "text": text, "by": nick})

    def who(self, uid: str, name: str) -> None:
        key = channel_key(name)
        if key not in self.users[uid].channels:
            self._error(uid, "not_in_channel")
        else:
            chan = self.chans[key]
            self._send(uid, {"type": "roster", "users": self._roster(chan), "channel": chan.name})

    def list(self, uid: str) -> None:
        listing = []
        for _key, chan in sorted(self.chans.items()):
            entry: dict[str, Any] = {"name": chan.name, "users": len(chan.members)}
            if chan.topic is not None:
                entry["topic"] = chan.topic[0]
            listing.append(entry)
        self._send(uid, {"type": "channels", "channels": listing})

    def quit(self, uid: str) -> None:
        for key in list(self.users[uid].channels):
            self._exit(uid, key, "quit")
        self._send(uid, {"type": "bye", "reason": "quit"})
        self.users[uid] = _User(gone=True)


def normalise(frame: dict[str, Any]) -> dict[str, Any]:
    """Drop what the model cannot predict (clocks, tokens) and error wording."""
    out = {k: v for k, v in frame.items() if k not in ("ts", "resume", "topic_ts", "message")}
    if frame["type"] == "error":
        out = {"type": "error", "code": frame["code"]}
    for key in ("history", "channels"):
        if isinstance(out.get(key), list):
            out[key] = [normalise(f) if "type" in f else f for f in out[key]]
    return out


operations = st.lists(
    st.one_of(
        st.tuples(st.just("hello"), st.sampled_from(USERS), st.sampled_from(NICKS),
                  st.lists(st.sampled_from(CHANNELS[:4]), max_size=4, unique=True)),
        st.tuples(st.just("join"), st.sampled_from(USERS), st.sampled_from(CHANNELS)),
        st.tuples(st.just("part"), st.sampled_from(USERS), st.sampled_from(CHANNELS)),
        st.tuples(st.just("say"), st.sampled_from(USERS), st.sampled_from(CHANNELS)),
        st.tuples(st.just("tell"), st.sampled_from(USERS), st.sampled_from(USERS)),
        st.tuples(st.just("rename"), st.sampled_from(USERS), st.sampled_from(NICKS)),
        st.tuples(st.just("topic"), st.sampled_from(USERS), st.sampled_from(CHANNELS),
                  st.sampled_from(["", "plans", "news"])),
        st.tuples(st.just("who"), st.sampled_from(USERS), st.sampled_from(CHANNELS)),
        st.tuples(st.just("list"), st.sampled_from(USERS)),
        st.tuples(st.just("quit"), st.sampled_from(USERS)),
    ),
    max_size=60,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_every_user_receives_exactly_what_the_protocol_says(ops: list[tuple[Any, ...]]) -> None:
    bag = Mailbag()
    hub = LocalHub(NullStore(), bag, ServerConfig(max_channels_per_user=MAX_CHANNELS))
    hub.start()
    try:
        model = Model(first_id=1)
        peers: dict[str, Peer] = {}
        for number, (op, uid, *args) in enumerate(ops):
            user, text = model.users[uid], f"t{number}"
            if op == "hello":
                if user.nick is not None or user.gone:
                    continue
                nick, channels = args
                p = peers.setdefault(uid, Peer(hub, bag, uid))
                model.hello(uid, nick, channels)
                try:
                    p.hello(nick, channels=channels)
                except ProtocolError as exc:  # as a session does: the error goes in line
                    hub.reply(p.link, Error(code=exc.code, message=exc.message))
                continue
            if user.nick is None:
                continue
            p = peers[uid]
            if op == "join":
                model.join(uid, args[0])
                p.request("join", JoinChannel(channel=args[0]))
            elif op == "part":
                model.part(uid, args[0])
                p.request("part", Part(channel=args[0]))
            elif op == "say":
                model.say(uid, args[0], text)
                p.request("say", Say(text=text, channel=args[0]))
            elif op == "tell":
                target = model.users[args[0]].nick or "nobody"
                model.tell(uid, args[0], text)
                p.request("tell", Msg(to=target, text=text))
            elif op == "rename":
                model.rename(uid, args[0])
                p.request("rename", Nick(nick=args[0]))
            elif op == "topic":
                model.topic(uid, args[0], args[1])
                p.request("set_topic", SetTopic(channel=args[0], text=args[1]))
            elif op == "who":
                model.who(uid, args[0])
                p.request("who", Who(channel=args[0]))
            elif op == "list":
                model.list(uid)
                p.request("list_channels", ListChannels())
            elif op == "quit":
                model.quit(uid)
                hub.leave(p.link, "quit", bye="quit")
        for uid, p in peers.items():
            got = p.sync() if not model.users[uid].gone else _until_released(bag, p)
            assert [normalise(f) for f in got] == model.expected[uid], uid
    finally:
        hub.stop()


def _until_released(bag: Mailbag, p: Peer) -> list[dict[str, Any]]:
    bag.wait_released(p.outbox)
    return [f for f in p.all_frames() if f["type"] != "pong"]
