"""Batched presence in big channels: the batcher, the hub in process, and real sockets.

A client that says ``"caps": ["presence"]`` in its hello is sent the joins and
leaves of channels of ``BIG_CHANNEL`` members or more as one ``presence``
frame per channel every ``PRESENCE_INTERVAL_S``, and a partial roster when it
enters one; every other client still gets each ``join`` and ``leave``.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from conftest import HUBS, StartServer
from helpers import RawClient, wait_until
from hub_support import Mailbag, Peer
from test_server_channels import sync, welcomed

from protocol import (
    BIG_CHANNEL,
    CAP_PRESENCE,
    PRESENCE_INTERVAL_S,
    JoinChannel,
    Nick,
    Part,
    Say,
)
from server.config import ServerConfig
from server.hub import JSON_LINES_BATCHED
from server.local_hub import LocalHub
from server.membership import Channel, Member
from server.presence import PresenceBatcher
from server.store import ChannelRecord, MessageStore

WAIT_FOR_PRESENCE_S = PRESENCE_INTERVAL_S + 5.0

# The batcher alone.


def member(nick: str) -> Member:
    return Member(nick=nick, key=nick.lower(), link=None)


def test_a_join_and_a_leave_in_one_interval_cancel_out() -> None:
    channel = Channel("#big", ChannelRecord(name="#big"), [])
    batcher = PresenceBatcher(interval=1.0)
    assert batcher.due is None and batcher.take(channel, 0.0) is None
    a, b, c = member("a"), member("b"), member("c")
    batcher.joined(channel, a, now=10.0)
    assert batcher.due == 11.0
    batcher.joined(channel, b, now=10.5)
    batcher.left(channel, b, now=10.6)  # came and went: nobody needs to hear of it
    batcher.left(channel, c, now=10.7)
    batcher.joined(channel, c, now=10.8)  # went and came back: nothing changed either
    batcher.left(channel, member("d"), now=10.9)
    assert batcher.due == 11.0 and batcher.holds(channel, a) and not batcher.holds(channel, b)
    frame = batcher.take(channel, ts=99.0)
    assert frame is not None
    assert (frame.channel, frame.ts, frame.joined, frame.left) == ("#big", 99.0, ["a"], ["d"])
    assert batcher.due is None and batcher.take_all(100.0) == []


def test_take_all_gives_one_frame_per_channel() -> None:
    one = Channel("#one", ChannelRecord(name="#one"), [])
    two = Channel("#two", ChannelRecord(name="#two"), [])
    batcher = PresenceBatcher(interval=1.0)
    batcher.joined(one, member("a"), now=0.0)
    batcher.joined(two, member("b"), now=0.1)
    batcher.left(two, member("c"), now=0.2)
    taken = {channel.name: (f.joined, f.left) for channel, f in batcher.take_all(5.0)}
    assert taken == {"#one": (["a"], []), "#two": (["b"], ["c"])}
    assert batcher.due is None


# The hub in process.


@pytest.fixture
def bag() -> Mailbag:
    return Mailbag()


@pytest.fixture
def local_hub(tmp_path: Path, bag: Mailbag) -> Iterator[LocalHub]:
    store = MessageStore(tmp_path / "chat.db", "#lobby")
    hub = LocalHub(store, bag, ServerConfig())
    hub.start()
    yield hub
    hub.stop()
    store.close()


def enter(hub: LocalHub, bag: Mailbag, nick: str, batched: bool = False) -> Peer:
    peer = Peer(hub, bag, nick)
    if batched:
        peer.link.dialect = JSON_LINES_BATCHED
    peer.hello(nick, channels=["#big"])
    peer.sync()
    return peer


def kinds(frames: list[dict[str, Any]]) -> list[str]:
    return [f["type"] for f in frames]


def wait_presence(peer: Peer) -> dict[str, Any]:
    """Wait for the next frame, which must be a ``presence`` one."""
    count = len(peer.all_frames()) + 1
    frame = peer.bag.wait(peer.outbox, count, timeout=WAIT_FOR_PRESENCE_S)[-1]
    assert frame["type"] == "presence", frame
    peer.sync()
    return frame


def fill(hub: LocalHub, bag: Mailbag, count: int, *watchers: Peer) -> list[Peer]:
    """Make ``#big`` big; return once ``watchers`` heard of every filler, one way or the other."""
    fillers = [enter(hub, bag, f"filler{i}") for i in range(count)]
    nicks = {f"filler{i}" for i in range(count)}
    for watcher in watchers:
        assert wait_until(lambda w=watcher: nicks <= heard_join(w.all_frames()),
                          WAIT_FOR_PRESENCE_S)
        watcher.sync()
    return fillers


def heard_join(frames: list[dict[str, Any]]) -> set[str]:
    heard = {f["nick"] for f in frames if f["type"] == "join"}
    return heard.union(*(f["joined"] for f in frames if f["type"] == "presence"))


