"""The SQLite history store: batches, pages, trimming, and ids across reopen."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from protocol import Message
from server.hub import Span
from server.store import ChannelRecord, MessageStore, StoreError


def batch(first: int, count: int, to: str | None = None, channel: str = "#lobby"
          ) -> list[Message]:
    return [Message(id=first + i, ts=float(first + i), sender="alice", text=f"m{first + i}",
                    to=to, channel=None if to else channel) for i in range(count)]


def test_pages_are_public_and_oldest_first(tmp_path: Path) -> None:
    store = MessageStore(tmp_path / "chat.db", "#lobby")
    store.append(batch(1, 10))
    store.append(batch(11, 1, to="bob"))
    assert [m.id for m in store.page(Span(), 3, channel="#lobby")] == [8, 9, 10]
    assert [m.id for m in store.page(Span(before_id=8), 100, channel="#lobby")] == list(range(1, 8))
    assert store.last_id == 11
    store.close()


def test_ids_never_go_back_even_when_everything_is_trimmed(tmp_path: Path) -> None:
    store = MessageStore(tmp_path / "chat.db", "#lobby")
    store.append(batch(1, 5000))
    assert store.trim(0) == 5000
    assert store.page(Span(), 10, channel="#lobby") == []
    store.close()
    reopened = MessageStore(tmp_path / "chat.db", "#lobby")
    assert reopened.last_id == 5000
    reopened.close()


def test_trim_keeps_the_newest(tmp_path: Path) -> None:
    store = MessageStore(tmp_path / "chat.db", "#lobby")
    store.append(batch(1, 4500))
    assert store.trim(100) == 4400
    assert [m.id for m in store.page(Span(), 1000, channel="#lobby")] == list(range(4401, 4501))
    store.close()


def test_channels_keep_their_own_history_under_one_key(tmp_path: Path) -> None:
    store = MessageStore(tmp_path / "chat.db", "#lobby")
    store.append(batch(1, 3, channel="#Dev") + batch(4, 2) + batch(6, 2, channel="#dev"))
    assert [m.id for m in store.page(Span(), 10, channel="#dev")] == [1, 2, 3, 6, 7]
    assert {m.channel for m in store.page(Span(), 10, channel="#DEV")} == {"#DEV"}  # named as asked
    assert [m.id for m in store.page(Span(), 10, channel="#lobby")] == [4, 5]
    assert [m.id for m in store.page(Span(after_id=2), 10, channel="#dev")] == [3, 6, 7]
    newest_two = store.page(Span(after_id=2), 2, channel="#dev")
    assert [m.id for m in newest_two] == [6, 7]
    store.close()


def test_private_messages_replay_to_and_from_a_nick(tmp_path: Path) -> None:
    store = MessageStore(tmp_path / "chat.db", "#lobby")
    store.append([
        Message(id=1, ts=1.0, sender="Alice", text="to bob", to="bob"),
        Message(id=2, ts=2.0, sender="carol", text="to alice", to="ALICE"),
        Message(id=3, ts=3.0, sender="bob", text="to carol", to="carol"),
        Message(id=4, ts=4.0, sender="alice", text="public", channel="#lobby"),
    ])
    assert [m.id for m in store.private_after("alice", 0, 10)] == [1, 2]
    assert [m.id for m in store.private_after("alice", 1, 10)] == [2]
    assert store.private_after("alice", 0, 10)[1].to == "ALICE"
    assert store.page(Span(), 10, channel="#lobby")[0].to is None
    store.close()


def test_topics_spellings_and_secrets_survive_a_reopen(tmp_path: Path) -> None:
    store = MessageStore(tmp_path / "chat.db", "#lobby")
    assert store.channel("#lobby") == ChannelRecord(name="#lobby")
    assert store.channel("#dev") is None
    store.save_channel(ChannelRecord(name="#Dev", topic="ship it", topic_by="bob", topic_ts=9.5))
    secret = store.secret("k")
    store.close()
    reopened = MessageStore(tmp_path / "chat.db", "#lobby")
    assert reopened.channel("#dev") == ChannelRecord("#Dev", "ship it", "bob", 9.5)
    assert reopened.secret("k") == secret and len(secret) == 32
    reopened.close()


V1_SCHEMA = """
CREATE TABLE messages (id INTEGER PRIMARY KEY, ts REAL NOT NULL, sender TEXT NOT NULL,
    text TEXT NOT NULL, action INTEGER NOT NULL DEFAULT 0, recipient TEXT);
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO messages VALUES (1, 1.0, 'alice', 'hello room', 0, NULL);
INSERT INTO messages VALUES (2, 2.0, 'bob', 'psst', 0, 'Alice');
INSERT INTO messages VALUES (3, 3.0, 'bob', 'waves', 1, NULL);
INSERT INTO meta VALUES ('last_id', 7);
"""


def test_a_first_version_database_becomes_the_default_channel(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(V1_SCHEMA)
    store = MessageStore(path, "#general")
    assert store.last_id == 7  # ids carry on where they were
    lobby = store.page(Span(), 10, channel="#general")
    assert [(m.id, m.text, m.action, m.channel) for m in lobby] == [
        (1, "hello room", False, "#general"), (3, "waves", True, "#general")]
    assert [m.text for m in store.private_after("alice", 0, 10)] == ["psst"]
    assert store.channel("#general") == ChannelRecord(name="#general")
    store.append(batch(8, 1, channel="#general"))
    store.close()
    again = MessageStore(path, "#other")  # migrated once: the history stays where it went
    assert [m.id for m in again.page(Span(), 10, channel="#general")] == [1, 3, 8]
    assert again.page(Span(), 10, channel="#other") == []
    again.close()


def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version=99")
    with pytest.raises(StoreError, match="newer version"):
        MessageStore(path, "#lobby")


def test_pages_by_span_and_between_two_nicks(tmp_path: Path) -> None:
    store = MessageStore(tmp_path / "chat.db", "#lobby")
    store.append([
        Message(id=1, ts=10.0, sender="alice", text="a1", channel="#a"),
        Message(id=2, ts=20.0, sender="Alice", text="to bob", to="bob"),
        Message(id=3, ts=30.0, sender="bob", text="to alice", to="alice"),
        Message(id=4, ts=40.0, sender="carol", text="to alice", to="alice"),
        Message(id=5, ts=50.0, sender="alice", text="a2", channel="#a"),
        Message(id=6, ts=60.0, sender="alice", text="a3", channel="#a"),
    ])
    assert [m.id for m in store.page(Span(after_id=1, newest=False), 1, channel="#a")] == [5]
    assert [m.id for m in store.page(Span(after_id=1, before_id=6, newest=False), 9,
                                     channel="#a")] == [5]
    assert [m.id for m in store.page(Span(after_ts=10.0, before_ts=60.0), 9,
                                     channel="#a")] == [5]
    assert [m.id for m in store.page(Span(), 9, party=("BOB", "alice"))] == [2, 3]
    assert [m.id for m in store.page(Span(), 9, party=("alice", "carol"))] == [4]
    assert [m.id for m in store.page(Span(before_id=3), 9, party=("bob", "alice"))] == [2]
    store.close()
