"""A cluster node's view of the chat: the shared event stream, applied in order.

:class:`EventApplier` owns the node's :class:`~server.chat_state.ChatState` on
one thread. It applies every event of ``tc:events`` in stream order (so every
client here sees ids increasing, and events in the order Redis decided them),
and runs the node's answers (a pong, a roster, a history page) once the events
this node wrote before the request have come back through the stream: each
answer carries that position, its *fence*. Reading old messages for a welcome
or a page is done here too, bounded by the last message applied, so a client
never gets a message in history before it gets it live.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, cast

import redis

from protocol import (
    RESUME_HISTORY_CAP,
    WELCOME_HISTORY,
    Bye,
    ByeReason,
    Error,
    Invite,
    Message,
    Mode,
    ProtocolError,
    nick_key,
)
from server.chat_state import ChatState
from server.errors import error_frame, history_unavailable, store_unavailable
from server.hub import AwayNotice, AwaySet, Link, Span
from server.membership import Channel, Member
from server.moderation import SERVER_BY, kick_reason, removal_reason
from server.rules import ban_from_json
from server.store import ChannelRecord
from server.tokens import ResumeTokens

__all__ = ["Arrival", "Arrivals", "Entry", "EventApplier", "StreamId", "parse_stream_id"]

log = logging.getLogger(__name__)

StreamId = tuple[int, int]
Entry = tuple[bytes, dict[bytes, bytes]]
"""A stream entry as redis-py returns it: id and fields."""
ORIGIN: Final[StreamId] = (0, 0)
TOKEN_SKEW_S: Final = 5.0
PARKED_MAX_S: Final = 5.0
"""How long an answer waits for its fence (the stream stalled: Redis is away) before it
gives up: the client then gets ``server_error`` instead of silence."""
MAX_PARKED: Final = 10_000
"""Answers waiting at most; beyond, the oldest gives up at once."""
Action = Callable[[], None]


@dataclass(frozen=True, slots=True)
class _Parked:
    """An answer waiting for the stream to reach its fence."""

    fence: StreamId
    action: Action
    late: Action
    """What to run instead if it waits too long."""
    since: float


def parse_stream_id(raw: bytes | str) -> StreamId:
    text = raw.decode() if isinstance(raw, bytes) else raw
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


@dataclass(frozen=True, slots=True)
class Arrival:
    """A local connection whose hello Redis granted: what its welcome needs."""

    link: Link
    since: int | None
    issued: float | None
    address: str | None = None


@dataclass(slots=True)
class _Awaited:
    """A local hello sent to Redis, and what is known of it so far."""

    arrival: Arrival | None
    """None once abandoned: its client was refused, so its event, if any, is an orphan."""
    seen: bool = False
    """The applier welcomed it (its event came)."""
    granted: bool = False
    """The committer had Redis's yes."""
    account: str | None = None


