"""Several server processes on one real Redis: one chat, and what happens when parts fail."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import StartServer
from helpers import RawClient, ServerProcess, wait_until
from redis_support import RedisProcess, TcpProxy
from test_server_channels import channel_history, sync, user, welcomed
from test_server_moderation import PASSWORD, team_run_by_alice

pytestmark = pytest.mark.parametrize("hub", ["redis"], indirect=True)

NODE_TIMEOUT_S = 3.0  # as conftest starts cluster nodes


def nodes(start_server: StartServer, count: int) -> list[ServerProcess]:
    return [start_server() for _ in range(count)]


def test_channels_rosters_and_private_messages_span_the_nodes(start_server: StartServer) -> None:
    one, two, three = nodes(start_server, 3)
    alice = user(one, "alice", "#a", "#b")
    bob, welcome = welcomed(two, "bob", channels=["#a"])
    assert welcome["channels"][0]["roster"] == ["alice", "bob"]
    assert alice.recv_until("join")["nick"] == "bob"
    carol = user(three, "carol", "#b")
    bob.send({"type": "say", "text": "from two", "channel": "#a"})
    assert alice.recv_until("message")["text"] == "from two"
    carol.send({"type": "msg", "to": "ALICE", "text": "psst"})
    private = alice.recv_until("message")
    assert (private["from"], private["to"], private["text"]) == ("carol", "alice", "psst")
    assert carol.recv_until("message")["text"] == "psst"
    carol.send({"type": "msg", "to": "nobody", "text": "?"})
    assert carol.recv_until("error")["code"] == "no_such_user"
    for client in (alice, bob, carol):
        sync(client)
    bob.send({"type": "list"})
    assert bob.recv_until("channels")["channels"] == [
        {"name": "#a", "users": 2}, {"name": "#b", "users": 2}]
    carol.send({"type": "who", "channel": "#b"})
    assert carol.recv_until("roster")["users"] == ["alice", "carol"]
    carol.send({"type": "topic", "channel": "#b", "text": "across"})
    assert alice.recv_until("topic")["by"] == "carol"
    late = user(two, "late", "#b")
    late.send({"type": "history", "channel": "#b"})
    assert late.recv_until("history")["messages"] == []
    bob.send({"type": "nick", "nick": "Carol"})
    assert bob.recv_until("error")["code"] == "nick_taken"
    bob.send({"type": "nick", "nick": "robert"})
    rename = alice.recv_until("rename")
    assert (rename["old"], rename["new"]) == ("bob", "robert")
    assert [f for f in sync(carol) if f["type"] == "rename"] == []  # shares no channel


def test_fifty_senders_on_three_nodes_make_one_gap_free_sequence(
    start_server: StartServer,
) -> None:
    servers = nodes(start_server, 3)
    channels = [f"#c{i}" for i in range(5)]
    clients = [user(servers[i % 3], f"u{i}", *channels) for i in range(50)]
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
    auditor = user(servers[2], "auditor", *channels)
    stored = sorted((m["id"], m["channel"], m["from"], m["text"])
                    for name in channels for m in channel_history(auditor, name))
    assert stored == views[0]


def test_resume_on_another_node_fills_the_gap_once(start_server: StartServer) -> None:
    one, two = nodes(start_server, 2)
    alice, welcome = welcomed(one, "alice", channels=["#a", "#b"])
    bob = user(two, "bob", "#a", "#b")
    bob.send({"type": "say", "text": "seen", "channel": "#a"})
    last_seen = alice.recv_until("message", text="seen")["id"]
    # alice stops reading; what follows reaches her old connection but she never sees it
    bob.send({"type": "say", "text": "gap a", "channel": "#a"})
    bob.send({"type": "msg", "to": "alice", "text": "gap private"})
    bob.send({"type": "say", "text": "gap b", "channel": "#b"})
    sync(bob)
    back, resumed = welcomed(two, "alice", channels=["#a", "#b"], since=last_seen,
                             resume=welcome["resume"])
    texts = {c["name"]: [m["text"] for m in c["history"]] for c in resumed["channels"]}
    assert texts == {"#a": ["gap a"], "#b": ["gap b"]}
    assert [m["text"] for m in resumed["private"]] == ["gap private"]
    assert alice.wait_closed()[-1] == {"type": "bye", "reason": "replaced"}
    assert [f["type"] for f in sync(bob)] == []  # no leave, no join: a quiet takeover
    bob.send({"type": "say", "text": "live", "channel": "#b"})
    assert back.recv_until("message")["text"] == "live"


def test_a_node_killed_loses_no_message_and_its_users_leave_in_time(
    start_server: StartServer,
) -> None:
    one, two = nodes(start_server, 2)
    watcher = user(one, "watcher", "#a", "#b")
    victim, welcome = welcomed(two, "victim", channels=["#a", "#b"])
    _bystander = user(two, "bystander", "#a")
    sync(watcher)
    accepted = []
    for i in range(20):
        victim.send({"type": "say", "text": f"v{i}", "channel": "#a"})
    for _ in range(20):
        accepted.append(victim.recv_until("message")["id"])
    two.kill()
    started = time.monotonic()
    leaves = []
    while len(leaves) < 3:
        frame = watcher.recv_until("leave", timeout=NODE_TIMEOUT_S + 5)
        leaves.append((frame["nick"], frame["channel"], frame["reason"]))
    assert time.monotonic() - started < NODE_TIMEOUT_S + 2
    assert sorted(leaves) == [("bystander", "#a", "server node lost"),
                              ("victim", "#a", "server node lost"),
                              ("victim", "#b", "server node lost")]
    stored = [m["id"] for m in channel_history(watcher, "#a")]
    assert set(accepted) <= set(stored)
    back, resumed = welcomed(one, "victim", channels=["#a", "#b"], since=accepted[-1],
                             resume=welcome["resume"])
    assert [c["name"] for c in resumed["channels"]] == ["#a", "#b"]
    watcher.send({"type": "who", "channel": "#a"})
    assert watcher.recv_until("roster")["users"] == ["victim", "watcher"]
    back.close()


def test_a_resumed_session_on_a_killed_node_is_taken_over_at_once(
    start_server: StartServer,
) -> None:
    one, two = nodes(start_server, 2)
    watcher = user(one, "watcher", "#a")
    _victim, welcome = welcomed(two, "victim", channels=["#a"])
    sync(watcher)
    two.kill()
    again = RawClient(one.port)
    assert again.hello("victim", channels=["#a"], resume=welcome["resume"])["type"] == "welcome"
    assert [f for f in sync(watcher) if f["type"] in ("leave", "join")] == []
    time.sleep(NODE_TIMEOUT_S + 1)  # the lost node's session is gone; the new one stays
    watcher.send({"type": "who", "channel": "#a"})
    assert watcher.recv_until("roster")["users"] == ["victim", "watcher"]


def test_redis_stopped_and_started_again(start_server: StartServer) -> None:
    one, two = nodes(start_server, 2)
    alice, bob = user(one, "alice", "#a"), user(two, "bob", "#a")
    sync(alice)
    bob.send({"type": "say", "text": "kept", "channel": "#a"})
    kept = alice.recv_until("message")["id"]
    redis = cluster_redis(one)
    redis.stop()
    alice.send({"type": "say", "text": "refused", "channel": "#a"})
    error = alice.recv_until("error")
    assert error["code"] == "server_error" and "unavailable" in error["message"]
    assert [f["type"] for f in sync(alice)] == []  # still connected, still answered
    redis.start()
    assert wait_until(lambda: say_works(bob, "#a"), timeout=15)
    alice.recv_until("message", text="back")
    assert [m["id"] for m in channel_history(alice, "#a")][0] == kept
    assert sum("the chat store is unavailable" in line for line in one.log_lines) == 1
    one.wait_for_log("the chat store is back")


def say_works(client: RawClient, channel: str) -> bool:
    client.send({"type": "say", "text": "back", "channel": channel})
    frame = client.recv()
    while frame["type"] not in ("message", "error"):
        frame = client.recv()
    return frame["type"] == "message"


def cluster_redis(node: ServerProcess) -> RedisProcess:
    """The Redis this test's cluster runs on."""
    assert node.redis is not None
    return node.redis


