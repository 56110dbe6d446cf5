"""Frame classes for protocol v1, and their conversion from and to wire objects.

A frame class is a frozen dataclass named after its wire ``type``; construction
validates it, so an invalid frame cannot exist. Wire objects are the dicts that
JSON decoding produces; unknown extra fields in them are ignored. Client frames
and server frames are parsed separately because ``join``, ``topic``,
``history``, ``ping`` and ``pong`` exist in both directions; where the two
directions carry different fields the client's class has its own name
(``JoinChannel``, ``SetTopic``, ``HistoryQuery``). The words that frames carry
as values (bye reasons, leave reasons) are defined here once. Accounts and
moderation have frames of their own (``protocol.accounts``); ``protocol.wire``
holds the tables of every frame type and parses wire objects.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from typing import Any, ClassVar, Final, TypeVar, Union

from protocol.errors import BadRequest
from protocol.text import (
    channel_key,
    sanitize_text,
    validate_channel,
    validate_nick,
    validate_text,
)

__all__ = [
    "PresenceUpdate",
    "PRESENCE_INTERVAL_S",
    "BIG_CHANNEL",
    "CAPS",
    "CAP_PRESENCE",
    "DEFAULT_HISTORY_LIMIT",
    "MAX_HISTORY_LIMIT",
    "MAX_REASON_CHARS",
    "MAX_TOKEN_CHARS",
    "MAX_TOPIC_CHARS",
    "PROTO_VERSION",
    "RESUME_HISTORY_CAP",
    "WELCOME_HISTORY",
    "Bye",
    "ByeReason",
    "Channel",
    "ChannelSummary",
    "Channels",
    "ClientFrame",
    "Error",
    "Frame",
    "Hello",
    "History",
    "HistoryQuery",
    "Join",
    "JoinChannel",
    "Leave",
    "LeaveReason",
    "ListChannels",
    "Message",
    "Msg",
    "Nick",
    "Part",
    "Ping",
    "Pong",
    "Quit",
    "Rename",
    "Roster",
    "Say",
    "ServerFrame",
    "SetTopic",
    "Topic",
    "Welcome",
    "Who",
    "Whois",
    "WhoisQuery",
]

PROTO_VERSION: Final = 1
DEFAULT_HISTORY_LIMIT: Final = 50
"""Messages a ``history`` query returns when it names no limit."""
MAX_HISTORY_LIMIT: Final = 500
"""Most messages one ``history`` query returns."""
CAP_PRESENCE: Final = "presence"
"""In channels of ``BIG_CHANNEL`` members or more: joins and leaves come batched in a
``presence`` frame every ``PRESENCE_INTERVAL_S``, and a joiner's ``channel`` roster is
partial (``who`` gives it whole)."""
CAPS: Final = frozenset({CAP_PRESENCE})
BIG_CHANNEL: Final = 100
PRESENCE_INTERVAL_S: Final = 1.5
WELCOME_HISTORY: Final = 50
"""Messages of a channel that a welcome or a ``channel`` reply carries."""
RESUME_HISTORY_CAP: Final = 1000
"""Most messages a resume (``since``) brings per channel; older ones are paged."""
MAX_REASON_CHARS: Final = 200
MAX_TOKEN_CHARS: Final = 64
MAX_TOPIC_CHARS: Final = 300


class ByeReason:
    """Every reason a ``bye`` frame gives."""

    QUIT: Final = "quit"
    SERVER_SHUTDOWN: Final = "server_shutdown"
    SLOW_CONSUMER: Final = "slow_consumer"
    HELLO_TIMEOUT: Final = "hello_timeout"
    REPLACED: Final = "replaced"
    SERVER_FULL: Final = "server_full"
    IDLE_TIMEOUT: Final = "idle_timeout"
    KILLED: Final = "killed"
    BANNED: Final = "banned"


class LeaveReason:
    """Reasons a ``leave`` gives when the user gave none."""

    CONNECTION_CLOSED: Final = "connection closed"
    PART: Final = "part"

F = TypeVar("F", bound="Frame")


def _one_line(text: str, max_chars: int) -> str:
    """Return ``text`` sanitised, on one line, cut to ``max_chars``."""
    return " ".join(sanitize_text(text).split())[:max_chars]


@dataclasses.dataclass(frozen=True, slots=True)
class Frame:
    """Base of all frames: conversion from and to wire objects."""

    TYPE: ClassVar[str] = ""

    def to_wire(self) -> dict[str, Any]:
        """Return the wire object, leaving out fields that are None or False."""
        obj: dict[str, Any] = {"type": self.TYPE} if self.TYPE else {}
        for field in _plan(type(self)):
            value = getattr(self, field.name)
            if value is None or (value is False and not field.keep_false):
                continue
            if field.nested and value:
                value = [v.to_wire() for v in value]
            obj[field.wire] = value
        return obj

    @classmethod
    def from_wire(cls: type[F], obj: dict[str, Any]) -> F:
        """Build a frame from a wire object; raise a ProtocolError if it is invalid."""
        kwargs: dict[str, Any] = {}
        for field in _plan(cls):
            value = obj.get(field.wire)
            if value is not None:
                kwargs[field.name] = field.check(value)
        try:
            return cls(**kwargs)
        except TypeError:
            missing = [
                f.metadata.get("wire", f.name)
                for f in dataclasses.fields(cls)
                if f.name not in kwargs
                and f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING
            ]
            raise BadRequest(
                f"A {cls.TYPE} frame needs the field(s): {', '.join(missing)}."
            ) from None


@dataclasses.dataclass(frozen=True, slots=True)
class _Field:
    """How one field of a frame class goes to and comes from the wire (made once per class)."""

    name: str
    wire: str
    check: Callable[[Any], Any]
    keep_false: bool
    """A bool that defaults to None: False means something, so it is sent."""
    nested: bool
    """A list of frames (records), converted one by one."""


_PLANS: dict[type[Frame], tuple[_Field, ...]] = {}


def _plan(cls: type[Frame]) -> tuple[_Field, ...]:
    """Return how each field of ``cls`` is converted, worked out on first use."""
    plan = _PLANS.get(cls)
    if plan is None:
        hints = typing.get_type_hints(cls)
        plan = tuple(
            _Field(
                name=f.name, wire=f.metadata.get("wire", f.name),
                check=_checker(f.metadata.get("wire", f.name), hints[f.name]),
                keep_false=f.default is None and hints[f.name] == bool | None,
                nested=_holds_frames(hints[f.name]),
            )
            for f in dataclasses.fields(cls)
        )
        _PLANS[cls] = plan
    return plan


def _without_none(hint: Any) -> Any:
    if typing.get_origin(hint) in (Union, types.UnionType):
        (inner,) = [a for a in typing.get_args(hint) if a is not type(None)]
        return inner
    return hint


def _holds_frames(hint: Any) -> bool:
    hint = _without_none(hint)
    if typing.get_origin(hint) is not list:
        return False
    (item,) = typing.get_args(hint)
    return isinstance(item, type) and issubclass(item, Frame)


def _checker(name: str, hint: Any) -> Callable[[Any], Any]:
    """Return a function that passes a value fitting ``hint`` (JSON types only) or raises."""
    hint = _without_none(hint)
    if typing.get_origin(hint) is list:
        (item_hint,) = typing.get_args(hint)
        item = _checker(name, item_hint)

        def check_list(value: Any) -> Any:
            if not isinstance(value, list):
                raise BadRequest(f"Field '{name}' must be a list.")
            return [item(v) for v in value]

        return check_list
    if isinstance(hint, type) and issubclass(hint, Frame):
        frame_class = hint

        def check_record(value: Any) -> Any:
            if not isinstance(value, dict):
                raise BadRequest(f"Field '{name}' must hold objects.")
            return frame_class.from_wire(value)

        return check_record
    if hint is float:

        def check_float(value: Any) -> Any:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
            raise BadRequest(f"Field '{name}' must be of type float.")

        return check_float
    if hint is int:

        def check_int(value: Any) -> Any:
            if isinstance(value, bool) or not isinstance(value, int):
                raise BadRequest(f"Field '{name}' must be a whole number.")
            return value

        return check_int
    kind: type = hint

    def check_plain(value: Any) -> Any:
        if not isinstance(value, kind):
            raise BadRequest(f"Field '{name}' must be of type {kind.__name__}.")
        return value

    return check_plain


def _set(frame: Frame, field: str, value: Any) -> None:
    """Replace a field of a frozen frame during its own validation."""
    object.__setattr__(frame, field, value)


def _check_token(token: str | None) -> None:
    if token is not None and len(token) > MAX_TOKEN_CHARS:
        raise BadRequest(f"A ping token may be at most {MAX_TOKEN_CHARS} characters long.")


def _check_since(since: int | None) -> None:
    if since is not None and since < 0:
        raise BadRequest("Field 'since' must not be negative.")


def _channel_or_none(name: str | None) -> str | None:
    return None if name is None else validate_channel(name)


def _unique_channels(names: list[str]) -> list[str]:
    """Return the names validated, each channel once (first spelling wins), in order."""
    seen: set[str] = set()
    unique: list[str] = []
    for name in names:
        name = validate_channel(name)
        key = channel_key(name)
        if key not in seen:
            seen.add(key)
            unique.append(name)
    return unique


@dataclasses.dataclass(frozen=True, slots=True)
class ClientFrame(Frame):
    """A frame sent by a client."""


@dataclasses.dataclass(frozen=True, slots=True)
class ServerFrame(Frame):
    """A frame sent by the server."""


# Client -> server


@dataclasses.dataclass(frozen=True, slots=True)
class Hello(ClientFrame):
    """Open a session under ``nick`` in ``channels`` (None: the server's default channel).

    ``since`` asks for the messages after that id; ``resume`` is the token of an
    earlier session of this nick.
    """

    TYPE: ClassVar[str] = "hello"
    nick: str
    proto: int = PROTO_VERSION
    password: str | None = None
    since: int | None = None
    resume: str | None = None
    channels: list[str] | None = None
    nick_password: str | None = None
    caps: list[str] | None = None
    """Optional behaviours the client asks for (``CAPS``); unknown ones are ignored."""

    def __post_init__(self) -> None:
        _set(self, "nick", validate_nick(self.nick))
        if self.proto != PROTO_VERSION:
            raise BadRequest(f"This server speaks protocol version {PROTO_VERSION} only.")
        _check_since(self.since)
        if self.channels is not None:
            _set(self, "channels", _unique_channels(self.channels))


@dataclasses.dataclass(frozen=True, slots=True)
class Say(ClientFrame):
    """Send ``text`` to a channel (None: the default one); ``action`` marks a /me line."""

    TYPE: ClassVar[str] = "say"
    text: str
    action: bool = False
    channel: str | None = None

    def __post_init__(self) -> None:
        _set(self, "text", validate_text(self.text))
        _set(self, "channel", _channel_or_none(self.channel))


@dataclasses.dataclass(frozen=True, slots=True)
class Msg(ClientFrame):
    """Send ``text`` privately to the user ``to``."""

    TYPE: ClassVar[str] = "msg"
    to: str
    text: str

    def __post_init__(self) -> None:
        _set(self, "to", validate_nick(self.to))
        _set(self, "text", validate_text(self.text))


@dataclasses.dataclass(frozen=True, slots=True)
class Nick(ClientFrame):
    """Change one's nick."""

    TYPE: ClassVar[str] = "nick"
    nick: str

    def __post_init__(self) -> None:
        _set(self, "nick", validate_nick(self.nick))


@dataclasses.dataclass(frozen=True, slots=True)
class JoinChannel(ClientFrame):
    """Enter ``channel`` (created when new); ``since`` asks for the messages after that id."""

    TYPE: ClassVar[str] = "join"
    channel: str
    since: int | None = None

    def __post_init__(self) -> None:
        _set(self, "channel", validate_channel(self.channel))
        _check_since(self.since)


@dataclasses.dataclass(frozen=True, slots=True)
class Part(ClientFrame):
    """Leave ``channel``."""

    TYPE: ClassVar[str] = "part"
    channel: str
    reason: str | None = None

    def __post_init__(self) -> None:
        _set(self, "channel", validate_channel(self.channel))
        if self.reason is not None:
            _set(self, "reason", _one_line(self.reason, MAX_REASON_CHARS) or None)


@dataclasses.dataclass(frozen=True, slots=True)
class SetTopic(ClientFrame):
    """Set the topic of ``channel``; no text (or an empty one) clears it."""

    TYPE: ClassVar[str] = "topic"
    channel: str
    text: str | None = None

    def __post_init__(self) -> None:
        _set(self, "channel", validate_channel(self.channel))
        text = _one_line(self.text or "", MAX_TOPIC_CHARS + 1)
        if len(text) > MAX_TOPIC_CHARS:
            raise BadRequest(f"A topic may be at most {MAX_TOPIC_CHARS} characters long.")
        _set(self, "text", text)


@dataclasses.dataclass(frozen=True, slots=True)
class ListChannels(ClientFrame):
    """Ask for the channels that have members."""

    TYPE: ClassVar[str] = "list"


@dataclasses.dataclass(frozen=True, slots=True)
class Who(ClientFrame):
    """Ask for the roster of a channel (None: the default one)."""

    TYPE: ClassVar[str] = "who"
    channel: str | None = None

    def __post_init__(self) -> None:
        _set(self, "channel", _channel_or_none(self.channel))


@dataclasses.dataclass(frozen=True, slots=True)
class HistoryQuery(ClientFrame):
    """Ask for up to ``limit`` messages of a channel, or of a private conversation.

    With ``before`` only: the newest older than it (also with neither); with
    ``after``: the oldest newer than it (and older than ``before`` if given).
    ``peer`` (wire: ``with``) names the other party of a private conversation
    instead of a channel.
    """

    TYPE: ClassVar[str] = "history"
    before: int | None = None
    limit: int = DEFAULT_HISTORY_LIMIT
    channel: str | None = None
    after: int | None = None
    peer: str | None = dataclasses.field(default=None, metadata={"wire": "with"})

    def __post_init__(self) -> None:
        _set(self, "channel", _channel_or_none(self.channel))
        if self.peer is not None:
            _set(self, "peer", validate_nick(self.peer))
            if self.channel is not None:
                raise BadRequest("A history query names a channel or a peer ('with'), not both.")
        if self.before is not None and self.before < 1:
            raise BadRequest("Field 'before' must be a message id (1 or more).")
        if self.after is not None and self.after < 0:
            raise BadRequest("Field 'after' must be a message id (0 or more).")
        if self.limit < 1:
            raise BadRequest("Field 'limit' must be 1 or more.")
        _set(self, "limit", min(self.limit, MAX_HISTORY_LIMIT))


@dataclasses.dataclass(frozen=True, slots=True)
class WhoisQuery(ClientFrame):
    """Ask about the user ``nick``."""

    TYPE: ClassVar[str] = "whois"
    nick: str

    def __post_init__(self) -> None:
        _set(self, "nick", validate_nick(self.nick))


@dataclasses.dataclass(frozen=True, slots=True)
class Ping(ClientFrame, ServerFrame):
    """Ask the peer for a ``pong`` carrying the same token."""

    TYPE: ClassVar[str] = "ping"
    token: str | None = None

    def __post_init__(self) -> None:
        _check_token(self.token)


@dataclasses.dataclass(frozen=True, slots=True)
class Pong(ClientFrame, ServerFrame):
    """Answer a ``ping``."""

    TYPE: ClassVar[str] = "pong"
    token: str | None = None

    def __post_init__(self) -> None:
        _check_token(self.token)


@dataclasses.dataclass(frozen=True, slots=True)
class Quit(ClientFrame):
    """Leave the chat."""

    TYPE: ClassVar[str] = "quit"
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.reason is not None:
            _set(self, "reason", _one_line(self.reason, MAX_REASON_CHARS) or None)


# Server -> client


@dataclasses.dataclass(frozen=True, slots=True)
class Message(ServerFrame):
    """A chat message: ``channel`` is set on channel messages, ``to`` on private ones."""

    TYPE: ClassVar[str] = "message"
    id: int
    ts: float
    sender: str = dataclasses.field(metadata={"wire": "from"})
    text: str
    action: bool = False
    to: str | None = None
    channel: str | None = None

    def __post_init__(self) -> None:
        _set(self, "text", validate_text(self.text))

    def to_wire(self) -> dict[str, Any]:
        """The generic conversion, spelt out: this is the frame sent most by far."""
        obj: dict[str, Any] = {"type": "message", "id": self.id, "ts": self.ts,
                               "from": self.sender, "text": self.text}
        if self.action:
            obj["action"] = True
        if self.to is not None:
            obj["to"] = self.to
        if self.channel is not None:
            obj["channel"] = self.channel
        return obj


@dataclasses.dataclass(frozen=True, slots=True)
class Channel(ServerFrame):
    """A channel just entered: its topic, members and recent messages (oldest first)."""

    TYPE: ClassVar[str] = "channel"
    name: str
    roster: list[str]
    history: list[Message]
    topic: str | None = None
    topic_by: str | None = None
    topic_ts: float | None = None
    operators: list[str] | None = None
    identified: list[str] | None = None
    topic_lock: bool = False
    invite_only: bool = False
    users: int | None = None
    """How many members there are, when ``roster`` holds only some (``partial``)."""
    partial: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Welcome(ServerFrame):
    """Accept a ``hello``: the nick granted, the channels entered, and recent history.

    ``roster`` and ``history`` repeat those of the first channel, for v1 clients;
    ``private`` holds the private messages a resume replays.
    """

    TYPE: ClassVar[str] = "welcome"
    nick: str
    server: str
    roster: list[str]
    history: list[Message]
    proto: int = PROTO_VERSION
    motd: str | None = None
    resume: str | None = None
    channels: list[Channel] = dataclasses.field(default_factory=list)
    private: list[Message] | None = None
    caps: list[str] | None = None
    """The behaviours asked for in the hello that the server granted."""


@dataclasses.dataclass(frozen=True, slots=True)
class PresenceUpdate(ServerFrame):
    """Who joined and left a big channel lately (to clients with the ``presence`` cap)."""

    TYPE: ClassVar[str] = "presence"
    channel: str
    ts: float
    joined: list[str] = dataclasses.field(default_factory=list)
    left: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True, slots=True)
