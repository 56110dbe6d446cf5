"""Message history, channels and topics in SQLite.

The hub's thread is the only writer of messages and topics; any thread may
read. Writes and reads use separate connections, each behind its own lock, and
WAL mode lets reads run while a batch commits. A batch of messages is stored in
one transaction. Nothing here knows about sockets or users.

Schema version 2 (``PRAGMA user_version``) adds channels. A database of the
first version, which had one room, is migrated on open: its public history
becomes the default channel's, its private messages learn their parties' nick
keys for replay, and ids carry on where they were.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from protocol import Message, channel_key, nick_key
from server.hub import Span

__all__ = ["ChannelRecord", "HistoryStore", "MessageStore", "NullStore", "StoreError"]

log = logging.getLogger(__name__)

SCHEMA_VERSION: Final = 2
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    ts REAL NOT NULL,
    sender TEXT NOT NULL,
    text TEXT NOT NULL,
    action INTEGER NOT NULL DEFAULT 0,
    recipient TEXT,
    channel TEXT,
    sender_key TEXT,
    recipient_key TEXT
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""
_SCHEMA_V2_EXTRA: Final = """
CREATE INDEX IF NOT EXISTS messages_by_channel ON messages (channel, id)
    WHERE channel IS NOT NULL;
CREATE INDEX IF NOT EXISTS private_by_sender ON messages (sender_key, id)
    WHERE sender_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS private_by_recipient ON messages (recipient_key, id)
    WHERE recipient_key IS NOT NULL;
CREATE TABLE IF NOT EXISTS channels (
    key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    topic TEXT,
    topic_by TEXT,
    topic_ts REAL
);
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""
_COLUMNS: Final = "id, ts, sender, text, action, recipient"
_FIELDS_PER_ROW: Final = 9
_ROWS_PER_INSERT: Final = 100
"""Rows per INSERT: 900 parameters stay under SQLite's oldest default limit (999)."""
TRIM_CHUNK: Final = 2000
_INSERT_SQL: dict[int, str] = {}

Row = tuple[int, float, str, str, int, str | None]


class StoreError(Exception):
    """The database cannot be opened or written; the message says why in a sentence."""


@dataclass(frozen=True, slots=True)
class ChannelRecord:
    """What is kept of a channel while nobody is in it: its spelling and topic."""

    name: str
    topic: str | None = None
    topic_by: str | None = None
    topic_ts: float | None = None


class HistoryStore(Protocol):
    """What the hub needs from a history store."""

    @property
    def last_id(self) -> int: ...

    def append(self, messages: list[Message]) -> None: ...

    def page(self, span: Span, limit: int, channel: str | None = None,
             party: tuple[str, str] | None = None) -> list[Message]: ...

    def private_after(
        self, nick: str, since: int, limit: int, not_before: float = 0.0
    ) -> list[Message]: ...

    def channel(self, key: str) -> ChannelRecord | None: ...

    def save_channel(self, record: ChannelRecord) -> None: ...

    def secret(self, name: str) -> bytes: ...

    def trim(self, keep: int) -> int: ...

    def close(self) -> None: ...


class NullStore:
    """Keeps nothing: only for measuring what persistence costs (``--no-persist``)."""

    def __init__(self) -> None:
        self._last_id = 0
        self._secrets: dict[str, bytes] = {}

    @property
    def last_id(self) -> int:
        return self._last_id

    def append(self, messages: list[Message]) -> None:
        if messages:
            self._last_id = messages[-1].id

    def page(self, span: Span, limit: int, channel: str | None = None,
             party: tuple[str, str] | None = None) -> list[Message]:
        return []

    def private_after(
        self, nick: str, since: int, limit: int, not_before: float = 0.0
    ) -> list[Message]:
        return []

    def channel(self, key: str) -> ChannelRecord | None:
        return None

    def save_channel(self, record: ChannelRecord) -> None:
        """Nothing to save."""

    def secret(self, name: str) -> bytes:
        return self._secrets.setdefault(name, secrets.token_bytes(32))

    def trim(self, keep: int) -> int:
        return 0

    def close(self) -> None:
        """Nothing to close."""