def test_a_node_cut_off_longer_than_the_timeout_reconciles(start_server: StartServer) -> None:
    one = start_server()
    proxy = TcpProxy(cluster_redis(one).port)
    try:
        cut_off = start_server("--redis", proxy.url)
        watcher = user(one, "watcher", "#a")
        dave, welcome = welcomed(cut_off, "dave", channels=["#a"])
        sync(watcher)
        proxy.cut()
        leave = watcher.recv_until("leave", timeout=NODE_TIMEOUT_S + 5)
        assert (leave["nick"], leave["reason"]) == ("dave", "server node lost")
        newcomer, _ = welcomed(one, "eve", channels=["#a"])
        proxy.restore()
        frames = dave.wait_closed(timeout=NODE_TIMEOUT_S + 10)
        assert frames[-1]["type"] == "bye"  # told to reconnect, and why
        assert frames[-1]["reason"] == "server_shutdown" and "reconnect" in frames[-1]["text"]
        again, resumed = welcomed(cut_off, "dave", channels=["#a"], resume=welcome["resume"])
        assert sorted(resumed["channels"][0]["roster"]) == ["dave", "eve", "watcher"]
        watcher.send({"type": "who", "channel": "#a"})
        assert watcher.recv_until("roster")["users"] == ["dave", "eve", "watcher"]
        assert newcomer and again
    finally:
        proxy.close()


