"""The hub inside one server process: nicks, channels, ids and history over SQLite.

One thread, the hub's, owns all of it. Reader threads only queue requests
(:meth:`LocalHub.hello` alone waits for its answer); the hub thread takes
everything queued (after a 5 ms gather when the chat is large or busy) and
works through it in order. Messages are collected into a *segment*; the
segment is numbered, stored in one transaction and only then delivered, before
any other kind of request is looked at. So ids follow the order of requests,
nobody receives a message that was not stored, every answer comes after
everything queued before its request (the barrier rule), and membership is
never read and changed at the same time. This module decides (nick taken? in
that channel?) and stores; :class:`~server.chat_state.ChatState` applies what
was decided and delivers it. History pages are read on this thread too, so they
keep their place in line (a page is at most 500 messages, one indexed read).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from protocol import (
    RESUME_HISTORY_CAP,
    WELCOME_HISTORY,
    Account,
    BadRequest,
    BanUser,
    Bye,
    ByeReason,
    DeopUser,
    Hello,
    History,
    HistoryQuery,
    Invite,
    InviteUser,
    JoinChannel,
    KickUser,
    KillUser,
    LeaveReason,
    ListChannels,
    Message,
    Mode,
    Msg,
    Nick,
    OpUser,
    Part,
    ProtocolError,
    Say,
    ServerFrame,
    SetMode,
    SetTopic,
    UnbanUser,
    Who,
    WhoisQuery,
    channel_key,
    is_channel,
    nick_key,
)
from server.accounts import AccountRecord
from server.chat_state import ChatState
from server.config import SERVER_NAME, ServerConfig
from server.errors import (
    NickRegistered,
    NoSuchUser,
    NotRegistered,
    ServerError,
    error_frame,
    nick_registered,
    nick_taken,
    no_such_user,
    not_identified,
    not_in_channel,
    not_welcomed,
    shutting_down,
    store_failed,
    too_many_channels,
)
from server.hub import (
    GATHER_S,
    AwayNotice,
    AwaySet,
    Dialect,
    Link,
    Presence,
    Rejoined,
    Span,
)
from server.membership import Channel, Member
from server.moderation import (
    SERVER_BY,
    ban_for,
    banned,
    banned_in,
    check_admin,
    check_operator,
    join_refusal,
    kick_reason,
    nick_refusal,
    removal_reason,
)
from server.outbound import Sender
from server.rules import SERVER_SCOPE, ClaimChange, MemoryRules, RulesStore, find_ban
from server.store import ChannelRecord, HistoryStore, StoreError
from server.tokens import RESUME_TOKEN_TTL_S, Claim, ResumeTokens, new_claim_id

__all__ = ["LocalHub"]

log = logging.getLogger(__name__)

INBOX_CAPACITY: Final = 20_000
MAX_BATCH: Final = 5_000
GATHER_MIN_MEMBERS: Final = 256
"""When this many users are online, or the hub is busy (its last batch ended less
than ``GATHER_S`` ago), it waits that long after the first request before working:
a burst then costs one transaction and one pass over each channel (group commit).
A quiet, small chat is served at once."""
HELLO_WAIT_S: Final = 0.5
"""How often a reader waiting for its welcome checks whether the hub is stopping."""
TOKEN_SECRET: Final = "resume-token-key"
TOKEN_SKEW_S: Final = 5.0
"""A resume replays private messages from this long before its token was issued on:
those of the session the token belongs to (and later ones of the same nick), not older."""

Handler = Callable[["LocalHub", Any, Any], None]
"""A request's handler on the hub thread: (hub, link or None, argument)."""
_T = TypeVar("_T")
_Item = tuple[Handler, "Link | None", Any, "str | None"]
"""A queued request: its handler, link, argument and tag."""


class _Claims:
    """The claim each nick is held under, kept in the rules store (see ``server.tokens``).

    Changes are written once per batch (:meth:`flush`, one transaction), and
    read from here until then. A crash before the write loses the batch's
    changes: its tokens then do not resume. Hub thread only.
    """

    def __init__(self, rules: RulesStore) -> None:
        self._rules = rules
        self._due: list[ClaimChange] = []
        self._taken: dict[str, Claim] = {}
        now = time.time()
        rules.release_claims(now, now + RESUME_TOKEN_TTL_S)  # their sessions died with us

    def current(self, key: str) -> Claim | None:
        taken = self._taken.get(key)
        return taken if taken is not None else self._rules.claim(key)

    def take(self, key: str) -> str:
        """Hold ``key`` under a new claim (earlier tokens of the nick are void); return it."""
        claim = new_claim_id()
        self._taken[key] = Claim(claim)
        self._due.append(ClaimChange(key, claim, taken=True))
        return claim

    def keep(self, key: str, claim: Claim) -> str:
        """Hold ``key`` again under ``claim`` (a resume); return its id."""
        if claim.until is not None:
            self._taken[key] = Claim(claim.id)
            self._due.append(ClaimChange(key, claim.id, taken=True))
        return claim.id

    def release(self, member: Member) -> None:
        """``member`` no longer holds its nick: its claim lasts a day more."""
        until = time.time() + RESUME_TOKEN_TTL_S
        taken = self._taken.get(member.key)
        if taken is not None and taken.id == member.claim:
            self._taken[member.key] = Claim(member.claim, until)
        self._due.append(ClaimChange(member.key, member.claim, until))

    def flush(self) -> None:
        """Write the changes of this batch in one transaction."""
        if not self._due:
            return
        due, self._due = self._due, []
        self._taken.clear()
        try:
            self._rules.save_claims(due)
        except StoreError as exc:  # the tokens issued meanwhile will not resume: safe
            log.error("%s", exc)