class Join(ServerFrame):
    """Someone joined ``channel``."""

    TYPE: ClassVar[str] = "join"
    nick: str
    ts: float
    channel: str | None = None
    identified: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class Leave(ServerFrame):
    """Someone left ``channel`` (or the chat), for ``reason``."""

    TYPE: ClassVar[str] = "leave"
    nick: str
    reason: str
    ts: float
    channel: str | None = None

    def __post_init__(self) -> None:
        _set(self, "reason", _one_line(self.reason, MAX_REASON_CHARS))


@dataclasses.dataclass(frozen=True, slots=True)
class Rename(ServerFrame):
    """Someone changed nick from ``old`` to ``new``; the renamed user's copy has ``resume``."""

    TYPE: ClassVar[str] = "rename"
    old: str
    new: str
    ts: float
    resume: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Topic(ServerFrame):
    """The topic of ``channel`` is now ``text`` (empty: none), set by ``by``."""

    TYPE: ClassVar[str] = "topic"
    channel: str
    text: str
    by: str
    ts: float


@dataclasses.dataclass(frozen=True, slots=True)
class ChannelSummary(Frame):
    """One line of a ``channels`` listing (a record inside a frame, without a type)."""

    name: str
    users: int
    topic: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Channels(ServerFrame):
    """The channels that have members, answering ``list``."""

    TYPE: ClassVar[str] = "channels"
    channels: list[ChannelSummary]


