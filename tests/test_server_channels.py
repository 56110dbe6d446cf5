"""Channels over real sockets against a real server process: every frame and error."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from conftest import HUBS, StartServer
from helpers import RawClient, ServerProcess

pytestmark = pytest.mark.parametrize("hub", HUBS, indirect=True)


def welcomed(server: ServerProcess, nick: str, **fields: Any) -> tuple[RawClient, dict[str, Any]]:
    client = RawClient(server.port, recv_size=65536)
    welcome = client.hello(nick, **fields)
    assert welcome["type"] == "welcome", welcome
    return client, welcome


def user(server: ServerProcess, nick: str, *channels: str) -> RawClient:
    """A welcomed client in ``channels`` (none named: the default channel)."""
    client, _welcome = welcomed(server, nick, **({"channels": list(channels)} if channels else {}))
    return client


def sync(client: RawClient, token: str = "sync") -> list[dict[str, Any]]:
    """Ping and return every frame that came before the pong (the barrier rule)."""
    client.send({"type": "ping", "token": token})
    frames = []
    while True:
        frame = client.recv()
        if frame == {"type": "pong", "token": token}:
            return frames
        frames.append(frame)


def channel_history(client: RawClient, channel: str) -> list[dict[str, Any]]:
    """Page back through a channel's whole stored history, oldest first."""
    messages: list[dict[str, Any]] = []
    while True:
        query: dict[str, Any] = {"type": "history", "channel": channel, "limit": 500}
        if messages:
            query["before"] = messages[0]["id"]
        client.send(query)
        page = client.recv_until("history")["messages"]
        if not page:
            return messages
        messages[:0] = page


def test_hello_with_channels_is_welcomed_into_each(server: ServerProcess) -> None:
    bob = user(server, "bob", "#dev")
    bob.send({"type": "topic", "channel": "#dev", "text": "release on Friday"})
    bob.recv_until("topic")
    _alice, welcome = welcomed(server, "alice", channels=["#lobby", "#Dev"])
    names = [c["name"] for c in welcome["channels"]]
    assert names == ["#lobby", "#dev"]  # a channel keeps its first spelling
    lobby, dev = welcome["channels"]
    assert lobby["roster"] == ["alice"] and dev["roster"] == ["alice", "bob"]
    assert (dev["topic"], dev["topic_by"]) == ("release on Friday", "bob") and dev["topic_ts"]
    assert welcome["roster"] == lobby["roster"] and welcome["history"] == lobby["history"]
    join = bob.recv_until("join")
    assert (join["nick"], join["channel"]) == ("alice", "#dev")
    _none, empty = welcomed(server, "nobody", channels=[])
    assert (empty["channels"], empty["roster"], empty["history"]) == ([], [], [])


def test_join_part_and_the_events_others_see(server: ServerProcess) -> None:
    alice, bob = user(server, "alice", "#lobby"), user(server, "bob", "#lobby")
    alice.recv_until("join", nick="bob")
    bob.send({"type": "say", "text": "before", "channel": "#lobby"})
    bob.send({"type": "join", "channel": "#ops"})
    reply = bob.recv_until("channel")
    assert (reply["name"], reply["roster"], reply["history"]) == ("#ops", ["bob"], [])
    alice.send({"type": "join", "channel": "#OPS"})
    reply = alice.recv_until("channel")
    assert reply["name"] == "#ops" and reply["roster"] == ["alice", "bob"]
    join = bob.recv_until("join")
    assert (join["nick"], join["channel"]) == ("alice", "#ops") and join["ts"] > 0
    alice.send({"type": "join", "channel": "#ops"})  # again: just the channel, no event
    assert alice.recv_until("channel")["roster"] == ["alice", "bob"]
    assert [f["type"] for f in sync(bob)] == []
    alice.send({"type": "part", "channel": "#ops", "reason": "wrong room"})
    own = alice.recv_until("leave")
    assert (own["nick"], own["channel"], own["reason"]) == ("alice", "#ops", "wrong room")
    theirs = bob.recv_until("leave")
    assert (theirs["nick"], theirs["channel"], theirs["reason"]) == ("alice", "#ops", "wrong room")
    alice.send({"type": "part", "channel": "#ops"})
    assert alice.recv_until("error")["code"] == "not_in_channel"
    bob.send({"type": "part", "channel": "#ops"})
    assert bob.recv_until("leave")["reason"] == "part"


