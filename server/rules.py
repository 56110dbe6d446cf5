"""The rules a server keeps: accounts, channel operators, channel modes, bans, nick claims.

:class:`Ban` and :func:`find_ban` are pure. :class:`RulesStore` is what the
in-process hub needs kept; :class:`SqliteRules` keeps it in the chat's SQLite
file (tables of its own, on a connection of its own), :class:`MemoryRules` in
memory (``--no-persist``, tests). A cluster keeps the same in Redis
(``server.redis_scripts``). Thread-safe.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from server.accounts import AccountRecord
from server.store import StoreError
from server.tokens import Claim

__all__ = [
    "SERVER_SCOPE", "Ban", "ClaimChange", "MemoryRules", "RulesStore", "SqliteRules",
    "ban_from_json", "ban_to_json", "find_ban",
]

SERVER_SCOPE: Final = ""
"""The scope of a server-wide ban (a channel's bans have its key)."""

BY_ACCOUNT: Final = "account"
BY_NICK: Final = "nick"
BY_ADDRESS: Final = "address"


@dataclass(frozen=True, slots=True)
class Ban:
    """Someone kept out of a channel (or the server) until ``until`` (None: until lifted)."""

    scope: str
    kind: str
    value: str
    until: float | None
    reason: str
    by: str
    target: str = ""
    """The nick key of who was banned (an address ban keeps it too, for unban)."""

    def active(self, now: float) -> bool:
        return self.until is None or now < self.until

    def lifted_by(self, key: str) -> bool:
        """Tell whether an unban of nick key ``key`` lifts this ban.

        It does if the ban was made on that nick, or holds that nick or that
        account (banned under another nick it was using).
        """
        return self.target == key or (self.kind in (BY_ACCOUNT, BY_NICK) and self.value == key)


def ban_to_json(ban: Ban) -> dict[str, object]:
    return asdict(ban)


def ban_from_json(raw: str | bytes) -> Ban:
    fields = json.loads(raw)
    return Ban(scope=fields["scope"], kind=fields["kind"], value=fields["value"],
               until=fields.get("until"), reason=fields.get("reason") or "",
               by=fields.get("by") or "", target=fields.get("target") or "")


def find_ban(bans: list[Ban], now: float, account: str | None, nick: str,
             address: str | None) -> Ban | None:
    """Return the active ban that holds a user (by account, nick key or address), if any."""
    wanted = {(BY_NICK, nick)}
    if account is not None:
        wanted.add((BY_ACCOUNT, account))
    if address is not None:
        wanted.add((BY_ADDRESS, address))
    for ban in bans:
        if (ban.kind, ban.value) in wanted and ban.active(now):
            return ban
    return None


@dataclass(frozen=True, slots=True)
class ClaimChange:
    """A change to a nick's claim (see ``server.tokens``).

    ``taken``: the nick is now held under ``claim`` (whatever claim it had);
    else the claim is released until ``until``, if it is still the nick's.
    """

    key: str
    claim: str
    until: float | None = None
    taken: bool = False


class RulesStore(Protocol):
    """What the in-process hub needs kept of accounts and moderation."""

    def account(self, key: str) -> AccountRecord | None: ...

    def save_account(self, record: AccountRecord) -> None: ...

    def delete_account(self, key: str) -> None: ...

    def operators(self, channel: str) -> set[str]: ...

    def set_operator(self, channel: str, account: str, on: bool) -> None: ...

    def modes(self, channel: str) -> tuple[bool, bool]: ...

    def save_modes(self, channel: str, topic_lock: bool, invite_only: bool) -> None: ...

    def bans(self, scope: str) -> list[Ban]: ...

    def save_ban(self, ban: Ban) -> None: ...

    def delete_bans(self, scope: str, target: str) -> list[Ban]: ...

    def claim(self, key: str) -> Claim | None: ...

    def save_claims(self, changes: list[ClaimChange]) -> None:
        """Make the changes, in order, all or none."""

    def release_claims(self, now: float, until: float) -> None:
        """Release every claim still held (at start: their sessions are gone); drop old ones."""

    def delete_claim(self, key: str) -> None: ...

    def close(self) -> None: ...


class MemoryRules:
    """Rules kept in memory only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._accounts: dict[str, AccountRecord] = {}
        self._ops: dict[str, set[str]] = {}
        self._modes: dict[str, tuple[bool, bool]] = {}
        self._bans: dict[tuple[str, str, str], Ban] = {}
        self._claims: dict[str, Claim] = {}

    def account(self, key: str) -> AccountRecord | None:
        with self._lock:
            return self._accounts.get(key)

    def save_account(self, record: AccountRecord) -> None:
        with self._lock:
            self._accounts[record.key] = record

    def delete_account(self, key: str) -> None:
        with self._lock:
            self._accounts.pop(key, None)
            for ops in self._ops.values():
                ops.discard(key)

    def operators(self, channel: str) -> set[str]:
        with self._lock:
            return set(self._ops.get(channel, ()))

    def set_operator(self, channel: str, account: str, on: bool) -> None:
        with self._lock:
            ops = self._ops.setdefault(channel, set())
            if on:
                ops.add(account)
            else:
                ops.discard(account)

    def modes(self, channel: str) -> tuple[bool, bool]:
        with self._lock:
            return self._modes.get(channel, (False, False))

    def save_modes(self, channel: str, topic_lock: bool, invite_only: bool) -> None:
        with self._lock:
            self._modes[channel] = (topic_lock, invite_only)

    def bans(self, scope: str) -> list[Ban]:
        with self._lock:
            return [b for b in self._bans.values() if b.scope == scope]

    def save_ban(self, ban: Ban) -> None:
        with self._lock:
            self._bans[(ban.scope, ban.kind, ban.value)] = ban

    def delete_bans(self, scope: str, target: str) -> list[Ban]:
        with self._lock:
            gone = [b for b in self._bans.values() if b.scope == scope and b.lifted_by(target)]
            for ban in gone:
                del self._bans[(ban.scope, ban.kind, ban.value)]
            return gone

    def claim(self, key: str) -> Claim | None:
        with self._lock:
            return self._claims.get(key)

    def save_claims(self, changes: list[ClaimChange]) -> None:
        with self._lock:
            for change in changes:
                current = self._claims.get(change.key)
                if change.taken:
                    self._claims[change.key] = Claim(change.claim)
                elif current is not None and current.id == change.claim:
                    self._claims[change.key] = Claim(change.claim, change.until)

    def release_claims(self, now: float, until: float) -> None:
        with self._lock:
            self._claims = {key: claim if claim.until is not None else Claim(claim.id, until)
                            for key, claim in self._claims.items() if claim.active(now)}

    def delete_claim(self, key: str) -> None:
        with self._lock:
            self._claims.pop(key, None)

    def close(self) -> None:
        """Nothing to close."""


_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS accounts (
    key TEXT PRIMARY KEY, nick TEXT NOT NULL, salt BLOB NOT NULL, digest BLOB NOT NULL,
    n INTEGER NOT NULL, r INTEGER NOT NULL, p INTEGER NOT NULL, created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS channel_operators (
    channel TEXT NOT NULL, account TEXT NOT NULL, PRIMARY KEY (channel, account)
);
CREATE TABLE IF NOT EXISTS channel_modes (
    channel TEXT PRIMARY KEY, topic_lock INTEGER NOT NULL, invite_only INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS bans (
    scope TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, until REAL,
    reason TEXT NOT NULL, by TEXT NOT NULL, target TEXT NOT NULL,
    PRIMARY KEY (scope, kind, value)
);
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY, claim TEXT NOT NULL, until REAL
)
"""


class SqliteRules:
    """Rules kept in the chat's SQLite file, beside the history."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout=5000")
            for statement in _SCHEMA.split(";"):
                self._db.execute(statement)
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot use the database {self.path}: {exc}.") from None

    def _run(self, sql: str, args: tuple[object, ...] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"Cannot keep accounts and bans in {self.path}: {exc}.") from None

    def account(self, key: str) -> AccountRecord | None:
        rows = self._run(
            "SELECT nick, salt, digest, n, r, p, created FROM accounts WHERE key = ?", (key,))
        return AccountRecord(*rows[0]) if rows else None

    def save_account(self, record: AccountRecord) -> None:
        self._run(
            "INSERT INTO accounts (key, nick, salt, digest, n, r, p, created) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET nick=excluded.nick, "
            "salt=excluded.salt, digest=excluded.digest, n=excluded.n, r=excluded.r, "
            "p=excluded.p",
            (record.key, record.nick, record.salt, record.digest, record.n, record.r, record.p,
             record.created),
        )

    def delete_account(self, key: str) -> None:
        self._run("DELETE FROM accounts WHERE key = ?", (key,))
        self._run("DELETE FROM channel_operators WHERE account = ?", (key,))

    def operators(self, channel: str) -> set[str]:
        rows = self._run("SELECT account FROM channel_operators WHERE channel = ?", (channel,))
        return {str(account) for (account,) in rows}

    def set_operator(self, channel: str, account: str, on: bool) -> None:
        if on:
            self._run("INSERT OR IGNORE INTO channel_operators VALUES (?, ?)", (channel, account))
        else:
            self._run("DELETE FROM channel_operators WHERE channel = ? AND account = ?",
                      (channel, account))

    def modes(self, channel: str) -> tuple[bool, bool]:
        rows = self._run("SELECT topic_lock, invite_only FROM channel_modes WHERE channel = ?",
                         (channel,))
        return (bool(rows[0][0]), bool(rows[0][1])) if rows else (False, False)

    def save_modes(self, channel: str, topic_lock: bool, invite_only: bool) -> None:
        self._run("INSERT INTO channel_modes VALUES (?, ?, ?) ON CONFLICT(channel) DO UPDATE SET "
                  "topic_lock=excluded.topic_lock, invite_only=excluded.invite_only",
                  (channel, int(topic_lock), int(invite_only)))

    def bans(self, scope: str) -> list[Ban]:
        rows = self._run("SELECT scope, kind, value, until, reason, by, target FROM bans "
                         "WHERE scope = ?", (scope,))
        return [Ban(*row) for row in rows]

    def save_ban(self, ban: Ban) -> None:
        self._run("INSERT OR REPLACE INTO bans VALUES (?, ?, ?, ?, ?, ?, ?)",
                  (ban.scope, ban.kind, ban.value, ban.until, ban.reason, ban.by, ban.target))

    def delete_bans(self, scope: str, target: str) -> list[Ban]:
        gone = [b for b in self.bans(scope) if b.lifted_by(target)]
        for ban in gone:
            self._run("DELETE FROM bans WHERE scope = ? AND kind = ? AND value = ?",
                      (scope, ban.kind, ban.value))
        return gone

    def claim(self, key: str) -> Claim | None:
        rows = self._run("SELECT claim, until FROM claims WHERE key = ?", (key,))
        return Claim(rows[0][0], rows[0][1]) if rows else None

    def save_claims(self, changes: list[ClaimChange]) -> None:
        """Make the changes in one transaction (one write to the disk for a batch)."""
        with self._lock:
            try:
                self._db.execute("BEGIN")
                for change in changes:
                    if change.taken:
                        self._db.execute("INSERT OR REPLACE INTO claims VALUES (?, ?, NULL)",
                                         (change.key, change.claim))
                    else:
                        self._db.execute(
                            "UPDATE claims SET until = ? WHERE key = ? AND claim = ?",
                            (change.until, change.key, change.claim))
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise StoreError(f"Cannot keep nick claims in {self.path}: {exc}.") from None

    def release_claims(self, now: float, until: float) -> None:
        self._run("DELETE FROM claims WHERE until < ?", (now,))
        self._run("UPDATE claims SET until = ? WHERE until IS NULL", (until,))

    def delete_claim(self, key: str) -> None:
        self._run("DELETE FROM claims WHERE key = ?", (key,))

    def close(self) -> None:
        with self._lock:
            self._db.close()