@dataclasses.dataclass(frozen=True, slots=True)
class Roster(ServerFrame):
    """The members of ``channel``."""

    TYPE: ClassVar[str] = "roster"
    users: list[str]
    channel: str | None = None
    operators: list[str] | None = None
    identified: list[str] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class History(ServerFrame):
    """A page of messages, oldest first, answering a ``history`` query (its bounds echoed)."""

    TYPE: ClassVar[str] = "history"
    messages: list[Message]
    before: int | None = None
    channel: str | None = None
    after: int | None = None
    peer: str | None = dataclasses.field(default=None, metadata={"wire": "with"})


@dataclasses.dataclass(frozen=True, slots=True)
class Whois(ServerFrame):
    """About one user: their channels, seconds since they last spoke, when they came."""

    TYPE: ClassVar[str] = "whois"
    nick: str
    channels: list[str]
    idle: int
    connected_since: float
    away: str | None = None
    account: str | None = None
    operator_of: list[str] | None = None
    """Those of ``channels`` the user is an operator of (None: none)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Error(ServerFrame):
    """A frame was refused; ``code`` says why in a word, ``message`` in a sentence."""

    TYPE: ClassVar[str] = "error"
    code: str
    message: str
    reason: str | None = None
    until: float | None = None

    def __post_init__(self) -> None:
        _set(self, "message", _one_line(self.message, 500))


@dataclasses.dataclass(frozen=True, slots=True)
class Bye(ServerFrame):
    """The server is closing this connection, for ``reason``."""

    TYPE: ClassVar[str] = "bye"
    reason: str
    text: str | None = None
    """Who closed it and why, in words: with ``killed`` and ``banned``."""

    def __post_init__(self) -> None:
        _set(self, "reason", _one_line(self.reason, MAX_REASON_CHARS))
        if self.text is not None:
            _set(self, "text", _one_line(self.text, MAX_REASON_CHARS))
