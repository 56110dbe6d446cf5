"""Who is in which channel, as the hub keeps it in memory.

A :class:`Member` is a welcomed user, connected here (with a link) or, in a
cluster, to another node (without one); a :class:`Channel` is a channel that
has members, with its sorted roster, its newest messages and its topic. Each
channel also keeps its local members' outboxes grouped by dialect, so fan-out
is one pass per dialect with no per-recipient lookup. Not thread-safe: owned by
the hub's thread.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from protocol import WELCOME_HISTORY, Message
from protocol import Channel as ChannelFrame
from server.hub import Dialect, Link
from server.outbound import Outbox
from server.roster import SortedRoster
from server.rules import Ban
from server.store import ChannelRecord

__all__ = ["Channel", "Member"]


@dataclass(eq=False, slots=True)
class Member:
    """A welcomed user: nick, comparison key, link (None: on another node), channels."""

    nick: str
    key: str
    link: Link | None
    channels: dict[str, Channel] = field(default_factory=dict)
    """The channels the user is in, by key, in the order joined."""
    session: str = ""
    """The session's cluster-wide name (empty inside one process)."""
    since: float = 0.0
    """When the user came (unix seconds)."""
    spoke: float = 0.0
    """When the user last sent a message (0: not yet)."""
    away: str | None = None
    """Why the user is away, if they said so."""
    account: str | None = None
    """The key of the account the user proved they own, if any."""
    address: str | None = None
    """The user's IP address (for bans by address), if known here."""
    claim: str = ""
    """The id of the claim the user holds its nick under (see ``server.tokens``; in process)."""


class Channel:
    """A channel with members."""

    __slots__ = ("key", "record", "members", "roster", "recent", "outboxes", "operators",
                 "topic_lock", "invite_only", "bans", "invited", "created")

    def __init__(self, key: str, record: ChannelRecord, recent: list[Message]) -> None:
        self.key = key
        self.record = record
        self.members: dict[str, Member] = {}
        self.roster = SortedRoster()
        self.recent: deque[Message] = deque(recent, WELCOME_HISTORY)
        self.outboxes: dict[Dialect, dict[Member, Outbox]] = {}
        self.operators: set[str] = set()
        """Keys of the accounts that run the channel."""
        self.topic_lock = False
        self.invite_only = False
        self.bans: list[Ban] = []
        self.invited: set[str] = set()
        """Nick keys let in once while the channel is invite-only."""
        self.created = time.time()
        """When this hub first had the channel in memory (unix seconds): its IRC creation time."""

    def is_operator(self, member: Member) -> bool:
        return member.account is not None and member.account in self.operators

    @property
    def name(self) -> str:
        return self.record.name

    def has(self, member: Member) -> bool:
        return self.members.get(member.key) is member

    def add(self, member: Member) -> None:
        """Add a member who is not in the channel yet."""
        self.members[member.key] = member
        self.roster.add(member.key, member.nick)
        link = member.link
        if link is not None:
            self.outboxes.setdefault(link.dialect, {})[member] = link.outbox

    def remove(self, member: Member) -> None:
        """Remove a member; nothing if they are not in."""
        if not self.has(member):
            return
        del self.members[member.key]
        self.roster.remove(member.key)
        link = member.link
        if link is not None:
            boxes = self.outboxes[link.dialect]
            del boxes[member]
            if not boxes:
                del self.outboxes[link.dialect]

    def replace(self, old: Member, new: Member) -> None:
        """Put ``new`` (same nick key) in ``old``'s place, silently."""
        self.remove(old)
        self.add(new)

    def rename(self, member: Member, new_key: str, new_nick: str) -> None:
        """Move a member to a new nick (the member object is updated by the caller)."""
        del self.members[member.key]
        self.roster.remove(member.key)
        self.members[new_key] = member
        self.roster.add(new_key, new_nick)

    def snapshot(self, history: list[Message], joining: Member | None = None,
                 partial: bool = False) -> ChannelFrame:
        """Return the ``channel`` frame for someone entering (``joining`` counted in).

        A ``partial`` one lists only the joiner and the operators present, with
        the number of members, so entering a huge channel costs O(1) bytes.
        """
        if partial:
            return self._partial_snapshot(history, joining)
        roster = self.roster.nicks()
        if joining is not None and not self.has(joining):
            roster = self.roster.nicks_with(joining.key, joining.nick)
        record = self.record
        operators, identified = self.marks(joining)
        return ChannelFrame(
            name=record.name, roster=roster, history=history, topic=record.topic or None,
            topic_by=record.topic_by if record.topic else None,
            topic_ts=record.topic_ts if record.topic else None,
            operators=operators, identified=identified, topic_lock=self.topic_lock,
            invite_only=self.invite_only,
        )

    def _partial_snapshot(self, history: list[Message], joining: Member | None) -> ChannelFrame:
        shown = {m.key: m for m in self.present_operators()}
        if joining is not None:
            shown[joining.key] = joining
        users = len(self.members) + (joining is not None and not self.has(joining))
        identified = [m.nick for m in shown.values() if m.account is not None]
        record = self.record
        return ChannelFrame(
            name=record.name, roster=[shown[key].nick for key in sorted(shown)],
            history=history, topic=record.topic or None,
            topic_by=record.topic_by if record.topic else None,
            topic_ts=record.topic_ts if record.topic else None,
            operators=[m.nick for m in shown.values() if self.is_operator(m)] or None,
            identified=identified or None, topic_lock=self.topic_lock,
            invite_only=self.invite_only, users=users, partial=True,
        )

    def present_operators(self) -> list[Member]:
        """The operators who are in the channel (found by account, not by a pass over members)."""
        found = (self.members.get(account) for account in self.operators)
        return [m for m in found if m is not None and self.is_operator(m)]

    def marks(self, joining: Member | None = None) -> tuple[list[str] | None, list[str] | None]:
        """Return the nicks of the operators and of the identified members (None: nobody)."""
        members = list(self.members.values())
        if joining is not None and not self.has(joining):
            members.append(joining)
        identified = [m for m in members if m.account is not None]
        operators = [m.nick for m in identified if m.account in self.operators]
        return operators or None, [m.nick for m in identified] or None
