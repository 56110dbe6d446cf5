"""The hub: what sessions ask of the chat, whichever engine runs it.

A session (the front door: one reader thread per connection) knows its
connection only as a :class:`Link` and asks the :class:`Hub` for everything
that concerns other users: nick claims, channel membership, ids, topics and
history. The hub decides, orders, and delivers every answer and event to the
links concerned through their outboxes, in the link's :class:`Dialect`.

Every method but :meth:`Hub.hello` returns at once; answers arrive on the link.
Answers are barriers: each reaches its link after everything the hub accepted
before the request (see docs/PROTOCOL.md). ``server.local_hub`` is the engine
inside one process over SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from protocol import (
    Hello,
    HistoryQuery,
    JoinChannel,
    ListChannels,
    Msg,
    Nick,
    Part,
    Say,
    ServerFrame,
    SetTopic,
    Who,
    encode_frame,
)
from server.outbound import Outbox

__all__ = ["JSON_LINES", "BackplaneError", "Dialect", "Hub", "HubEngine", "JsonLines", "Link"]


class Dialect(Protocol):
    """How one kind of connection spells server frames on the wire."""

    def encode(self, frame: ServerFrame) -> bytes:
        """Return ``frame`` as bytes for every link of this dialect (shared by them)."""
        ...


class JsonLines:
    """The native protocol: one JSON object per line."""

    def encode(self, frame: ServerFrame) -> bytes:
        return encode_frame(frame)


JSON_LINES = JsonLines()


@dataclass(eq=False, slots=True)
class Link:
    """A local connection as the hub sees it: where its bytes go, and how they are spelt."""

    outbox: Outbox
    peer: str
    dialect: Dialect = JSON_LINES


class Hub(Protocol):
    """The chat as sessions see it. Thread-safe: any reader thread may call it."""

    def hello(self, link: Link, hello: Hello) -> str:
        """Welcome ``link`` into the chat; return the nick granted.

        Blocks until decided. Raises a ProtocolError (``nick_taken``,
        ``too_many_channels``, ``server_error`` ...) when refused; the welcome
        itself arrives on the link.
        """
        ...

    def join(self, link: Link, request: JoinChannel) -> None: ...

    def part(self, link: Link, request: Part) -> None: ...

    def say(self, link: Link, request: Say) -> None: ...

    def tell(self, link: Link, request: Msg) -> None: ...

    def rename(self, link: Link, request: Nick) -> None: ...

    def set_topic(self, link: Link, request: SetTopic) -> None: ...

    def list_channels(self, link: Link, request: ListChannels) -> None: ...

    def who(self, link: Link, request: Who) -> None: ...

    def history(self, link: Link, request: HistoryQuery) -> None: ...

    def reply(self, link: Link, frame: ServerFrame) -> None:
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
