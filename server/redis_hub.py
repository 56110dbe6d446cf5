"""The hub of a cluster node: Redis decides, every node applies the same stream.

Sessions call the same :class:`~server.hub.Hub` methods as in one process.
Here a *committer* thread takes everything they queued and sends the requests
that change shared state to Redis in one script call per batch
(``server.redis_scripts.APPLY``): Redis checks them, stores messages, and
appends each decision to the stream ``tc:events``. A *stream reader* thread
reads that stream (every node reads all of it) and hands it to the
:class:`~server.redis_apply.EventApplier`, which applies it in order and
delivers to this node's links. Answers (errors, pongs, rosters, pages) are
fenced: each runs once the events this node wrote before the request came back.
A *heartbeat* thread keeps this node's key alive and removes the users of nodes
whose key expired. docs/CLUSTER.md has the key layout and the failure modes.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import json
import logging
import queue
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, cast
from urllib.parse import urlsplit

import redis

from protocol import (
    WELCOME_HISTORY,
    BadRequest,
    Bye,
    ByeReason,
    Error,
    Hello,
    History,
    HistoryQuery,
    JoinChannel,
    LeaveReason,
    ListChannels,
    Message,
    Msg,
    Nick,
    Part,
    ProtocolError,
    Say,
    ServerFrame,
    SetTopic,
    Who,
    WhoisQuery,
    channel_key,
    is_channel,
    nick_key,
)
from server.chat_state import ChatState
from server.config import SERVER_NAME, ServerConfig
from server.errors import (
    nick_taken,
    no_such_user,
    not_in_channel,
    not_welcomed,
    shutting_down,
    store_unavailable,
    too_many_channels,
)
from server.hub import BackplaneError, Dialect, Link, Presence, Rejoined, Span
from server.membership import Channel, Member
from server.outbound import Sender
from server.redis_apply import (
    ORIGIN,
    Arrival,
    Entry,
    EventApplier,
    StreamId,
    parse_stream_id,
)
from server.redis_scripts import APPLY, BEAT, REAP, SNAPSHOT
from server.store import ChannelRecord
from server.tokens import ResumeTokens

__all__ = ["BackplaneError", "RedisHub", "connect", "describe_url"]

log = logging.getLogger(__name__)

MAX_BATCH: Final = 2_000
READ_COUNT: Final = 10_000
READ_BLOCK_MS: Final = 1_000
RETRY_S: Final = 1.0
"""How often queued departures are retried while Redis is away."""
RETENTION_MIN_S: Final = 600.0
"""The event stream keeps at least this long (and ten node timeouts): a node away for
less catches up from it; one away longer was declared dead and starts afresh."""
HELLO_WAIT_S: Final = 0.5
BACKOFF_FIRST_S: Final = 0.1
BACKOFF_MAX_S: Final = 2.0
NODE_DOWN_REASON: Final = "server node lost"
EVENTS: Final = "tc:events"


def describe_url(url: str) -> str:
    """Return where a Redis URL points, without its password."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path or '/0'}"


def connect(url: str) -> redis.Redis:
    """Return a client for ``url`` that has answered a ping; raise BackplaneError if not."""
    try:
        client = redis.Redis.from_url(
            url, socket_timeout=5.0, socket_connect_timeout=2.0, health_check_interval=5
        )
        client.ping()
    except (redis.RedisError, ValueError) as exc:
        raise BackplaneError(
            f"Cannot reach Redis at {describe_url(url)} ({exc}); start it or fix --redis."
        ) from None
    return client


@dataclass(slots=True)
class _Command:
    """A request waiting for the committer."""

    kind: str
    link: Link | None
    frame: Any = None
    future: concurrent.futures.Future[str] | None = None
    request: dict[str, Any] | None = None
    refusal: ProtocolError | None = None
    action: Callable[[], None] | None = None
    session: str = ""
    tag: str | None = None


