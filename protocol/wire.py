"""Every frame type of the protocol, by its wire name, and parsing wire objects into frames.

Client and server frames are looked up separately because several wire types
(``join``, ``topic``, ``history``, ``kick``, ``mode``, ``invite``, ``ping``,
``pong``) exist in both directions with different fields.
"""

from __future__ import annotations

from typing import Any, Final, TypeVar

from protocol.accounts import (
    Account,
    BanUser,
    DeopUser,
    Identify,
    Invite,
    InviteUser,
    Kick,
    KickUser,
    KillUser,
    Mode,
    OpUser,
    Register,
    SetMode,
    SetPassword,
    UnbanUser,
    Unregister,
)
from protocol.errors import BadFrame, UnknownType
from protocol.frames import (
    Bye,
    Channel,
    Channels,
    ClientFrame,
    Error,
    Frame,
    Hello,
    History,
    HistoryQuery,
    Join,
    JoinChannel,
    Leave,
    ListChannels,
    Message,
    Msg,
    Nick,
    Part,
    Ping,
    Pong,
    PresenceUpdate,
    Quit,
    Rename,
    Roster,
    Say,
    ServerFrame,
    SetTopic,
    Topic,
    Welcome,
    Who,
    Whois,
    WhoisQuery,
)

__all__ = ["CLIENT_FRAMES", "SERVER_FRAMES", "parse_client_frame", "parse_server_frame"]

F = TypeVar("F", bound=Frame)

CLIENT_FRAMES: Final[dict[str, type[ClientFrame]]] = {
    cls.TYPE: cls
    for cls in (
        Hello, Say, Msg, Nick, JoinChannel, Part, SetTopic, ListChannels, Who, HistoryQuery,
        WhoisQuery, Ping, Pong, Quit, Register, Identify, SetPassword, Unregister, KickUser,
        BanUser, UnbanUser, OpUser, DeopUser, SetMode, InviteUser, KillUser,
    )
}
SERVER_FRAMES: Final[dict[str, type[ServerFrame]]] = {
    cls.TYPE: cls
    for cls in (
        Welcome, Channel, Message, Join, Leave, Rename, Topic, Channels, Roster, History,
        Whois, Error, Ping, Pong, Bye, Account, Kick, Mode, Invite, PresenceUpdate,
    )
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
