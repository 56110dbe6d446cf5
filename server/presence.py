"""Joins and leaves of big channels, held and sent batched to the links that asked.

A client with the ``presence`` capability is not sent each ``join`` and
``leave`` of a channel of ``BIG_CHANNEL`` members or more: the hub notes them
here and, every ``PRESENCE_INTERVAL_S``, sends one ``presence`` frame per
channel with who came and who went (a join and a leave of the same user in one
interval cancel out). A join storm so costs O(N) frames per interval instead of
O(N) per join. Clients without the capability get every ``join`` and ``leave``
as before.

Order is kept: whatever a channel holds is sent before any event of that
channel that is not batched (a kick, a rename, a join or leave once the channel
is small again), see :meth:`PresenceBatcher.take`. Not thread-safe: owned by
the hub's thread.
"""

from __future__ import annotations

from protocol import BIG_CHANNEL, PRESENCE_INTERVAL_S, PresenceUpdate
from server.membership import Channel, Member

__all__ = ["PresenceBatcher", "batches"]


def batches(channel: Channel) -> bool:
    """Whether ``channel``'s joins and leaves are batched (for the links that asked)."""
    return len(channel.members) >= BIG_CHANNEL and any(
        dialect.batches_presence for dialect in channel.outboxes
    )


class PresenceBatcher:
    """Joins and leaves waiting to be sent, per channel, with when they are due."""

    def __init__(self, interval: float = PRESENCE_INTERVAL_S) -> None:
        self._interval = interval
        self._pending: dict[Channel, dict[str, tuple[bool, str]]] = {}
        """Per channel, by nick key: (joined, nick); a join and a leave cancel out."""
        self.due: float | None = None
        """When (monotonic seconds) what is held must go out; None: nothing held."""

    def joined(self, channel: Channel, member: Member, now: float) -> None:
        self._note(channel, member, True, now)

    def left(self, channel: Channel, member: Member, now: float) -> None:
        self._note(channel, member, False, now)

    def _note(self, channel: Channel, member: Member, joined: bool, now: float) -> None:
        held = self._pending.setdefault(channel, {})
        before = held.pop(member.key, None)
        if before is None or before[0] == joined:
            held[member.key] = (joined, member.nick)
        if self.due is None:
            self.due = now + self._interval

    def holds(self, channel: Channel, member: Member) -> bool:
        held = self._pending.get(channel)
        return held is not None and member.key in held

    def take(self, channel: Channel, ts: float) -> PresenceUpdate | None:
        """Return what ``channel`` holds as one frame, and forget it (None: nothing)."""
        held = self._pending.pop(channel, None)
        if not self._pending:
            self.due = None
        if not held:
            return None
        return PresenceUpdate(
            channel=channel.name, ts=ts,
            joined=[nick for joined, nick in held.values() if joined],
            left=[nick for joined, nick in held.values() if not joined],
        )

    def take_all(self, ts: float) -> list[tuple[Channel, PresenceUpdate]]:
        """Return every channel's frame, and forget them all."""
        channels = list(self._pending)
        taken = [(channel, self.take(channel, ts)) for channel in channels]
        return [(channel, frame) for channel, frame in taken if frame is not None]