def test_messages_reach_only_the_channel_and_v1_clients_live_in_the_default(
    server: ServerProcess,
) -> None:
    old = RawClient(server.port)
    welcome = old.hello("oldtimer")  # a client of the first version: no channels at all
    assert [c["name"] for c in welcome["channels"]] == ["#lobby"]
    dev = user(server, "dev", "#lobby", "#dev")
    old.recv_until("join", nick="dev")
    dev.send({"type": "say", "text": "in dev", "channel": "#dev"})
    dev.send({"type": "say", "text": "in lobby"})  # no channel: the default one
    in_dev = dev.recv_until("message", text="in dev")
    assert in_dev["channel"] == "#dev" and "to" not in in_dev
    lobby = old.recv_until("message")
    assert (lobby["text"], lobby["channel"], lobby["from"]) == ("in lobby", "#lobby", "dev")
    old.send({"type": "say", "text": "hello from v1"})
    assert dev.recv_until("message", text="hello from v1")["channel"] == "#lobby"
    old.send({"type": "who"})
    assert old.recv_until("roster") == {"type": "roster", "users": ["dev", "oldtimer"],
                                        "channel": "#lobby"}
    old.send({"type": "say", "text": "nope", "channel": "#dev"})
    error = old.recv_until("error")
    assert error["code"] == "not_in_channel" and "#dev" in error["message"]
    assert all(f.get("channel") != "#dev" for f in sync(old))


def test_topic_set_cleared_and_kept_while_the_channel_is_empty(start_server: StartServer,
                                                               tmp_path: Path) -> None:
    server = start_server()
    alice, bob = user(server, "alice", "#dev"), user(server, "bob", "#dev")
    alice.send({"type": "topic", "channel": "#dev", "text": "ship\nit"})
    for client in (alice, bob):
        topic = client.recv_until("topic")
        assert (topic["channel"], topic["text"], topic["by"]) == ("#dev", "ship it", "alice")
    bob.send({"type": "topic", "channel": "#dev"})
    assert alice.recv_until("topic")["text"] == ""
    bob.send({"type": "topic", "channel": "#dev", "text": "v2"})
    alice.recv_until("topic", text="v2")
    alice.send({"type": "topic", "channel": "#elsewhere", "text": "x"})
    assert alice.recv_until("error")["code"] == "not_in_channel"
    for client in (alice, bob):
        client.send({"type": "quit"})
        client.wait_closed()
    carol = user(server, "carol")
    carol.send({"type": "list"})
    assert [c["name"] for c in carol.recv_until("channels")["channels"]] == ["#lobby"]
    carol.send({"type": "join", "channel": "#dev"})
    reply = carol.recv_until("channel")
    assert (reply["topic"], reply["topic_by"]) == ("v2", "bob")
    server.stop()
    restarted = start_server(db_path=server.db_path)
    _dave, welcome = welcomed(restarted, "dave", channels=["#DEV"])
    assert welcome["channels"][0]["name"] == "#dev" and welcome["channels"][0]["topic"] == "v2"


def test_list_counts_members_and_hides_empty_channels(server: ServerProcess) -> None:
    alice = user(server, "alice", "#b", "#a")
    _bob = user(server, "bob", "#a")
    alice.send({"type": "topic", "channel": "#a", "text": "the a team"})
    alice.recv_until("topic")
    ghost = user(server, "ghost", "#gone")
    ghost.send({"type": "part", "channel": "#gone"})
    ghost.recv_until("leave")
    alice.send({"type": "list"})
    assert alice.recv_until("channels")["channels"] == [
        {"name": "#a", "users": 2, "topic": "the a team"},
        {"name": "#b", "users": 1},
    ]


def test_who_and_history_per_channel(server: ServerProcess) -> None:
    alice = user(server, "alice", "#a", "#b")
    _bob = user(server, "Bob", "#b")
    for i in range(60):
        alice.send({"type": "say", "text": f"a{i}", "channel": "#a"})
        alice.send({"type": "say", "text": f"b{i}", "channel": "#b"})
    ids = {}
    for _ in range(120):
        frame = alice.recv_until("message")
        ids[frame["text"]] = frame["id"]
    alice.send({"type": "who", "channel": "#b"})
    assert alice.recv_until("roster") == {"type": "roster", "users": ["alice", "Bob"],
                                          "channel": "#b"}
    alice.send({"type": "history", "channel": "#a", "limit": 20})
    page = alice.recv_until("history")
    assert page["channel"] == "#a"
    assert [m["text"] for m in page["messages"]] == [f"a{i}" for i in range(40, 60)]
    alice.send({"type": "history", "channel": "#b", "before": ids["b10"]})
    page = alice.recv_until("history")
    assert [m["text"] for m in page["messages"]] == [f"b{i}" for i in range(10)]
    assert {m["channel"] for m in page["messages"]} == {"#b"}
    for kind in ("who", "history"):
        alice.send({"type": kind, "channel": "#c"})
        assert alice.recv_until("error")["code"] == "not_in_channel"
        alice.send({"type": kind})  # the default channel, which alice is not in
        assert alice.recv_until("error")["code"] == "not_in_channel"
    late = RawClient(server.port)
    welcome = late.hello("late", channels=["#a"])
    assert [m["text"] for m in welcome["channels"][0]["history"]] == [
        f"a{i}" for i in range(10, 60)]