class MessageStore:
    """Every message ever sent (private ones too, so ids are never reused).

    Messages name their channel by its display name; the store files them under
    the channel's key. Thread-safe: writes serialise on the write connection's
    lock, queries on the read connection's lock.
    """

    def __init__(
        self, path: Path | str, default_channel: str, max_bytes: int | None = None
    ) -> None:
        self.path = str(path)
        self._keys: dict[str, str] = {}
        try:
            self._writer = self._connect()
            self._writer.execute("PRAGMA journal_mode=WAL")
            self._writer.execute("PRAGMA synchronous=NORMAL")
            self._open_schema(default_channel)
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

    def _open_schema(self, default_channel: str) -> None:
        """Create the tables, or bring a first-version database up to date."""
        db = self._writer
        (version,) = db.execute("PRAGMA user_version").fetchone()
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f"made by a newer version (schema {version})")
        if version == SCHEMA_VERSION:
            return
        had_messages = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='messages'"
        ).fetchone()
        db.execute("BEGIN IMMEDIATE")
        try:
            if had_messages:
                _migrate_from_v1(db, default_channel)
            else:
                _run_script(db, _SCHEMA)
            _run_script(db, _SCHEMA_V2_EXTRA)
            db.execute(
                "INSERT OR IGNORE INTO channels (key, name) VALUES (?, ?)",
                (channel_key(default_channel), default_channel),
            )
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _read_last_id(self) -> int:
        (max_id,) = self._writer.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()
        row = self._writer.execute("SELECT value FROM meta WHERE key='last_id'").fetchone()
        return max(int(max_id), int(row[0]) if row else 0)

    @property
    def last_id(self) -> int:
        """The highest message id ever stored (0 for a new database)."""
        return self._last_id

    def _key(self, name: str) -> str:
        key = self._keys.get(name)
        if key is None:
            if len(self._keys) > 10_000:
                self._keys.clear()
            key = self._keys[name] = channel_key(name)
        return key

    def append(self, messages: list[Message]) -> None:
        """Store a batch in one transaction; raise StoreError if it fails (nothing is stored)."""
        if not messages:
            return
        values: list[object] = []
        for m in messages:
            if m.to is None:
                channel = self._key(m.channel) if m.channel is not None else None
                values += (m.id, m.ts, m.sender, m.text, int(m.action), None, channel, None, None)
            else:
                values += (m.id, m.ts, m.sender, m.text, int(m.action), m.to, None,
                           nick_key(m.sender), nick_key(m.to))
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
            self._last_id = messages[-1].id

    def _insert(self, values: Sequence[object]) -> None:
        """Insert rows with one multi-row statement.

        One statement is one ``sqlite3_step``: the GIL is released and taken back
        once per batch, not once per row as with ``executemany``. Under load,
        taking it back can cost up to a switch interval each time.
        """
        rows = len(values) // _FIELDS_PER_ROW
        sql = _INSERT_SQL.get(rows)
        if sql is None:
            placeholders = ",".join(["(?,?,?,?,?,?,?,?,?)"] * rows)
            sql = _INSERT_SQL.setdefault(
                rows,
                f"INSERT INTO messages ({_COLUMNS}, channel, sender_key, recipient_key) "
                f"VALUES {placeholders}",
            )
        self._writer.execute(sql, values)

    def page(self, span: Span, limit: int, channel: str | None = None,
             party: tuple[str, str] | None = None) -> list[Message]:
        """Return up to ``limit`` messages of a channel (by name), or between two nicks.

        Within ``span``'s bounds, the newest or the oldest of them; oldest first.
        """
        where, args = _span_condition(span)
        if channel is not None:
            where.append("channel = ?")
            args.append(self._key(channel))
        elif party is not None:
            me, other = nick_key(party[0]), nick_key(party[1])
            where.append("((sender_key = ? AND recipient_key = ?) OR "
                         "(sender_key = ? AND recipient_key = ?))")
            args += [me, other, other, me]
        order = "DESC" if span.newest else "ASC"
        rows = self._query(
            f"SELECT {_COLUMNS} FROM messages WHERE {' AND '.join(where)} "
            f"ORDER BY id {order} LIMIT ?",
            (*args, limit),
        )
        if span.newest:
            rows.reverse()
        return _messages(rows, channel)

    def private_after(
        self, nick: str, since: int, limit: int, not_before: float = 0.0
    ) -> list[Message]:
        """Return the newest ``limit`` private messages to or from ``nick`` after ``since``.

        Only those sent at ``not_before`` (unix seconds) or later.
        """
        key = nick_key(nick)
        rows = self._query(
            f"SELECT {_COLUMNS} FROM messages WHERE id > ? AND ts >= ? AND "
            "(sender_key = ? OR recipient_key = ?) ORDER BY id DESC LIMIT ?",
            (since, not_before, key, key, limit),
        )
        return _messages(reversed(rows), None)

    def _query(self, sql: str, args: tuple[object, ...]) -> list[Row]:
        with self._read_lock:
            try:
                return self._reader.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"Cannot read history from {self.path}: {exc}.") from None

    def channel(self, key: str) -> ChannelRecord | None:
        """Return what is kept of the channel with this key, if it ever existed."""
        with self._read_lock:
            try:
                row = self._reader.execute(
                    "SELECT name, topic, topic_by, topic_ts FROM channels WHERE key = ?", (key,)
                ).fetchone()
            except sqlite3.Error as exc:
                raise StoreError(f"Cannot read channels from {self.path}: {exc}.") from None
        return None if row is None else ChannelRecord(*row)

    def save_channel(self, record: ChannelRecord) -> None:
        """Keep a channel's spelling and topic (replacing what was kept)."""
        with self._write_lock:
            try:
                self._writer.execute(
                    "INSERT INTO channels (key, name, topic, topic_by, topic_ts) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                    "name=excluded.name, topic=excluded.topic, topic_by=excluded.topic_by, "
                    "topic_ts=excluded.topic_ts",
                    (channel_key(record.name), record.name, record.topic, record.topic_by,
                     record.topic_ts),
                )
            except sqlite3.Error as exc:
                raise StoreError(f"Cannot store the channel in {self.path}: {exc}.") from None

    def secret(self, name: str) -> bytes:
        """Return the named server secret, made (and kept) on first use."""
        with self._write_lock:
            try:
                row = self._writer.execute(
                    "SELECT value FROM settings WHERE key = ?", (name,)
                ).fetchone()
                if row is None:
                    value = secrets.token_hex(32)
                    self._writer.execute(
                        "INSERT INTO settings (key, value) VALUES (?, ?)", (name, value)
                    )
                else:
                    (value,) = row
            except sqlite3.Error as exc:
                raise StoreError(f"Cannot keep a secret in {self.path}: {exc}.") from None
        return bytes.fromhex(value)

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


