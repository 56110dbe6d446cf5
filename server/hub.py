"""The hub: what sessions ask of the chat, whichever engine runs it.

A session (a front door: one reader thread per connection, native or IRC)
knows its connection only as a :class:`Link` and asks the :class:`Hub` for
everything that concerns other users: nick claims, channel membership, ids,
topics and history. The hub decides, orders, and delivers every answer and
event to the links concerned through their outboxes, spelt by each link's
:class:`Dialect`.

Every method but :meth:`Hub.hello` returns at once; answers arrive on the link.
Answers are barriers: each reaches its link after everything the hub accepted
before the request (see docs/PROTOCOL.md). A request may carry a ``tag`` (an
IRC label): what the request causes for its own link is delivered as one answer
with that tag (which may be empty, for IRC's ACK). ``server.local_hub``
is the engine inside one process, ``server.redis_hub`` a node of a cluster.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import ClassVar, Final, Protocol

from protocol import (
    Account,
    BanUser,
    Channel,
    DeopUser,
    Hello,
    HistoryQuery,
    InviteUser,
    JoinChannel,
    KickUser,
    KillUser,
    Leave,
    ListChannels,
    Msg,
    Nick,
    OpUser,
    Part,
    PresenceUpdate,
    Say,
    ServerFrame,
    SetMode,
    SetTopic,
    UnbanUser,
    Who,
    Whois,
    WhoisQuery,
    encode_frame,
)
from server.accounts import AccountRecord
from server.outbound import Outbox

__all__ = [
    "FORMAT_MARKS", "GATHER_S", "JSON_LINES", "JSON_LINES_BATCHED", "AwayNotice", "AwaySet",
    "BackplaneError", "Census", "Departed", "Dialect", "Hub", "HubEngine", "Internal",
    "JsonLines", "JsonLinesBatched", "Link", "Presence", "Quitted", "Raw", "Rejoined", "Span",
    "strip_format_marks",
]


GATHER_S: Final = 0.005
"""How long a busy engine waits after a request for more to come, so that a burst
is stored and delivered as one batch (one transaction or script call, one pass
over each channel, fewer and larger sends)."""


# Frames only the hub and the dialects see: never sent as JSON.


@dataclasses.dataclass(frozen=True, slots=True)
class Internal(ServerFrame):
    """A frame for dialects other than the native one; JSON Lines sends nothing for it."""


@dataclasses.dataclass(frozen=True, slots=True)
class Presence(Internal):
    """Who of the users asked about are online (or everyone in ``channel``, or everyone).

    For a channel that has members it also carries the channel's topic, operators,
    modes and bans.
    """

    TYPE: ClassVar[str] = "presence"
    users: list[Whois]
    channel: str | None = None
    asked: list[str] = dataclasses.field(default_factory=list)
    topic: str | None = None
    topic_by: str | None = None
    topic_ts: float | None = None
    operators: list[str] = dataclasses.field(default_factory=list)
    topic_lock: bool = False
    invite_only: bool = False
    bans: list[str] = dataclasses.field(default_factory=list)
    """The nicks (or accounts) banned from the channel."""
    created: float | None = None
    """When the channel was first seen (unix seconds)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Census(Internal):
    """How many users the chat has (``local``: connected here), and the most it had."""

    TYPE: ClassVar[str] = "census"
    users: int
    local: int
    channels: int
    peak_users: int
    peak_local: int


@dataclasses.dataclass(frozen=True, slots=True)
class Quitted(Internal):
    """A user left the chat: sent once to each local user who shared a channel with them.

    The per-channel ``leave`` frames (:class:`Departed`) go out as well; a
    dialect that announces a quit once (IRC's QUIT) spells those as nothing.
    """

    TYPE: ClassVar[str] = "quitted"
    nick: str
    reason: str
    ts: float


@dataclasses.dataclass(frozen=True, slots=True)
class Departed(Leave):
    """A ``leave`` because its user left the chat (quit or dropped), not a part.

    Its JSON is that of any ``leave``.
    """


@dataclasses.dataclass(frozen=True, slots=True)
class Rejoined(Channel):
    """The ``channel`` frame answering a join of a channel its user is in already.

    Its JSON is that of any ``channel``.
    """

    @classmethod
    def of(cls, frame: Channel) -> Rejoined:
        return cls(**{f.name: getattr(frame, f.name) for f in dataclasses.fields(frame)})


