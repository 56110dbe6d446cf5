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
from urllib.parse import unquote, urlsplit

import redis

from protocol import (
    Account,
    BadRequest,
    BanUser,
    Bye,
    ByeReason,
    DeopUser,
    ErrorCode,
    Hello,
    History,
    HistoryQuery,
    InviteUser,
    JoinChannel,
    KickUser,
    KillUser,
    LeaveReason,
    ListChannels,
    Message,
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
    Banned,
    InviteOnly,
    NotRegistered,
    error_frame,
    nick_registered,
    nick_taken,
    no_such_user,
    not_admin,
    not_in_channel,
    not_operator,
    not_welcomed,
    shutting_down,
    store_failed,
    store_unavailable,
    too_many_channels,
)
from server.hub import GATHER_S, BackplaneError, Dialect, Link, Presence, Rejoined, Span
from server.membership import Channel, Member
from server.moderation import ban_for, banned
from server.outbound import Sender
from server.redis_apply import (
    ORIGIN,
    Arrival,
    Entry,
    EventApplier,
    StreamId,
    parse_stream_id,
)
from server.redis_scripts import (
    APPLY,
    BEAT,
    NODE_LOST,
    NOT_ADMIN,
    NOT_IDENTIFIED,
    REAP,
    SNAPSHOT,
)
from server.rules import SERVER_SCOPE, Ban, ban_to_json
from server.tokens import Claim, ResumeTokens, new_claim_id

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
RECONCILED_TEXT: Final = "this server lost the chat store for too long; reconnect to carry on"
EVENTS: Final = "tc:events"


MALFORMED_URL: Final = (
    "The Redis URL is malformed: write redis://[:PASSWORD@]HOST[:PORT][/DB], with any / ? # @ "
    "in the password percent-encoded (%2F %3F %23 %40); fix --redis or TERMCHAT_REDIS."
)


def describe_url(url: str) -> str:
    """Return where a Redis URL points, without its password; never raises."""
    return _address(url) or "a malformed Redis URL"


def _address(url: str) -> str | None:
    """Where a Redis URL points, without its password; None if it is malformed.

    A URL whose password holds an unencoded ``/ ? #`` is cut there by the
    parser, which would take part of the password for the host or the port:
    such a URL has an ``@`` outside its address part, and is malformed here.
    """
    try:
        parts = urlsplit(url)
        if "@" in url and "@" not in parts.netloc:
            return None
        if not parts.path.strip("/").isdigit() and parts.path.strip("/"):
            return None  # redis-py would take database 0 for it, silently
        return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path or '/0'}"
    except ValueError:  # a port that is no number
        return None


def connect(url: str) -> redis.Redis:
    """Return a client for ``url`` that has answered a ping; raise BackplaneError if not.

    The error's one line says what to do and never holds the URL's password.
    """
    where = _address(url)
    if where is None:
        raise BackplaneError(MALFORMED_URL)
    try:
        client = redis.Redis.from_url(
            url, socket_timeout=5.0, socket_connect_timeout=2.0, health_check_interval=5
        )
    except ValueError:  # its text may quote the password
        raise BackplaneError(MALFORMED_URL) from None
    try:
        client.ping()
    except redis.RedisError as exc:
        reason = _without_password(str(exc), url)
        raise BackplaneError(
            f"Cannot reach Redis at {where} ({reason}); start it or fix --redis."
        ) from None
    return client


def _without_password(text: str, url: str) -> str:
    """``text`` with the URL's password (as written, and decoded) blotted out."""
    password = urlsplit(url).password or ""
    for secret in (password, unquote(password)):
        if secret:
            text = text.replace(secret, "***")
    return text


@dataclass(slots=True)
class _Command:
    """A request waiting for the committer."""

    kind: str
    link: Link | None
    frame: Any = None
    future: concurrent.futures.Future[Any] | None = None
    request: dict[str, Any] | None = None
    refusal: ProtocolError | None = None
    action: Callable[[], None] | None = None
    session: str = ""
    tag: str | None = None
    routed: bool = False
    """Answered (or handed on to be); a failed batch leaves it alone."""


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