def test_rename_is_sent_once_to_everyone_sharing_a_channel(server: ServerProcess) -> None:
    alice = user(server, "alice", "#a", "#b")
    both = user(server, "both", "#a", "#b")
    only_b = user(server, "onlyb", "#b")
    stranger = user(server, "stranger", "#c")
    for client in (alice, both, only_b, stranger):
        sync(client)
    alice.send({"type": "nick", "nick": "alicia"})
    own = alice.recv_until("rename")
    assert (own["old"], own["new"]) == ("alice", "alicia") and own["resume"]
    for client in (both, only_b):
        renames = [f for f in sync(client) if f["type"] == "rename"]
        assert [(r["old"], r["new"]) for r in renames] == [("alice", "alicia")]
        assert "resume" not in renames[0]
    assert sync(stranger) == []
    both.send({"type": "who", "channel": "#a"})
    assert both.recv_until("roster")["users"] == ["alicia", "both"]
    both.send({"type": "nick", "nick": "ALICIA"})
    assert both.recv_until("error")["code"] == "nick_taken"


def test_private_messages_cross_channels(server: ServerProcess) -> None:
    alice, bob = user(server, "alice", "#a"), user(server, "bob", "#b")
    alice.send({"type": "msg", "to": "BOB", "text": "psst"})
    for client in (alice, bob):
        frame = client.recv_until("message")
        assert (frame["from"], frame["to"], frame["text"]) == ("alice", "bob", "psst")
        assert "channel" not in frame


def test_channel_limits_and_invalid_names(start_server: StartServer) -> None:
    server = start_server("--max-channels-per-user", "2")
    alice = user(server, "alice", "#a", "#b")
    alice.send({"type": "join", "channel": "#c"})
    assert alice.recv_until("error")["code"] == "too_many_channels"
    for bad in ("c", "#", "#no spaces", "#" + "x" * 33):
        alice.send({"type": "join", "channel": bad})
        assert alice.recv_until("error")["code"] == "channel_invalid"
    greedy = RawClient(server.port)
    assert greedy.hello("greedy", channels=["#a", "#b", "#c"])["code"] == "too_many_channels"
    token = greedy.hello("greedy", channels=["#a", "#b"])["resume"]
    again = RawClient(server.port)  # a resume keeps #a and #b: #c would make three
    refusal = again.hello("greedy", channels=["#c"], resume=token)
    assert refusal["code"] == "too_many_channels"
    assert sync(greedy) == []  # the old session is untouched, and was told nothing
    back = again.hello("greedy", channels=["#B"], resume=token)
    assert [c["name"] for c in back["channels"]] == ["#b", "#a"]


def test_dropping_out_sends_one_leave_per_channel(server: ServerProcess) -> None:
    watcher = user(server, "watcher", "#a", "#b", "#c")
    leaver = user(server, "leaver", "#a", "#b")
    sync(watcher)
    leaver.close()
    leaves = [watcher.recv_until("leave"), watcher.recv_until("leave")]
    assert sorted(f["channel"] for f in leaves) == ["#a", "#b"]
    assert {f["reason"] for f in leaves} == {"connection closed"}
    assert [f for f in sync(watcher) if f["type"] == "leave"] == []


def test_replies_are_barriers_for_joins_and_messages(server: ServerProcess) -> None:
    watcher = user(server, "watcher")
    joiners: list[RawClient] = []
    with ThreadPoolExecutor(30) as pool:
        joiners = list(pool.map(lambda i: user(server, f"j{i}"), range(30)))
    seen = sync(watcher)  # every hello above was welcomed before this ping was read
    assert sorted(f["nick"] for f in seen if f["type"] == "join") == sorted(
        f"j{i}" for i in range(30))
    talker = joiners[0]
    for i in range(300):
        talker.send({"type": "say", "text": f"m{i}"})
    echoed = [f for f in sync(talker) if f["type"] == "message"]
    assert len(echoed) == 300  # its own messages were all accepted before its ping
    others = [f for f in sync(watcher) if f["type"] == "message"]
    assert [f["text"] for f in others] == [f"m{i}" for i in range(300)]


