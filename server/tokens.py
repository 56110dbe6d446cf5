"""Resume tokens: proof that a hello comes from a session of the nick's current claim.

A nick is held under a *claim*: a random id, new whenever someone takes the
nick without a valid token (a fresh hello, a rename, an identify), and also
whenever its account changes (register, set_password, unregister, a reset).
A resume keeps the claim. A claim lasts while the nick is held, and
``RESUME_TOKEN_TTL_S`` after its session leaves; the hub keeps it (in its
store, or in Redis), so it outlives restarts.

A token is the time it was issued, a random nonce, and an HMAC of the nick's
key, the time, the nonce and the claim's id under a server secret. So it is
valid only for the claim it was issued under: once someone else took the nick,
or its password changed, earlier tokens are worth nothing; and a session
connected for days still resumes with the token of its welcome a day after it
drops. Pure, with an injectable clock; thread-safe (immutable after construction).
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

__all__ = ["RESUME_TOKEN_TTL_S", "Claim", "Resume", "ResumeTokens", "new_claim_id"]

RESUME_TOKEN_TTL_S: Final = 24 * 3600
"""How long a claim (and so its tokens) outlives the session that held it."""
_MAC_BYTES: Final = 18
_NONCE_BYTES: Final = 6
_CLAIM_BYTES: Final = 12


def new_claim_id() -> str:
    return secrets.token_urlsafe(_CLAIM_BYTES)


@dataclass(frozen=True, slots=True)
class Claim:
    """A nick's current claim: its id, and until when it lasts (None: while it is held)."""

    id: str
    until: float | None = None

    def active(self, now: float) -> bool:
        return self.until is None or now <= self.until


@dataclass(frozen=True, slots=True)
class Resume:
    """What a valid token proves: a session of the claim since ``issued``, identified or not."""

    issued: float
    identified: bool


class ResumeTokens:
    """Issue and check resume tokens with one secret."""

    def __init__(self, secret: bytes, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._clock = clock

    def issue(self, nick: str, claim: str, identified: bool = False) -> str:
        """Return a new token for ``nick`` held under ``claim``, saying whether it is owned."""
        issued = int(self._clock())
        nonce = ("i" if identified else "u") + secrets.token_urlsafe(_NONCE_BYTES)
        return f"{issued:x}.{nonce}.{self._mac(nick_key(nick), issued, nonce, claim)}"

    def check(self, token: str | None, nick: str, claim: Claim | None) -> Resume | None:
        """Return what ``token`` proves if it is valid for ``nick`` (any spelling) now.

        None for a forged or foreign token, one of an earlier claim, or when
        the nick has no active ``claim``.
        """
        if not token or claim is None or not claim.active(self._clock()):
            return None
        parts = token.split(".")
        if len(parts) != 3:
            return None
        stamp, nonce, mac = parts
        try:
            issued = int(stamp, 16)
        except ValueError:
            return None
        expected = self._mac(nick_key(nick), issued, nonce, claim.id)
        if not hmac.compare_digest(mac.encode(), expected.encode()):
            return None
        return Resume(issued=float(issued), identified=nonce.startswith("i"))

    def _mac(self, key: str, issued: int, nonce: str, claim: str) -> str:
        message = f"{key}\0{issued}\0{nonce}\0{claim}".encode()
        digest = hmac.new(self._secret, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:_MAC_BYTES]).decode()
