"""Deliver frames to local links in the order the hub decides them.

Consecutive frames for one channel form a *run*, delivered with one pass over
the channel's outboxes per dialect, each frame encoded once per dialect and the
run joined into one shared buffer. A join storm or a burst of messages so
costs one pass, not one per frame. Members who joined during the run (their
welcome went out on its own) get only what came after their join.

Order is kept for every recipient: a run is flushed before anything that could
reach one of its recipients by another way, and before anyone leaves its
channel (``release``). A dialect whose links do not get their own messages back
(IRC without echo-message) is served one recipient at a time, each without
what it sent.

While a tagged request is answered (:meth:`Fanout.answering`), what it causes
for its own link is held and then sent as one answer, which a dialect may wrap
(IRC's labeled-response batch) or stand for when empty (IRC's ACK). Held
frames go out before anything else that could reach that link. Not
thread-safe: owned by the hub's thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from protocol import Message, ServerFrame, nick_key
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
        self._batched: set[int] = set()
        """Which frames of the run (a join or leave of a big channel) skip batching dialects."""
        self._answer: tuple[Link, Member | None, str] | None = None
        self._held: list[ServerFrame] = []

    @contextmanager
    def answering(self, link: Link | None, member: Member | None,
                  tag: str | None) -> Iterator[None]:
        """Hold what follows for ``link`` and send it as the answer tagged ``tag``."""
        if link is None or tag is None:
            yield
            return
        self._answer, self._held = (link, member, tag), []
        try:
            yield
        finally:
            self._send_held(final=True)

    def answers_to(self, member: Member | None) -> bool:
        """Whether ``member`` is the one whose tagged request is being answered."""
        return (self._answer is not None and member is not None
                and member.link is self._answer[0])

    def _send_held(self, final: bool = False) -> None:
        """Send what is held as (part of) the answer; the final call ends the answer.

        Only the final call sends an empty answer (which stands for "done").
        """
        if self._answer is None or not (final or self._held):
            return
        link, member, tag = self._answer
        frames, self._held = self._held, []
        nick = member.nick if member is not None else "*"
        data = link.dialect.encode_answer(frames, nick, tag)
        if data:
            self._flusher.send(link.outbox, data)
        if final:
            self._answer = None

    def _reaches_answer(self, members: list[Member] | None = None) -> bool:
        if self._answer is None:
            return False
        member = self._answer[1]
        if members is None:
            return member is not None and self._channel is not None and self._channel.has(member)
        return member in members

    def to_channel(
        self, channel: Channel, frame: ServerFrame, joiner: Member | None = None,
        batched: bool = False,
    ) -> None:
        """Queue ``frame`` for every member of ``channel``; a ``joiner`` gets only later frames.

        A ``batched`` frame (a join or leave that ``server.presence`` holds) is
        not sent to links whose dialect batches presence.
        """
        if self._channel is not channel:
            self.flush()
            self._channel = channel
        if batched:
            self._batched.add(len(self._frames))
        self._frames.append(frame)
        if joiner is not None:
            self._joiners[joiner] = len(self._frames)

    def to_link(self, link: Link, frame: ServerFrame, member: Member | None = None) -> None:
        """Send ``frame`` to one link (``member``: its user, if welcomed) after what came before.

        While that link's tagged request is answered, the frame is held for the answer.
        """
        if member is not None and self._channel is not None and self._channel.has(member):
            self.flush()
        if self._answer is not None and link is self._answer[0]:
            self._held.append(frame)
            return
        data = link.dialect.encode(frame, member.nick if member is not None else "*")
        if data:
            self._flusher.send(link.outbox, data)

    def to_members(self, members: Iterable[Member], frame: ServerFrame) -> None:
        """Send ``frame`` once to each of ``members``, in whatever channels they are."""
        self.flush()
        members = list(members)
        if self._reaches_answer(members):
            self._send_held()
        groups: dict[Dialect, list[Outbox]] = {}
        for member in members:
            if member.link is not None:
                groups.setdefault(member.link.dialect, []).append(member.link.outbox)
        for dialect, boxes in groups.items():
            data = dialect.encode(frame)
            if data:
                self._flusher.send_many(boxes, data)

    def release(self, channel: Channel) -> None:
        """Deliver the run of ``channel`` now: someone is about to leave it."""
        if self._channel is channel:
            self.flush()

    def flush(self) -> None:
        """Deliver the pending run."""
        channel, frames, joiners, batched = (
            self._channel, self._frames, self._joiners, self._batched)
        if channel is None:
            return
        if self._reaches_answer():
            self._send_held()
        self._channel, self._frames, self._joiners, self._batched = None, [], {}, set()
        if not frames:
            return
        encoded: dict[Dialect, list[bytes]] = {}
        for dialect, boxes in channel.outboxes.items():
            if batched and dialect.batches_presence:
                lines = [b"" if i in batched else dialect.encode(frame)
                         for i, frame in enumerate(frames)]
            else:
                lines = [dialect.encode(frame) for frame in frames]
            encoded[dialect] = lines
            if not dialect.echoes:
                self._send_without_own(frames, lines, boxes, joiners)
                continue
            data = b"".join(lines)
            if not data:
                continue
            if joiners:
                self._flusher.send_many(
                    (box for member, box in boxes.items() if member not in joiners), data
                )
            else:
                self._flusher.send_many(boxes.values(), data)
        for member, start in joiners.items():
            link = member.link
            own = encoded.get(link.dialect) if link is not None else None
            if link is None or own is None or start >= len(own) or not channel.has(member):
                continue
            if not link.dialect.echoes:
                own = [line for frame, line in zip(frames[start:], own[start:], strict=True)
                       if not _sent_by(frame, member)]
                start = 0
            data = b"".join(own[start:])
            if data:
                self._flusher.send(link.outbox, data)

    def _send_without_own(self, frames: list[ServerFrame], lines: list[bytes],
                          boxes: dict[Member, Outbox], joiners: dict[Member, int]) -> None:
        """Send a run to each member apart, leaving out the messages it sent itself."""
        senders = [nick_key(f.sender) if isinstance(f, Message) else None for f in frames]
        for member, box in boxes.items():
            if member in joiners:
                continue
            data = b"".join(line for line, sender in zip(lines, senders, strict=True)
                            if sender != member.key)
            if data:
                self._flusher.send(box, data)


def _sent_by(frame: ServerFrame, member: Member) -> bool:
    return isinstance(frame, Message) and nick_key(frame.sender) == member.key
