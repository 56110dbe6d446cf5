"""Nothing lost: kill -9 and restart, resume after a drop, ordering under concurrency."""

from __future__ import annotations

import socket
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from conftest import StartServer
from helpers import RawClient, ServerProcess, stream_big_messages


def all_history(port: int) -> list[dict[str, Any]]:
    """Page back through the whole stored public history, oldest first."""
    client = RawClient(port, recv_size=65536)
    client.hello("auditor")
    messages: list[dict[str, Any]] = []
    before = None
    while True:
        query: dict[str, Any] = {"type": "history", "limit": 500}
        if before is not None:
            query["before"] = before
        client.send(query)
        page = client.recv_until("history")["messages"]
        if not page:
            break
        messages[:0] = page
        before = page[0]["id"]
    client.close()
    return messages


def test_kill_9_loses_nothing_anyone_saw(start_server: StartServer) -> None:
    server = start_server()
    clients = [RawClient(server.port, recv_size=65536) for _ in range(10)]
    for i, client in enumerate(clients):
        client.hello(f"user{i}")
    seen: dict[int, tuple[str, str]] = {}
    seen_lock = threading.Lock()
    enough = threading.Event()

    def talk(index: int) -> None:
        client = clients[index]
        for seq in range(1000):
            try:
                client.send({"type": "say", "text": f"{index}-{seq}"})
                while client.pending or seq % 20 == 0:
                    frame = client.recv(timeout=0.2)
                    if frame["type"] == "message":
                        with seen_lock:
                            seen[frame["id"]] = (frame["from"], frame["text"])
                            if len(seen) > 1500:
                                enough.set()
                    if not client.pending:
                        break
            except (OSError, TimeoutError):
                return

    threads = [threading.Thread(target=talk, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    assert enough.wait(30)
    server.kill()
    for thread in threads:
        thread.join(30)
    with seen_lock:
        snapshot = dict(seen)
    restarted = start_server()
    stored = {m["id"]: (m["from"], m["text"]) for m in all_history(restarted.port)}
    missing = {i: v for i, v in snapshot.items() if stored.get(i) != v}
    assert not missing, f"{len(missing)} seen messages not stored, e.g. {list(missing)[:5]}"
    newcomer = RawClient(restarted.port)
    newcomer.hello("newcomer")
    newcomer.send({"type": "say", "text": "after the crash"})
    assert newcomer.recv_until("message")["id"] > max(stored)


def test_50_clients_see_one_gap_free_sequence(server: ServerProcess) -> None:
    clients = [RawClient(server.port, recv_size=65536) for _ in range(50)]
    for i, client in enumerate(clients):
        client.hello(f"c{i}")
    per_client = 20
    total = 50 * per_client
    barrier = threading.Barrier(50)

    def run(index: int) -> list[tuple[int, str, str]]:
        client = clients[index]
        barrier.wait()
        for seq in range(per_client):
            client.send({"type": "say", "text": f"{index}:{seq}"})
        frames = [client.recv_until("message", timeout=30) for _ in range(total)]
        return [(f["id"], f["from"], f["text"]) for f in frames]

    with ThreadPoolExecutor(50) as pool:
        views = list(pool.map(run, range(50)))
    ids = [entry[0] for entry in views[0]]
    assert ids == list(range(ids[0], ids[0] + total))
    assert all(view == views[0] for view in views)
    with sqlite3.connect(server.db_path) as db:
        rows = db.execute("SELECT id, sender, text FROM messages ORDER BY id").fetchall()
    assert [tuple(row) for row in rows] == views[0]


def test_dropped_slow_consumer_resumes_what_it_missed(start_server: StartServer) -> None:
    server = start_server("--max-queue-bytes", "65536")
    slow = RawClient(server.port, recv_size=4096)
    slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    resume = slow.hello("slow")["resume"]
    talker = RawClient(server.port, recv_size=65536)
    talker.hello("talker")
    talker.send({"type": "say", "text": "first"})
    last_seen = slow.recv_until("message")["id"]
    first = talker.recv_until("message", text="first")["id"]
    messages, leaves = stream_big_messages(talker, 3000)
    expected = [first] + [m["id"] for m in messages]
    if not leaves:
        leaves.append(talker.recv_until("leave", nick="slow", timeout=20))
    assert [(f["nick"], f["reason"]) for f in leaves] == [("slow", "slow_consumer")]
    slow.close()

    back = RawClient(server.port, recv_size=65536)
    welcome = back.hello("slow", since=last_seen, resume=resume)
    resumed = [m["id"] for m in welcome["history"]]
    while resumed[0] > last_seen + 1:
        back.send({"type": "history", "before": resumed[0], "limit": 500})
        page = back.recv_until("history")["messages"]
        resumed[:0] = [m["id"] for m in page if m["id"] > last_seen]
    assert resumed == expected[1:]


def test_resume_token_takes_over_a_ghost_quietly(server: ServerProcess) -> None:
    watcher = RawClient(server.port)
    watcher.hello("watcher")
    ghost = RawClient(server.port)
    token = ghost.hello("alice")["resume"]
    watcher.recv_until("join", nick="alice")
    intruder = RawClient(server.port)
    assert intruder.hello("alice", resume="wrong")["code"] == "nick_taken"
    again = RawClient(server.port)
    welcome = again.hello("ALICE", resume=token)
    assert welcome["type"] == "welcome" and welcome["resume"] != token
    assert ghost.wait_closed()[-1] == {"type": "bye", "reason": "replaced"}
    watcher.send({"type": "who"})
    assert watcher.recv()["type"] == "roster"  # no leave or join came before it
    again.send({"type": "say", "text": "still me"})
    assert watcher.recv_until("message")["from"] == "ALICE"


def test_history_limit_keeps_the_newest(start_server: StartServer) -> None:
    server = start_server("--history-limit", "100")
    alice = RawClient(server.port, recv_size=65536)
    alice.hello("alice")
    for i in range(400):
        alice.send({"type": "say", "text": f"m{i}"})
    last = [alice.recv_until("message")["id"] for _ in range(400)][-1]
    server.wait_for_log("trimmed")
    history = all_history(server.port)
    assert history[-1]["id"] == last
    assert 100 <= len(history) <= 110
    assert [m["text"] for m in history[-100:]] == [f"m{i}" for i in range(300, 400)]


def test_full_database_refuses_with_server_error_and_keeps_running(
    start_server: StartServer,
) -> None:
    server = start_server("--max-db-mb", "0.2")
    alice, bob = RawClient(server.port), RawClient(server.port)
    alice.hello("alice")
    bob.hello("bob")
    text = "q" * 4000

    def next_outcome() -> dict[str, Any]:
        frame = alice.recv()
        while frame["type"] not in ("message", "error"):
            frame = alice.recv()
        return frame

    for _ in range(200):
        alice.send({"type": "say", "text": text})
        frame = next_outcome()
        if frame["type"] == "error":
            break
        bob.recv_until("message")
    assert frame["code"] == "server_error"
    server.wait_for_log("full")
    alice.send({"type": "say", "text": text})
    assert alice.recv_until("error")["code"] == "server_error"
    bob.send({"type": "ping", "token": "alive"})
    frame = bob.recv()
    while frame["type"] == "message":
        frame = bob.recv()
    assert frame == {"type": "pong", "token": "alive"}  # no unstored message reached bob


V1_SCHEMA = """
CREATE TABLE messages (id INTEGER PRIMARY KEY, ts REAL NOT NULL, sender TEXT NOT NULL,
    text TEXT NOT NULL, action INTEGER NOT NULL DEFAULT 0, recipient TEXT);
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


def test_a_database_of_the_one_room_version_opens_as_the_default_channel(
    start_server: StartServer, tmp_path: Path,
) -> None:
    path = tmp_path / "v1.db"
    with sqlite3.connect(path) as db:
        db.executescript(V1_SCHEMA)
        db.executemany("INSERT INTO messages VALUES (?, ?, ?, ?, 0, ?)", [
            (i, float(i), "old", f"old {i}", "someone" if i == 5 else None) for i in range(1, 9)
        ])
    server = start_server("--default-channel", "#general", db_path=path)
    assert any("database upgraded" in line for line in server.log_lines)
    client = RawClient(server.port)
    welcome = client.hello("reader")
    assert welcome["channels"][0]["name"] == "#general"
    assert [m["text"] for m in welcome["history"]] == [f"old {i}" for i in (1, 2, 3, 4, 6, 7, 8)]
    client.send({"type": "say", "text": "new"})
    assert client.recv_until("message")["id"] == 9
