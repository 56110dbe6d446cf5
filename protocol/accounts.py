"""Frames for accounts (owning a nick) and moderation (running a channel).

Requests a client sends and the events and answers the server sends for them.
Where a request and an event share a wire type the request's class says what
it asks for (``KickUser`` asks, ``Kick`` tells). Validated on construction,
like every frame.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Final

from protocol.errors import BadRequest
from protocol.frames import MAX_REASON_CHARS, ClientFrame, ServerFrame, _one_line, _set
from protocol.text import validate_channel, validate_nick

__all__ = [
    "MAX_BAN_MINUTES",
    "MAX_PASSWORD_CHARS",
    "MIN_PASSWORD_CHARS",
    "Account",
    "BanUser",
    "DeopUser",
    "Identify",
    "Invite",
    "InviteUser",
    "Kick",
    "KickUser",
    "KillUser",
    "Mode",
    "OpUser",
    "Register",
    "SetMode",
    "SetPassword",
    "UnbanUser",
    "Unregister",
    "validate_password",
]

MIN_PASSWORD_CHARS: Final = 8
MAX_PASSWORD_CHARS: Final = 256
MAX_BAN_MINUTES: Final = 525_600
"""A year; a ban without minutes lasts until it is lifted."""


def validate_password(password: str) -> str:
    """Return ``password`` if it is long enough and not too long, else raise BadRequest."""
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise BadRequest(
            f"A nick password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters."
        )
    return password


def _reason(frame: ClientFrame, reason: str | None) -> None:
    if reason is not None:
        _set(frame, "reason", _one_line(reason, MAX_REASON_CHARS) or None)


# Accounts.


@dataclasses.dataclass(frozen=True, slots=True)
class Register(ClientFrame):
    """Register the nick one holds, with ``password``."""

    TYPE: ClassVar[str] = "register"
    password: str

    def __post_init__(self) -> None:
        validate_password(self.password)


@dataclasses.dataclass(frozen=True, slots=True)
class Identify(ClientFrame):
    """Prove one owns the account ``nick`` (and be renamed to it)."""

    TYPE: ClassVar[str] = "identify"
    nick: str
    password: str

    def __post_init__(self) -> None:
        _set(self, "nick", validate_nick(self.nick))


@dataclasses.dataclass(frozen=True, slots=True)
class SetPassword(ClientFrame):
    """Change the password of one's account."""

    TYPE: ClassVar[str] = "set_password"
    old: str
    new: str

    def __post_init__(self) -> None:
        validate_password(self.new)


@dataclasses.dataclass(frozen=True, slots=True)
class Unregister(ClientFrame):
    """Give up one's account (the nick becomes free to anyone again)."""

    TYPE: ClassVar[str] = "unregister"
    password: str


@dataclasses.dataclass(frozen=True, slots=True)
class Account(ServerFrame):
    """Where one's account stands, answering an account request."""

    TYPE: ClassVar[str] = "account"
    nick: str
    registered: bool = False
    identified: bool = False
    resume: str | None = None
    """A fresh resume token for the session: an account change voids the earlier ones."""


# Moderation: requests.


@dataclasses.dataclass(frozen=True, slots=True)
class KickUser(ClientFrame):
    """Put ``nick`` out of ``channel`` (an operator's request)."""

    TYPE: ClassVar[str] = "kick"
    channel: str
    nick: str
    reason: str | None = None

    def __post_init__(self) -> None:
        _set(self, "channel", validate_channel(self.channel))
        _set(self, "nick", validate_nick(self.nick))
        _reason(self, self.reason)