class _Outage:
    """Say once that Redis went away, and once that it is back. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down = False

    def down(self, exc: Exception) -> None:
        with self._lock:
            first, self._down = not self._down, True
        if first:
            log.error("the chat store is unavailable (%s); retrying", exc)

    def up(self) -> None:
        with self._lock:
            was, self._down = self._down, False
        if was:
            log.info("the chat store is back")

    @property
    def is_down(self) -> bool:
        return self._down


class RedisHub:
    """A node of the cluster that one Redis defines. Public methods are thread-safe."""

    def __init__(self, client: redis.Redis, flusher: Sender, config: ServerConfig) -> None:
        self._redis = client
        self._flusher = flusher
        self._config = config
        self._node = f"{socket.gethostname()[:24]}-{secrets.token_hex(4)}"
        self._default_key = channel_key(config.default_channel)
        self._retention_ms = int(max(RETENTION_MIN_S, 10 * config.node_timeout_s) * 1000)
        self._apply = client.register_script(APPLY)
        self._beat = client.register_script(BEAT)
        self._reap = client.register_script(REAP)
        self._snapshot = client.register_script(SNAPSHOT)
        self._state = ChatState(flusher, SERVER_NAME, config.motd)
        self._applier: EventApplier | None = None
        self._tokens: ResumeTokens
        self._commands: queue.Queue[_Command] = queue.Queue()
        self._sessions: dict[Link, str] = {}
        self._quits_due: dict[str, str] = {}
        self._counter = itertools.count(1)
        self._last_written: StreamId = ORIGIN
        self._outage = _Outage()
        self._closed = False
        self._stop = threading.Event()
        self._committer = threading.Thread(target=self._run_committer, name="committer",
                                           daemon=True)
        self._reader = threading.Thread(target=self._run_reader, name="stream-reader",
                                        daemon=True)
        self._heart = threading.Thread(target=self._run_heartbeat, name="heartbeat",
                                       daemon=True)
        self._position: StreamId = ORIGIN

    @property
    def node(self) -> str:
        return self._node

    def start(self) -> None:
        """Join the cluster: load its state, then follow its stream. Raises BackplaneError."""
        try:
            secret = self._secret()
            snapshot = json.loads(self._snapshot())
            self._beat(args=[self._node, self._retention_ms, self._ttl_ms(), 0, "first"])
        except redis.RedisError as exc:
            raise BackplaneError(f"Redis failed while joining the cluster: {exc}.") from None
        self._tokens = ResumeTokens(secret)
        applier = EventApplier(self._state, self._redis, self._node, self._tokens)
        self._applier = applier
        applier.last_message_id = int(snapshot["seq"])
        self._load(snapshot)
        self._position = parse_stream_id(snapshot["position"])
        applier.start(self._position, int(snapshot["seq"]))
        self._committer.start()
        self._reader.start()
        self._heart.start()
        log.info("node %s joined the cluster: %d users in %d channels",
                 self._node, len(self._state.nicks), len(self._state.channels))

    def _secret(self) -> bytes:
        self._redis.set("tc:secret", secrets.token_hex(32), nx=True)
        value = self._redis.get("tc:secret")
        assert isinstance(value, bytes)
        return bytes.fromhex(value.decode())

    def _load(self, snapshot: dict[str, Any]) -> None:
        """Build the view of everyone in the cluster from a snapshot (no local users yet)."""
        assert self._applier is not None
        state = self._state
        for key, nick, session, _node, since, away in _list(snapshot["users"]):
            state.nicks[key] = Member(nick=nick, key=key, link=None, session=session,
                                      since=float(since), away=away or None)
        for key, fields, members in _list(snapshot["channels"]):
            record = _pairs(_list(fields))
            name = record.get("name", key)
            channel = Channel(key, ChannelRecord(
                name=name, topic=record.get("topic") or None,
                topic_by=record.get("topic_by") or None,
                topic_ts=float(record["topic_ts"]) if record.get("topic_ts") else None,
            ), self._applier.latest(key, name, WELCOME_HISTORY))
            for user_key, nick in _pairs(_list(members)).items():
                member = state.nicks.setdefault(
                    user_key, Member(nick=nick, key=user_key, link=None))
                channel.add(member)
                member.channels[key] = channel
            state.channels[key] = channel

    def _ttl_ms(self) -> int:
        return int(self._config.node_timeout_s * 600)

    def stop(self, bye_reason: str = ByeReason.SERVER_SHUTDOWN) -> None:
        """Take this node's users out of the cluster, say bye to them, stop every thread."""
        self._closed = True
        self._commands.put(_Command("shutdown", None, bye_reason))
        self._committer.join()
        self._stop.set()
        self._reader.join()
        self._heart.join()
        if self._applier is not None:
            self._applier.stop()
        try:
            self._redis.srem("tc:nodes", self._node)
            self._redis.delete(f"tc:node:{self._node}")
        except redis.RedisError as exc:
            log.warning("could not leave the cluster cleanly: %s", exc)

    # Requests: called from reader threads.

    def hello(self, link: Link, hello: Hello) -> str:
        future: concurrent.futures.Future[str] = concurrent.futures.Future()
        self._submit(_Command("hello", link, hello, future))
        while True:
            try:
                return future.result(timeout=HELLO_WAIT_S)
            except concurrent.futures.TimeoutError:
                if self._stop.is_set():
                    raise shutting_down() from None

    def join(self, link: Link, request: JoinChannel, tag: str | None = None) -> None:
        self._submit(_Command("join", link, request, tag=tag))

    def part(self, link: Link, request: Part, tag: str | None = None) -> None:
        self._submit(_Command("part", link, request, tag=tag))

    def say(self, link: Link, request: Say, tag: str | None = None) -> None:
        self._submit(_Command("say", link, request, tag=tag))

    def tell(self, link: Link, request: Msg, tag: str | None = None) -> None:
        self._submit(_Command("tell", link, request, tag=tag))

    def rename(self, link: Link, request: Nick, tag: str | None = None) -> None:
        self._submit(_Command("nick", link, request, tag=tag))

    def set_topic(self, link: Link, request: SetTopic, tag: str | None = None) -> None:
        self._submit(_Command("topic", link, request, tag=tag))

    def list_channels(self, link: Link, request: ListChannels, tag: str | None = None) -> None:
        self._submit(_Command("list", link, request, tag=tag))

    def who(self, link: Link, request: Who, tag: str | None = None) -> None:
        self._submit(_Command("who", link, request, tag=tag))

    def history(self, link: Link, request: HistoryQuery, tag: str | None = None) -> None:
        self._submit(_Command("history", link, request, tag=tag))

    def history_span(self, link: Link, target: str, span: Span, limit: int,
                     tag: str | None = None) -> None:
        self._submit(_Command("history_span", link, (target, span, limit), tag=tag))

    def whois(self, link: Link, request: WhoisQuery, tag: str | None = None) -> None:
        self._submit(_Command("whois", link, request, tag=tag))

    def lookup(self, link: Link, nicks: list[str] | None = None, channel: str | None = None,
               tag: str | None = None) -> None:
        self._submit(_Command("lookup", link, (nicks, channel), tag=tag))

    def set_away(self, link: Link, text: str | None, tag: str | None = None) -> None:
        self._submit(_Command("away", link, text, tag=tag))

    def census(self, link: Link, tag: str | None = None) -> None:
        self._submit(_Command("census", link, None, tag=tag))

    def redial(self, link: Link, dialect: Dialect, tag: str | None = None) -> None:
        self._submit(_Command("redial", link, dialect, tag=tag))

    def reply(self, link: Link, frame: ServerFrame, tag: str | None = None) -> None:
        self._submit(_Command("reply", link, frame, tag=tag))

    def leave(self, link: Link, reason: str, bye: str | None = None) -> None:
        self._submit(_Command("leave", link, (reason, bye)))

    def _submit(self, command: _Command) -> None:
        if not self._closed:
            self._commands.put(command)
            return
        if command.future is not None:
            command.future.set_exception(shutting_down())
        elif command.kind == "leave" and command.link is not None:
            self._flusher.release(command.link.outbox)

    # The committer thread.

    def _run_committer(self) -> None:
        try:
            while True:
                try:
                    batch = [self._commands.get(timeout=RETRY_S)]
                except queue.Empty:
                    self._commit([])
                    continue
                while len(batch) < MAX_BATCH:
                    try:
                        batch.append(self._commands.get_nowait())
                    except queue.Empty:
                        break
                stop = next((c for c in batch if c.kind == "shutdown"), None)
                if stop is not None:
                    self._shutdown([c for c in batch if c is not stop], stop.frame)
                    return
                self._commit(batch)
        except Exception:
            log.exception("committer failed")

    def _commit(self, batch: list[_Command]) -> None:
        """Commit the batch, cut after each command that changes this node's view alone.

        Such a command (a redial) takes effect where its fence is on the
        applier; what follows it in the batch must be written to Redis after
        it was handed over, or its events could be applied before it.
        """
        start = 0
        for index, command in enumerate(batch[:-1]):
            if command.kind in _LOCAL_CHANGES:
                self._commit_part(batch[start:index + 1])
                start = index + 1
        self._commit_part(batch[start:])

    def _commit_part(self, batch: list[_Command]) -> None:
        """Send the batch's changes to Redis in one call, then route every outcome in order."""
        for command in batch:
            self._prepare(command)
        due = [{"op": "quit", "s": s, "r": r} for s, r in self._quits_due.items()]
        requests = due + [c.request for c in batch if c.request is not None]
        results = self._call(requests) if requests else []
        if results is not None:
            self._quits_due.clear()
            results = results[len(due):]
        outcomes = iter(results or [])
        for command in batch:
            if command.refusal is not None:
                self._refuse(command, command.refusal)
            elif command.request is None:
                self._answer(command)
            elif results is None:
                self._store_down(command)
            else:
                self._finish(command, next(outcomes))

    def _call(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """Run the requests in Redis; None when it cannot be reached."""
        try:
            assert self._applier is not None
            raw = self._apply(args=[
                json.dumps(requests, ensure_ascii=False), self._retention_ms,
                self._config.max_channels_per_user, self._config.history_limit or 0,
                self._applier.last_message_id,
            ])
        except redis.ResponseError as exc:  # a script that failed: a bug, not an outage
            log.error("Redis refused a batch of %d requests: %s", len(requests), exc)
            return None
        except redis.RedisError as exc:
            self._outage.down(exc)
            return None
        self._outage.up()
        results = json.loads(raw)
        return results if isinstance(results, list) else []

    def _answer(self, command: _Command) -> None:
        """Have the node thread run the command's answer (an empty one still acks a tag)."""
        assert self._applier is not None and command.link is not None
        action = command.action or (lambda: None)
        if command.action is not None or command.tag is not None:
            self._applier.answer(self._last_written, self._applier.run_answer(
                command.link, action, command.tag))

    def _refuse(self, command: _Command, refusal: ProtocolError) -> None:
        if command.future is not None:
            if command.session:
                assert self._applier is not None
                self._applier.forget(command.session)
            command.future.set_exception(refusal)
            return
        link = command.link
        assert link is not None
        error = Error(code=refusal.code, message=refusal.message)
        command.action = lambda: self._state.reply(link, error)
        self._answer(command)

    def _store_down(self, command: _Command) -> None:
        if command.kind == "leave":
            reason = command.frame[0]
            if command.session:
                self._quits_due[command.session] = reason
            self._answer(command)
        else:
            self._refuse(command, store_unavailable())

    def _finish(self, command: _Command, result: dict[str, Any]) -> None:
        if "ev" in result:
            self._last_written = max(self._last_written, parse_stream_id(result["ev"]))
        if "err" in result:
            self._refuse(command, self._refusal(command, str(result["err"])))
        elif command.kind == "hello":
            assert command.future is not None and command.link is not None
            self._sessions[command.link] = command.session
            command.future.set_result(command.frame.nick)
        elif command.kind == "leave" or "again" in result or "ev" not in result:
            self._answer(command)

    def _refusal(self, command: _Command, code: str) -> ProtocolError:
        frame = command.frame
        if code == "nick_taken":
            return nick_taken()
        if code == "too_many_channels":
            return too_many_channels(self._config.max_channels_per_user)
        if code == "not_in_channel":
            return not_in_channel(getattr(frame, "channel", None) or self._config.default_channel)
        if code == "no_such_user":
            return no_such_user(frame.to)
        return not_welcomed()

    def _shutdown(self, batch: list[_Command], bye_reason: str) -> None:
        """Take every local user out of the cluster, then close them all."""
        for command in batch:
            if command.future is not None:
                command.future.set_exception(shutting_down())
            elif command.kind == "leave" and command.link is not None:
                self._flusher.release(command.link.outbox)
        quits = [{"op": "quit", "s": s, "r": bye_reason} for s in self._sessions.values()]
        if quits:
            self._call(quits)
        assert self._applier is not None
        self._applier.answer(ORIGIN, lambda: self._state.shutdown(bye_reason))

    # Turning a command into a request for Redis (or an answer made here).

    def _prepare(self, command: _Command) -> None:
        link, frame = command.link, command.frame
        assert link is not None
        session = self._sessions.get(link, "")
        command.session = session
        try:
            self._prepare_kind(command, link, frame, session)
        except ProtocolError as exc:
            command.refusal = exc
        if command.request is not None and command.tag is not None:
            command.request["tag"] = command.tag

    def _prepare_kind(self, command: _Command, link: Link, frame: Any, session: str) -> None:
        if command.kind == "hello":
            self._prepare_hello(command, link, frame)
        elif command.kind == "reply":
            command.action = lambda: self._state.reply(link, frame)
        elif command.kind == "leave":
            self._prepare_leave(command, link)
        elif not session:
            raise not_welcomed()
        else:
            _PREPARE[command.kind](self, command, link, frame)

    def _prepare_hello(self, command: _Command, link: Link, hello: Hello) -> None:
        if command.session:
            raise BadRequest("You are already welcomed; use /nick to change your nick.")
        names = hello.channels if hello.channels is not None else [self._config.default_channel]
        if len(names) > self._config.max_channels_per_user:
            raise too_many_channels(self._config.max_channels_per_user)
        issued = self._tokens.issued_at(hello.resume, hello.nick)
        session = f"{self._node}:{next(self._counter)}"
        command.session = session
        assert self._applier is not None
        self._applier.expect(session, Arrival(link, hello.since, issued))
        command.request = {
            "op": "hello", "s": session, "n": self._node, "k": nick_key(hello.nick),
            "nick": hello.nick, "ch": [[channel_key(n), n] for n in names],
            "takeover": 1 if issued is not None else 0,
        }

    def _prepare_leave(self, command: _Command, link: Link) -> None:
        reason, bye = command.frame
        session = self._sessions.pop(link, "")
        if session:
            command.request = {"op": "quit", "s": session, "r": reason}
        command.action = lambda: self._release(link, bye)

    def _release(self, link: Link, bye: str | None) -> None:
        """On the node thread: the session is done with its link (after its quit event)."""
        member = self._state.local.get(link)
        if member is not None:  # the quit did not reach Redis yet: keep the user, unlinked
            self._state.unlink(member)
        if bye is not None:
            self._state.reply(link, Bye(reason=bye))
            self._flusher.close_after_flush(link.outbox, bye)
        self._flusher.release(link.outbox)

    def _prepare_join(self, command: _Command, link: Link, frame: JoinChannel) -> None:
        key = channel_key(frame.channel)
        command.request = {"op": "join", "s": command.session, "c": key, "name": frame.channel,
                           "since": frame.since}
        command.action = lambda: self._again(link, key, frame.since)  # if in it already

    def _again(self, link: Link, key: str, since: int | None) -> None:
        """Answer a join of a channel the user is in already: the channel as it is."""
        channel = self._channel_of(link, key, key)
        assert self._applier is not None
        self._state.reply(link, Rejoined.of(channel.snapshot(self._applier.since(channel, since))))

    def _prepare_part(self, command: _Command, _link: Link, frame: Part) -> None:
        command.request = {"op": "part", "s": command.session, "c": channel_key(frame.channel),
                           "r": frame.reason or LeaveReason.PART}

    def _prepare_say(self, command: _Command, _link: Link, frame: Say) -> None:
        key = channel_key(frame.channel) if frame.channel else self._default_key
        command.request = {"op": "say", "s": command.session, "c": key, "text": frame.text,
                           "a": 1 if frame.action else 0}

    def _prepare_tell(self, command: _Command, _link: Link, frame: Msg) -> None:
        command.request = {"op": "tell", "s": command.session, "tk": nick_key(frame.to),
                           "text": frame.text}

    def _prepare_nick(self, command: _Command, _link: Link, frame: Nick) -> None:
        command.request = {"op": "nick", "s": command.session, "nk": nick_key(frame.nick),
                           "nick": frame.nick}

    def _prepare_topic(self, command: _Command, _link: Link, frame: SetTopic) -> None:
        command.request = {"op": "topic", "s": command.session, "c": channel_key(frame.channel),
                           "text": frame.text or ""}

    def _prepare_list(self, command: _Command, link: Link, _frame: ListChannels) -> None:
        command.action = lambda: self._state.reply(link, self._state.listing())

    def _prepare_who(self, command: _Command, link: Link, frame: Who) -> None:
        name = frame.channel or self._config.default_channel

        def who() -> None:
            channel = self._channel_of(link, channel_key(name), name)
            self._state.reply(link, self._state.roster(channel))

        command.action = who

    def _prepare_history(self, command: _Command, link: Link, frame: HistoryQuery) -> None:
        target = frame.peer or frame.channel or self._config.default_channel

        def page() -> None:
            messages = self._page(link, target, Span.of(frame), frame.limit)
            self._state.reply(link, History(
                messages=messages, before=frame.before, after=frame.after, peer=frame.peer,
                channel=None if frame.peer else (frame.channel or self._config.default_channel),
            ))

        command.action = page

    def _prepare_history_span(self, command: _Command, link: Link,
                              arg: tuple[str, Span, int]) -> None:
        target, span, limit = arg

        def page() -> None:
            messages = self._page(link, target, span, limit)
            peer = None if is_channel(target) else target
            self._state.reply(link, History(messages=messages, peer=peer,
                                            channel=None if peer else target))

        command.action = page

    def _page(self, link: Link, target: str, span: Span, limit: int) -> list[Message]:
        """On the node thread: a page of the user's channel, or of a conversation."""
        assert self._applier is not None
        if is_channel(target):
            channel = self._channel_of(link, channel_key(target), target)
            return self._applier.page(span, limit, key=channel.key, name=channel.name)
        member = self._state.local.get(link)
        if member is None:
            raise not_welcomed()
        return self._applier.page(span, limit, party=(member.key, nick_key(target)))

    def _prepare_whois(self, command: _Command, link: Link, frame: WhoisQuery) -> None:
        def whois() -> None:
            target = self._state.nicks.get(nick_key(frame.nick))
            if target is None:
                raise no_such_user(frame.nick)
            self._state.reply(link, self._state.describe(target, time.time()))

        command.action = whois

    def _prepare_lookup(self, command: _Command, link: Link,
                        arg: tuple[list[str] | None, str | None]) -> None:
        nicks, name = arg

        def lookup() -> None:
            channel = self._state.channel(channel_key(name)) if name is not None else None
            presence = self._state.presence(time.time(), nicks, channel)
            if name is not None and channel is None:
                presence = Presence(users=[], channel=name)
            self._state.reply(link, presence)

        command.action = lookup

    def _prepare_away(self, command: _Command, _link: Link, text: str | None) -> None:
        command.request = {"op": "away", "s": command.session, "text": text}

    def _prepare_census(self, command: _Command, link: Link, _arg: None) -> None:
        command.action = lambda: self._state.reply(link, self._state.census())

    def _prepare_redial(self, command: _Command, link: Link, dialect: Dialect) -> None:
        command.action = lambda: self._state.redial(link, dialect)

    def _channel_of(self, link: Link, key: str, name: str) -> Channel:
        """On the node thread: the link's user's channel ``key``, or a refusal."""
        member = self._state.local.get(link)
        if member is None:
            raise not_welcomed()
        channel = member.channels.get(key)
        if channel is None:
            raise not_in_channel(name)
        return channel

    # The stream reader thread.

    def _run_reader(self) -> None:
        assert self._applier is not None
        position = self._position
        backoff = BACKOFF_FIRST_S
        while not self._stop.is_set():
            try:
                reply = cast(list[tuple[bytes, list[Entry]]], self._redis.xread(
                    {EVENTS: f"{position[0]}-{position[1]}"}, count=READ_COUNT,
                    block=READ_BLOCK_MS,
                ))
            except redis.RedisError as exc:
                self._outage.down(exc)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                continue
            except Exception:
                log.exception("reading the event stream failed")
                self._stop.wait(BACKOFF_MAX_S)
                continue
            backoff = BACKOFF_FIRST_S
            self._outage.up()
            for _stream, entries in reply or []:
                if entries:
                    self._applier.events(entries)
                    position = parse_stream_id(entries[-1][0])

    # The heartbeat thread.

    def _run_heartbeat(self) -> None:
        assert self._applier is not None
        period = max(0.2, self._config.node_timeout_s * 0.15)
        while not self._stop.wait(period):
            try:
                state = self._beat(args=[
                    self._node, self._retention_ms, self._ttl_ms(),
                    self._applier.last_message_id, "",
                ])
                if state == b"reaped":
                    self._start_afresh()
                gone = self._reap(args=[NODE_DOWN_REASON, self._retention_ms])
                if gone:
                    log.warning("%d users of lost server nodes left the chat", gone)
            except redis.RedisError as exc:
                self._outage.down(exc)
            except Exception:
                log.exception("heartbeat failed")

    def _start_afresh(self) -> None:
        """This node was declared lost while away from Redis: its users must reconnect."""
        log.error("node %s was declared lost (no heartbeat for %.0f s); its users are told "
                  "to reconnect", self._node, self._config.node_timeout_s)
        assert self._applier is not None
        snapshot = json.loads(self._snapshot())
        self._applier.answer(ORIGIN, lambda: self._reload(snapshot))

    def _reload(self, snapshot: dict[str, Any]) -> None:
        """On the node thread: close every local user and take the cluster's view anew."""
        assert self._applier is not None
        self._state.shutdown(ByeReason.SERVER_SHUTDOWN)
        self._load(snapshot)
        self._applier.applied = max(self._applier.applied,
                                    parse_stream_id(snapshot["position"]))


_PREPARE: Final[dict[str, Callable[[RedisHub, _Command, Link, Any], None]]] = {
    "join": RedisHub._prepare_join,
    "part": RedisHub._prepare_part,
    "say": RedisHub._prepare_say,
    "tell": RedisHub._prepare_tell,
    "nick": RedisHub._prepare_nick,
    "topic": RedisHub._prepare_topic,
    "list": RedisHub._prepare_list,
    "who": RedisHub._prepare_who,
    "history": RedisHub._prepare_history,
    "history_span": RedisHub._prepare_history_span,
    "whois": RedisHub._prepare_whois,
    "lookup": RedisHub._prepare_lookup,
    "away": RedisHub._prepare_away,
    "census": RedisHub._prepare_census,
    "redial": RedisHub._prepare_redial,
}
"""How each request is turned into a Redis request or an answer made on this node."""

_LOCAL_CHANGES: Final = frozenset({"redial"})
"""Commands made on this node alone that change how later events are delivered."""


def _list(value: Any) -> list[Any]:
    """Lua's JSON encoder writes an empty list as ``{}``."""
    return value if isinstance(value, list) else []


def _pairs(flat: list[Any]) -> dict[str, Any]:
    return dict(zip(flat[::2], flat[1::2], strict=True))

