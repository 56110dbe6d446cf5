"""Resume tokens: proof that a hello comes from a recent session of the same nick.

A token is the time it was issued, a random nonce, and an HMAC of the nick's
key, the time and the nonce under a server secret, so the hub keeps no table of
them: any token issued for
a nick in the last ``RESUME_TOKEN_TTL_S`` is valid, also after its connection
dropped or the server restarted (the secret is kept in the store). Pure, with
an injectable clock; thread-safe (immutable after construction).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from protocol import nick_key

__all__ = ["RESUME_TOKEN_TTL_S", "Resume", "ResumeTokens"]

RESUME_TOKEN_TTL_S: Final = 24 * 3600
_CLOCK_SKEW_S: Final = 300
_MAC_BYTES: Final = 18
_NONCE_BYTES: Final = 6


@dataclass(frozen=True, slots=True)
class Resume:
    """What a valid token proves: a session of the nick since ``issued``, identified or not."""

    issued: float
    identified: bool


class ResumeTokens:
    """Issue and check resume tokens with one secret."""

    def __init__(
        self, secret: bytes, ttl_s: float = RESUME_TOKEN_TTL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self._ttl_s = ttl_s
        self._clock = clock

    def issue(self, nick: str, identified: bool = False) -> str:
        """Return a new token for ``nick``, saying whether its session owned the account."""
        issued = int(self._clock())
        nonce = ("i" if identified else "u") + secrets.token_urlsafe(_NONCE_BYTES)
        return f"{issued:x}.{nonce}.{self._mac(nick_key(nick), issued, nonce)}"

    def check(self, token: str | None, nick: str) -> Resume | None:
        """Return what ``token`` proves if it is a valid one for ``nick`` (any spelling).

        None for a forged, foreign or expired token.
        """
        if not token:
            return None
        parts = token.split(".")
        if len(parts) != 3:
            return None
        stamp, nonce, mac = parts
        try:
            issued = int(stamp, 16)
        except ValueError:
            return None
        age = self._clock() - issued
        if not -_CLOCK_SKEW_S <= age <= self._ttl_s:
            return None
        expected = self._mac(nick_key(nick), issued, nonce)
        if not hmac.compare_digest(mac.encode(), expected.encode()):
            return None
        return Resume(issued=float(issued), identified=nonce.startswith("i"))

    def _mac(self, key: str, issued: int, nonce: str) -> str:
        message = f"{key}\0{issued}\0{nonce}".encode()
        digest = hmac.new(self._secret, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:_MAC_BYTES]).decode()