@dataclasses.dataclass(frozen=True, slots=True)
class BanUser(ClientFrame):
    """Keep ``nick`` (its account if registered; its address too with ``address``) out.

    Out of ``channel``, or of the whole server without one (an admin's request).
    """

    TYPE: ClassVar[str] = "ban"
    nick: str
    channel: str | None = None
    minutes: int | None = None
    reason: str | None = None
    address: bool = False

    def __post_init__(self) -> None:
        _set(self, "nick", validate_nick(self.nick))
        if self.channel is not None:
            _set(self, "channel", validate_channel(self.channel))
        if self.minutes is not None and not 1 <= self.minutes <= MAX_BAN_MINUTES:
            raise BadRequest(f"A ban lasts 1 to {MAX_BAN_MINUTES} minutes (or until lifted).")
        _reason(self, self.reason)


@dataclasses.dataclass(frozen=True, slots=True)
class UnbanUser(ClientFrame):
    """Lift a ban on ``nick`` in ``channel`` (or server-wide)."""

    TYPE: ClassVar[str] = "unban"
    nick: str
    channel: str | None = None

    def __post_init__(self) -> None:
        _set(self, "nick", validate_nick(self.nick))
        if self.channel is not None:
            _set(self, "channel", validate_channel(self.channel))


@dataclasses.dataclass(frozen=True, slots=True)
class OpUser(ClientFrame):
    """Make ``nick`` an operator of ``channel``."""

    TYPE: ClassVar[str] = "op"
    channel: str
    nick: str

    def __post_init__(self) -> None:
        _set(self, "channel", validate_channel(self.channel))
        _set(self, "nick", validate_nick(self.nick))


@dataclasses.dataclass(frozen=True, slots=True)
class DeopUser(ClientFrame):
    """Take the operator's role in ``channel`` from ``nick``."""

    TYPE: ClassVar[str] = "deop"
    channel: str
    nick: str

    def __post_init__(self) -> None:
        _set(self, "channel", validate_channel(self.channel))
        _set(self, "nick", validate_nick(self.nick))


@dataclasses.dataclass(frozen=True, slots=True)
class SetMode(ClientFrame):
    """Lock the topic to operators, or make the channel invite-only (None: unchanged)."""

    TYPE: ClassVar[str] = "mode"
    channel: str
    topic_lock: bool | None = None
    invite_only: bool | None = None

    def __post_init__(self) -> None:
        _set(self, "channel", validate_channel(self.channel))
        if self.topic_lock is None and self.invite_only is None:
            raise BadRequest("A mode request sets topic_lock, invite_only or both.")


@dataclasses.dataclass(frozen=True, slots=True)
class InviteUser(ClientFrame):
    """Let ``nick`` into an invite-only ``channel``."""

    TYPE: ClassVar[str] = "invite"
    channel: str
    nick: str

    def __post_init__(self) -> None:
        _set(self, "channel", validate_channel(self.channel))
        _set(self, "nick", validate_nick(self.nick))


@dataclasses.dataclass(frozen=True, slots=True)
class KillUser(ClientFrame):
    """Close ``nick``'s connection (an admin's request; they may come back)."""

    TYPE: ClassVar[str] = "kill"
    nick: str
    reason: str | None = None

    def __post_init__(self) -> None:
        _set(self, "nick", validate_nick(self.nick))
        _reason(self, self.reason)


# Moderation: events.


@dataclasses.dataclass(frozen=True, slots=True)
class Kick(ServerFrame):
    """``by`` put ``nick`` out of ``channel``; the target gets it too, then is out."""

    TYPE: ClassVar[str] = "kick"
    channel: str
    nick: str
    reason: str
    by: str
    ts: float


@dataclasses.dataclass(frozen=True, slots=True)
class Mode(ServerFrame):
    """What ``by`` changed in ``channel`` (None: server-wide bans, told the admin alone).

    One of the fields after ``ts`` is set.
    """

    TYPE: ClassVar[str] = "mode"
    by: str
    ts: float
    channel: str | None = None
    op: str | None = None
    deop: str | None = None
    ban: str | None = None
    unban: str | None = None
    topic_lock: bool | None = None
    invite_only: bool | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Invite(ServerFrame):
    """``by`` invited ``nick`` to ``channel`` (sent to both)."""

    TYPE: ClassVar[str] = "invite"
    channel: str
    nick: str
    by: str
    ts: float