@dataclasses.dataclass(frozen=True, slots=True)
class AwayNotice(Internal):
    """The user a private message went to is away, saying ``text``."""

    TYPE: ClassVar[str] = "away"
    nick: str
    text: str


@dataclasses.dataclass(frozen=True, slots=True)
class AwaySet(Internal):
    """The link's user is now away with ``text``, or back (None)."""

    TYPE: ClassVar[str] = "away_set"
    text: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Raw(Internal):
    """Bytes a session made itself, delivered in line with what the hub sends it."""

    TYPE: ClassVar[str] = "raw"
    data: bytes


# The dialects.


class Dialect(Protocol):
    """How one kind of connection spells server frames on the wire."""

    echoes: bool
    """Whether a link of this dialect gets its own messages back."""
    batches_presence: bool
    """Whether its links take the joins and leaves of big channels batched
    (``PresenceUpdate``, see ``server.presence``) instead of one by one."""

    def encode(self, frame: ServerFrame, nick: str | None = None, tag: str | None = None) -> bytes:
        """Return ``frame`` as bytes.

        Without ``nick`` the bytes are shared by every link of the dialect (a
        channel's events); with it they are for the link of that user alone
        (answers, which some protocols address to the recipient), and carry
        ``tag`` if given.
        """
        ...

    def encode_answer(self, frames: list[ServerFrame], nick: str, tag: str) -> bytes:
        """Return the whole answer to a request tagged ``tag``: ``frames`` (maybe none)."""
        ...


FORMAT_MARKS: Final = ("\ufdd0", "\ufdef")
"""The first and last of the code points (Unicode noncharacters, "for internal use")
that carry IRC formatting through the chat: IRC's control code ``c`` is kept as
``chr(0xFDD0 + c)``. Native clients never see them."""
_MARKS_UTF8: Final = re.compile(b"\xef\xb7[\x90-\xaf]")
_MARKS: Final = re.compile(f"[{FORMAT_MARKS[0]}-{FORMAT_MARKS[1]}]")


def strip_format_marks(text: str) -> str:
    """Return ``text`` without the marks that carry IRC formatting."""
    return _MARKS.sub("", text)


class JsonLines:
    """The native protocol: one JSON object per line; its clients get their own messages.

    IRC formatting carried in texts (see :data:`FORMAT_MARKS`) is left out.
    """

    echoes = True
    batches_presence = False

    def encode(self, frame: ServerFrame, nick: str | None = None, tag: str | None = None) -> bytes:
        if isinstance(frame, Internal) or (
                isinstance(frame, PresenceUpdate) and not self.batches_presence):
            return b""
        data = encode_frame(frame)
        if b"\xef\xb7" in data:
            data = _MARKS_UTF8.sub(b"", data)
        return data

    def encode_answer(self, frames: list[ServerFrame], nick: str, tag: str) -> bytes:
        return b"".join(self.encode(frame) for frame in frames)


class JsonLinesBatched(JsonLines):
    """The native protocol for a client that asked for the ``presence`` capability."""

    batches_presence = True


JSON_LINES = JsonLines()
JSON_LINES_BATCHED = JsonLinesBatched()


@dataclass(eq=False, slots=True)
class Link:
    """A local connection as the hub sees it: where its bytes go, and how they are spelt."""

    outbox: Outbox
    peer: str
    dialect: Dialect = JSON_LINES


@dataclass(frozen=True, slots=True)
class Span:
    """Which part of a history a page covers; every bound is exclusive.

    ``newest`` takes the newest ``limit`` messages inside the bounds, else the
    oldest. Pages always come oldest first.
    """

    after_id: int | None = None
    before_id: int | None = None
    after_ts: float | None = None
    before_ts: float | None = None
    newest: bool = True

    @classmethod
    def of(cls, query: HistoryQuery) -> Span:
        """The span a native ``history`` query asks for."""
        return cls(after_id=query.after, before_id=query.before, newest=query.after is None)