def test_big_channel_joins_and_leaves_come_batched_to_who_asked(
    local_hub: LocalHub, bag: Mailbag
) -> None:
    plain, batched = enter(local_hub, bag, "plain"), enter(local_hub, bag, "batched", True)
    fillers = fill(local_hub, bag, BIG_CHANNEL, plain, batched)
    late = [enter(local_hub, bag, f"late{i}") for i in range(3)]
    late[1].request("part", Part(channel="#big"))
    fillers[0].request("part", Part(channel="#big"))
    fillers[1].request("say", Say(text="still here", channel="#big"))
    got = plain.sync()
    assert [(f["type"], f["nick"]) for f in got if f["type"] in ("join", "leave")] == [
        ("join", "late0"), ("join", "late1"), ("join", "late2"),
        ("leave", "late1"), ("leave", "filler0"),
    ]
    assert kinds(batched.sync()) == ["message"]  # no joins or leaves one by one
    presence = wait_presence(batched)
    assert (presence["channel"], presence["joined"], presence["left"]) == (
        "#big", ["late0", "late2"], ["filler0"])
    assert "presence" not in kinds(plain.all_frames())


def test_entering_a_big_channel_gives_a_partial_roster_to_who_asked(
    local_hub: LocalHub, bag: Mailbag
) -> None:
    fill(local_hub, bag, BIG_CHANNEL)
    newcomer = Peer(local_hub, bag, "newcomer")
    newcomer.link.dialect = JSON_LINES_BATCHED
    newcomer.hello("newcomer", channels=[])
    newcomer.request("join", JoinChannel(channel="#big"))
    channel = next(f for f in newcomer.sync() if f["type"] == "channel")
    assert (channel["roster"], channel["users"], channel["partial"]) == (
        ["newcomer"], BIG_CHANNEL + 1, True)
    welcome = enter(local_hub, bag, "other", batched=True).all_frames()[0]
    assert welcome["caps"] == [CAP_PRESENCE]
    assert welcome["channels"][0]["partial"] and welcome["channels"][0]["roster"] == ["other"]
    plain_welcome = enter(local_hub, bag, "plain").all_frames()[0]
    assert "caps" not in plain_welcome and "partial" not in plain_welcome["channels"][0]
    assert len(plain_welcome["channels"][0]["roster"]) == BIG_CHANNEL + 3


def test_a_partial_roster_is_not_followed_by_what_it_already_counts(
    local_hub: LocalHub, bag: Mailbag
) -> None:
    watcher = enter(local_hub, bag, "watcher", batched=True)
    fill(local_hub, bag, BIG_CHANNEL, watcher)
    enter(local_hub, bag, "early")  # held for the watcher when the newcomer enters
    newcomer = Peer(local_hub, bag, "newcomer")
    newcomer.link.dialect = JSON_LINES_BATCHED
    newcomer.hello("newcomer", channels=[])
    newcomer.request("join", JoinChannel(channel="#big"))
    channel = next(f for f in newcomer.sync() if f["type"] == "channel")
    assert channel["users"] == BIG_CHANNEL + 3
    later = wait_presence(newcomer)
    assert later["joined"] == ["newcomer"]  # not "early", whom its count includes
    assert wait_until(lambda: {"early", "newcomer"} <= heard_join(watcher.all_frames()))
    heard = [f["joined"] for f in watcher.sync() if f["type"] == "presence"]
    assert heard == [["early"], ["newcomer"]]  # the first released for the newcomer's frame


def test_what_is_held_goes_out_before_a_rename_of_its_user(
    local_hub: LocalHub, bag: Mailbag
) -> None:
    batched = enter(local_hub, bag, "batched", batched=True)
    fill(local_hub, bag, BIG_CHANNEL, batched)
    late = enter(local_hub, bag, "late")
    late.request("rename", Nick(nick="later"))
    got = batched.sync()
    assert [(f["type"], f.get("joined"), f.get("new")) for f in got] == [
        ("presence", ["late"], None), ("rename", None, "later")]


# Real sockets, a real server: the capability is asked for in the hello.


pytestmark_hubs = pytest.mark.parametrize("hub", HUBS, indirect=True)


@pytestmark_hubs
def test_a_client_asks_for_batched_presence_in_its_hello(start_server: StartServer) -> None:
    server = start_server()
    _odd, odd_welcome = welcomed(server, "odd", caps=["no-such-cap"])
    assert "caps" not in odd_welcome
    watcher, welcome = welcomed(server, "watcher", caps=[CAP_PRESENCE], channels=["#big"])
    assert welcome["caps"] == [CAP_PRESENCE]
    plain, _ = welcomed(server, "plain", channels=["#big"])

    def filler(i: int) -> RawClient:
        return welcomed(server, f"filler{i}", channels=["#big"])[0]

    with ThreadPoolExecutor(8) as pool:
        fillers = list(pool.map(filler, range(BIG_CHANNEL)))
    joined: set[str] = set()
    while len(joined) < BIG_CHANNEL:  # some one by one, the rest batched
        frame = watcher.recv(timeout=WAIT_FOR_PRESENCE_S)
        if frame["type"] == "join":
            joined.add(frame["nick"])
        elif frame["type"] == "presence":
            joined.update(frame["joined"])
    _late, _ = welcomed(server, "late", channels=["#big"])
    assert "join" not in [f["type"] for f in sync(watcher)]
    presence = watcher.recv_until("presence", timeout=WAIT_FOR_PRESENCE_S)
    assert presence["joined"] == ["late"]
    plain.recv_until("join", nick="late")
    assert len(fillers) == BIG_CHANNEL  # kept connected until here