def _span_condition(span: Span) -> tuple[list[str], list[object]]:
    where: list[str] = ["1"]
    args: list[object] = []
    for column, op, value in (("id", ">", span.after_id), ("id", "<", span.before_id),
                              ("ts", ">", span.after_ts), ("ts", "<", span.before_ts)):
        if value is not None:
            where.append(f"{column} {op} ?")
            args.append(value)
    return where, args


def _messages(rows: Iterable[Row], channel: str | None) -> list[Message]:
    return [
        Message(id=msg_id, ts=ts, sender=sender, text=text, action=bool(action), to=recipient,
                channel=channel if recipient is None else None)
        for msg_id, ts, sender, text, action, recipient in rows
    ]


def _run_script(db: sqlite3.Connection, script: str) -> None:
    """Run statements one by one: ``executescript`` would commit the open transaction."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _migrate_from_v1(db: sqlite3.Connection, default_channel: str) -> None:
    """File a one-room history under the default channel (inside the caller's transaction)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(messages)")}
    for column in ("channel", "sender_key", "recipient_key"):
        if column not in columns:
            db.execute(f"ALTER TABLE messages ADD COLUMN {column} TEXT")
    db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    moved = db.execute(
        "UPDATE messages SET channel = ? WHERE recipient IS NULL AND channel IS NULL",
        (channel_key(default_channel),),
    ).rowcount
    private = db.execute(
        "SELECT id, sender, recipient FROM messages WHERE recipient IS NOT NULL"
    ).fetchall()
    db.executemany(
        "UPDATE messages SET sender_key = ?, recipient_key = ? WHERE id = ?",
        [(nick_key(sender), nick_key(recipient), msg_id) for msg_id, sender, recipient in private],
    )
    log.info(
        "database upgraded to schema %d: %d messages now in %s, %d private",
        SCHEMA_VERSION, moved, default_channel, len(private),
    )
