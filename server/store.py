"""Message history in SQLite: append batches in one transaction, read pages back.

The room's worker thread is the only writer; any thread may read. Writes and
reads use separate connections, each behind its own lock, and WAL mode lets
reads run while a batch commits. Nothing here knows about sockets or users.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Final, Protocol

from protocol import Message

__all__ = ["HistoryStore", "MessageStore", "NullStore", "StoreError"]

log = logging.getLogger(__name__)

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    sender TEXT NOT NULL,
    text TEXT NOT NULL,
    action INTEGER NOT NULL DEFAULT 0,
    recipient TEXT
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""
_COLUMNS: Final = "id, ts, sender, text, action, recipient"
TRIM_CHUNK: Final = 2000
_FIELDS_PER_ROW: Final = 6
_ROWS_PER_INSERT: Final = 150
"""Rows per INSERT: 900 parameters stay under SQLite's oldest default limit (999)."""
_INSERT_SQL: dict[int, str] = {}


class StoreError(Exception):
    """The database cannot be opened or written; the message says why in a sentence."""


def _row_to_message(row: tuple[int, float, str, str, int, str | None]) -> Message:
    msg_id, ts, sender, text, action, recipient = row
    return Message(id=msg_id, ts=ts, sender=sender, text=text, action=bool(action), to=recipient)


class HistoryStore(Protocol):
    """What the room needs from a history store."""

    @property
    def last_id(self) -> int: ...

    def append(self, messages: list[Message]) -> None: ...

    def latest(self, limit: int) -> list[Message]: ...

    def before(self, before_id: int | None, limit: int) -> list[Message]: ...

    def trim(self, keep: int) -> int: ...

    def close(self) -> None: ...


class NullStore:
    """Keeps nothing: only for measuring what persistence costs (``--no-persist``)."""

    def __init__(self) -> None:
        self._last_id = 0

    @property
    def last_id(self) -> int:
        return self._last_id

    def append(self, messages: list[Message]) -> None:
        if messages:
            self._last_id = messages[-1].id

    def latest(self, limit: int) -> list[Message]:
        return []

    def before(self, before_id: int | None, limit: int) -> list[Message]:
        return []

    def trim(self, keep: int) -> int:
        return 0

    def close(self) -> None:
        """Nothing to close."""