class Arrivals:
    """Local hellos sent to Redis, met by their answer (committer) and their event (applier).

    Whichever of the two comes second forgets the hello. When no answer came
    (Redis failed mid-call: the script may have run), the committer asks what
    the applier saw: a hello already welcomed is granted; any other is refused
    and abandoned, and its event, if it comes, is an orphan to take out again.
    Thread-safe.
    """

    def __init__(self, keep_abandoned_s: float) -> None:
        self._lock = threading.Lock()
        self._awaited: dict[str, _Awaited] = {}
        self._abandoned: dict[str, float] = {}
        """Abandoned sessions, oldest first, and when: kept while their event could come."""
        self._keep_abandoned_s = keep_abandoned_s

    def expect(self, session: str, arrival: Arrival) -> None:
        """Note a local hello about to be decided, so its event finds its link."""
        with self._lock:
            self._awaited[session] = _Awaited(arrival)

    def refused(self, session: str) -> None:
        """Redis refused the hello (or it was never sent): its event will never come."""
        with self._lock:
            self._awaited.pop(session, None)

    def granted(self, session: str) -> None:
        """Redis granted the hello."""
        with self._lock:
            awaited = self._awaited.get(session)
            if awaited is not None and awaited.seen:
                del self._awaited[session]
            elif awaited is not None:
                awaited.granted = True

    def unsure(self, session: str, now: float) -> tuple[bool, str | None]:
        """No answer came: return (True, its account) if it was welcomed, else abandon it."""
        with self._lock:
            awaited = self._awaited.get(session)
            if awaited is not None and awaited.seen:
                del self._awaited[session]
                return True, awaited.account
            if awaited is not None:
                awaited.arrival = None
                self._abandoned[session] = now
            for old, when in list(self._abandoned.items()):
                if now - when < self._keep_abandoned_s:
                    break
                del self._abandoned[old]
                self._awaited.pop(old, None)
            return False, None

    def claim(self, session: str, account: str | None) -> Arrival | None:
        """The applier met the hello's event: its arrival, or None for an orphan."""
        with self._lock:
            awaited = self._awaited.get(session)
            if awaited is None or awaited.arrival is None or awaited.granted:
                self._awaited.pop(session, None)
                self._abandoned.pop(session, None)
                return awaited.arrival if awaited is not None else None
            awaited.seen, awaited.account = True, account
            return awaited.arrival


def _list(value: Any) -> list[Any]:
    """Lua's JSON encoder writes an empty list as ``{}``."""
    return value if isinstance(value, list) else []


