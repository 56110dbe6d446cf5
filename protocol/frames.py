"""Frame classes for protocol v1, and their conversion from and to wire objects.

A frame class is a frozen dataclass named after its wire ``type``; construction
validates it, so an invalid frame cannot exist. Wire objects are the dicts that
JSON decoding produces; unknown extra fields in them are ignored. Client frames
and server frames are parsed separately because ``history``, ``ping`` and
``pong`` exist in both directions.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, ClassVar, Final, TypeVar, Union

from protocol.errors import BadFrame, BadRequest, UnknownType
from protocol.text import sanitize_text, validate_nick, validate_text

__all__ = [
    "CLIENT_FRAMES",
    "DEFAULT_HISTORY_LIMIT",
    "MAX_HISTORY_LIMIT",
    "MAX_REASON_CHARS",
    "MAX_TOKEN_CHARS",
    "PROTO_VERSION",
    "SERVER_FRAMES",
    "Bye",
    "ClientFrame",
    "Error",
    "Frame",
    "Hello",
    "History",
    "HistoryQuery",
    "Join",
    "Leave",
    "Message",
    "Msg",
    "Nick",
    "Ping",
    "Pong",
    "Quit",
    "Rename",
    "Roster",
    "Say",
    "ServerFrame",
    "Welcome",
    "Who",
    "parse_client_frame",
    "parse_server_frame",
]

PROTO_VERSION: Final = 1
DEFAULT_HISTORY_LIMIT: Final = 50
MAX_HISTORY_LIMIT: Final = 500
MAX_REASON_CHARS: Final = 200
MAX_TOKEN_CHARS: Final = 64

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
        obj: dict[str, Any] = {"type": self.TYPE}
        for field, wire_name, _hint in _fields_of(type(self)):
            value = getattr(self, field)
            if value is None or value is False:
                continue
            if isinstance(value, list) and value and isinstance(value[0], Frame):
                value = [v.to_wire() for v in value]
            obj[wire_name] = value
        return obj

    @classmethod
    def from_wire(cls: type[F], obj: dict[str, Any]) -> F:
        """Build a frame from a wire object; raise a ProtocolError if it is invalid."""
        kwargs: dict[str, Any] = {}
        for field, wire_name, hint in _fields_of(cls):
            value = obj.get(wire_name)
            if value is not None:
                kwargs[field] = _check_type(wire_name, hint, value)
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


_FIELDS: dict[type[Frame], tuple[tuple[str, str, Any], ...]] = {}


def _fields_of(cls: type[Frame]) -> tuple[tuple[str, str, Any], ...]:
    """Return (python name, wire name, type hint) for each field of ``cls``, cached."""
    fields = _FIELDS.get(cls)
    if fields is None:
        hints = typing.get_type_hints(cls)
        fields = tuple(
            (f.name, f.metadata.get("wire", f.name), hints[f.name])
            for f in dataclasses.fields(cls)
        )
        _FIELDS[cls] = fields
    return fields


def _check_type(name: str, hint: Any, value: Any) -> Any:
    """Return ``value`` if it fits ``hint`` (JSON types only), else raise BadRequest."""
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        (inner,) = [a for a in typing.get_args(hint) if a is not type(None)]
        return _check_type(name, inner, value)
    if origin is list:
        if not isinstance(value, list):
            raise BadRequest(f"Field '{name}' must be a list.")
        (item_hint,) = typing.get_args(hint)
        return [_check_type(name, item_hint, item) for item in value]
    if isinstance(hint, type) and issubclass(hint, Frame):
        if not isinstance(value, dict):
            raise BadRequest(f"Field '{name}' must hold objects.")
        return hint.from_wire(value)
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise BadRequest(f"Field '{name}' must be a whole number.")
    if not isinstance(value, hint):
        raise BadRequest(f"Field '{name}' must be of type {hint.__name__}.")
    return value


def _set(frame: Frame, field: str, value: Any) -> None:
    """Replace a field of a frozen frame during its own validation."""
    object.__setattr__(frame, field, value)


def _check_token(token: str | None) -> None:
    if token is not None and len(token) > MAX_TOKEN_CHARS:
        raise BadRequest(f"A ping token may be at most {MAX_TOKEN_CHARS} characters long.")


@dataclasses.dataclass(frozen=True, slots=True)
class ClientFrame(Frame):
    """A frame sent by a client."""


@dataclasses.dataclass(frozen=True, slots=True)
class ServerFrame(Frame):
    """A frame sent by the server."""


# Client -> server


@dataclasses.dataclass(frozen=True, slots=True)
class Hello(ClientFrame):
    """Open a session under ``nick``; ``since`` asks for the messages after that id."""

    TYPE: ClassVar[str] = "hello"
    nick: str
    proto: int = PROTO_VERSION
    password: str | None = None
    since: int | None = None
    resume: str | None = None

    def __post_init__(self) -> None:
        _set(self, "nick", validate_nick(self.nick))
        if self.proto != PROTO_VERSION:
            raise BadRequest(f"This server speaks protocol version {PROTO_VERSION} only.")
        if self.since is not None and self.since < 0:
            raise BadRequest("Field 'since' must not be negative.")


@dataclasses.dataclass(frozen=True, slots=True)
class Say(ClientFrame):
    """Send ``text`` to everyone; ``action`` marks a /me line."""

    TYPE: ClassVar[str] = "say"
    text: str
    action: bool = False

    def __post_init__(self) -> None:
        _set(self, "text", validate_text(self.text))


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
class Who(ClientFrame):
    """Ask for the roster."""

    TYPE: ClassVar[str] = "who"


@dataclasses.dataclass(frozen=True, slots=True)
class HistoryQuery(ClientFrame):
    """Ask for up to ``limit`` public messages older than ``before``."""

    TYPE: ClassVar[str] = "history"
    before: int | None = None
    limit: int = DEFAULT_HISTORY_LIMIT

    def __post_init__(self) -> None:
        if self.before is not None and self.before < 1:
            raise BadRequest("Field 'before' must be a message id (1 or more).")
        if self.limit < 1:
            raise BadRequest("Field 'limit' must be 1 or more.")
        _set(self, "limit", min(self.limit, MAX_HISTORY_LIMIT))


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
    """A chat message; ``to`` is set on private ones only."""

    TYPE: ClassVar[str] = "message"
    id: int
    ts: float
    sender: str = dataclasses.field(metadata={"wire": "from"})
    text: str
    action: bool = False
    to: str | None = None

    def __post_init__(self) -> None:
        _set(self, "text", validate_text(self.text))


@dataclasses.dataclass(frozen=True, slots=True)
class Welcome(ServerFrame):
    """Accept a ``hello``: the nick granted, who is here, and recent history."""

    TYPE: ClassVar[str] = "welcome"
    nick: str
    server: str
    roster: list[str]
    history: list[Message]
    proto: int = PROTO_VERSION
    motd: str | None = None
    resume: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Join(ServerFrame):
    """Someone joined."""

    TYPE: ClassVar[str] = "join"
    nick: str
    ts: float


@dataclasses.dataclass(frozen=True, slots=True)
class Leave(ServerFrame):
    """Someone left, for ``reason``."""

    TYPE: ClassVar[str] = "leave"
    nick: str
    reason: str
    ts: float

    def __post_init__(self) -> None:
        _set(self, "reason", _one_line(self.reason, MAX_REASON_CHARS))


@dataclasses.dataclass(frozen=True, slots=True)
class Rename(ServerFrame):
    """Someone changed nick from ``old`` to ``new``."""

    TYPE: ClassVar[str] = "rename"
    old: str
    new: str
    ts: float


@dataclasses.dataclass(frozen=True, slots=True)
class Roster(ServerFrame):
    """Everyone online."""

    TYPE: ClassVar[str] = "roster"
    users: list[str]


@dataclasses.dataclass(frozen=True, slots=True)
class History(ServerFrame):
    """A page of public messages, oldest first, answering a ``history`` query."""

    TYPE: ClassVar[str] = "history"
    messages: list[Message]
    before: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Error(ServerFrame):
    """A frame was refused; ``code`` says why in a word, ``message`` in a sentence."""

    TYPE: ClassVar[str] = "error"
    code: str
    message: str

    def __post_init__(self) -> None:
        _set(self, "message", _one_line(self.message, 500))


@dataclasses.dataclass(frozen=True, slots=True)
class Bye(ServerFrame):
    """The server is closing this connection, for ``reason``."""

    TYPE: ClassVar[str] = "bye"
    reason: str

    def __post_init__(self) -> None:
        _set(self, "reason", _one_line(self.reason, MAX_REASON_CHARS))


CLIENT_FRAMES: Final[dict[str, type[ClientFrame]]] = {
    cls.TYPE: cls for cls in (Hello, Say, Msg, Nick, Who, HistoryQuery, Ping, Pong, Quit)
}
SERVER_FRAMES: Final[dict[str, type[ServerFrame]]] = {
    cls.TYPE: cls
    for cls in (Welcome, Message, Join, Leave, Rename, Roster, History, Error, Ping, Pong, Bye)
}


def _parse(obj: dict[str, Any], table: dict[str, type[F]]) -> F:
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise BadFrame("A frame needs a string field 'type'.")
    try:
        cls = table[kind]
    except KeyError:
        raise UnknownType(f"Unknown frame type {kind[:40]!r}.") from None
    return cls.from_wire(obj)


def parse_client_frame(obj: dict[str, Any]) -> ClientFrame:
    """Return the client frame held in a decoded wire object, or raise ProtocolError."""
    return _parse(obj, CLIENT_FRAMES)


def parse_server_frame(obj: dict[str, Any]) -> ServerFrame:
    """Return the server frame held in a decoded wire object, or raise ProtocolError."""
    return _parse(obj, SERVER_FRAMES)