class Hub(Protocol):
    """The chat as sessions see it. Thread-safe: any reader thread may call it."""

    def hello(self, link: Link, hello: Hello, identified: bool = False) -> Account:
        """Welcome ``link`` into the chat; return the nick granted and whether it owns it.

        ``identified``: the caller checked the nick's password (``account_record``).
        Blocks until decided. Raises a ProtocolError (``nick_taken``,
        ``nick_registered``, ``banned``, ``server_error`` ...) when refused; the
        welcome itself arrives on the link.
        """
        ...

    # Accounts: callers check and hash passwords on their own thread (it is slow on
    # purpose); these calls block until decided and raise a ProtocolError if refused.

    def account_record(self, nick: str) -> AccountRecord | None:
        """Return the account of ``nick``, if registered (any thread, any time).

        Raises ServerError (``server_error``) when the store cannot be read.
        """
        ...

    def register(self, link: Link, record: AccountRecord) -> Account:
        """Register the link's nick with ``record`` (its nick is filled in)."""
        ...

    def identify(self, link: Link, nick: str) -> Account:
        """The link's user proved it owns account ``nick``: rename it there, mark it."""
        ...

    def set_password(self, link: Link, record: AccountRecord) -> Account: ...

    def unregister(self, link: Link) -> Account: ...

    # Moderation: answered like any request (an error if not allowed).

    def kick(self, link: Link, request: KickUser, tag: str | None = None) -> None: ...

    def ban(self, link: Link, request: BanUser, tag: str | None = None) -> None: ...

    def unban(self, link: Link, request: UnbanUser, tag: str | None = None) -> None: ...

    def op(self, link: Link, request: OpUser | DeopUser, tag: str | None = None) -> None: ...

    def mode(self, link: Link, request: SetMode, tag: str | None = None) -> None: ...

    def invite(self, link: Link, request: InviteUser, tag: str | None = None) -> None: ...

    def kill(self, link: Link, request: KillUser, tag: str | None = None) -> None: ...

    def join(self, link: Link, request: JoinChannel, tag: str | None = None) -> None: ...

    def part(self, link: Link, request: Part, tag: str | None = None) -> None: ...

    def say(self, link: Link, request: Say, tag: str | None = None) -> None: ...

    def tell(self, link: Link, request: Msg, tag: str | None = None) -> None: ...

    def rename(self, link: Link, request: Nick, tag: str | None = None) -> None: ...

    def set_topic(self, link: Link, request: SetTopic, tag: str | None = None) -> None: ...

    def list_channels(self, link: Link, request: ListChannels,
                      tag: str | None = None) -> None: ...

    def who(self, link: Link, request: Who, tag: str | None = None) -> None: ...

    def history(self, link: Link, request: HistoryQuery, tag: str | None = None) -> None:
        """Answer with a page of a channel's, or a private conversation's, history."""
        ...

    def history_span(self, link: Link, target: str, span: Span, limit: int,
                     tag: str | None = None) -> None:
        """Answer with a ``History`` page of ``target`` (a channel, or a nick) within ``span``."""
        ...

    def whois(self, link: Link, request: WhoisQuery, tag: str | None = None) -> None: ...

    def lookup(self, link: Link, nicks: list[str] | None = None, channel: str | None = None,
               tag: str | None = None) -> None:
        """Answer with a :class:`Presence`: those of ``nicks`` online, or ``channel``'s members.

        With neither, everyone online.
        """
        ...

    def census(self, link: Link, tag: str | None = None) -> None:
        """Answer with a :class:`Census` of the chat."""
        ...

    def redial(self, link: Link, dialect: Dialect, tag: str | None = None) -> None:
        """Spell what the link gets from now on with ``dialect`` (IRC capabilities changed).

        Before its hello a session sets ``link.dialect`` itself.
        """
        ...

    def set_away(self, link: Link, text: str | None, tag: str | None = None) -> None:
        """Mark the link's user away with ``text``, or back (None)."""
        ...

    def reply(self, link: Link, frame: ServerFrame, tag: str | None = None) -> None:
        """Deliver ``frame`` (a pong, an error) after everything accepted before."""
        ...

    def leave(self, link: Link, reason: str, bye: str | None = None) -> None:
        """Take the link's user (if any) out of the chat for ``reason`` and release the link.

        With ``bye``, the link is told so and closed. The session hands its
        outbox over with this call: the hub releases it once everything due
        before was queued, and the session must not use the link afterwards.
        """
        ...


class HubEngine(Hub, Protocol):
    """A hub as the server runs it: started once, stopped once."""

    def start(self) -> None:
        """Begin serving; raise StoreError or BackplaneError if the chat's state is out of reach."""
        ...

    def stop(self, bye_reason: str) -> None:
        """Finish what was accepted, say ``bye`` to every user, and join every thread."""
        ...


class BackplaneError(Exception):
    """The cluster's Redis cannot be used at start; the message says why and what to do."""
