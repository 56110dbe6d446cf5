"""Limits on what one peer may do: a token bucket for sending, and password checks.

Pure bookkeeping with an injectable clock, so it is tested without sockets.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable
from typing import Final

__all__ = ["AuthGuard", "FailureDelays", "TokenBucket"]

Clock = Callable[[], float]

MAX_AUTH_DELAY_S: Final = 5.0
FAILURE_MEMORY_S: Final = 600.0


class TokenBucket:
    """Allow ``rate_per_s`` actions a second on average, ``burst`` at once.

    A rate of 0 allows everything. Not thread-safe: one per session.
    """

    def __init__(self, rate_per_s: float, burst: int, clock: Clock = time.monotonic) -> None:
        self.rate_per_s = rate_per_s
        self.burst = max(1, burst)
        self._clock = clock
        self._tokens = float(self.burst)
        self._updated = clock()

    def try_take(self) -> bool:
        """Take one token; False (and nothing taken) when the bucket is empty."""
        if self.rate_per_s <= 0:
            return True
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate_per_s)
        self._updated = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class FailureDelays:
    """Make repeated failures from one address wait longer: 0.1 s, doubling, up to 5 s.

    Failures are forgotten ten minutes after the latest one, not at a success:
    else a guesser would log in to an account of its own between guesses and
    never wait. Thread-safe.
    """

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, tuple[int, float]] = {}

    def record(self, address: str, ok: bool) -> None:
        """Note a check from ``address``; only a failure counts (a success changes nothing)."""
        if ok:
            return
        with self._lock:
            count, _ = self._recent(address)
            self._failures[address] = (count + 1, self._clock())

    def delay_s(self, address: str) -> float:
        """How long to hold the answer to ``address`` after its latest failure."""
        with self._lock:
            count, _ = self._recent(address)
        if count == 0:
            return 0.0
        return float(min(MAX_AUTH_DELAY_S, 0.1 * 2 ** (count - 1)))

    def _recent(self, address: str) -> tuple[int, float]:
        count, last = self._failures.get(address, (0, 0.0))
        if count and self._clock() - last > FAILURE_MEMORY_S:
            del self._failures[address]
            return 0, 0.0
        return count, last


class AuthGuard:
    """Check the server password; make repeated failures from one address wait longer.

    Thread-safe. With no password set every hello passes.
    """

    def __init__(self, password: str | None, clock: Clock = time.monotonic) -> None:
        self._password = password.encode() if password else None
        self._delays = FailureDelays(clock)

    @property
    def required(self) -> bool:
        return self._password is not None

    def check(self, address: str, offered: str | None) -> bool:
        """Return True if ``offered`` is the password (compared in constant time)."""
        if self._password is None:
            return True
        ok = hmac.compare_digest((offered or "").encode(), self._password)
        self._delays.record(address, ok)
        return ok

    def delay_s(self, address: str) -> float:
        """How long to hold the answer to ``address``: 0.1 s doubling per recent failure."""
        return self._delays.delay_s(address)