class _Steady:
    """How long this node has reached Redis without a break (the heartbeat thread's alone).

    Two successful beats further apart than ``max_gap_s`` count as a break too
    (Redis or this node stalled): the other nodes may have missed their beats.
    """

    def __init__(self, max_gap_s: float) -> None:
        self._max_gap_s = max_gap_s
        self._since: float | None = None
        self._last = 0.0

    def beat(self, now: float) -> None:
        if self._since is None or now - self._last > self._max_gap_s:
            self._since = now
        self._last = now

    def broken(self) -> None:
        self._since = None

    def for_s(self, now: float) -> float:
        return 0.0 if self._since is None else now - self._since


class RedisHub:
    """A node of the cluster that one Redis defines. Public methods are thread-safe."""

    def __init__(self, client: redis.Redis, flusher: Sender, config: ServerConfig) -> None:
        self._redis = client
        self._flusher = flusher
        self._config = config
        self._node = f"{socket.gethostname()[:24]}-{secrets.token_hex(4)}"
        self._default_key = channel_key(config.default_channel)
        self._admins = json.dumps(sorted(nick_key(nick) for nick in config.admins))
        self._retention_ms = int(max(RETENTION_MIN_S, 10 * config.node_timeout_s) * 1000)
        self._apply = client.register_script(APPLY)
        self._beat = client.register_script(BEAT)
        self._reap = client.register_script(REAP)
        self._snapshot = client.register_script(SNAPSHOT)
        self._state = ChatState(flusher, SERVER_NAME, config.motd)
        self._applier: EventApplier | None = None
        self._tokens: ResumeTokens
        self._commands: queue.Queue[_Command] = queue.Queue()
        self._last_commit_end = 0.0
        """When the committer last finished a batch (monotonic; the committer's alone)."""
        self._sessions: dict[Link, str] = {}
        self._quits_due: dict[str, str] = {}
        self._counter = itertools.count(1)
        self._last_written: StreamId = ORIGIN
        self._outage = _Outage()
        self._closed = False
        self._stop = threading.Event()
        self._reconciling = threading.Event()
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
        applier = EventApplier(self._state, self._redis, self._node, self._tokens,
                               lambda link, bye: self._flusher.close_after_flush(link.outbox, bye),
                               lambda session: self._submit(_Command("drop", None,
                                                                     session=session)),
                               self._retention_ms / 1000, self._outage.down)
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
        for key, nick, session, _node, since, away, account in _list(snapshot["users"]):
            state.nicks[key] = Member(nick=nick, key=key, link=None, session=session,
                                      since=float(since), away=away or None,
                                      account=account or None)
        for key, fields, members, ops, bans, invited in _list(snapshot["channels"]):
            record = _pairs(_list(fields))
            channel = self._applier.channel_of({
                "c": key, "name": record.get("name", key), "topic": record.get("topic"),
                "by": record.get("topic_by"), "tts": record.get("topic_ts"),
                "tl": record.get("topic_lock"), "io": record.get("invite_only"),
                "ops": ops, "bans": bans, "inv": invited,
            })
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

    def hello(self, link: Link, hello: Hello, identified: bool = False) -> Account:
        result: Account = self._decide(_Command("hello", link, (hello, identified)))
        return result

    def account_record(self, nick: str) -> AccountRecord | None:
        """Return the account of ``nick``; raise ServerError while Redis is away."""
        try:
            raw = self._redis.hgetall(f"tc:account:{nick_key(nick)}")
        except redis.RedisError as exc:
            self._outage.down(exc)
            raise store_unavailable() from None
        fields = cast(dict[bytes, bytes], raw)
        if not fields:
            return None
        text = {k.decode(): v.decode() for k, v in fields.items()}
        return AccountRecord(
            nick=text["nick"], salt=bytes.fromhex(text["salt"]),
            digest=bytes.fromhex(text["digest"]), n=int(text["n"]), r=int(text["r"]),
            p=int(text["p"]), created=float(text.get("created") or 0),
        )

    def register(self, link: Link, record: AccountRecord) -> Account:
        result: Account = self._decide(_Command("register", link, record))
        return result

    def identify(self, link: Link, nick: str) -> Account:
        result: Account = self._decide(_Command("identify", link, nick))
        return result

    def set_password(self, link: Link, record: AccountRecord) -> Account:
        result: Account = self._decide(_Command("set_password", link, record))
        return result

    def unregister(self, link: Link) -> Account:
        result: Account = self._decide(_Command("unregister", link, None))
        return result

    def _decide(self, command: _Command) -> Any:
        """Queue a command that must be decided before its caller goes on; wait for it."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        command.future = future
        self._submit(command)
        while True:
            try:
                return future.result(timeout=HELLO_WAIT_S)
            except concurrent.futures.TimeoutError:
                if self._stop.is_set():
                    raise shutting_down() from None

    def kick(self, link: Link, request: KickUser, tag: str | None = None) -> None:
        self._submit(_Command("kick", link, request, tag=tag))

    def ban(self, link: Link, request: BanUser, tag: str | None = None) -> None:
        self._submit(_Command("ban", link, request, tag=tag))

    def unban(self, link: Link, request: UnbanUser, tag: str | None = None) -> None:
        self._submit(_Command("unban", link, request, tag=tag))

    def op(self, link: Link, request: OpUser | DeopUser, tag: str | None = None) -> None:
        self._submit(_Command("op", link, request, tag=tag))

    def mode(self, link: Link, request: SetMode, tag: str | None = None) -> None:
        self._submit(_Command("mode", link, request, tag=tag))

    def invite(self, link: Link, request: InviteUser, tag: str | None = None) -> None:
        self._submit(_Command("invite", link, request, tag=tag))

    def kill(self, link: Link, request: KillUser, tag: str | None = None) -> None:
        self._submit(_Command("kill", link, request, tag=tag))

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
        while True:
            try:
                batch = [self._commands.get(timeout=RETRY_S)]
            except queue.Empty:
                batch = []
            if batch and time.monotonic() - self._last_commit_end < GATHER_S:
                time.sleep(GATHER_S)  # busy: let a burst become one script call
            while batch and len(batch) < MAX_BATCH:
                try:
                    batch.append(self._commands.get_nowait())
                except queue.Empty:
                    break
            stop = next((c for c in batch if c.kind == "shutdown"), None)
            try:
                if stop is not None:
                    self._shutdown([c for c in batch if c is not stop], stop.frame)
                    return
                self._commit(batch)
            except Exception:  # a bug: it costs this batch, never the thread
                log.exception("committing a batch of %d requests failed", len(batch))
                self._fail(batch)
            if batch:
                self._last_commit_end = time.monotonic()

    def _fail(self, batch: list[_Command]) -> None:
        """Answer what a failed batch left unanswered with server_error."""
        for command in batch:
            if command.routed or command.future is not None and command.future.done():
                continue
            command.routed = True
            if command.kind == "hello" and command.session:
                self._unsure(command, store_failed())
            elif command.future is not None:
                command.future.set_exception(store_failed())
            elif command.kind == "leave" and command.link is not None:
                if command.session:
                    self._quits_due[command.session] = command.frame[0]
                self._flusher.release(command.link.outbox)

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
            outcome = next(outcomes, {}) if results is not None and command.request else None
            try:
                self._route(command, outcome)
                command.routed = True
            except Exception:  # a bug: it costs this request alone
                log.exception("answering a %s request failed", command.kind)
                self._fail([command])

    def _route(self, command: _Command, outcome: dict[str, Any] | None) -> None:
        """Answer one command of a batch (``outcome``: Redis's, None if it was not asked)."""
        if command.kind == "drop":
            return  # its quit went with the batch's due quits
        if command.refusal is not None:
            self._refuse(command, command.refusal)
        elif command.request is None:
            self._answer(command)
        elif outcome is None:
            self._store_down(command)
        else:
            self._finish(command, outcome)

    def _call(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """Run the requests in Redis; None when it cannot be reached."""
        try:
            assert self._applier is not None
            raw = self._apply(args=[
                json.dumps(requests, ensure_ascii=False), self._retention_ms,
                self._config.max_channels_per_user, self._config.history_limit or 0,
                self._applier.last_message_id, self._admins,
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
            answer = self._applier.run_answer(command.link, action, command.tag)
            late = answer if command.kind in _RUN_LATE else \
                self._applier.unavailable(command.link, command.tag)
            self._applier.answer(self._last_written, answer, late)

    def _refuse(self, command: _Command, refusal: ProtocolError) -> None:
        if command.future is not None:
            if command.session:
                assert self._applier is not None
                self._applier.arrivals.refused(command.session)
            command.future.set_exception(refusal)
            return
        link = command.link
        assert link is not None
        error = error_frame(refusal)
        command.action = lambda: self._state.reply(link, error)
        self._answer(command)

    def _store_down(self, command: _Command) -> None:
        """No answer came from Redis (it may have run the request, or not)."""
        if command.kind == "leave":
            reason = command.frame[0]
            if command.session:
                self._quits_due[command.session] = reason
            self._answer(command)
        elif command.kind == "hello":
            self._unsure(command, store_unavailable())
        else:
            self._refuse(command, store_unavailable())

    def _unsure(self, command: _Command, refusal: ProtocolError) -> None:
        """A hello with no answer: granted if its event was applied, else refused for good."""
        assert self._applier is not None and command.future is not None
        welcomed, account = self._applier.arrivals.unsure(command.session, time.monotonic())
        if welcomed:
            self._welcome(command, account is not None)
        else:
            command.future.set_exception(refusal)

    def _welcome(self, command: _Command, owned: bool) -> None:
        """The hello was granted: its link holds its session, its caller goes on."""
        assert command.future is not None and command.link is not None
        self._sessions[command.link] = command.session
        hello, _identified = command.frame
        command.future.set_result(Account(nick=hello.nick, registered=owned, identified=owned))

    def _finish(self, command: _Command, result: dict[str, Any]) -> None:
        if "ev" in result:
            self._last_written = max(self._last_written, parse_stream_id(result["ev"]))
        if "err" in result:
            self._refuse(command, self._refusal(command, result))
        elif command.kind == "hello":
            assert self._applier is not None and command.link is not None
            self._applier.arrivals.granted(command.session)
            self._welcome(command, bool(result.get("acct")))
            refused = [self._refusal(command, no) for no in _list(result.get("refused"))]
            if refused:
                link = command.link
                command.future = None
                command.action = lambda: self._tell_refusals(link, refused)
                self._answer(command)
        elif command.kind in _ACCOUNT_KINDS:
            assert command.future is not None and command.link is not None
            registered = command.kind != "unregister"
            nick = str(result.get("nick") or "")
            log.info("[%s] %s %s", command.link.peer, nick, _ACCOUNT_KINDS[command.kind])
            token = self._tokens.issue(nick, str(result.get("cl") or ""), registered)
            command.future.set_result(Account(nick=nick, registered=registered,
                                              identified=registered, resume=token))
        elif command.kind == "leave" or "again" in result or "ev" not in result:
            self._answer(command)

    def _refusal(self, command: _Command, result: dict[str, Any]) -> ProtocolError:
        """The refusal a script's error code means, worded for the request."""
        frame, code = command.frame, str(result["err"])
        channel = result.get("c") or getattr(frame, "channel", None) or self._config.default_channel
        nick = str(getattr(frame, "nick", None) or getattr(frame, "to", ""))
        refusals: dict[str, Callable[[], ProtocolError]] = {
            ErrorCode.NICK_TAKEN: nick_taken,
            ErrorCode.TOO_MANY_CHANNELS:
                lambda: too_many_channels(self._config.max_channels_per_user),
            ErrorCode.NOT_IN_CHANNEL: lambda: not_in_channel(channel),
            ErrorCode.NO_SUCH_USER: lambda: no_such_user(nick),
            ErrorCode.NICK_REGISTERED: nick_registered,
            ErrorCode.NOT_REGISTERED: lambda: NotRegistered(f"{nick} is not a registered nick."),
            NOT_IDENTIFIED: lambda: BadRequest(
                f"{nick} is not identified; only accounts run channels."),
            ErrorCode.NOT_OPERATOR: lambda: not_operator(channel),
            NOT_ADMIN: not_admin,
            ErrorCode.INVITE_ONLY: lambda: InviteOnly(
                f"{channel} is invite-only; ask one of its operators."),
            ErrorCode.BANNED: lambda: self._banned(command, result),
            NODE_LOST: store_unavailable,  # reaped: this node reloads before it takes anyone
        }
        return refusals.get(code, not_welcomed)()

    def _tell_refusals(self, link: Link, refusals: list[ProtocolError]) -> None:
        for refusal in refusals:
            self._state.reply(link, error_frame(refusal))

    @staticmethod
    def _banned(command: _Command, result: dict[str, Any]) -> Banned:
        until = result.get("until")
        ban = Ban(SERVER_SCOPE, "", "", float(until) if isinstance(until, int | float) else None,
                  str(result.get("reason") or ""), "")
        where = result.get("c") or getattr(command.frame, "channel", None) or "this server"
        return banned(ban, where, nick=command.kind == "nick")

    def _shutdown(self, batch: list[_Command], bye_reason: str) -> None:
        """Take every local user out of the cluster, then close them all."""
        for command in batch:
            if command.future is not None:
                command.future.set_exception(shutting_down())
            elif command.kind == "leave" and command.link is not None:
                self._flusher.release(command.link.outbox)
        gone = [*self._sessions.values(), *self._quits_due,
                *(c.session for c in batch if c.kind == "drop")]
        quits = [{"op": "quit", "s": s, "r": bye_reason} for s in gone]
        if quits:
            self._call(quits)
        assert self._applier is not None
        self._applier.answer(ORIGIN, lambda: self._state.shutdown(bye_reason))

    # Turning a command into a request for Redis (or an answer made here).

    def _prepare(self, command: _Command) -> None:
        if command.kind == "drop":  # a session its client never had: take it out
            self._quits_due[command.session] = LeaveReason.CONNECTION_CLOSED
            return
        link, frame = command.link, command.frame
        assert link is not None
        session = self._sessions.get(link, "")
        command.session = session
        try:
            self._prepare_kind(command, link, frame, session)
        except ProtocolError as exc:
            command.refusal = exc
        except redis.RedisError as exc:  # a request that reads Redis to be made
            self._outage.down(exc)
            command.refusal = store_unavailable()
        except Exception:  # a bug: it costs this request alone
            log.exception("preparing a %s request failed", command.kind)
            command.refusal = store_failed()
        if command.refusal is not None:
            command.request = None
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

    def _prepare_hello(self, command: _Command, link: Link,
                       arg: tuple[Hello, bool]) -> None:
        hello, identified = arg
        if command.session:
            raise BadRequest("You are already welcomed; use /nick to change your nick.")
        names = hello.channels if hello.channels is not None else [self._config.default_channel]
        if len(names) > self._config.max_channels_per_user:
            raise too_many_channels(self._config.max_channels_per_user)
        claim = self._claim(hello.nick) if hello.resume else None
        resume = self._tokens.check(hello.resume, hello.nick, claim)
        session = f"{self._node}:{next(self._counter)}"
        command.session = session
        assert self._applier is not None
        issued = resume.issued if resume is not None else None
        self._applier.arrivals.expect(session, Arrival(link, hello.since, issued, address_of(link)))
        command.request = {
            "op": "hello", "s": session, "n": self._node, "k": nick_key(hello.nick),
            "nick": hello.nick, "ch": [[channel_key(n), n] for n in names],
            "takeover": 1 if resume is not None else 0,
            "tident": 1 if resume is not None and resume.identified else 0,
            "ident": 1 if identified else 0, "addr": address_of(link),
            "cl": claim.id if resume is not None and claim is not None else "",
            "nc": new_claim_id(),
        }

    def _claim(self, nick: str) -> Claim | None:
        """The claim ``nick`` is held under now (Redis expires it a day after the drop).

        Read while preparing a hello: :meth:`_prepare` turns a Redis failure into
        "store unavailable".
        """
        value = self._redis.get(f"tc:claim:{nick_key(nick)}")
        return Claim(value.decode()) if isinstance(value, bytes) else None

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
                           "since": frame.since, "addr": address_of(link)}
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
                           "nick": frame.nick, "nc": new_claim_id()}

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

    def _prepare_secret(self, command: _Command, _link: Link, record: AccountRecord) -> None:
        command.request = {"op": command.kind, "s": command.session, "salt": record.salt.hex(),
                           "digest": record.digest.hex(), "n": record.n, "r": record.r,
                           "p": record.p, "nc": new_claim_id()}

    def _prepare_identify(self, command: _Command, _link: Link, nick: str) -> None:
        command.request = {"op": "identify", "s": command.session, "ak": nick_key(nick),
                           "nc": new_claim_id()}

    def _prepare_unregister(self, command: _Command, _link: Link, _arg: None) -> None:
        command.request = {"op": "unregister", "s": command.session, "nc": new_claim_id()}

    def _prepare_kick(self, command: _Command, _link: Link, frame: KickUser) -> None:
        command.request = {"op": "kick", "s": command.session, "c": channel_key(frame.channel),
                           "tk": nick_key(frame.nick), "r": frame.reason or ""}

    def _prepare_ban(self, command: _Command, _link: Link, frame: BanUser) -> None:
        target = nick_key(frame.nick)
        online, account, address = cast(list[bytes | None], self._redis.hmget(
            f"tc:user:{target}", ["s", "acct", "addr"]))
        if online is None:  # offline: the nick's own account, if it is registered
            account = target.encode() if self._redis.exists(f"tc:account:{target}") else None
        bans = ban_for(frame, target, account.decode() if account else None,
                       address.decode() if address and frame.address else None, "", time.time())
        command.request = {
            "op": "ban", "s": command.session, "tk": target, "nick": frame.nick,
            "c": channel_key(frame.channel) if frame.channel else None,
            "bans": [ban_to_json(b) for b in bans], "r": frame.reason or "",
        }

    def _prepare_unban(self, command: _Command, _link: Link, frame: UnbanUser) -> None:
        command.request = {"op": "unban", "s": command.session, "tk": nick_key(frame.nick),
                           "nick": frame.nick,
                           "c": channel_key(frame.channel) if frame.channel else None}

    def _prepare_op(self, command: _Command, _link: Link, frame: OpUser | DeopUser) -> None:
        command.request = {"op": "op", "s": command.session, "c": channel_key(frame.channel),
                           "tk": nick_key(frame.nick), "on": 1 if isinstance(frame, OpUser) else 0,
                           "nick": frame.nick}

    def _prepare_mode(self, command: _Command, _link: Link, frame: SetMode) -> None:
        command.request = {"op": "mode", "s": command.session, "c": channel_key(frame.channel),
                           "tl": frame.topic_lock, "io": frame.invite_only}

    def _prepare_invite(self, command: _Command, _link: Link, frame: InviteUser) -> None:
        command.request = {"op": "invite", "s": command.session,
                           "c": channel_key(frame.channel), "tk": nick_key(frame.nick)}

    def _prepare_kill(self, command: _Command, _link: Link, frame: KillUser) -> None:
        command.request = {"op": "kill", "s": command.session, "tk": nick_key(frame.nick),
                           "r": frame.reason or ""}

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
        period = max(0.2, self._config.node_timeout_s * 0.15)
        steady = _Steady(max_gap_s=max(self._ttl_ms() / 1000 - period, 2 * period))
        while not self._stop.wait(period):
            try:
                self._heartbeat(steady)
            except redis.RedisError as exc:
                self._outage.down(exc)
                steady.broken()
            except Exception:
                log.exception("heartbeat failed")

    def _heartbeat(self, steady: _Steady) -> None:
        """Beat; reconcile if this node was reaped; reap lost nodes once it is safe to."""
        assert self._applier is not None
        state = self._beat(args=[self._node, self._retention_ms, self._ttl_ms(),
                                 self._applier.last_message_id, ""])
        now = time.monotonic()
        steady.beat(now)
        if state == b"reaped":
            self._reconcile_later()
            return
        if steady.for_s(now) < self._config.node_timeout_s:
            return  # after an outage every key lapsed: let the live nodes beat again first
        gone = self._reap(args=[NODE_DOWN_REASON, self._retention_ms])
        if gone:
            log.warning("%d users of lost server nodes left the chat", gone)

    def _reconcile_later(self) -> None:
        """Have the node thread reconcile (once at a time)."""
        assert self._applier is not None
        if not self._reconciling.is_set():
            self._reconciling.set()
            self._applier.call(self._reconcile)

    def _reconcile(self) -> None:
        """On the node thread: this node was reaped; close its users, reload, rejoin.

        The snapshot is read here, between two events, so the view it gives
        is exactly the stream's up to its position: what comes after is applied
        from the stream. If Redis fails half way, the next beat says ``reaped``
        again (this node rejoins only at the end) and it is all done again.
        """
        assert self._applier is not None
        log.error("node %s was declared lost (no heartbeat for %.0f s); its users are told "
                  "to reconnect", self._node, self._config.node_timeout_s)
        try:
            snapshot = json.loads(self._snapshot())
            self._state.shutdown(ByeReason.SERVER_SHUTDOWN, RECONCILED_TEXT)
            self._load(snapshot)
            self._applier.restart_at(parse_stream_id(snapshot["position"]), int(snapshot["seq"]))
            self._beat(args=[self._node, self._retention_ms, self._ttl_ms(),
                             self._applier.last_message_id, "first"])
            log.info("node %s rejoined the cluster: %d users in %d channels", self._node,
                     len(self._state.nicks), len(self._state.channels))
        except redis.RedisError as exc:
            self._outage.down(exc)
        finally:
            self._reconciling.clear()


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
    "register": RedisHub._prepare_secret,
    "set_password": RedisHub._prepare_secret,
    "identify": RedisHub._prepare_identify,
    "unregister": RedisHub._prepare_unregister,
    "kick": RedisHub._prepare_kick,
    "ban": RedisHub._prepare_ban,
    "unban": RedisHub._prepare_unban,
    "op": RedisHub._prepare_op,
    "mode": RedisHub._prepare_mode,
    "invite": RedisHub._prepare_invite,
    "kill": RedisHub._prepare_kill,
    "census": RedisHub._prepare_census,
    "redial": RedisHub._prepare_redial,
}
"""How each request is turned into a Redis request or an answer made on this node."""

_ACCOUNT_KINDS: Final = {
    "register": "registered the nick", "identify": "identified",
    "set_password": "changed the nick's password", "unregister": "unregistered the nick",
}
"""Account requests, and what the console says when one is done (never a password)."""

_LOCAL_CHANGES: Final = frozenset({"redial"})
"""Commands made on this node alone that change how later events are delivered."""

_RUN_LATE: Final = _LOCAL_CHANGES | {"leave"}
"""Commands whose answer runs even when it cannot wait for its fence any longer."""


def _list(value: Any) -> list[Any]:
    """Lua's JSON encoder writes an empty list as ``{}``."""
    return value if isinstance(value, list) else []


def _pairs(flat: list[Any]) -> dict[str, Any]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def address_of(link: Link) -> str:
    """The IP address of a link's peer."""
    return link.peer.rsplit(":", 1)[0].strip("[]")
