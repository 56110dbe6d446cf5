"""Nick passwords: how they are hashed, and checked.

A password is never stored: ``hashlib.scrypt`` derives a key from it and a
random per-account salt, with the parameters below (kept with each record, so
they can be raised later without breaking old accounts). Deriving takes tens of
milliseconds and much memory on purpose; callers do it on the requesting
connection's own thread (``hashlib`` releases the GIL meanwhile), never on a
hub thread. At most ``MAX_DERIVING`` derivations run at once, whatever the number
of connections asking, so a crowd of logins costs time, not unbounded memory.
Thread-safe; pure apart from the salt's randomness and that bound.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from typing import Final

from protocol import nick_key

__all__ = [
    "MAX_DERIVING", "SCRYPT_N", "SCRYPT_P", "SCRYPT_R", "AccountRecord", "make_record",
    "verify_password",
]

SCRYPT_N: Final = 2**14
"""CPU and memory cost: 16 MiB with r = 8."""
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
SALT_BYTES: Final = 16
KEY_BYTES: Final = 32
_MAX_MEM: Final = 64 * 1024 * 1024
MAX_DERIVING: Final = 4
"""Derivations running at once: at most 64 MiB of scrypt memory in all; more wait."""
_deriving = threading.BoundedSemaphore(MAX_DERIVING)


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """A registered nick: its spelling, and what checks its password."""

    nick: str
    salt: bytes
    digest: bytes
    n: int = SCRYPT_N
    r: int = SCRYPT_R
    p: int = SCRYPT_P
    created: float = 0.0

    @property
    def key(self) -> str:
        return nick_key(self.nick)


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    with _deriving:
        return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                              maxmem=_MAX_MEM, dklen=KEY_BYTES)


def make_record(nick: str, password: str, now: float) -> AccountRecord:
    """Return a new account record for ``nick`` with a fresh salt."""
    salt = secrets.token_bytes(SALT_BYTES)
    return AccountRecord(nick=nick, salt=salt, digest=_derive(password, salt, SCRYPT_N,
                                                                SCRYPT_R, SCRYPT_P),
                         created=now)


def verify_password(record: AccountRecord, password: str) -> bool:
    """Tell whether ``password`` is the account's (compared in constant time)."""
    digest = _derive(password, record.salt, record.n, record.r, record.p)
    return hmac.compare_digest(digest, record.digest)