class MessageStore:
    """Every message ever sent (private ones too, so ids are never reused).

    Thread-safe: ``append`` and ``trim`` serialise on the write connection's lock,
    queries on the read connection's lock.
    """

    def __init__(self, path: Path | str, max_bytes: int | None = None) -> None:
        self.path = str(path)
        try:
            self._writer = self._connect()
            self._writer.executescript(_SCHEMA)
            self._writer.execute("PRAGMA journal_mode=WAL")
            self._writer.execute("PRAGMA synchronous=NORMAL")
            if max_bytes is not None:
                (page_size,) = self._writer.execute("PRAGMA page_size").fetchone()
                self._writer.execute(f"PRAGMA max_page_count={max(1, max_bytes // page_size)}")
            self._reader = self._connect()
            self._last_id = self._read_last_id()
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot use the database {self.path}: {exc}.") from None
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=5000")
        return conn

    def _read_last_id(self) -> int:
        (max_id,) = self._writer.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()
        row = self._writer.execute("SELECT value FROM meta WHERE key='last_id'").fetchone()
        return max(int(max_id), int(row[0]) if row else 0)

    @property
    def last_id(self) -> int:
        """The highest message id ever stored (0 for a new database)."""
        return self._last_id

    def append(self, messages: list[Message]) -> None:
        """Store a batch in one transaction; raise StoreError if it fails (nothing is stored)."""
        if not messages:
            return
        values = [
            value
            for m in messages
            for value in (m.id, m.ts, m.sender, m.text, int(m.action), m.to)
        ]
        last_id = messages[-1].id
        step = _ROWS_PER_INSERT * _FIELDS_PER_ROW
        with self._write_lock:
            try:
                if len(values) <= step:
                    self._insert(values)  # one statement: atomic by itself
                else:
                    self._writer.execute("BEGIN IMMEDIATE")
                    for start in range(0, len(values), step):
                        self._insert(values[start : start + step])
                    self._writer.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._writer.in_transaction:
                    self._writer.execute("ROLLBACK")
                raise StoreError(f"Cannot store messages in {self.path}: {exc}.") from None
            self._last_id = last_id

    def _insert(self, values: Sequence[object]) -> None:
        """Insert rows with one multi-row statement.

        One statement is one ``sqlite3_step``: the GIL is released and taken back
        once per batch, not once per row as with ``executemany``. Under load,
        taking it back can cost up to a switch interval each time.
        """
        rows = len(values) // _FIELDS_PER_ROW
        sql = _INSERT_SQL.get(rows)
        if sql is None:
            placeholders = ",".join(["(?,?,?,?,?,?)"] * rows)
            sql = _INSERT_SQL.setdefault(
                rows, f"INSERT INTO messages ({_COLUMNS}) VALUES {placeholders}"
            )
        self._writer.execute(sql, values)

    def latest(self, limit: int) -> list[Message]:
        """Return up to ``limit`` newest public messages, oldest first."""
        return self._query_public("", (), limit)

    def before(self, before_id: int | None, limit: int) -> list[Message]:
        """Return up to ``limit`` public messages older than ``before_id``, oldest first."""
        if before_id is None:
            return self.latest(limit)
        return self._query_public("AND id < ?", (before_id,), limit)

    def _query_public(self, condition: str, args: tuple[int, ...], limit: int) -> list[Message]:
        sql = (
            f"SELECT {_COLUMNS} FROM messages WHERE recipient IS NULL {condition} "
            "ORDER BY id DESC LIMIT ?"
        )
        with self._read_lock:
            try:
                rows = self._reader.execute(sql, (*args, limit)).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"Cannot read history from {self.path}: {exc}.") from None
        return [_row_to_message(row) for row in reversed(rows)]

    def trim(self, keep: int) -> int:
        """Delete all but the newest ``keep`` messages; return how many went.

        Deletes in transactions of ``TRIM_CHUNK`` rows, releasing the write lock
        in between, so appends (and so relaying) never wait for more than one chunk.
        """
        with self._read_lock:
            try:
                row = self._reader.execute(
                    "SELECT id FROM messages ORDER BY id DESC LIMIT 1 OFFSET ?", (keep,)
                ).fetchone()
            except sqlite3.Error as exc:
                raise StoreError(f"Cannot trim history in {self.path}: {exc}.") from None
        if row is None:
            return 0
        self._remember_last_id()
        cutoff, deleted = row[0], 0
        while True:
            with self._write_lock:
                try:
                    cursor = self._writer.execute(
                        "DELETE FROM messages WHERE id IN "
                        "(SELECT id FROM messages WHERE id <= ? ORDER BY id LIMIT ?)",
                        (cutoff, TRIM_CHUNK),
                    )
                except sqlite3.Error as exc:
                    raise StoreError(f"Cannot trim history in {self.path}: {exc}.") from None
            deleted += cursor.rowcount
            if cursor.rowcount < TRIM_CHUNK:
                return deleted

    def _remember_last_id(self) -> None:
        """Record the highest id before trimming, so ids never go back even if all go."""
        with self._write_lock:
            try:
                self._writer.execute(
                    "INSERT INTO meta (key, value) VALUES ('last_id', ?) "
                    "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                    (self._last_id,),
                )
            except sqlite3.Error as exc:
                raise StoreError(f"Cannot trim history in {self.path}: {exc}.") from None

    def close(self) -> None:
        """Close both connections (a checkpoint folds the WAL back into the file)."""
        with self._write_lock, self._read_lock:
            self._reader.close()
            self._writer.close()
