"""Deliver frames to local links in the order the hub decides them.

Consecutive frames for one channel form a *run*, delivered with one pass over
the channel's outboxes per dialect, each frame encoded once per dialect and the
run joined into one shared buffer. A join storm or a burst of messages so
costs one pass, not one per frame. Members who joined during the run (their
welcome went out on its own) get only what came after their join.

Order is kept for every recipient: a run is flushed before anything that could
reach one of its recipients by another way, and before anyone leaves its
channel (``release``). Not thread-safe: owned by the hub's thread.
"""

from __future__ import annotations

from collections.abc import Iterable

from protocol import ServerFrame
from server.hub import Dialect, Link
from server.membership import Channel, Member
from server.outbound import Outbox, Sender

__all__ = ["Fanout"]


class Fanout:
    """The hub's delivery side: runs per channel, direct frames per link."""

    def __init__(self, flusher: Sender) -> None:
        self._flusher = flusher
        self._channel: Channel | None = None
        self._frames: list[ServerFrame] = []
        self._joiners: dict[Member, int] = {}

    def to_channel(
        self, channel: Channel, frame: ServerFrame, joiner: Member | None = None
    ) -> None:
        """Queue ``frame`` for every member of ``channel``; a ``joiner`` gets only later frames."""
        if self._channel is not channel:
            self.flush()
            self._channel = channel
        self._frames.append(frame)
        if joiner is not None:
            self._joiners[joiner] = len(self._frames)

    def to_link(self, link: Link, frame: ServerFrame, member: Member | None = None) -> None:
        """Send ``frame`` to one link (``member``: its user, if welcomed) after what came before."""
        if member is not None and self._channel is not None and self._channel.has(member):
            self.flush()
        self._flusher.send(link.outbox, link.dialect.encode(frame))

    def to_members(self, members: Iterable[Member], frame: ServerFrame) -> None:
        """Send ``frame`` once to each of ``members``, in whatever channels they are."""
        self.flush()
        groups: dict[Dialect, list[Outbox]] = {}
        for member in members:
            if member.link is not None:
                groups.setdefault(member.link.dialect, []).append(member.link.outbox)
        for dialect, boxes in groups.items():
            self._flusher.send_many(boxes, dialect.encode(frame))

    def release(self, channel: Channel) -> None:
        """Deliver the run of ``channel`` now: someone is about to leave it."""
        if self._channel is channel:
            self.flush()

    def flush(self) -> None:
        """Deliver the pending run."""
        channel, frames, joiners = self._channel, self._frames, self._joiners
        if channel is None:
            return
        self._channel, self._frames, self._joiners = None, [], {}
        if not frames:
            return
        encoded: dict[Dialect, list[bytes]] = {}
        for dialect, boxes in channel.outboxes.items():
            lines = encoded[dialect] = [dialect.encode(frame) for frame in frames]
            data = b"".join(lines)
            if joiners:
                self._flusher.send_many(
                    (box for member, box in boxes.items() if member not in joiners), data
                )
            else:
                self._flusher.send_many(boxes.values(), data)
        for member, start in joiners.items():
            link = member.link
            own = encoded.get(link.dialect) if link is not None else None
            if link is not None and own is not None and start < len(own) and channel.has(member):
                self._flusher.send(link.outbox, b"".join(own[start:]))