class EventApplier:
    """The node thread: applies stream events and runs fenced answers, in order."""

    def __init__(self, state: ChatState, client: redis.Redis, node: str,
                 tokens: ResumeTokens, closer: Callable[[Link, str], None],
                 orphaned: Callable[[str], None], keep_abandoned_s: float,
                 store_failed: Callable[[Exception], None]) -> None:
        self.state = state
        self._closer = closer
        self._orphaned = orphaned
        self._store_failed = store_failed
        self._stale: set[str] = set()
        """Channels whose recent messages could not be read: read again before use."""
        self._owed: list[Link] = []
        """Local links that missed history a failed read left out, to be told after the event."""
        self._redis = client
        self._node = node
        self._tokens = tokens
        self._inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.arrivals = Arrivals(keep_abandoned_s)
        self._parked: deque[_Parked] = deque()
        self.applied: StreamId = ORIGIN
        self.last_message_id = 0
        self._thread = threading.Thread(target=self._run, name="node-applier", daemon=True)
        self._handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            "hello": self._on_hello, "join": self._on_join, "part": self._on_part,
            "quit": self._on_quit, "msg": self._on_msg, "nick": self._on_nick,
            "topic": self._on_topic, "away": self._on_away, "account": self._on_account,
            "kick": self._on_kick, "ban": self._on_ban, "unban": self._on_unban,
            "op": self._on_op, "mode": self._on_mode, "invite": self._on_invite,
        }

    # Any thread.

    def start(self, position: StreamId, last_message_id: int) -> None:
        self.applied = position
        self.last_message_id = last_message_id
        self._thread.start()

    def events(self, entries: list[Entry]) -> None:
        """Hand over a batch read from the stream (the stream reader's thread)."""
        self._inbox.put(("events", entries))

    def answer(self, fence: StreamId, action: Action, late: Action | None = None) -> None:
        """Run ``action`` once the stream is applied up to ``fence``.

        If the stream does not get there within PARKED_MAX_S, run ``late``
        instead (by default ``action`` itself, unfenced).
        """
        self._inbox.put(("answer", (fence, action, late or action)))

    def call(self, action: Action) -> None:
        """Run ``action`` on the node thread next, between two events, fenced by nothing."""
        self._inbox.put(("call", action))

    def stop(self) -> None:
        self._inbox.put(("stop", None))
        self._thread.join()

    # The node thread.

    def _run(self) -> None:
        while True:
            wake = self._wake_at()
            try:
                if wake is None:
                    kind, item = self._inbox.get()
                else:
                    kind, item = self._inbox.get(timeout=max(0.0, wake - time.monotonic()))
            except queue.Empty:
                kind, item = "time", None
            if kind == "stop":
                while self._parked:  # answers whose events will not come now
                    self._run_action(self._parked.popleft().action)
                self.state.flush()
                return
            try:
                if kind == "events":
                    self._apply_all(item)
                elif kind == "answer":
                    self._answer(*item)
                elif kind == "call":
                    self._run_action(item)
                self._give_up_waiting(time.monotonic())
                due = self.state.batcher.due
                if due is not None and time.monotonic() >= due:
                    self.state.flush_presence()
                self.state.flush()
            except Exception:
                log.exception("applying %s failed", kind)

    def _apply_all(self, entries: list[Entry]) -> None:
        for raw_id, fields in entries:
            position = parse_stream_id(raw_id)
            if position <= self.applied:
                continue  # already in the snapshot this node started from
            self._run_due()  # an answer runs where its fence is, before what came later
            self.applied = position
            try:
                self._apply_one(json.loads(fields[b"e"]))
            except Exception:
                log.exception("event %s could not be applied", raw_id)
            self._tell_owed()
        self._run_due()

    def _apply_one(self, event: dict[str, Any]) -> None:
        tag = event.get("tag")
        if tag is None:
            self._handlers[event["t"]](event)
            return
        requester = self._requester(event)
        with self.state.answering(requester, tag if requester else None):
            self._handlers[event["t"]](event)

    def _read(self, read: Callable[[], list[Message]], link: Link | None) -> list[Message]:
        """Return ``read()``, or nothing if Redis fails: ``link`` is then told, after the event.

        The event still has its whole effect on the view; only old messages are missing.
        """
        try:
            return read()
        except redis.RedisError as exc:
            self._store_failed(exc)
            if link is not None and link not in self._owed:
                self._owed.append(link)
            return []

    def _tell_owed(self) -> None:
        error = error_frame(history_unavailable())
        for link in self._owed:
            self.state.reply(link, error)
        self._owed.clear()

    def restart_at(self, position: StreamId, last_message_id: int) -> None:
        """The view was reloaded from a snapshot true at ``position``: go on from there."""
        self.applied = position
        self.last_message_id = max(self.last_message_id, last_message_id)
        self._run_due()

    def _run_due(self) -> None:
        """Run the parked answers whose fence the stream has reached."""
        while self._parked and self._parked[0].fence <= self.applied:
            self._run_action(self._parked.popleft().action)

    def _requester(self, event: dict[str, Any]) -> Link | None:
        """The local link of the session whose request this (tagged) event answers."""
        member = self.state.nicks.get(event.get("k", ""))
        if member is not None and member.session == event.get("s"):
            return member.link
        return None

    def _answer(self, fence: StreamId, action: Action, late: Action) -> None:
        if self._parked or fence > self.applied:
            self._parked.append(_Parked(fence, action, late, time.monotonic()))
            if len(self._parked) > MAX_PARKED:
                self._run_action(self._parked.popleft().late)
        else:
            self._run_action(action)

    def _wake_at(self) -> float | None:
        """When the node thread must wake with nothing in its inbox (monotonic), if ever."""
        due = self.state.batcher.due
        if self._parked:
            expiry = self._parked[0].since + PARKED_MAX_S
            due = expiry if due is None else min(due, expiry)
        return due

    def _give_up_waiting(self, now: float) -> None:
        """Answers that waited too long for the stream: their late version, then what is due."""
        if not self._parked or now - self._parked[0].since < PARKED_MAX_S:
            return
        while self._parked and now - self._parked[0].since >= PARKED_MAX_S:
            self._run_action(self._parked.popleft().late)
        self._run_due()

    def unavailable(self, link: Link, tag: str | None = None) -> Action:
        """An answer for ``link`` that says the chat store is unavailable."""
        return self.run_answer(link, _unavailable, tag)

    def _run_action(self, action: Action) -> None:
        try:
            action()
        except Exception:
            log.exception("an answer failed")

    def run_answer(self, link: Link, make: Callable[[], Any], tag: str | None = None) -> Action:
        """Wrap an answer for ``link`` (tagged ``tag``) so that a refusal becomes an error."""

        def action() -> None:
            with self.state.answering(link, tag):
                try:
                    make()
                except ProtocolError as exc:
                    self.state.reply(link, error_frame(exc))
                except redis.RedisError as exc:
                    self._store_failed(exc)
                    error = store_unavailable()
                    self.state.reply(link, Error(code=error.code, message=error.message))

        return action

    # Events.

    def _member(self, event: dict[str, Any]) -> Member | None:
        member = self.state.nicks.get(event["k"])
        if member is None or member.session != event["s"]:
            log.warning("event for an unknown session %s ignored", event.get("s"))
            return None
        return member

    def _channel_from(self, record: dict[str, Any]) -> Channel:
        """The channel an event names, from this view or (new here) from its record."""
        channel = self.state.channel(record["c"])
        if channel is not None:
            return channel
        return self.channel_of(record)

    def channel_of(self, record: dict[str, Any]) -> Channel:
        """A channel built from what Redis keeps of it (the record a script sends)."""
        key, name = record["c"], record["name"]
        kept = ChannelRecord(name=name, topic=record.get("topic") or None,
                             topic_by=record.get("by") or None,
                             topic_ts=float(record["tts"]) if record.get("tts") else None)
        try:
            recent = self.latest(key, name, WELCOME_HISTORY)
        except redis.RedisError as exc:
            self._store_failed(exc)
            recent = []
            self._stale.add(key)
        channel = Channel(key, kept, recent)
        channel.operators = set(_list(record.get("ops")))
        channel.topic_lock = record.get("tl") == "1"
        channel.invite_only = record.get("io") == "1"
        channel.bans = [ban_from_json(raw) for raw in _list(record.get("bans"))]
        channel.invited = set(_list(record.get("inv")))
        return channel

    def _on_hello(self, event: dict[str, Any]) -> None:
        session, key = event["s"], event["k"]
        holder = self.state.nicks.get(key)
        if holder is not None and holder.session != event.get("rep"):
            log.warning("%s held by session %s in this view; replaced", key, holder.session)
        arrival = None
        if event["n"] == self._node:
            arrival = self.arrivals.claim(session, event.get("acct"))
            if arrival is None:  # its client was refused: take it out again
                log.warning("session %s (%s) has no connection here; it leaves", session,
                            event["nick"])
                self._orphaned(session)
        member = Member(nick=event["nick"], key=key, link=arrival.link if arrival else None,
                        session=session, account=event.get("acct"),
                        address=arrival.address if arrival else None)
        wanted = [self._channel_from(record) for record in _list(event["ch"])]
        private, token = None, None
        since: int | None = None
        if arrival is not None:
            since = arrival.since
            token = self._tokens.issue(member.nick, event.get("cl") or "",
                                       member.account is not None)
            if event.get("res") and arrival.issued is not None and since is not None:
                not_before = arrival.issued - TOKEN_SKEW_S
                private = self._read(lambda: self.private_after(key, since, not_before),
                                     arrival.link)
        order = self.state.welcome(
            member, wanted, lambda c: self._read(lambda: self.since(c, since), member.link),
            holder, private, token,
            float(event["ts"]),
        )
        if arrival is not None:
            log.info("[%s] %s as %s in %s", arrival.link.peer,
                     "resumed" if holder is not None else "joined", member.nick,
                     ", ".join(c.name for c in order) or "no channel")

    def _on_join(self, event: dict[str, Any]) -> None:
        member = self._member(event)
        if member is None:
            return
        channel = self._channel_from(event["ch"])
        since = event.get("since")
        history = (self._read(lambda: self.since(channel, since), member.link)
                   if member.link is not None else [])
        self.state.join(member, channel, history, float(event["ts"]))
        if member.link is not None:
            log.info("[%s] %s joined %s", member.link.peer, member.nick, channel.name)

    def _on_part(self, event: dict[str, Any]) -> None:
        member = self._member(event)
        channel = member.channels.get(event["c"]) if member is not None else None
        if member is None or channel is None:
            return
        self.state.part(member, channel, event["r"], float(event["ts"]))
        if member.link is not None:
            log.info("[%s] %s left %s (%s)", member.link.peer, member.nick, channel.name,
                     event["r"])

    def _on_quit(self, event: dict[str, Any]) -> None:
        member = self._member(event)
        if member is None:
            return
        reason, bye = event["r"], event.get("bye")
        if bye and "bk" in event:  # put out by a moderator
            reason = removal_reason(bye, self._by_name(event["bk"]), reason or None)
            if bye == ByeReason.KILLED:
                self._log_action(self.state.nicks.get(event["bk"]), "killed %s (%s)",
                                 member.nick, reason)
        self.state.leave(member, reason, float(event["ts"]))
        link = member.link
        if link is not None:
            log.info("[%s] %s left (%s)", link.peer, member.nick, reason)
            if bye:
                self.state.reply(link, Bye(reason=bye, text=reason))
                self._closer(link, bye)

    def _on_msg(self, event: dict[str, Any]) -> None:
        channel = self.state.channel(event["c"]) if "c" in event else None
        message = Message(
            id=int(event["id"]), ts=float(event["ts"]), sender=event["from"],
            text=event["text"], action=bool(int(event.get("a") or 0)), to=event.get("to"),
            channel=channel.name if channel is not None else None,
        )
        self.last_message_id = max(self.last_message_id, message.id)
        nicks = self.state.nicks
        sender = nicks.get(event["k"])
        if channel is not None:
            self.state.message(message, channel, sender)
        elif "tk" in event:
            target = nicks.get(event["tk"])
            self.state.message(message, None, sender, target)
            link = sender.link if sender is not None else None
            if link is not None and target is not None and target.away is not None:
                self.state.reply(link, AwayNotice(nick=target.nick, text=target.away))

    def _on_nick(self, event: dict[str, Any]) -> None:
        member = self._member(event)
        if member is None:
            return
        old = member.nick
        token = (self._tokens.issue(event["nick"], event.get("cl") or "",
                                    member.account == event["nk"])
                 if member.link is not None else None)
        self.state.rename(member, event["nick"], event["nk"], float(event["ts"]), token)
        if member.link is not None:
            log.info("[%s] %s is now known as %s", member.link.peer, old, member.nick)

    def _on_topic(self, event: dict[str, Any]) -> None:
        channel = self.state.channel(event["c"])
        if channel is None:
            return
        record = ChannelRecord(name=channel.name, topic=event["text"] or None,
                               topic_by=event["by"], topic_ts=float(event["ts"]))
        self.state.topic(channel, record, self.state.nicks.get(event.get("k", "")))

    def _on_account(self, event: dict[str, Any]) -> None:
        member = self._member(event)
        gone = event.get("gone")
        if gone:
            for channel in self.state.channels.values():
                channel.operators.discard(gone)
        if member is not None:
            self.state.identified(member, event.get("acct"))

    @staticmethod
    def _log_action(by: Member | None, what: str, *args: object) -> None:
        """Log a moderation action on the node whose user asked for it (only there)."""
        if by is not None and by.link is not None:
            log.info("[%s] %s " + what, by.link.peer, by.nick, *args)

    def _by(self, event: dict[str, Any]) -> Member | None:
        return self.state.nicks.get(event.get("k", ""))

    def _by_name(self, key: str) -> str:
        """The nick of the user with ``key``, or the server's if they are gone."""
        member = self.state.nicks.get(key)
        return member.nick if member is not None else SERVER_BY

    def _mode(self, event: dict[str, Any], **change: Any) -> None:
        """Tell a channel (or, server-wide, the admin who asked) what changed."""
        by = self._by(event)
        name = by.nick if by is not None else SERVER_BY
        channel = self.state.channel(event["c"]) if event.get("c") else None
        frame = Mode(channel=channel.name if channel is not None else None, by=name,
                     ts=float(event["ts"]), **change)
        if channel is not None:
            self.state.mode(channel, frame, by)
        elif not event.get("c") and by is not None and by.link is not None:
            self.state.reply(by.link, frame)

    def _on_kick(self, event: dict[str, Any]) -> None:
        channel = self.state.channel(event["c"])
        target = self.state.nicks.get(event["tk"])
        if channel is None or target is None or not channel.has(target):
            return
        by = self._by(event)  # none for a ban that holds someone who just identified
        name = by.nick if by is not None else event.get("bn") or SERVER_BY
        given = event.get("r") or None
        reason = (removal_reason(ByeReason.BANNED, name, given) if event.get("ban")
                  else kick_reason(name, given))
        self.state.kick(channel, target, reason, by, float(event["ts"]))
        if not event.get("ban"):
            self._log_action(by, "kicked %s from %s (%s)", target.nick, channel.name, reason)

    def _on_ban(self, event: dict[str, Any]) -> None:
        channel = self.state.channel(event["c"]) if event.get("c") else None
        if channel is not None:  # each new ban replaces the one holding the same
            bans = [ban_from_json(json.dumps(b)) for b in _list(event.get("bans"))]
            held = {(b.kind, b.value) for b in bans}
            channel.bans = [b for b in channel.bans if (b.kind, b.value) not in held] + bans
        self._mode(event, ban=event["nick"])
        self._log_action(self._by(event), "banned %s from %s", event["nick"],
                         channel.name if channel is not None else "the server")

    def _on_unban(self, event: dict[str, Any]) -> None:
        channel = self.state.channel(event["c"]) if event.get("c") else None
        if channel is not None:
            key = nick_key(event["nick"])
            channel.bans = [b for b in channel.bans if not b.lifted_by(key)]
        self._mode(event, unban=event["nick"])
        self._log_action(self._by(event), "lifted the ban on %s in %s", event["nick"],
                         channel.name if channel is not None else "the server")

    def _on_op(self, event: dict[str, Any]) -> None:
        channel = self.state.channel(event["c"])
        target = self.state.nicks.get(event["tk"])
        if channel is None:
            return
        giving = bool(event.get("on"))
        (channel.operators.add if giving else channel.operators.discard)(event["acct"])
        nick = target.nick if target is not None else event.get("nick") or event["tk"]
        self._mode(event, op=nick if giving else None, deop=None if giving else nick)
        self._log_action(self._by(event), "%s %s in %s", "opped" if giving else "deopped", nick,
                         channel.name)

    def _on_mode(self, event: dict[str, Any]) -> None:
        channel = self.state.channel(event["c"])
        if channel is None:
            return
        change: dict[str, bool] = {}
        for flag, attribute in (("tl", "topic_lock"), ("io", "invite_only")):
            value = event.get(flag)
            if isinstance(value, bool):
                setattr(channel, attribute, value)
                change[attribute] = value
        if change:
            self._mode(event, **change)  # one frame for both: one MODE line on IRC
        self._log_action(self._by(event), "set the modes of %s", channel.name)

    def _on_invite(self, event: dict[str, Any]) -> None:
        channel = self.state.channel(event["c"])
        target, by = self.state.nicks.get(event["tk"]), self._by(event)
        if channel is None or target is None or by is None:
            return
        channel.invited.add(target.key)
        self.state.invite(target, Invite(channel=channel.name, nick=target.nick, by=by.nick,
                                         ts=float(event["ts"])), by)
        self._log_action(by, "invited %s to %s", target.nick, channel.name)

    def _on_away(self, event: dict[str, Any]) -> None:
        member = self._member(event)
        if member is not None:
            self.state.set_away(member, event.get("text"))
            if member.link is not None:
                self.state.reply(member.link, AwaySet(text=event.get("text")))

    # Reading the logs, bounded by what was applied.

    def _bound(self) -> str:
        return f"{self.last_message_id}-1"

    def _newest(self, stream: str, top: str, bottom: str, count: int) -> list[Entry]:
        """Return up to ``count`` entries from ``top`` down to ``bottom``, oldest first."""
        entries = cast(list[Entry], self._redis.xrevrange(stream, top, bottom, count=count))
        entries.reverse()
        return entries

    def latest(self, key: str, name: str, limit: int) -> list[Message]:
        return self.page(Span(), limit, key=key, name=name)

    def page(self, span: Span, limit: int, key: str = "", name: str | None = None,
             party: tuple[str, str] | None = None) -> list[Message]:
        """Return up to ``limit`` messages of a channel's log, or of a conversation.

        ``party`` is (my key, the other's key): the page is read from my private
        log, keeping only what was between us. Newest or oldest within ``span``,
        never past the last message applied here; oldest first.
        """
        top = self.last_message_id
        if span.before_id is not None:
            top = min(top, span.before_id - 1)
        bottom = (span.after_id or 0) + 1
        if top < bottom:
            return []
        stream = f"tc:pm:{party[0]}" if party is not None else f"tc:log:{key}"

        def keep(message: Message) -> bool:
            if span.after_ts is not None and message.ts <= span.after_ts:
                return False
            if span.before_ts is not None and message.ts >= span.before_ts:
                return False
            return party is None or party[1] in (nick_key(message.sender),
                                                 nick_key(message.to or ""))

        found: list[Message] = []
        while len(found) < limit and bottom <= top:
            chunk = max(limit, 100)
            if span.newest:
                raw = self._redis.xrevrange(stream, f"{top}-1", f"{bottom}-0", count=chunk)
            else:
                raw = self._redis.xrange(stream, f"{bottom}-0", f"{top}-1", count=chunk)
            entries = cast(list[Entry], raw)
            if not entries:
                break
            for raw_id, fields in entries:
                message = _message(raw_id, fields, channel=name)
                if keep(message) and len(found) < limit:
                    found.append(message)
            edge = parse_stream_id(entries[-1][0])[0]
            top, bottom = (edge - 1, bottom) if span.newest else (top, edge + 1)
        if span.newest:
            found.reverse()
        return found

    def since(self, channel: Channel, since: int | None) -> list[Message]:
        """Return the messages someone entering gets: the newest, or all after ``since``."""
        if channel.key in self._stale:
            fresh = self.latest(channel.key, channel.name, WELCOME_HISTORY)
            channel.recent.clear()
            channel.recent.extend(fresh)
            self._stale.discard(channel.key)
        recent = channel.recent
        if since is None:
            return list(recent)
        if len(recent) < (recent.maxlen or 0) or (recent and recent[0].id <= since + 1):
            return [m for m in recent if m.id > since]
        return self.page(Span(after_id=since), RESUME_HISTORY_CAP, key=channel.key,
                         name=channel.name)

    def private_after(self, key: str, since: int, not_before: float) -> list[Message]:
        entries = self._newest(f"tc:pm:{key}", self._bound(), f"{since + 1}-0",
                               RESUME_HISTORY_CAP)
        messages = [_message(i, f) for i, f in entries]
        return [m for m in messages if m.ts >= not_before]

    def before(self, key: str, name: str, before: int | None, limit: int) -> list[Message]:
        return self.page(Span(before_id=before), limit, key=key, name=name)

    def member_of(self, link: Link) -> Member | None:
        return self.state.local.get(link)


def _unavailable() -> None:
    raise store_unavailable()


def _message(raw_id: bytes, fields: dict[bytes, bytes], channel: str | None = None) -> Message:
    text = {k.decode(): v.decode("utf-8") for k, v in fields.items()}
    return Message(
        id=parse_stream_id(raw_id)[0], ts=float(text["ts"]), sender=text["from"],
        text=text["text"], action=text.get("a") == "1", to=text.get("to"),
        channel=None if "to" in text else channel,
    )
