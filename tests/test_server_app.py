"""ChatServer in process: what it starts, it stops and joins."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import RawClient, wait_until

from server.app import ChatServer
from server.config import ServerConfig

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def chat(tmp_path: Path) -> Iterator[ChatServer]:
    """An embedded server on port 0 (trimming on, so every kind of thread runs)."""
    server = ChatServer(ServerConfig(host="127.0.0.1", port=0, db_path=str(tmp_path / "chat.db"),
                                     history_limit=100))
    yield server
    server.stop()


def new_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t not in before]


def test_stop_joins_every_thread_the_server_started(chat: ChatServer) -> None:
    before = set(threading.enumerate())
    _host, port = chat.start()
    clients = [RawClient(port) for _ in range(2)]
    for i, client in enumerate(clients):
        assert client.hello(f"user{i}")["type"] == "welcome"
    started = new_threads(before)
    names = sorted(t.name for t in started)
    assert {"acceptor", "flusher", "history-trimmer", "hub", "idle-reaper"} <= set(names)
    assert sum(name.startswith("reader-") for name in names) == 2, names
    chat.stop()
    assert [t.name for t in started if t.is_alive()] == []
    for client in clients:
        assert client.wait_closed()[-1] == {"type": "bye", "reason": "server_shutdown"}


def test_stop_joins_the_idle_reaper_even_when_the_accept_loop_died(
    chat: ChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_listener: socket.socket) -> None:
        raise RuntimeError("a bug in the accept loop")

    monkeypatch.setattr(chat, "_accept_pending", broken)
    before = set(threading.enumerate())
    _host, port = chat.start()
    started = new_threads(before)
    acceptor = next(t for t in started if t.name == "acceptor")
    socket.create_connection(("127.0.0.1", port)).close()
    assert wait_until(lambda: not acceptor.is_alive())
    chat.stop()
    assert [t.name for t in started if t.is_alive()] == []
