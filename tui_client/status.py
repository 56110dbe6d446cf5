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

from protocol import DEFAULT_HOST, DEFAULT_PORT, ErrorCode

__all__ = ["NICK_ERRORS", "NICK_PASSWORD_REFUSED", "ConnectionStatus", "NetStatus", "Status"]

NICK_ERRORS: Final = frozenset(
    {ErrorCode.NICK_TAKEN, ErrorCode.NICK_INVALID, ErrorCode.NICK_REGISTERED}
)
"""Refusals of a hello that wait for another nick (or, registered, for its password)."""
NICK_PASSWORD_REFUSED: Final = "nick_password_refused"
"""The code of the local ``error`` event for a hello whose nick password was wrong.

The server answers ``auth_failed`` for a wrong server password and for a wrong
nick password alike; the connection reports this code instead when its hello
carried a nick password (never on the wire).
"""


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
        self._refused = False  # the hello was refused; waiting for a nick or a password

    @property
    def status(self) -> str:
        return self._status

    @property
    def connected(self) -> bool:
        return self._status == Status.CONNECTED

    @property
    def welcomed_once(self) -> bool:
        return self._welcomed_once

    @property
    def refused(self) -> bool:
        """Whether the hello was refused for its nick and waits for another nick or a password."""
        return self._refused

    def note_refused(self) -> None:
        """Record that the server refused the hello's nick (taken, invalid, registered)."""
        self._refused = True

    def set(self, status: str, retry_in_s: float | None = None, now: float | None = None) -> bool:
        """Record a new status (``retry_in_s`` while reconnecting).

        Returns True when a connection was lost without the server saying
        ``bye`` first, so the caller can say so.
        """
        lost = self._status == Status.CONNECTED and status != Status.CONNECTED
        unannounced = lost and not self._closed_by_server
        self._closed_by_server = False
        if status != Status.DISCONNECTED:
            self._refused = False  # trying again
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
