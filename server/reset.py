"""``python3 -m server --reset-password NICK``: a new password for a forgotten one.

Run on the server's machine by whoever runs the server: it asks for the new
password twice on the terminal (never on the command line) and writes it
straight into the chat's store (the SQLite file, or the cluster's Redis). It
also voids the nick's resume tokens (see ``server.tokens``): whoever held a
session of the account must log in with the new password.
"""

from __future__ import annotations

import dataclasses
import getpass
import logging
import time

from protocol import ProtocolError, nick_key, validate_password
from server.accounts import make_record
from server.hub import BackplaneError
from server.rules import SqliteRules
from server.store import StoreError

__all__ = ["reset_password"]

log = logging.getLogger("server")


def _ask() -> str | None:
    first = getpass.getpass("New password: ")
    if first != getpass.getpass("Again: "):
        log.error("The two passwords differ; nothing was changed.")
        return None
    try:
        return validate_password(first)
    except ProtocolError as exc:
        log.error("%s", exc.message)
        return None


def reset_password(nick: str, db_path: str, redis_url: str | None) -> int:
    """Reset the password of ``nick``'s account; return the exit status."""
    try:
        password = _ask()
    except (EOFError, KeyboardInterrupt):
        return 2
    if password is None:
        return 2
    key = nick_key(nick)
    try:
        if redis_url is None:
            return _reset_local(db_path, key, nick, password)
        return _reset_cluster(redis_url, key, nick, password)
    except (StoreError, BackplaneError) as exc:
        log.error("%s", exc)
        return 2


def _reset_local(db_path: str, key: str, nick: str, password: str) -> int:
    rules = SqliteRules(db_path)
    try:
        record = rules.account(key)
        if record is None:
            log.error("%s is not a registered nick.", nick)
            return 2
        fresh = make_record(record.nick, password, time.time())
        rules.save_account(dataclasses.replace(fresh, created=record.created))
        rules.delete_claim(key)  # no earlier resume token takes the nick now
    finally:
        rules.close()
    log.info("the password of %s was reset", record.nick)
    return 0


def _reset_cluster(url: str, key: str, nick: str, password: str) -> int:
    from server.redis_hub import connect

    client = connect(url)
    spelt = client.hget(f"tc:account:{key}", "nick")
    if not isinstance(spelt, bytes):
        log.error("%s is not a registered nick.", nick)
        return 2
    nick = spelt.decode()
    record = make_record(nick, password, time.time())
    client.hset(f"tc:account:{key}", mapping={
        "salt": record.salt.hex(), "digest": record.digest.hex(), "n": record.n,
        "r": record.r, "p": record.p,
    })
    client.delete(f"tc:claim:{key}")  # no earlier resume token takes the nick now
    log.info("the password of %s was reset", nick)
    return 0
