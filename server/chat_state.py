"""Who is where, and the delivery of every change of it to the local links concerned.

:class:`ChatState` applies changes that were already decided (a nick granted,
a join, a message stored ...) to the members and channels it keeps, and
delivers the frames each change means, in order, to the local members it
concerns. It never refuses anything and never touches a store: deciding is the
hub's job. The in-process hub decides and applies in one thread; a cluster
node applies what its backplane decided, in the backplane's order, with members
on other nodes kept without a link. Not thread-safe: owned by one hub thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager

from protocol import (
    BIG_CHANNEL,
    CAP_PRESENCE,
    Bye,
    ByeReason,
    Channels,
    ChannelSummary,
    Invite,
    Join,
    Kick,
    Leave,
    Message,
    Mode,
    Rename,
    Roster,
    ServerFrame,
    Topic,
    Welcome,
    Whois,
    nick_key,
)
from protocol import (
    Channel as ChannelFrame,
)
from server.fanout import Fanout
from server.hub import Census, Departed, Dialect, JsonLines, Link, Presence, Quitted
from server.membership import Channel, Member
from server.outbound import Sender
from server.presence import PresenceBatcher, batches
from server.store import ChannelRecord

__all__ = ["ChatState", "HistoryFor"]

log = logging.getLogger(__name__)

HistoryFor = Callable[[Channel], list[Message]]
"""The messages someone entering a channel is given (the hub knows where they are)."""


class ChatState:
    """Members, channels and local links, changed only by already-decided events."""

    def __init__(self, sender: Sender, server_name: str, motd: str | None = None) -> None:
        self._sender = sender
        self._server_name = server_name
        self._motd = motd
        self.fanout = Fanout(sender)
        self.batcher = PresenceBatcher()
        """Joins and leaves of big channels held for the links that take them batched."""
        self.nicks: dict[str, Member] = {}
        """Every member, by nick key."""
        self.local: dict[Link, Member] = {}
        """The members connected here, by link."""
        self.channels: dict[str, Channel] = {}
        """The channels that have members, by key."""
        self.peak_users = 0
        self.peak_local = 0

    def channel(self, key: str) -> Channel | None:
        return self.channels.get(key)

    def answering(self, link: Link | None, tag: str | None) -> AbstractContextManager[None]:
        """Mark what follows as the answer to ``link``'s request tagged ``tag``.

        What it causes for ``link`` itself goes out as one tagged answer (an
        empty one if nothing): see :meth:`Fanout.answering`.
        """
        member = self.local.get(link) if link is not None else None
        return self.fanout.answering(link, member, tag)

    def _send(self, link: Link, frame: ServerFrame, member: Member | None) -> None:
        self.fanout.to_link(link, frame, member)

    def reply(self, link: Link, frame: ServerFrame) -> None:
        """Send ``frame`` to one link, after everything due to it before."""
        self._send(link, frame, self.local.get(link))

    def flush(self) -> None:
        """Deliver what is pending (call at the end of each batch)."""
        self.fanout.flush()

    # Users coming and going.

    def welcome(
        self, member: Member, wanted: list[Channel], history_for: HistoryFor,
        holder: Member | None = None, private: list[Message] | None = None,
        resume: str | None = None, ts: float = 0.0,
    ) -> list[Channel]:
        """Let ``member`` in, in ``wanted`` channels; return all its channels, in order.

        A ``holder`` of the same nick is replaced: its channels become the
        member's, silently, and its connection (if here) is closed. A local
        member is sent its welcome, with ``private`` messages and its ``resume``
        token; the others in each fresh channel hear of the join.
        """
        if holder is not None:
            self._take_over(holder, member)
        fresh = [c for c in wanted if c.key not in member.channels]
        order = [*wanted, *(c for c in member.channels.values() if c not in wanted)]
        self.nicks[member.key] = member
        member.since = member.since or ts
        if member.link is not None:
            frames = [self._snapshot_for(member, c, history_for(c)) for c in order]
            first = frames[0] if frames else None
            self.local[member.link] = member
            self._send(member.link, Welcome(
                nick=member.nick, server=self._server_name,
                roster=first.roster if first else [], history=first.history if first else [],
                motd=self._motd, resume=resume, channels=frames, private=private or None,
                caps=[CAP_PRESENCE] if member.link.dialect.batches_presence else None,
            ), member)
        for channel in fresh:
            self._enter(member, channel, ts)
        self.peak_users = max(self.peak_users, len(self.nicks))
        self.peak_local = max(self.peak_local, len(self.local))
        return order

    def _take_over(self, holder: Member, member: Member) -> None:
        for channel in holder.channels.values():
            self.fanout.release(channel)
            channel.replace(holder, member)
            member.channels[channel.key] = channel
        holder.channels.clear()
        if self.nicks.get(holder.key) is holder:
            del self.nicks[holder.key]
        link = holder.link
        if link is not None:
            del self.local[link]
            self.fanout.to_link(link, Bye(reason=ByeReason.REPLACED))
            self._sender.close_after_flush(link.outbox, ByeReason.REPLACED)
            log.info("[%s] %s was replaced by a resumed session", link.peer, holder.nick)

    def join(self, member: Member, channel: Channel, history: list[Message], ts: float) -> None:
        """Put ``member`` in ``channel``: it gets the channel (if local), the others a join."""
        if member.link is not None:
            self._send(member.link, self._snapshot_for(member, channel, history), member)
        self._enter(member, channel, ts)

    def _snapshot_for(self, member: Member, channel: Channel,
                      history: list[Message]) -> ChannelFrame:
        """The ``channel`` frame ``member`` gets entering: partial in a big channel, if it asked.

        What the channel holds goes to its members first: the frame's ``users``
        count already includes those joins and leaves, so the member must not
        hear of them again.
        """
        partial = member.link is not None and member.link.dialect.batches_presence \
            and len(channel.members) >= BIG_CHANNEL
        if partial:
            self.release_presence(channel)
        return channel.snapshot(history, joining=member, partial=partial)

    def _enter(self, member: Member, channel: Channel, ts: float) -> None:
        self.channels.setdefault(channel.key, channel)
        channel.add(member)
        member.channels[channel.key] = channel
        join = Join(nick=member.nick, ts=ts, channel=channel.name,
                    identified=member.account is not None)
        self.fanout.to_channel(channel, join, joiner=member,
                               batched=self._hold_presence(channel, member, True))

    def _hold_presence(self, channel: Channel, member: Member, joined: bool) -> bool:
        """Note a join or leave for the links that take them batched; False if not batched.

        When it is not batched, what the channel holds goes out first, to keep the order.
        """
        if batches(channel):
            (self.batcher.joined if joined else self.batcher.left)(
                channel, member, time.monotonic())
            return True
        self.release_presence(channel)
        return False

    def release_presence(self, channel: Channel) -> None:
        """Send what ``channel`` holds of joins and leaves now, before what comes next."""
        frame = self.batcher.take(channel, time.time())
        if frame is not None:
            self.fanout.to_channel(channel, frame)

    def flush_presence(self) -> None:
        """Send every channel's held joins and leaves (when ``batcher.due`` has come)."""
        for channel, frame in self.batcher.take_all(time.time()):
            self.fanout.to_channel(channel, frame)

    def part(self, member: Member, channel: Channel, reason: str, ts: float) -> None:
        """Take ``member`` out of ``channel``; its members and the member get the leave."""
        leave = self._exit(member, channel, reason, ts)
        if member.link is not None:
            self._send(member.link, leave, member)

    def _exit(self, member: Member, channel: Channel, reason: str, ts: float,
              kind: type[Leave] = Leave) -> Leave:
        self.fanout.release(channel)
        channel.remove(member)
        member.channels.pop(channel.key, None)
        if not channel.members:
            self.channels.pop(channel.key, None)
        leave = kind(nick=member.nick, reason=reason, ts=ts, channel=channel.name)
        self.fanout.to_channel(channel, leave,
                               batched=self._hold_presence(channel, member, False))
        return leave

    def leave(self, member: Member, reason: str, ts: float) -> None:
        """Take ``member`` out of the chat: one leave per channel, to the others.

        Each local user who shared a channel also gets one :class:`Quitted`.
        """
        others = {m for c in member.channels.values()
                  for dialect, boxes in c.outboxes.items() if not isinstance(dialect, JsonLines)
                  for m in boxes}  # JSON Lines spells Quitted as nothing: skip its many links
        others.discard(member)
        for channel in list(member.channels.values()):
            self._exit(member, channel, reason, ts, Departed)
        if others:
            self.fanout.to_members(others, Quitted(nick=member.nick, reason=reason, ts=ts))
        if self.nicks.get(member.key) is member:
            del self.nicks[member.key]
        if member.link is not None:
            self.local.pop(member.link, None)

    def unlink(self, member: Member) -> None:
        """Keep ``member`` in the chat but deliver nothing more to it here (its link is gone)."""
        if member.link is not None:
            self.local.pop(member.link, None)
        for channel in member.channels.values():
            self.fanout.release(channel)
            channel.remove(member)
        member.link = None
        for channel in member.channels.values():
            channel.add(member)

    def rename(self, member: Member, new_nick: str, new_key: str, ts: float,
               resume: str | None = None) -> None:
        """Give ``member`` a new nick: everyone sharing a channel hears it once, and so do they."""
        old = member.nick
        for channel in member.channels.values():
            if self.batcher.holds(channel, member):
                self.release_presence(channel)
        self.fanout.flush()
        others = {m for c in member.channels.values() for m in c.members.values()}
        others.discard(member)
        for channel in member.channels.values():
            channel.rename(member, new_key, new_nick)
        if self.nicks.get(member.key) is member:
            del self.nicks[member.key]
        self.nicks[new_key] = member
        member.nick, member.key = new_nick, new_key
        self.fanout.to_members(others, Rename(old=old, new=new_nick, ts=ts))
        if member.link is not None:
            own = Rename(old=old, new=new_nick, ts=ts, resume=resume)
            self._send(member.link, own, member)

    def shutdown(self, bye_reason: str, text: str | None = None) -> None:
        """Say ``bye`` (and ``text``) to every local member and close them; forget everyone."""
        self.flush_presence()
        self.fanout.flush()
        bye = Bye(reason=bye_reason, text=text)
        for link in self.local:
            self.fanout.to_link(link, bye)
            self._sender.close_after_flush(link.outbox, bye_reason)
        self.local.clear()
        self.nicks.clear()
        self.channels.clear()

    # Messages and topics.

    def message(self, message: Message, channel: Channel | None = None,
                sender: Member | None = None, target: Member | None = None) -> None:
        """Deliver a stored message: to its channel's members, or to its two parties.

        A sender gets its own message back if its dialect echoes (then as the
        answer to its request, tagged, if it was tagged).
        """
        if sender is not None:
            sender.spoke = message.ts
        if channel is not None:
            channel.recent.append(message)
            self._broadcast(channel, message, sender if _echoes(sender) else None)
            return
        if sender is not None and sender.link is not None and _echoes(sender):
            self._send(sender.link, message, sender)
        if (target is not None and target.link is not None
                and (target is not sender or not _echoes(sender))):
            self._send(target.link, message, target)  # to oneself: once, echoed or not

    def _broadcast(self, channel: Channel, frame: ServerFrame, origin: Member | None) -> None:
        """Queue ``frame`` for a channel; a tagged requester gets its copy on its own."""
        if origin is not None and self.fanout.answers_to(origin) and channel.has(origin):
            assert origin.link is not None
            self.fanout.flush()
            self._send(origin.link, frame, origin)
            self.fanout.to_channel(channel, frame, joiner=origin)
        else:
            self.fanout.to_channel(channel, frame)

    def topic(self, channel: Channel, record: ChannelRecord, setter: Member | None = None) -> None:
        """Set a channel's topic and tell its members."""
        channel.record = record
        self._broadcast(channel, Topic(
            channel=channel.name, text=record.topic or "", by=record.topic_by or "",
            ts=record.topic_ts or 0.0,
        ), setter)

    def set_away(self, member: Member, text: str | None) -> None:
        member.away = text

    # Moderation.

    def kick(self, channel: Channel, target: Member, reason: str, by: Member | None,
             ts: float) -> None:
        """Put ``target`` out of ``channel``: everyone there, the target too, gets the kick."""
        kick = Kick(channel=channel.name, nick=target.nick, reason=reason,
                    by=by.nick if by is not None else "server", ts=ts)
        self.release_presence(channel)
        self._broadcast(channel, kick, by)
        self.fanout.release(channel)
        channel.remove(target)
        target.channels.pop(channel.key, None)
        if not channel.members:
            self.channels.pop(channel.key, None)

    def mode(self, channel: Channel, change: Mode, by: Member | None) -> None:
        """Tell a channel what changed in it (an operator, a ban, a flag)."""
        self._broadcast(channel, change, by)

    def invite(self, target: Member, frame: Invite, by: Member) -> None:
        """Tell the invited user and whoever invited them."""
        for party in {m: None for m in (target, by)}:
            if party.link is not None:
                self._send(party.link, frame, party)

    def identified(self, member: Member, account: str | None) -> None:
        member.account = account

    def redial(self, link: Link, dialect: Dialect) -> None:
        """Have ``link`` spelt by ``dialect`` from now on, in every channel of its user."""
        member = self.local.get(link)
        channels = list(member.channels.values()) if member is not None else []
        for channel in channels:
            self.fanout.release(channel)
            assert member is not None
            channel.remove(member)
        link.dialect = dialect
        for channel in channels:
            assert member is not None
            channel.add(member)

    # What is asked of the state.

    def listing(self) -> Channels:
        """Return the channels that have members, by name."""
        return Channels(channels=[
            ChannelSummary(name=c.name, users=len(c.members), topic=c.record.topic)
            for _key, c in sorted(self.channels.items())
        ])

    @staticmethod
    def roster(channel: Channel) -> Roster:
        operators, identified = channel.marks()
        return Roster(users=channel.roster.nicks(), channel=channel.name, operators=operators,
                      identified=identified)

    @staticmethod
    def describe(member: Member, now: float) -> Whois:
        """Return what is known of ``member`` for a ``whois``."""
        last = member.spoke or member.since
        channels = member.channels.values()
        running = [c.name for c in channels if c.is_operator(member)] \
            if member.account is not None else []  # only accounts run channels
        return Whois(
            nick=member.nick, channels=[c.name for c in channels],
            idle=max(0, int(now - last)) if last else 0, connected_since=member.since,
            away=member.away, account=member.account, operator_of=running or None,
        )

    def census(self) -> Census:
        return Census(users=len(self.nicks), local=len(self.local), channels=len(self.channels),
                      peak_users=self.peak_users, peak_local=self.peak_local)

    def presence(self, now: float, nicks: list[str] | None = None,
                 channel: Channel | None = None) -> Presence:
        """Return who of ``nicks`` is online, or everyone in ``channel`` (neither: everyone)."""
        if channel is not None:
            members = [channel.members[key] for key in channel.roster.keys()]
            record = channel.record
            operators, _identified = channel.marks()
            return Presence(users=[self.describe(m, now) for m in members], channel=channel.name,
                            topic=record.topic or None,
                            topic_by=record.topic_by if record.topic else None,
                            topic_ts=record.topic_ts if record.topic else None,
                            operators=operators or [], topic_lock=channel.topic_lock,
                            invite_only=channel.invite_only,
                            bans=[b.target or b.value for b in channel.bans if b.active(now)],
                            created=channel.created)
        if nicks is None:
            return Presence(users=[self.describe(m, now) for m in self.nicks.values()])
        asked = nicks
        found = [self.nicks.get(nick_key(nick)) for nick in asked]
        return Presence(users=[self.describe(m, now) for m in found if m is not None],
                        asked=asked)

    @staticmethod
    def snapshot(channel: Channel, history: list[Message]) -> ChannelFrame:
        return channel.snapshot(history)


def _echoes(member: Member | None) -> bool:
    return member is not None and member.link is not None and member.link.dialect.echoes