def test_50_senders_over_5_channels_make_one_gap_free_sequence(server: ServerProcess) -> None:
    channels = [f"#c{i}" for i in range(5)]
    clients = [user(server, f"u{i}", *channels) for i in range(50)]
    for client in clients:
        sync(client)
    per_client, total = 10, 500
    barrier = threading.Barrier(50)

    def run(index: int) -> list[tuple[int, str, str, str]]:
        client = clients[index]
        barrier.wait()
        for seq in range(per_client):
            client.send({"type": "say", "text": f"{index}:{seq}", "channel": channels[index % 5]})
        frames = [client.recv_until("message", timeout=30) for _ in range(total)]
        return [(f["id"], f["channel"], f["from"], f["text"]) for f in frames]

    with ThreadPoolExecutor(50) as pool:
        views = list(pool.map(run, range(50)))
    ids = [entry[0] for entry in views[0]]
    assert ids == list(range(ids[0], ids[0] + total))
    assert all(view == views[0] for view in views)
    assert all(channel == channels[int(text.split(":")[0]) % 5]
               for _id, channel, _from, text in views[0])
    stored = sorted((m["id"], m["channel"], m["from"], m["text"])
                    for name in channels for m in channel_history(clients[0], name))
    assert stored == views[0]
    partial = user(server, "partial", "#c1", "#c3")
    partial.send({"type": "say", "text": "tail", "channel": "#c3"})
    partial.recv_until("message", text="tail")


def test_resume_across_channels_after_kill_9(start_server: StartServer) -> None:
    server = start_server()
    alice, welcome = welcomed(server, "alice", channels=["#a", "#b"])
    token = welcome["resume"]
    bob = user(server, "bob", "#a", "#b")
    bob.send({"type": "say", "text": "seen", "channel": "#a"})
    last_seen = alice.recv_until("message", text="seen")["id"]
    # alice stops reading: what follows is queued for her but never seen
    bob.send({"type": "say", "text": "missed in a", "channel": "#a"})
    bob.send({"type": "msg", "to": "alice", "text": "missed privately"})
    bob.send({"type": "say", "text": "missed in b", "channel": "#b"})
    sync(bob)
    server.kill()
    restarted = start_server(db_path=server.db_path, port=server.port)
    back, welcome = welcomed(restarted, "alice", channels=["#a", "#b"], since=last_seen,
                             resume=token)
    texts = {c["name"]: [m["text"] for m in c["history"]] for c in welcome["channels"]}
    assert texts == {"#a": ["missed in a"], "#b": ["missed in b"]}
    private = welcome.get("private", [])
    assert [(m["from"], m["to"], m["text"]) for m in private] == [
        ("bob", "alice", "missed privately")]
    ids = [m["id"] for c in welcome["channels"] for m in c["history"]] + [private[0]["id"]]
    assert len(set(ids)) == 3 and min(ids) > last_seen
    back.send({"type": "say", "text": "back", "channel": "#b"})
    assert back.recv_until("message")["id"] > max(ids)
    stranger = RawClient(restarted.port)
    no_token = stranger.hello("carol", channels=["#a"], since=last_seen)
    assert no_token["channels"][0]["history"][0]["text"] == "missed in a"
    assert "private" not in no_token


def test_a_token_stays_valid_after_the_connection_drops(server: ServerProcess) -> None:
    alice, welcome = welcomed(server, "alice", channels=["#a"])
    watcher = user(server, "watcher", "#a")
    alice.close()
    watcher.recv_until("leave", nick="alice")
    again, second = welcomed(server, "alice", channels=["#a"], since=0, resume=welcome["resume"])
    assert second["resume"] != welcome["resume"]
    again.send({"type": "nick", "nick": "alicia"})
    fresh = again.recv_until("rename")["resume"]
    again.close()
    _, third = welcomed(server, "alicia", resume=fresh)  # a rename's token is for the new nick
    assert third["nick"] == "alicia"


