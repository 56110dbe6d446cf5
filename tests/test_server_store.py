"""The SQLite history store: batches, pages, trimming, and ids across reopen."""

from __future__ import annotations

from pathlib import Path

from protocol import Message
from server.store import MessageStore


def batch(first: int, count: int, to: str | None = None) -> list[Message]:
    return [Message(id=first + i, ts=float(first + i), sender="alice", text=f"m{first + i}",
                    to=to) for i in range(count)]


def test_pages_are_public_and_oldest_first(tmp_path: Path) -> None:
    store = MessageStore(tmp_path / "chat.db")
    store.append(batch(1, 10))
    store.append(batch(11, 1, to="bob"))
    assert [m.id for m in store.latest(3)] == [8, 9, 10]
    assert [m.id for m in store.before(8, 100)] == list(range(1, 8))
    assert store.last_id == 11
    store.close()


def test_ids_never_go_back_even_when_everything_is_trimmed(tmp_path: Path) -> None:
    store = MessageStore(tmp_path / "chat.db")
    store.append(batch(1, 5000))
    assert store.trim(0) == 5000
    assert store.latest(10) == []
    store.close()
    reopened = MessageStore(tmp_path / "chat.db")
    assert reopened.last_id == 5000
    reopened.close()


def test_trim_keeps_the_newest(tmp_path: Path) -> None:
    store = MessageStore(tmp_path / "chat.db")
    store.append(batch(1, 4500))
    assert store.trim(100) == 4400
    assert [m.id for m in store.latest(1000)] == list(range(4401, 4501))
    store.close()
