"""The server under many clients, stuck clients, restarts and shutdown (real processes)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from conftest import StartServer
from helpers import (
    ROOT,
    RawClient,
    ServerProcess,
    proc_status,
    stream_big_messages,
    wait_until,
)


def thread_count(server: ServerProcess) -> int:
    return proc_status(server, "Threads")


def test_client_that_never_reads_does_not_hold_up_others(server: ServerProcess) -> None:
    stuck = socket.create_connection(("127.0.0.1", server.port))
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.sendall(b'{"type":"hello","nick":"stuck","proto":1}\n')
    clients = [RawClient(server.port, recv_size=65536) for _ in range(20)]
    for i, client in enumerate(clients):
        assert client.hello(f"user{i}")["type"] == "welcome"
    per_client, total = 100, 2000
    text = "x" * 200

    def run(index: int) -> list[int]:
        client = clients[index]
        for seq in range(per_client):
            client.send({"type": "say", "text": f"{index}:{seq} {text}"})
        return [client.recv_until("message", timeout=30)["id"] for _ in range(total)]

    with ThreadPoolExecutor(20) as pool:
        views = list(pool.map(run, range(20)))
    assert all(len(set(view)) == total for view in views)
    assert all(view == views[0] for view in views)
    assert views[0] == sorted(views[0])
    stuck.close()


def test_slow_consumer_is_dropped_and_others_carry_on(start_server: StartServer) -> None:
    server = start_server("--max-queue-bytes", "65536")
    stuck = socket.create_connection(("127.0.0.1", server.port))
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.sendall(b'{"type":"hello","nick":"stuck","proto":1}\n')
    talker = RawClient(server.port, recv_size=65536)
    talker.hello("talker")

    count = 3000  # 9 MB: more than the kernel's socket buffers can absorb
    messages, leaves = stream_big_messages(talker, count)
    assert [m["text"].split()[0] for m in messages] == [str(i) for i in range(count)]
    if not leaves:
        leaves.append(talker.recv_until("leave", nick="stuck", timeout=20))
    assert [(f["nick"], f["reason"]) for f in leaves] == [("stuck", "slow_consumer")]
    server.wait_for_log("dropped: slow_consumer")
    stuck.close()


def test_200_clients_join_and_leave_in_parallel(server: ServerProcess) -> None:
    watcher = RawClient(server.port)
    watcher.hello("watcher")

    def visit(i: int) -> str:
        client = RawClient(server.port)
        welcome = client.hello(f"guest{i}")
        client.send({"type": "quit"})
        frames = client.wait_closed()
        client.close()
        assert frames[-1] == {"type": "bye", "reason": "quit"}
        return str(welcome["type"])

    with ThreadPoolExecutor(50) as pool:
        assert list(pool.map(visit, range(200))) == ["welcome"] * 200
    joins = leaves = 0
    while joins < 200 or leaves < 200:
        frame = watcher.recv()
        joins += frame["type"] == "join"
        leaves += frame["type"] == "leave"
    watcher.send({"type": "who"})
    assert watcher.recv_until("roster")["users"] == ["watcher"]


def test_threads_do_not_leak_over_500_connections(server: ServerProcess) -> None:
    baseline = thread_count(server)
    for i in range(500):
        client = RawClient(server.port)
        if i % 2:
            client.hello(f"cycle{i}")
        client.close()
    assert wait_until(lambda: thread_count(server) == baseline), (
        thread_count(server), baseline)


def test_sigterm_says_bye_to_hundreds_and_exits_quickly(server: ServerProcess) -> None:
    clients = []
    for i in range(300):
        client = RawClient(server.port)
        client.hello(f"u{i}")
        clients.append(client)
    started = time.monotonic()
    assert server.stop(signal.SIGTERM) == 0
    elapsed = time.monotonic() - started
    for client in clients[::10]:
        assert client.wait_closed()[-1] == {"type": "bye", "reason": "server_shutdown"}
    assert elapsed < 5, elapsed  # the issue asks for 2 s; the margin is for a loaded CI box
    server.wait_for_log("stopped")


def test_restart_with_same_db_keeps_history_and_ids(start_server: StartServer) -> None:
    server = start_server()
    alice = RawClient(server.port)
    alice.hello("alice")
    for i in range(5):
        alice.send({"type": "say", "text": f"before {i}"})
    ids = [alice.recv_until("message")["id"] for _ in range(5)]
    assert server.stop() == 0
    server = start_server()
    bob = RawClient(server.port)
    welcome = bob.hello("bob")
    assert [m["text"] for m in welcome["history"]] == [f"before {i}" for i in range(5)]
    assert [m["id"] for m in welcome["history"]] == ids
    bob.send({"type": "say", "text": "after"})
    assert bob.recv_until("message")["id"] > ids[-1]


def run_server_expecting_failure(db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", "--port", "0", "--db", str(db)],
        cwd=ROOT, capture_output=True, text=True, timeout=20,
    )


def test_corrupt_database_stops_the_server_with_one_line(tmp_path: Path) -> None:
    db = tmp_path / "chat.db"
    db.write_bytes(b"this is not a database at all" * 100)
    result = run_server_expecting_failure(db)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "not a database" in lines[0], result.stderr


def test_unwritable_database_stops_the_server_with_one_line(tmp_path: Path) -> None:
    db = tmp_path / "missing-dir" / "chat.db"
    result = run_server_expecting_failure(db)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(db) in lines[0], result.stderr


def test_busy_port_is_one_clear_line(server: ServerProcess, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "server", "--port", str(server.port),
         "--db", str(tmp_path / "other.db")],
        cwd=ROOT, capture_output=True, text=True, timeout=20,
    )
    assert result.returncode == 2
    assert "Cannot listen on" in result.stderr and "Traceback" not in result.stderr
