"""The connection as the user sees it: connecting, connected, reconnecting in N s.

Pure: :class:`ConnectionStatus` records what :mod:`tui_client.net` reported and
what the server said at the end (a ``bye``), so a drop nobody announced can be
told apart from a clean close. Time comes in as an argument where it matters.
Not thread-safe (UI thread, or the plain client's loop).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final

from protocol import DEFAULT_HOST, DEFAULT_PORT

__all__ = ["ConnectionStatus", "NetStatus", "Status"]


class Status:
    """Connection states shown in the status line."""

    CONNECTING: Final = "connecting"
    CONNECTED: Final = "connected"
    RECONNECTING: Final = "reconnecting"
    DISCONNECTED: Final = "disconnected"


@dataclass(frozen=True, slots=True)
class NetStatus:
    """The connection changed state (put on the UI queue by the receiver thread).

    ``retry_in_s`` is set while reconnecting.
    """

    status: str
    retry_in_s: float | None = None


class ConnectionStatus:
    """Where the connection to ``host:port`` stands."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        self.host = host
        self.port = port
        self._status: str = Status.CONNECTING
        self._retry_at: float | None = None  # time.monotonic() of the next attempt
        self._welcomed_once = False
        self._closed_by_server = False  # the last connection ended with a bye

    @property
    def status(self) -> str:
        return self._status

    @property
    def connected(self) -> bool:
        return self._status == Status.CONNECTED

    @property
    def welcomed_once(self) -> bool:
        return self._welcomed_once

    def set(self, status: str, retry_in_s: float | None = None, now: float | None = None) -> bool:
        """Record a new status (``retry_in_s`` while reconnecting).

        Returns True when a connection was lost without the server saying
        ``bye`` first, so the caller can say so.
        """
        lost = self._status == Status.CONNECTED and status != Status.CONNECTED
        unannounced = lost and not self._closed_by_server
        self._closed_by_server = False
        self._status = status
        if retry_in_s is None:
            self._retry_at = None
        else:
            self._retry_at = (time.monotonic() if now is None else now) + retry_in_s
        return unannounced

    def note_welcome(self) -> bool:
        """Record a welcome; return True if it was the first one."""
        first = not self._welcomed_once
        self._welcomed_once = True
        self.set(Status.CONNECTED)
        return first

    def note_bye(self) -> None:
        """Record that the server closed this connection with a ``bye``."""
        self._closed_by_server = True

    def word(self, now: float | None = None) -> str:
        """Return the status as shown: 'reconnecting in 4s' counts down."""
        if self._status == Status.RECONNECTING and self._retry_at is not None:
            left = self._retry_at - (time.monotonic() if now is None else now)
            return f"reconnecting in {max(0, int(left + 0.999))}s"
        return self._status