def test_accounts_and_bans_reach_every_node(start_server: StartServer) -> None:
    one, two = nodes(start_server, 2)
    alice = team_run_by_alice(one)
    spammer = user(two, "spammer", "#team")
    sync(alice)
    alice.send({"type": "ban", "channel": "#team", "nick": "spammer", "reason": "spam"})
    assert spammer.recv_until("kick")["nick"] == "spammer"
    spammer.send({"type": "join", "channel": "#team"})
    assert spammer.recv_until("error")["code"] == "banned"
    impostor = RawClient(two.port)
    assert impostor.hello("alice")["code"] in ("nick_taken", "nick_registered")
    alice.send({"type": "quit"})
    alice.wait_closed()
    sync(spammer)  # alice's quit has reached node two
    welcome = RawClient(two.port).hello("alice", nick_password=PASSWORD)
    assert welcome["type"] == "welcome"
    assert welcome["channels"][0]["name"] == "#lobby"


def test_redis_away_longer_than_the_node_timeout_keeps_every_user(
    start_server: StartServer,
) -> None:
    servers = nodes(start_server, 3)
    clients = [user(node, f"u{i}", "#a") for i, node in enumerate(servers)]
    for client in clients:
        sync(client)
    redis = cluster_redis(servers[0])
    redis.stop()
    for node in servers:
        node.wait_for_log("the chat store is unavailable")
    time.sleep(NODE_TIMEOUT_S + 2)  # every heartbeat key expires while Redis is away
    redis.start()
    for client in clients:
        assert wait_until(lambda c=client: say_works(c, "#a"), timeout=15)
    time.sleep(2 * NODE_TIMEOUT_S)  # long enough for any reaper to have acted
    for index, client in enumerate(clients):
        client.send({"type": "say", "text": f"after {index}", "channel": "#a"})
    for client in clients:
        seen = set()
        while len(seen) < 3:
            text = client.recv_until("message")["text"]
            seen |= {text} if text.startswith("after") else set()
        assert seen == {"after 0", "after 1", "after 2"}
    for client in clients:
        frames = sync(client)
        assert [f for f in frames if f["type"] in ("leave", "bye")] == []
        client.send({"type": "who", "channel": "#a"})
        assert client.recv_until("roster")["users"] == ["u0", "u1", "u2"]


def test_a_ban_while_redis_is_away_costs_only_that_request(start_server: StartServer) -> None:
    one, two = nodes(start_server, 2)
    alice = team_run_by_alice(one)
    spammer = user(two, "spammer", "#team")
    sync(alice)
    redis = cluster_redis(one)
    redis.stop()
    alice.send({"type": "ban", "channel": "#team", "nick": "spammer", "reason": "spam"})
    error = alice.recv_until("error")
    assert error["code"] == "server_error" and "unavailable" in error["message"]
    assert [f["type"] for f in sync(alice)] == []
    redis.start()
    assert wait_until(lambda: say_works(alice, "#team"), timeout=15)
    spammer.recv_until("message", text="back")
    alice.send({"type": "ban", "channel": "#team", "nick": "spammer", "reason": "spam"})
    assert spammer.recv_until("kick")["nick"] == "spammer"


def test_a_hello_while_redis_is_away_gets_an_error_not_a_hangup(
    start_server: StartServer,
) -> None:
    one = start_server()
    owner = user(one, "owner")
    owner.send({"type": "register", "password": PASSWORD})
    owner.recv_until("account")
    redis = cluster_redis(one)
    redis.stop()
    for fields in ({}, {"nick_password": PASSWORD}):
        client = RawClient(one.port)
        error = client.hello("owner" if fields else "newcomer", **fields)
        assert error["type"] == "error", error
        assert error["code"] == "server_error" and "unavailable" in error["message"]
        assert client.hello("other")["code"] == "server_error"  # still connected
    owner.send({"type": "identify", "nick": "owner", "password": PASSWORD})
    assert owner.recv_until("error")["code"] == "server_error"
    redis.start()
    assert wait_until(lambda: RawClient(one.port).hello("newcomer")["type"] == "welcome",
                      timeout=15)
    assert sum("the chat store is unavailable" in line for line in one.log_lines) == 1


def test_a_hello_whose_answer_was_lost_holds_no_nick(start_server: StartServer) -> None:
    one = start_server()
    proxy = TcpProxy(cluster_redis(one).port)
    try:
        muted = start_server("--redis", proxy.url, "--node-timeout", "30")
        watcher = user(one, "watcher")
        proxy.mute(after=b'"op": "hello"')  # Redis runs the hello; the node never hears back
        ghost = RawClient(muted.port)
        ghost.send({"type": "hello", "nick": "ghost", "proto": 1})
        error = ghost.recv(timeout=30)
        assert (error["type"], error["code"]) == ("error", "server_error")
        watcher.recv_until("join", nick="ghost")  # Redis did let it in
        proxy.unmute()
        watcher.recv_until("leave", timeout=30, nick="ghost")
        assert wait_until(lambda: RawClient(muted.port).hello("ghost")["type"] == "welcome",
                          timeout=20)
    finally:
        proxy.close()