@dataclass(slots=True)
class _Draft:
    """A message decided but not yet numbered: to a channel, or to a user."""

    sender: Member
    text: str
    action: bool
    channel: Channel | None
    target: Member | None
    tag: str | None


class LocalHub:
    """The in-process hub. Its public methods are thread-safe; the rest runs on its thread."""

    def __init__(
        self,
        store: HistoryStore,
        flusher: Sender,
        config: ServerConfig,
        on_stored: Callable[[int], None] | None = None,
        rules: RulesStore | None = None,
    ) -> None:
        self._store = store
        self._rules: RulesStore = rules if rules is not None else MemoryRules()
        self._admins = frozenset(nick_key(nick) for nick in config.admins)
        self._server_bans = self._rules.bans(SERVER_SCOPE)
        self._flusher = flusher
        self._config = config
        self._default = config.default_channel
        self._on_stored = on_stored
        self._tokens = ResumeTokens(store.secret(TOKEN_SECRET))
        self._claims = _Claims(self._rules)
        self._state = ChatState(flusher, SERVER_NAME, config.motd)
        self._inbox: queue.Queue[_Item] = queue.Queue(INBOX_CAPACITY)
        self._segment: list[_Draft] = []
        self._tag: str | None = None  # of the request being worked on
        self._next_id = store.last_id + 1
        self._closed = False
        self._stopped = False
        self._last_batch_end = 0.0
        self._thread = threading.Thread(target=self._run, name="hub", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, bye_reason: str = ByeReason.SERVER_SHUTDOWN) -> None:
        """Deliver and store everything queued, say ``bye`` to everyone, stop and join."""
        self._closed = True
        self._inbox.put((LocalHub._on_shutdown, None, bye_reason, None))
        self._thread.join()

    # Requests: called from reader threads.

    def hello(self, link: Link, hello: Hello, identified: bool = False) -> Account:
        return self._call(LocalHub._welcome, link, (hello, identified))

    def account_record(self, nick: str) -> AccountRecord | None:
        return self._rules.account(nick_key(nick))

    def register(self, link: Link, record: AccountRecord) -> Account:
        return self._call(LocalHub._register, link, record)

    def identify(self, link: Link, nick: str) -> Account:
        return self._call(LocalHub._identify, link, nick)

    def set_password(self, link: Link, record: AccountRecord) -> Account:
        return self._call(LocalHub._set_password, link, record)

    def unregister(self, link: Link) -> Account:
        return self._call(LocalHub._unregister, link, None)

    def _call(self, work: Callable[[LocalHub, Link, Any], _T], link: Link, arg: Any) -> _T:
        """Have the hub thread do ``work`` now and wait for its result (or its refusal)."""
        future: concurrent.futures.Future[_T] = concurrent.futures.Future()
        self._submit(LocalHub._on_call, link, (work, arg, future))
        while True:
            try:
                return future.result(timeout=HELLO_WAIT_S)
            except concurrent.futures.TimeoutError:
                if self._stopped:
                    raise shutting_down() from None

    def join(self, link: Link, request: JoinChannel, tag: str | None = None) -> None:
        self._submit(LocalHub._on_join, link, request, tag)

    def part(self, link: Link, request: Part, tag: str | None = None) -> None:
        self._submit(LocalHub._on_part, link, request, tag)

    def say(self, link: Link, request: Say, tag: str | None = None) -> None:
        self._submit(LocalHub._on_say, link, request, tag)

    def tell(self, link: Link, request: Msg, tag: str | None = None) -> None:
        self._submit(LocalHub._on_tell, link, request, tag)

    def rename(self, link: Link, request: Nick, tag: str | None = None) -> None:
        self._submit(LocalHub._on_rename, link, request, tag)

    def set_topic(self, link: Link, request: SetTopic, tag: str | None = None) -> None:
        self._submit(LocalHub._on_topic, link, request, tag)

    def list_channels(self, link: Link, request: ListChannels, tag: str | None = None) -> None:
        self._submit(LocalHub._on_list, link, request, tag)

    def who(self, link: Link, request: Who, tag: str | None = None) -> None:
        self._submit(LocalHub._on_who, link, request, tag)

    def history(self, link: Link, request: HistoryQuery, tag: str | None = None) -> None:
        target = request.peer or request.channel or self._default
        self._submit(LocalHub._on_history, link, (target, request), tag)

    def history_span(self, link: Link, target: str, span: Span, limit: int,
                     tag: str | None = None) -> None:
        self._submit(LocalHub._on_history_span, link, (target, span, limit), tag)

    def whois(self, link: Link, request: WhoisQuery, tag: str | None = None) -> None:
        self._submit(LocalHub._on_whois, link, request, tag)

    def lookup(self, link: Link, nicks: list[str] | None = None, channel: str | None = None,
               tag: str | None = None) -> None:
        self._submit(LocalHub._on_lookup, link, (nicks, channel), tag)

    def set_away(self, link: Link, text: str | None, tag: str | None = None) -> None:
        self._submit(LocalHub._on_away, link, text, tag)

    def census(self, link: Link, tag: str | None = None) -> None:
        self._submit(LocalHub._on_census, link, None, tag)

    def redial(self, link: Link, dialect: Dialect, tag: str | None = None) -> None:
        self._submit(LocalHub._on_redial, link, dialect, tag)

    def reply(self, link: Link, frame: ServerFrame, tag: str | None = None) -> None:
        self._submit(LocalHub._on_reply, link, frame, tag)

    def leave(self, link: Link, reason: str, bye: str | None = None) -> None:
        self._submit(LocalHub._on_leave, link, (reason, bye))

    def kick(self, link: Link, request: KickUser, tag: str | None = None) -> None:
        self._submit(LocalHub._on_kick, link, request, tag)

    def ban(self, link: Link, request: BanUser, tag: str | None = None) -> None:
        self._submit(LocalHub._on_ban, link, request, tag)

    def unban(self, link: Link, request: UnbanUser, tag: str | None = None) -> None:
        self._submit(LocalHub._on_unban, link, request, tag)

    def op(self, link: Link, request: OpUser | DeopUser, tag: str | None = None) -> None:
        self._submit(LocalHub._on_op, link, request, tag)

    def mode(self, link: Link, request: SetMode, tag: str | None = None) -> None:
        self._submit(LocalHub._on_mode, link, request, tag)

    def invite(self, link: Link, request: InviteUser, tag: str | None = None) -> None:
        self._submit(LocalHub._on_invite, link, request, tag)

    def kill(self, link: Link, request: KillUser, tag: str | None = None) -> None:
        self._submit(LocalHub._on_kill, link, request, tag)

    def _submit(self, handler: Handler, link: Link, arg: Any, tag: str | None = None) -> None:
        """Queue a request; wait while the hub is far behind; refuse it once stopping."""
        while not self._closed:
            try:
                self._inbox.put((handler, link, arg, tag), timeout=0.5)
                return
            except queue.Full:
                continue
        self._refuse_late(handler, link, arg)

    # The hub thread.

    def _run(self) -> None:
        try:
            while not self._stopped:
                batch = self._take_batch()
                for handler, link, arg, tag in batch:
                    if self._stopped:
                        self._refuse_late(handler, link, arg)
                    else:
                        self._work(handler, link, arg, tag)
                self._deliver_segment_safely()
                self._claims.flush()
                due = self._state.batcher.due
                if due is not None and time.monotonic() >= due:
                    self._state.flush_presence()
                self._state.flush()
                self._last_batch_end = time.monotonic()
            self._refuse_queued()
        except Exception:
            log.exception("hub thread failed")
            self._stopped = True

    def _take_batch(self) -> list[_Item]:
        """Wait for requests (no longer than until held presence is due); take them all."""
        due = self._state.batcher.due
        try:
            if due is None:
                batch = [self._inbox.get()]
            else:
                batch = [self._inbox.get(timeout=max(0.0, due - time.monotonic()))]
        except queue.Empty:
            return []
        if self._should_gather():
            time.sleep(GATHER_S)
        while len(batch) < MAX_BATCH:
            try:
                batch.append(self._inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def _should_gather(self) -> bool:
        large = len(self._state.local) >= GATHER_MIN_MEMBERS
        return large or time.monotonic() - self._last_batch_end < GATHER_S

    def _work(self, handler: Handler, link: Link | None, arg: Any, tag: str | None) -> None:
        """Carry out one request; its errors go to its link, a bug costs only it.

        A message only joins the segment (its answer comes when it is delivered);
        anything else delivers the segment first and is answered as it is done.
        """
        self._tag = tag
        if handler in _SEGMENT_HANDLERS:
            self._try(handler, link, arg, tag)
            return
        self._deliver_segment_safely()
        with self._state.answering(link, tag):
            self._try(handler, link, arg, None)

    def _try(self, handler: Handler, link: Link | None, arg: Any, tag: str | None) -> None:
        try:
            handler(self, link, arg)
        except ProtocolError as exc:
            self._refuse(link, exc, tag)
        except StoreError as exc:
            log.error("%s", exc)
            self._refuse(link, store_failed(), tag)
        except Exception:
            log.exception("a %s request failed", handler.__name__.removeprefix("_on_"))
            self._refuse(link, ServerError("The server failed to do that; try again later."), tag)

    def _refuse(self, link: Link | None, exc: ProtocolError, tag: str | None = None) -> None:
        """Answer with an error, after the messages accepted before (they may be for it).

        ``tag``: the request is not being answered yet (a message), so answer it now.
        """
        if link is None:
            return
        self._deliver_segment_safely()
        log.debug("[%s] refused: %s (%s)", link.peer, exc.code, exc.message)
        with self._state.answering(link, tag):
            self._state.reply(link, error_frame(exc))

    def _refuse_late(self, handler: Handler, link: Link | None, arg: Any) -> None:
        """Turn down a request that came after the shutdown; a leaving link is released."""
        if handler is LocalHub._on_call:
            arg[2].set_exception(shutting_down())
        elif handler is LocalHub._on_leave and link is not None:
            self._flusher.release(link.outbox)

    def _refuse_queued(self) -> None:
        while True:
            try:
                handler, link, arg, _tag = self._inbox.get_nowait()
            except queue.Empty:
                return
            self._refuse_late(handler, link, arg)

    def _member(self, link: Link) -> Member:
        member = self._state.local.get(link)
        if member is None:  # replaced by a resume, or never welcomed
            raise not_welcomed()
        return member

    def _joined(self, member: Member, name: str | None) -> Channel:
        """Return the member's channel called ``name`` (None: the default one)."""
        channel = member.channels.get(channel_key(name or self._default))
        if channel is None:
            raise not_in_channel(name or self._default)
        return channel

    # Welcome and membership.

    def _on_call(self, link: Link, arg: tuple[Callable[[LocalHub, Link, Any], Any], Any,
                                              concurrent.futures.Future[Any]]) -> None:
        work, value, future = arg
        try:
            result = work(self, link, value)
        except ProtocolError as exc:
            future.set_exception(exc)
        except StoreError as exc:
            log.error("%s", exc)
            future.set_exception(store_failed())
        except Exception as exc:
            log.exception("[%s] %s failed", link.peer, work.__name__.strip("_"))
            future.set_exception(ServerError(f"The server failed to do that ({exc})."))
        else:
            future.set_result(result)

    def _welcome(self, link: Link, arg: tuple[Hello, bool]) -> Account:
        hello, proved = arg
        state = self._state
        if link in state.local:
            raise BadRequest("You are already welcomed; use /nick to change your nick.")
        names = hello.channels if hello.channels is not None else [self._default]
        if len(names) > self._config.max_channels_per_user:
            raise too_many_channels(self._config.max_channels_per_user)
        key = nick_key(hello.nick)
        holder = state.nicks.get(key)
        claim = self._claims.current(key) if hello.resume else None
        resume = self._tokens.check(hello.resume, hello.nick, claim)
        if holder is not None and resume is None:
            raise nick_taken()
        kept = holder.channels.keys() if holder is not None else set()  # a resume keeps them
        if len(kept | {channel_key(n) for n in names}) > self._config.max_channels_per_user:
            raise too_many_channels(self._config.max_channels_per_user)
        registered = self._rules.account(key) is not None
        identified = registered and (proved or (resume is not None and resume.identified))
        if registered and not identified:
            raise nick_registered()
        member = Member(nick=hello.nick, key=key, link=link, account=key if identified else None,
                        address=_address(link))
        now = time.time()
        ban = find_ban(self._server_bans, now, member.account, key, member.address)
        if ban is not None:
            raise banned(ban, "this server")
        wanted, refused = [], []
        for name in names:
            channel = self._channel(name, member)
            refusal = join_refusal(channel, member, self._admins, now)
            if refusal is None:
                wanted.append(channel)
            else:
                refused.append(refusal)
        private = None
        if resume is not None and hello.since is not None:
            private = self._store.private_after(
                hello.nick, hello.since, RESUME_HISTORY_CAP,
                not_before=resume.issued - TOKEN_SKEW_S,
            )
        member.claim = (self._claims.keep(key, claim) if resume is not None and claim is not None
                        else self._claims.take(key))
        order = state.welcome(
            member, wanted, lambda c: self._since(c, hello.since), holder, private,
            self._tokens.issue(member.nick, member.claim, identified), now,
        )
        for refusal in refused:
            state.reply(link, error_frame(refusal))
        log.info("[%s] %s as %s%s in %s", link.peer,
                 "resumed" if holder is not None else "joined", member.nick,
                 " (identified)" if identified else "",
                 ", ".join(c.name for c in order) or "no channel")
        return Account(nick=member.nick, registered=registered, identified=identified)

    def _channel(self, name: str, creator: Member | None = None) -> Channel:
        """Return the channel called ``name``, from memory or the store (not yet kept).

        A channel that never existed is made, run by its ``creator`` if identified.
        """
        key = channel_key(name)
        channel = self._state.channel(key)
        if channel is not None:
            return channel
        record = self._store.channel(key)
        if record is None:
            channel = Channel(key, ChannelRecord(name=name), [])
            self._remember(channel.record)
            if creator is not None and creator.account is not None:
                self._rules.set_operator(key, creator.account, True)
        else:
            recent = self._store.page(Span(), WELCOME_HISTORY, channel=record.name)
            channel = Channel(key, record, recent)
        channel.operators = self._rules.operators(key)
        channel.topic_lock, channel.invite_only = self._rules.modes(key)
        channel.bans = self._rules.bans(key)
        return channel

    def _remember(self, record: ChannelRecord) -> None:
        """Keep a new channel's spelling; a store that fails only costs the spelling."""
        try:
            self._store.save_channel(record)
        except StoreError as exc:
            log.error("%s", exc)

    def _since(self, channel: Channel, since: int | None) -> list[Message]:
        """Return the messages for someone entering: the newest, or all after ``since``."""
        recent = channel.recent
        if since is None:
            return list(recent)
        if len(recent) < (recent.maxlen or 0) or (recent and recent[0].id <= since + 1):
            return [m for m in recent if m.id > since]
        return self._store.page(Span(after_id=since), RESUME_HISTORY_CAP, channel=channel.name)

    def _on_join(self, link: Link, request: JoinChannel) -> None:
        member = self._member(link)
        channel = member.channels.get(channel_key(request.channel))
        if channel is not None:
            again = channel.snapshot(self._since(channel, request.since))
            self._state.reply(link, Rejoined.of(again))
            return
        if len(member.channels) >= self._config.max_channels_per_user:
            raise too_many_channels(self._config.max_channels_per_user)
        channel = self._channel(request.channel, member)
        refusal = join_refusal(channel, member, self._admins, time.time())
        if refusal is not None:
            raise refusal
        channel.invited.discard(member.key)
        self._state.join(member, channel, self._since(channel, request.since), time.time())
        log.info("[%s] %s joined %s", link.peer, member.nick, channel.name)

    def _on_part(self, link: Link, request: Part) -> None:
        member = self._member(link)
        channel = self._joined(member, request.channel)
        reason = request.reason or LeaveReason.PART
        self._state.part(member, channel, reason, time.time())
        log.info("[%s] %s left %s (%s)", link.peer, member.nick, channel.name, reason)

    def _on_leave(self, link: Link, arg: tuple[str, str | None]) -> None:
        reason, bye = arg
        try:
            member = self._state.local.get(link)
            if member is not None:
                self._claims.release(member)
                self._state.leave(member, reason, time.time())
                log.info("[%s] %s left (%s)", link.peer, member.nick, reason)
            if bye is not None:
                self._state.reply(link, Bye(reason=bye))
                self._flusher.close_after_flush(link.outbox, bye)
        finally:
            self._flusher.release(link.outbox)

    def _on_shutdown(self, _link: None, bye_reason: str) -> None:
        for member in self._state.local.values():
            self._claims.release(member)
        self._state.shutdown(bye_reason)
        self._stopped = True

    def _on_rename(self, link: Link, request: Nick) -> None:
        member = self._member(link)
        old, new = member.nick, request.nick
        if new == old:
            return
        new_key = nick_key(new)
        if new_key != member.key and new_key in self._state.nicks:
            raise nick_taken()
        if new_key != member.account and self._rules.account(new_key) is not None:
            raise nick_registered()
        refusal = None if new_key == member.key else nick_refusal(
            member, new_key, self._server_bans, self._admins, time.time())
        if refusal is not None:
            raise refusal
        if new_key != member.key:  # a nick taken without a token: a new claim
            self._claims.release(member)
            member.claim = self._claims.take(new_key)
        self._state.rename(member, new, new_key, time.time(),
                           self._tokens.issue(new, member.claim, member.account == new_key))
        log.info("[%s] %s is now known as %s", link.peer, old, new)

    # Messages: decided now, numbered, stored and delivered with the segment.

    def _on_say(self, link: Link, request: Say) -> None:
        member = self._member(link)
        channel = self._joined(member, request.channel)
        self._segment.append(
            _Draft(member, request.text, request.action, channel, None, self._tag))

    def _on_tell(self, link: Link, request: Msg) -> None:
        member = self._member(link)
        target = self._state.nicks.get(nick_key(request.to))
        if target is None:
            raise no_such_user(request.to)
        self._segment.append(_Draft(member, request.text, False, None, target, self._tag))

    def _deliver_segment_safely(self) -> None:
        """Deliver the segment; a bug costs its messages (their senders hear of it)."""
        if not self._segment:
            return
        drafts, self._segment = self._segment, []
        try:
            self._deliver_segment(drafts)
        except Exception:
            log.exception("delivering %d messages failed", len(drafts))
            self._refuse_drafts(drafts, "The server failed to send the message; try again.")

    def _deliver_segment(self, drafts: list[_Draft]) -> None:
        """Number the messages, store them in one transaction, then deliver them in order."""
        now = time.time()
        first = self._next_id
        messages = [
            Message(
                id=first + i, ts=now, sender=d.sender.nick, text=d.text, action=d.action,
                to=d.target.nick if d.target is not None else None,
                channel=d.channel.name if d.channel is not None else None,
            )
            for i, d in enumerate(drafts)
        ]
        try:
            self._store.append(messages)
        except StoreError as exc:
            log.error("%s", exc)
            self._refuse_drafts(
                drafts, "The message could not be stored, so it was not sent; try again later."
            )
            return
        self._next_id += len(messages)
        if self._on_stored is not None:
            self._on_stored(len(messages))
        state = self._state
        for draft, message in zip(drafts, messages, strict=True):
            if draft.tag is None:
                state.message(message, draft.channel, draft.sender, draft.target)
                if draft.target is not None:
                    self._tell_away(draft)
                continue
            with state.answering(draft.sender.link, draft.tag):
                state.message(message, draft.channel, draft.sender, draft.target)
                self._tell_away(draft)

    def _tell_away(self, draft: _Draft) -> None:
        """Say so to the sender of a private message if its target is away."""
        target, link = draft.target, draft.sender.link
        if target is not None and target.away is not None and link is not None:
            self._state.reply(link, AwayNotice(nick=target.nick, text=target.away))

    def _refuse_drafts(self, drafts: list[_Draft], text: str) -> None:
        for draft in drafts:
            if draft.sender.link is not None:
                self._refuse(draft.sender.link, ServerError(text), draft.tag)

    # Accounts: the password was checked (or hashed) on the requester's own thread.

    def _register(self, link: Link, record: AccountRecord) -> Account:
        member = self._member(link)
        if self._rules.account(member.key) is not None:
            raise NickRegistered(f"{member.nick} is registered already; /identify to it.")
        self._rules.save_account(dataclasses.replace(record, nick=member.nick))
        self._state.identified(member, member.key)
        log.info("[%s] %s registered the nick", link.peer, member.nick)
        member.claim = self._claims.take(member.key)
        return self._account(member)

    def _identify(self, link: Link, nick: str) -> Account:
        member = self._member(link)
        key = nick_key(nick)
        record = self._rules.account(key)
        if record is None:
            raise NotRegistered(f"{nick} is not a registered nick.")
        now = time.time()
        ban = find_ban(self._server_bans, now, key, key, member.address)
        if ban is not None:
            raise banned(ban, "this server")
        holder = self._state.nicks.get(key)
        if holder is not None and holder is not member:
            self._close(holder, ByeReason.REPLACED, "replaced by its owner", now)
        self._state.identified(member, key)
        renamed = member.key != key
        if renamed:
            self._claims.release(member)
        member.claim = self._claims.take(key)  # the holder's tokens are void now
        if renamed:
            old = member.nick
            self._state.rename(member, record.nick, key, now,
                               self._tokens.issue(record.nick, member.claim, True))
            log.info("[%s] %s is now known as %s", link.peer, old, record.nick)
        log.info("[%s] %s identified", link.peer, member.nick)
        for channel, ban in banned_in(member, self._admins, now):
            reason = removal_reason(ByeReason.BANNED, ban.by or SERVER_BY, ban.reason or None)
            self._state.kick(channel, member, reason, None, now)
            log.info("[%s] %s is banned from %s, put out (%s)", link.peer, member.nick,
                     channel.name, reason)
        return self._account(member)

    def _set_password(self, link: Link, record: AccountRecord) -> Account:
        member = self._member(link)
        current = self._rules.account(member.account) if member.account else None
        if current is None:
            raise not_identified()
        self._rules.save_account(dataclasses.replace(record, nick=current.nick,
                                                     created=current.created))
        log.info("[%s] %s changed the nick's password", link.peer, member.nick)
        member.claim = self._claims.take(member.key)  # tokens from before are void
        return self._account(member)

    def _unregister(self, link: Link, _arg: None) -> Account:
        member = self._member(link)
        if member.account is None:
            raise not_identified()
        self._rules.delete_account(member.account)
        for channel in self._state.channels.values():
            channel.operators.discard(member.account)
        self._state.identified(member, None)
        log.info("[%s] %s unregistered the nick", link.peer, member.nick)
        member.claim = self._claims.take(member.key)  # tokens from before are void
        return self._account(member)

    def _account(self, member: Member) -> Account:
        """The answer to an account request, with a fresh token for the session's claim."""
        owned = member.account is not None
        return Account(nick=member.nick, registered=owned, identified=owned,
                       resume=self._tokens.issue(member.nick, member.claim, owned))

    def _close(self, member: Member, bye: str, reason: str, now: float) -> None:
        """Take ``member`` out of the chat with ``reason`` and close its link with ``bye``.

        The member is told ``reason`` too: who put them out, and why.
        """
        self._claims.release(member)
        self._state.leave(member, reason, now)
        if member.link is not None:
            self._state.reply(member.link, Bye(reason=bye, text=reason))
            self._flusher.close_after_flush(member.link.outbox, bye)

    # Moderation.

    def _target(self, nick: str) -> Member:
        target = self._state.nicks.get(nick_key(nick))
        if target is None:
            raise no_such_user(nick)
        return target

    def _on_kick(self, link: Link, request: KickUser) -> None:
        member = self._member(link)
        channel = self._joined(member, request.channel)
        check_operator(member, channel, self._admins)
        target = self._target(request.nick)
        if not channel.has(target):
            raise NoSuchUser(f"{target.nick} is not in {channel.name}.")
        reason = kick_reason(member.nick, request.reason)
        self._state.kick(channel, target, reason, member, time.time())
        log.info("[%s] %s kicked %s from %s (%s)", link.peer, member.nick, target.nick,
                 channel.name, reason)

    def _on_ban(self, link: Link, request: BanUser) -> None:
        member = self._member(link)
        now = time.time()
        target_key = nick_key(request.nick)
        target = self._state.nicks.get(target_key)
        if target is not None:
            account = target.account
        else:
            account = target_key if self._rules.account(target_key) is not None else None
        address = target.address if target is not None else None
        bans = ban_for(request, target_key, account, address, member.nick, now)
        if request.channel is None:
            check_admin(member, self._admins)
        else:
            channel = self._joined(member, request.channel)
            check_operator(member, channel, self._admins)
        for ban in bans:
            self._rules.save_ban(ban)
        reason = removal_reason(ByeReason.BANNED, member.nick, request.reason)
        if request.channel is None:
            self._server_bans = self._rules.bans(SERVER_SCOPE)
            if target is not None:
                self._close(target, ByeReason.BANNED, reason, now)
            self._state.reply(link, Mode(channel=None, by=member.nick, ts=now, ban=request.nick))
        else:
            channel.bans = self._rules.bans(channel.key)
            self._state.mode(channel, Mode(channel=channel.name, by=member.nick, ts=now,
                                           ban=request.nick), member)
            if target is not None and channel.has(target):
                self._state.kick(channel, target, reason, member, now)
        log.info("[%s] %s banned %s from %s%s", link.peer, member.nick, request.nick,
                 request.channel or "the server", f" for {request.minutes} min"
                 if request.minutes else "")

    def _on_unban(self, link: Link, request: UnbanUser) -> None:
        member = self._member(link)
        now, target_key = time.time(), nick_key(request.nick)
        if request.channel is None:
            check_admin(member, self._admins)
            self._rules.delete_bans(SERVER_SCOPE, target_key)
            self._server_bans = self._rules.bans(SERVER_SCOPE)
            self._state.reply(link, Mode(channel=None, by=member.nick, ts=now,
                                         unban=request.nick))
        else:
            channel = self._joined(member, request.channel)
            check_operator(member, channel, self._admins)
            self._rules.delete_bans(channel.key, target_key)
            channel.bans = self._rules.bans(channel.key)
            self._state.mode(channel, Mode(channel=channel.name, by=member.nick, ts=now,
                                           unban=request.nick), member)
        log.info("[%s] %s lifted the ban on %s in %s", link.peer, member.nick, request.nick,
                 request.channel or "the server")

    def _on_op(self, link: Link, request: OpUser | DeopUser) -> None:
        member = self._member(link)
        channel = self._joined(member, request.channel)
        check_operator(member, channel, self._admins)
        giving = isinstance(request, OpUser)
        target = self._target(request.nick) if giving else self._state.nicks.get(
            nick_key(request.nick))
        if target is not None and target.account is None and giving:
            raise BadRequest(f"{target.nick} is not identified; only accounts run channels.")
        # operators are kept by account: an offline one is deopped by its nick's account
        account = nick_key(request.nick) if target is None else target.account
        nick = request.nick if target is None else target.nick
        if account is not None:
            self._rules.set_operator(channel.key, account, giving)
            (channel.operators.add if giving else channel.operators.discard)(account)
        change = Mode(channel=channel.name, by=member.nick, ts=time.time(),
                      op=nick if giving else None, deop=None if giving else nick)
        self._state.mode(channel, change, member)
        log.info("[%s] %s %s %s in %s", link.peer, member.nick,
                 "opped" if giving else "deopped", nick, channel.name)

    def _on_mode(self, link: Link, request: SetMode) -> None:
        member = self._member(link)
        channel = self._joined(member, request.channel)
        check_operator(member, channel, self._admins)
        now = time.time()
        if request.topic_lock is not None:
            channel.topic_lock = request.topic_lock
        if request.invite_only is not None:
            channel.invite_only = request.invite_only
        self._rules.save_modes(channel.key, channel.topic_lock, channel.invite_only)
        self._state.mode(channel, Mode(channel=channel.name, by=member.nick, ts=now,
                                       topic_lock=request.topic_lock,
                                       invite_only=request.invite_only), member)
        log.info("[%s] %s set the modes of %s", link.peer, member.nick, channel.name)

    def _on_invite(self, link: Link, request: InviteUser) -> None:
        member = self._member(link)
        channel = self._joined(member, request.channel)
        if channel.invite_only:
            check_operator(member, channel, self._admins)
        target = self._target(request.nick)
        channel.invited.add(target.key)
        invite = Invite(channel=channel.name, nick=target.nick, by=member.nick, ts=time.time())
        self._state.invite(target, invite, member)
        log.info("[%s] %s invited %s to %s", link.peer, member.nick, target.nick, channel.name)

    def _on_kill(self, link: Link, request: KillUser) -> None:
        member = self._member(link)
        check_admin(member, self._admins)
        target = self._target(request.nick)
        reason = removal_reason(ByeReason.KILLED, member.nick, request.reason)
        self._close(target, ByeReason.KILLED, reason, time.time())
        log.info("[%s] %s killed %s (%s)", link.peer, member.nick, target.nick, reason)

    # Topics, listings, rosters, history, replies.

    def _on_topic(self, link: Link, request: SetTopic) -> None:
        member = self._member(link)
        channel = self._joined(member, request.channel)
        if channel.topic_lock:
            check_operator(member, channel, self._admins)
        record = ChannelRecord(name=channel.name, topic=request.text or None,
                               topic_by=member.nick, topic_ts=time.time())
        self._store.save_channel(record)
        self._state.topic(channel, record, member)
        log.info("[%s] %s set the topic of %s", link.peer, member.nick, channel.name)

    def _on_list(self, link: Link, _request: ListChannels) -> None:
        self._member(link)
        self._state.reply(link, self._state.listing())

    def _on_who(self, link: Link, request: Who) -> None:
        channel = self._joined(self._member(link), request.channel)
        self._state.reply(link, self._state.roster(channel))

    def _on_history(self, link: Link, arg: tuple[str, HistoryQuery]) -> None:
        target, request = arg
        messages = self._page(self._member(link), target, Span.of(request), request.limit)
        self._state.reply(link, History(
            messages=messages, before=request.before, after=request.after,
            channel=request.channel or (None if request.peer else self._default),
            peer=request.peer,
        ))

    def _on_history_span(self, link: Link, arg: tuple[str, Span, int]) -> None:
        target, span, limit = arg
        messages = self._page(self._member(link), target, span, limit)
        peer = None if is_channel(target) else target
        self._state.reply(link, History(messages=messages, channel=None if peer else target,
                                        peer=peer))

    def _page(self, member: Member, target: str, span: Span, limit: int) -> list[Message]:
        """Read a page of a channel the member is in, or of its conversation with ``target``."""
        delivered = Span(  # nothing newer than what was delivered: it may be on its way
            after_id=span.after_id, after_ts=span.after_ts, before_ts=span.before_ts,
            before_id=min(span.before_id or self._next_id, self._next_id), newest=span.newest,
        )
        if is_channel(target):
            channel = self._joined(member, target)
            return self._store.page(delivered, limit, channel=channel.name)
        return self._store.page(delivered, limit, party=(member.nick, target))

    def _on_whois(self, link: Link, request: WhoisQuery) -> None:
        self._member(link)
        target = self._state.nicks.get(nick_key(request.nick))
        if target is None:
            raise no_such_user(request.nick)
        self._state.reply(link, self._state.describe(target, time.time()))

    def _on_lookup(self, link: Link, arg: tuple[list[str] | None, str | None]) -> None:
        nicks, name = arg
        channel = self._state.channel(channel_key(name)) if name is not None else None
        presence = self._state.presence(time.time(), nicks, channel)
        if name is not None and channel is None:
            presence = Presence(users=[], channel=name)
        self._state.reply(link, presence)

    def _on_away(self, link: Link, text: str | None) -> None:
        member = self._member(link)
        self._state.set_away(member, text)
        self._state.reply(link, AwaySet(text=text))

    def _on_census(self, link: Link, _arg: None) -> None:
        self._state.reply(link, self._state.census())

    def _on_redial(self, link: Link, dialect: Dialect) -> None:
        self._state.redial(link, dialect)

    def _on_reply(self, link: Link, frame: ServerFrame) -> None:  # a pong, or a session's own
        self._state.reply(link, frame)


_SEGMENT_HANDLERS: Final = frozenset({LocalHub._on_say, LocalHub._on_tell})
"""Requests that only add to the segment of messages; any other delivers it first."""


def _address(link: Link) -> str:
    """The IP address of a link's peer (``host:port``, IPv6 in brackets or not)."""
    return link.peer.rsplit(":", 1)[0].strip("[]")