def test_resume_takes_over_a_ghost_in_every_channel_quietly(server: ServerProcess) -> None:
    watcher = user(server, "watcher", "#a", "#b")
    ghost, welcome = welcomed(server, "alice", channels=["#a", "#b"])
    sync(watcher)
    again, resumed = welcomed(server, "alice", channels=["#b", "#c"], resume=welcome["resume"])
    assert [c["name"] for c in resumed["channels"]] == ["#b", "#c", "#a"]
    assert ghost.wait_closed()[-1] == {"type": "bye", "reason": "replaced"}
    assert sync(watcher) == []  # no leave, no join
    again.send({"type": "say", "text": "still me", "channel": "#a"})
    assert watcher.recv_until("message")["text"] == "still me"


def test_whois_and_private_history(server: ServerProcess) -> None:
    alice, bob = user(server, "alice", "#a"), user(server, "bob", "#a", "#b")
    alice.send({"type": "whois", "nick": "BOB"})
    whois = alice.recv_until("whois")
    assert (whois["nick"], whois["channels"]) == ("bob", ["#a", "#b"])
    assert whois["connected_since"] > 0 and whois["idle"] >= 0
    alice.send({"type": "whois", "nick": "ghost"})
    assert alice.recv_until("error")["code"] == "no_such_user"
    for text in ("one", "two", "three"):
        alice.send({"type": "msg", "to": "bob", "text": text})
    first = alice.recv_until("message", text="one")["id"]
    sync(alice)
    bob.send({"type": "history", "with": "alice", "after": first})
    page = bob.recv_until("history")
    assert page["with"] == "alice" and page["after"] == first
    assert [m["text"] for m in page["messages"]] == ["two", "three"]
    assert all(m["to"] == "bob" for m in page["messages"])


def test_a_bad_channel_name_is_channel_invalid_wherever_it_is_given(
    server: ServerProcess,
) -> None:
    client = RawClient(server.port)
    for bad in (["nohash"], ["#lobby", "#two words"], ["#" + "x" * 33]):
        refused = client.hello("alice", channels=bad)
        assert (refused["type"], refused["code"]) == ("error", "channel_invalid"), refused
    assert client.hello("alice", channels=["#a"])["type"] == "welcome"  # may try again
    requests: list[dict[str, Any]] = [
        {"type": "say", "text": "hi", "channel": "a"},
        {"type": "part", "channel": "#"},
        {"type": "topic", "channel": "#bad name", "text": "x"},
        {"type": "who", "channel": "##"},
        {"type": "history", "channel": "#" + "y" * 33},
    ]
    for request in requests:
        client.send(request)
        assert client.recv_until("error")["code"] == "channel_invalid", request
    assert [f["type"] for f in sync(client)] == []  # each refused alone; still connected


def test_say_with_action_and_channel(server: ServerProcess) -> None:
    alice, bob = user(server, "alice", "#a", "#b"), user(server, "bob", "#b")
    alice.send({"type": "say", "text": "waves", "action": True, "channel": "#b"})
    for client in (alice, bob):
        frame = client.recv_until("message")
        assert (frame["from"], frame["text"], frame["action"], frame["channel"]) == (
            "alice", "waves", True, "#b")
    alice.send({"type": "say", "text": "plain", "channel": "#b"})
    assert "action" not in bob.recv_until("message", text="plain")


def test_join_and_resume_with_since_bring_every_message_after_it_at_most_1000(
    server: ServerProcess,
) -> None:
    alice, welcome = welcomed(server, "alice", channels=["#a"])
    token = welcome["resume"]
    bob = user(server, "bob", "#a")
    bob.send({"type": "say", "text": "seen", "channel": "#a"})
    since = alice.recv_until("message", text="seen")["id"]
    sync(bob)
    alice.close()  # away: everything below is missed
    total = 1100
    for i in range(total):
        bob.send({"type": "say", "text": f"m{i}", "channel": "#a"})
    ids = [f["id"] for f in sync(bob) if f["type"] == "message"]
    assert len(ids) == total
    texts = [f"m{i}" for i in range(total)]
    _back, resumed = welcomed(server, "alice", channels=["#a"], since=since, resume=token)
    history = resumed["channels"][0]["history"]
    assert [m["text"] for m in history] == texts[-1000:]  # the newest 1,000 of 1,100
    carol = user(server, "carol", "#lobby")
    carol.send({"type": "join", "channel": "#a", "since": ids[1039]})
    reply = carol.recv_until("channel")
    assert [m["text"] for m in reply["history"]] == texts[1040:]  # 60: more than the last 50
    carol.send({"type": "join", "channel": "#a", "since": since})  # in it already: the same
    assert [m["text"] for m in carol.recv_until("channel")["history"]] == texts[-1000:]
    carol.send({"type": "join", "channel": "#a"})
    assert [m["text"] for m in carol.recv_until("channel")["history"]] == texts[-50:]