def test_a_history_read_that_fails_keeps_the_view_and_says_so(
    start_server: StartServer,
) -> None:
    one = start_server()
    proxy = TcpProxy(cluster_redis(one).port)
    try:
        node = start_server("--redis", proxy.url, "--node-timeout", "30")
        local = user(node, "local")
        assert say_works(local, "#lobby")  # there are messages: joins read the logs
        proxy.mute(after=b"tc:log:#fresh")  # the node fails to read #fresh's messages
        alice = user(one, "alice", "#fresh")
        alice.send({"type": "say", "text": "before", "channel": "#fresh"})
        alice.recv_until("message")
        node.wait_for_log("the chat store is unavailable", timeout=20)
        proxy.unmute()
        local.send({"type": "join", "channel": "#fresh"})
        joined = local.recv_until("channel", timeout=20)
        assert joined["roster"] == ["alice", "local"]  # alice's join was not lost here
        assert [m["text"] for m in joined["history"]] == ["before"]  # read again
        proxy.mute(after=b"tc:log:#other")  # now while a local user is welcomed
        newcomer = RawClient(node.port)
        newcomer.send({"type": "hello", "nick": "newcomer", "proto": 1, "channels": ["#other"]})
        welcome = newcomer.recv(timeout=30)
        assert welcome["type"] == "welcome" and welcome["channels"][0]["name"] == "#other"
        error = newcomer.recv(timeout=30)
        assert error["code"] == "server_error" and "/history" in error["message"]
        proxy.unmute()
        assert wait_until(lambda: say_works(newcomer, "#other"), timeout=20)
    finally:
        proxy.close()


def test_answers_do_not_wait_for_ever_for_a_stalled_stream(start_server: StartServer) -> None:
    one = start_server()
    proxy = TcpProxy(cluster_redis(one).port)
    try:
        node = start_server("--redis", proxy.url, "--node-timeout", "30")
        alice = user(node, "alice")
        proxy.mute(only=b"XREAD")  # Redis stores, but the node reads nothing back
        alice.send({"type": "say", "text": "stored", "channel": "#lobby"})
        alice.send({"type": "ping", "token": "behind it"})
        error = alice.recv(timeout=30)  # not silence until the stream moves again
        assert error["code"] == "server_error" and "unavailable" in error["message"]
        proxy.unmute()
        assert alice.recv_until("message", timeout=30)["text"] == "stored"
        assert sync(alice) == []
    finally:
        proxy.close()


def test_the_history_limit_trims_each_log(start_server: StartServer) -> None:
    one, two = start_server("--history-limit", "10"), start_server("--history-limit", "10")
    alice, bob = user(one, "alice", "#a"), user(two, "bob", "#a")
    sent = 300
    for i in range(sent):
        alice.send({"type": "say", "text": f"m{i}", "channel": "#a"})
    alice.recv_until("message", timeout=30, text=f"m{sent - 1}")
    stored = [m["text"] for m in channel_history(bob, "#a")]
    # Redis trims in whole blocks (MAXLEN ~): the newest 10 at least, never all
    assert 10 <= len(stored) < sent
    assert stored[-10:] == [f"m{i}" for i in range(sent - 10, sent)]


def test_a_nick_taken_during_a_partition_is_held_once(start_server: StartServer) -> None:
    one = start_server()
    proxy = TcpProxy(cluster_redis(one).port)
    try:
        cut_off = start_server("--redis", proxy.url)
        watcher = user(one, "watcher", "#a")
        dave = user(cut_off, "dave", "#a")
        sync(watcher)
        proxy.cut()
        watcher.recv_until("leave", timeout=NODE_TIMEOUT_S + 5, nick="dave")
        usurper = user(one, "dave", "#a")  # the nick is free in the cluster now
        proxy.restore()
        bye = dave.wait_closed(timeout=NODE_TIMEOUT_S + 10)[-1]
        assert (bye["type"], bye["reason"]) == ("bye", "server_shutdown")
        assert wait_until(lambda: RawClient(cut_off.port).hello("dave")["code"] == "nick_taken",
                          timeout=15)  # the node is back in the cluster, and knows
        late = user(cut_off, "late", "#a")
        late.send({"type": "who", "channel": "#a"})
        assert late.recv_until("roster")["users"] == ["dave", "late", "watcher"]
        assert [f["type"] for f in sync(usurper) if f["type"] in ("leave", "bye")] == []
    finally:
        proxy.close()
