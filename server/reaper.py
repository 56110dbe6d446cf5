"""Find silent connections: ping them, and close those that stay silent.

One thread wakes every quarter of the idle timeout (once a minute by default),
so an idle server does next to nothing, and a silent session is pinged at
least a quarter of the timeout before it is closed, even when it wakes a little late.
A session counts as heard from whenever any bytes arrive from it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Final, Protocol

from protocol import ByeReason

__all__ = ["IdleReaper"]

log = logging.getLogger(__name__)

CHECKS_PER_TIMEOUT: Final = 4
"""Checks per idle timeout: a ping (at half) comes at least one check before the close."""


class Watched(Protocol):
    """What the reaper needs from a session."""

    peer: str
    last_heard: float

    def ping(self) -> None: ...

    def close(self, reason: str) -> None: ...


class IdleReaper:
    """Ping sessions silent for half the timeout; close those silent for all of it."""

    def __init__(self, timeout_s: float, sessions: Callable[[], Iterable[Watched]]) -> None:
        self.timeout_s = timeout_s
        self.interval_s = timeout_s / CHECKS_PER_TIMEOUT
        self._sessions = sessions
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="idle-reaper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.check(time.monotonic())
            except Exception:
                log.exception("idle check failed")

    def check(self, now: float) -> None:
        """Ping or close every session by how long it has been silent."""
        for session in self._sessions():
            silent = now - session.last_heard
            if silent >= self.timeout_s:
                log.info("[%s] silent for %.0f s", session.peer, silent)
                session.close(ByeReason.IDLE_TIMEOUT)
            elif silent >= self.timeout_s / 2:
                session.ping()

    def stop(self) -> None:
        """Stop and join the thread (if it was started). Idempotent."""
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join()
