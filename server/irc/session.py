"""One IRC client connection: its reader thread, registration, and every command.

The IRC front door, shaped like ``server.session``: a reader thread reads the
socket, splits lines, registers the client (CAP, PASS, NICK, USER) and turns
each command into hub requests; the hub answers on the session's
:class:`~server.hub.Link`, spelt by the connection's IRC dialect. Every
request carries an :class:`~server.irc.asks.Ask` as its tag, so its answer
(numerics, errors, labeled-response) reads as the command calls for. The
session never writes to its socket: before registration it queues bytes on
its outbox directly (the hub does not know it yet), afterwards everything goes
through the hub so it keeps its place in line. Commands are dispatched from
one table. The limits are those of native sessions, the IRC way: a password
(PASS; 464 and ERROR when wrong), registration within the hello timeout, a
rate limit that delays reading (fake lag) instead of refusing, the idle
reaper's PING, and "SendQ exceeded" for a slow consumer.
"""

from __future__ import annotations

import base64
import functools
import logging
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any, Final

from protocol import (
    MAX_HISTORY_LIMIT,
    MAX_REASON_CHARS,
    MAX_TOPIC_CHARS,
    BanUser,
    ByeReason,
    DeopUser,
    Error,
    Hello,
    InviteUser,
    JoinChannel,
    KickUser,
    KillUser,
    LeaveReason,
    ListChannels,
    Msg,
    Nick,
    OpUser,
    Part,
    ProtocolError,
    Say,
    SetMode,
    SetTopic,
    UnbanUser,
    WhoisQuery,
    channel_key,
    is_channel,
    nick_key,
    validate_channel,
    validate_nick,
)
from server.account_desk import AccountDesk
from server.accounts import AccountRecord
from server.config import ServerConfig
from server.errors import AuthFailed, NickRegistered, NickTaken, ServerError
from server.hub import Hub, Link
from server.irc.asks import Ask
from server.irc.caps import CapNegotiation
from server.irc.dialect import BYE_TEXTS, motd
from server.irc.door import MAX_TARGETS, MAX_USERHOST, IrcDoor
from server.irc.history import BadHistoryRequest, parse_chathistory
from server.irc.lines import BadEncoding, InputTooLong, Line, LineDecoder, LineError
from server.irc.modes import ModeChange, ParsedModes, mask_nick, parse_modes
from server.irc.nicks import check_nick, irc_ident, is_mask
from server.irc.numerics import numeric
from server.irc.replies import CLIENT, IrcReply
from server.irc.text import format_in, from_irc, visible
from server.limits import AuthGuard, TokenBucket
from server.outbound import Flusher
from server.tls import ConnectionTls

__all__ = ["FAREWELL", "IrcSession"]

log = logging.getLogger(__name__)

RECV_BYTES: Final = 64 * 1024
FAREWELL: Final = b"\r\nERROR :Closing link: SendQ exceeded\r\n"
"""Sent instead of the queue to a client that falls too far behind."""
LOUD_REFUSALS: Final = 5
_BEFORE_REGISTRATION: Final = frozenset({"CAP", "PASS", "NICK", "USER", "PING", "PONG", "QUIT",
                                         "AUTHENTICATE"})
_SECRET_PARAMS: Final = frozenset({"PASS", "AUTHENTICATE", "OPER"})
"""Commands whose parameters are passwords or SASL payloads: logged without them."""
SASL_CHUNK: Final = 400
"""Bytes of base64 per AUTHENTICATE line; a full one means more follows."""
SASL_MAX: Final = 2000
JOINED_PER_CHANNEL_LIMIT: Final = 4
"""Channels remembered for JOIN 0, per channel of CHANLIMIT (refused joins count too)."""


class IrcSession:
    """A connected IRC client, served by its own reader thread."""

    def __init__(
        self,
        sock: socket.socket,
        peer: str,
        hub: Hub,
        flusher: Flusher,
        config: ServerConfig,
        auth: AuthGuard,
        desk: AccountDesk,
        on_exit: Callable[[Any], None],
        door: IrcDoor,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.sock = sock
        self.peer = peer
        self.hub = hub
        self.flusher = flusher
        self.config = config
        self.door = door
        self.tls = ConnectionTls(tls_context) if tls_context is not None else None
        self.outbox = flusher.open(sock, peer, config.max_queue_bytes, self.tls, FAREWELL)
        self.caps = CapNegotiation()
        self.link = Link(self.outbox, peer, door.dialect(self.caps.enabled))
        self.nick: str | None = None
        """The nick granted at registration (later renames are the hub's to know)."""
        self.last_heard = time.monotonic()
        self._auth = auth
        self._desk = desk
        self._bucket = TokenBucket(config.rate_limit_per_s, config.rate_burst)
        self._lag_step_s = 1.0 / config.rate_limit_per_s if config.rate_limit_per_s > 0 else 0.0
        self._on_exit = on_exit
        self._decoder = LineDecoder()
        self._serial = 0
        self._asked = False
        """Whether the command being handled made an Ask (so it will be answered)."""
        self._wanted: str | None = None
        self._user: tuple[str, str] | None = None
        self._password: str | None = None
        self._sasl_buffer: str | None = None
        """What a SASL PLAIN exchange has sent so far (None: none under way)."""
        self._proved_account: str | None = None
        self._joined: dict[str, str] = {}
        """The channels this connection asked to join and has not parted, by key (for JOIN 0)."""
        self._refusals = 0
        self._stopping = threading.Event()
        self._done = False
        self._leave_reason: str | None = None
        self._bye: str | None = None
        self.thread = threading.Thread(target=self._run, name=f"irc-reader-{peer}", daemon=True)

    @property
    def registered(self) -> bool:
        return self.nick is not None

    @property
    def address(self) -> str:
        """The peer's IP address, without the port."""
        return self.peer.rsplit(":", 1)[0]

    def start(self) -> None:
        self.thread.start()

    # Any thread: the reaper, the server's shutdown, the accept loop.

    def close(self, reason: str) -> None:
        """Say ERROR and close the connection; the reader exits at once."""
        self._stopping.set()
        self.flusher.send(self.outbox, _error_line(reason))
        self.flusher.close_after_flush(self.outbox, reason)
        try:
            self.sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass  # already shut down or closed by the flusher

    def ping(self) -> None:
        """Ask a silent client for a sign of life."""
        self.flusher.send(self.outbox, Line("PING", (self.door.server_name,)).to_bytes())

    def refuse(self, message: str) -> None:
        """Turn the connection away before it starts (the server is full); release it."""
        self.flusher.send(self.outbox, Line("ERROR", (f"Closing link: {message}",),
                                            trailing=True).to_bytes())
        self.flusher.release(self.outbox)

    # Reader thread.

    def _run(self) -> None:
        log.info("[%s] connected (IRC)", self.peer)
        try:
            self._serve()
        except Exception:
            log.exception("[%s] IRC reader failed", self.peer)
        finally:
            self._finish()

    def _serve(self) -> None:
        deadline = time.monotonic() + self.config.hello_timeout_s
        while not self._done:
            if not self.registered and not self._wait_readable(deadline):
                self._send_direct([Line("ERROR", ("Closing link: Registration timed out",),
                                        trailing=True)])
                self._leave_reason = ByeReason.HELLO_TIMEOUT
                log.info("[%s] not registered within %.0f s", self.peer,
                         self.config.hello_timeout_s)
                return
            try:
                data = self.sock.recv(RECV_BYTES)
            except OSError as exc:
                log.debug("[%s] recv failed: %s", self.peer, exc)
                return
            if not data:
                return
            self.last_heard = time.monotonic()
            if self.tls is not None:
                data = self._decrypt(data)
                if self.tls.peer_closed:
                    return
            for item in self._decoder.receive_data(data):
                self._handle(item)
                if self._done or self._stopping.is_set():
                    return

    def _decrypt(self, data: bytes) -> bytes:
        assert self.tls is not None
        try:
            plaintext, output_waiting = self.tls.decrypt(data)
        except ssl.SSLError as exc:
            log.warning("[%s] TLS failed: %s", self.peer, exc.reason or exc)
            self._done = True
            return b""
        if output_waiting:
            self.flusher.poke(self.outbox)
        return plaintext

    def _wait_readable(self, deadline: float) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        return bool(poller.poll(remaining * 1000))

    def _finish(self) -> None:
        """Hand the link back to the hub: it tells the others, says ERROR if due, and closes."""
        reason = self.outbox.close_reason or self._leave_reason or LeaveReason.CONNECTION_CLOSED
        self.hub.leave(self.link, reason, bye=self._bye)
        self.door.idents.forget(self)
        self._on_exit(self)  # the slot is free once the log says so
        log.info("[%s] disconnected (%s)", self.peer, self._bye or reason)

    def _handle(self, item: Line | LineError) -> None:
        self._serial = self.door.next_serial()
        self._asked = False
        if isinstance(item, LineError):
            self._line_error(item)
            return
        line = item
        shown = "(secret)" if line.command in _SECRET_PARAMS else " ".join(line.params)[:200]
        log.debug("[%s] <- %s %s", self.peer, line.command, shown)
        if not self.registered and line.command not in _BEFORE_REGISTRATION:
            self._reply(None, numeric("ERR_NOTREGISTERED", CLIENT))
            return
        handler = _COMMANDS.get(line.command)
        if handler is None:
            self._reply(self._ask(line), numeric("ERR_UNKNOWNCOMMAND", CLIENT, line.command))
            return
        try:
            handler(self, line)
        except ProtocolError as exc:
            self._refuse(self._ask(line, arg=_first(line)), exc)
        if not self._asked and "label" in line.tags and self.registered and not self._done:
            self._reply(self._ask(line))  # nothing to say (a PONG, a NOTICE to nobody): an ACK

    def _line_error(self, error: LineError) -> None:
        self._note_refusal(error.command, error.message)
        ask = self._ask(Line(error.command, tags=error.tags))
        if isinstance(error, InputTooLong):
            self._reply(ask, numeric("ERR_INPUTTOOLONG", CLIENT))
        elif isinstance(error, BadEncoding):
            self._reply(ask, Line("FAIL", (error.command, "INVALID_UTF8",
                                           "This server takes UTF-8 only."), trailing=True))

    # Sending.

    def _ask(self, line: Line, command: str | None = None, arg: str = "", extra: str = "",
             part: int = 1, parts: int = 1) -> Ask:
        """The Ask for (a part of) ``line``: what its answer needs to know."""
        self._asked = True
        caps = self.caps
        labeled = caps.has("labeled-response") and caps.has("batch")
        flags = ("b" if caps.has("batch") else "") + ("u" if caps.has("userhost-in-names") else "")
        label = line.tags.get("label") if labeled and self.registered else None
        return Ask(command or line.command, arg, extra, self._serial, part, parts, flags,
                   label or None)

    def _reply(self, ask: Ask | None, *lines: Line) -> None:
        """Send lines the session made: through the hub once registered, else directly."""
        reply = IrcReply(list(lines))
        if self.registered:
            self.hub.reply(self.link, reply, tag=ask.to_tag() if ask is not None else None)
        else:
            self._send_direct(list(lines))

    def _send_direct(self, lines: list[Line]) -> None:
        self.flusher.send(self.outbox, self.link.dialect.encode(IrcReply(lines), "*"))

    def _refuse(self, ask: Ask, exc: ProtocolError) -> None:
        """Answer a refused request the way its command calls for (through the dialect)."""
        self._note_refusal(exc.code, exc.message)
        error = Error(code=exc.code, message=exc.message)
        if self.registered:
            self.hub.reply(self.link, error, tag=ask.to_tag())
        else:
            self.flusher.send(self.outbox, self.link.dialect.encode(error, "*", ask.to_tag()))

    def _note_refusal(self, code: str, message: str) -> None:
        self._refusals += 1
        level = logging.WARNING if self._refusals <= LOUD_REFUSALS else logging.DEBUG
        log.log(level, "[%s] refused: %s (%s)", self.peer, code, message)

    def _charge(self) -> None:
        """Take a token for one request; without one, stop reading until there is (fake lag)."""
        while not self._bucket.try_take():
            if self._stopping.wait(self._lag_step_s):
                return

    def _need(self, line: Line, count: int) -> bool:
        """Whether ``line`` has ``count`` parameters; if not, say 461."""
        if len(line.params) >= count and all(line.params[:count]):
            return True
        self._reply(self._ask(line), numeric("ERR_NEEDMOREPARAMS", CLIENT, line.command))
        return False

    # Registration.

    def _on_cap(self, line: Line) -> None:
        if not self._need(line, 1):
            return
        sub = line.params[0].upper()
        who = CLIENT if self.registered else "*"
        caps = self.caps
        if sub == "LS":
            if not self.registered:
                caps.negotiating = True
            rows = caps.ls(line.params[1] if len(line.params) > 1 else None)
            self._reply(self._ask(line), *(Line("CAP", (who, *row), trailing=True)
                                           for row in rows))
        elif sub == "LIST":
            self._reply(self._ask(line), Line("CAP", (who, *caps.listing()), trailing=True))
        elif sub == "REQ":
            if not self.registered:
                caps.negotiating = True
            before = caps.broadcast_set()
            answer = caps.request(line.params[1] if len(line.params) > 1 else "")
            if caps.broadcast_set() != before:
                self._redial()
            self._reply(self._ask(line), Line("CAP", (who, *answer), trailing=True))
        elif sub == "END":
            caps.negotiating = False
            self._maybe_register()
        else:
            self._reply(self._ask(line), numeric("ERR_INVALIDCAPCMD", who, sub))

    def _redial(self) -> None:
        dialect = self.door.dialect(self.caps.enabled)
        if self.registered:
            self.hub.redial(self.link, dialect)
        else:
            self.link.dialect = dialect

    def _on_pass(self, line: Line) -> None:
        if self.registered:
            self._reply(self._ask(line), numeric("ERR_ALREADYREGISTERED", CLIENT))
        elif self._need(line, 1):
            self._password = " ".join(line.params)  # a password with spaces, sent bare

    def _on_nick(self, line: Line) -> None:
        if not line.params or not line.params[0]:
            self._reply(self._ask(line), numeric("ERR_NONICKNAMEGIVEN", CLIENT))
            return
        wanted = line.params[0]
        ask = self._ask(line, arg=wanted)
        nick = check_nick(wanted)
        if self.registered:
            self._charge()
            self.hub.rename(self.link, Nick(nick=nick), tag=ask.to_tag())
            return
        self._wanted = nick
        self._maybe_register()

    def _on_user(self, line: Line) -> None:
        if self.registered:
            self._reply(self._ask(line), numeric("ERR_ALREADYREGISTERED", CLIENT))
            return
        if len(line.params) < 4 or not line.params[0] or not line.params[3]:
            self._reply(self._ask(line), numeric("ERR_NEEDMOREPARAMS", CLIENT, "USER"))
            return
        self._user = (line.params[0], line.params[3])
        self._maybe_register()

    def _maybe_register(self) -> None:
        """Register once NICK and USER are in and no CAP negotiation is open."""
        if self.registered or self._wanted is None or self._user is None \
                or self.caps.negotiating:
            return
        if not self._auth.check(self.address, self._password):
            self._stopping.wait(self._auth.delay_s(self.address))
            self._send_direct([numeric("ERR_PASSWDMISMATCH", "*"),
                               Line("ERROR", ("Closing link: Password incorrect",),
                                    trailing=True)])
            log.warning("[%s] refused: auth_failed (wrong or missing PASS)", self.peer)
            self._leave_reason = "auth failed"
            self._done = True
            return
        if self._proved_account is None and not self._auth.required and self._password \
                and not self._login_with_pass(self._password):
            return
        self.link.dialect = self.door.dialect(self.caps.enabled)
        account = self._proved_account
        proved = account is not None and nick_key(account) == nick_key(self._wanted)
        try:
            nick = self.hub.hello(self.link, Hello(nick=self._wanted, channels=[]), proved).nick
        except (NickTaken, NickRegistered) as exc:
            self._refuse(self._ask(Line("NICK"), arg=self._wanted), exc)
            self._wanted = None
            return
        except ProtocolError as exc:
            self._send_direct([Line("ERROR", (f"Closing link: {exc.message}",), trailing=True)])
            self._done = True
            return
        self.nick = nick
        username, realname = self._user
        self.door.idents.register(self, nick, irc_ident(username, realname))
        if account is not None and not proved:
            self._identify(account)
        self.hub.census(self.link, tag=Ask("WELCOME", serial=self._serial).to_tag())

    def _login_with_pass(self, value: str) -> bool:
        """Take ``PASS nick:password`` as an account login (only with no server password).

        Return False, having closed the connection, if the password is wrong.
        """
        account, colon, password = value.partition(":")
        if not colon or not account:
            return True
        try:
            proved = self._desk.proves(account, password, self.address)
        except AuthFailed:
            proved = False  # a wrong password (after the desk's wait)
        record = self.hub.account_record(account) if proved else None  # ServerError: say so
        if record is None:
            self._send_direct([numeric("ERR_PASSWDMISMATCH", "*"),
                               Line("ERROR", ("Closing link: Account password incorrect",),
                                    trailing=True)])
            log.warning("[%s] refused: PASS login for %r", self.peer, account[:32])
            self._leave_reason = "auth failed"
            self._done = True
            return False
        self._proved_account = record.nick
        return True

    def _identify(self, account: str) -> None:
        """Take the account SASL proved, and its nick (as the native /identify does)."""
        try:
            self.nick = self.hub.identify(self.link, account).nick
        except ProtocolError as exc:
            self._reply(None, Line("NOTICE", (CLIENT, exc.message), trailing=True))

    # Connection.

    def _on_ping(self, line: Line) -> None:
        if not self._need(line, 1):
            return
        server = self.door.server_name  # a PONG after all accepted before: the barrier rule
        self._reply(self._ask(line), Line("PONG", (server, line.params[0]), server,
                                          trailing=True))

    def _on_pong(self, line: Line) -> None:
        """Nothing to do: hearing from the client already counts as a sign of life."""

    def _on_quit(self, line: Line) -> None:
        reason = _one_line(format_in(line.params[0])) if line.params else ""
        self._leave_reason = reason or ByeReason.QUIT
        self._bye = ByeReason.QUIT
        self._done = True

    # Channels.

    def _on_join(self, line: Line) -> None:
        names = [n for n in line.params[0].split(",") if n] if line.params else []
        if not names:
            self._reply(self._ask(line), numeric("ERR_NEEDMOREPARAMS", CLIENT, "JOIN"))
            return
        if names == ["0"]:
            self._part_all(line)
            return
        for index, name in enumerate(names, 1):
            ask = self._ask(line, arg=name, part=index, parts=len(names))
            try:
                request = JoinChannel(channel=name)
            except ProtocolError as exc:
                self._refuse(ask, exc)
                continue
            self._charge()
            self._remember_joined(request.channel)
            self.hub.join(self.link, request, tag=ask.to_tag())

    def _remember_joined(self, name: str) -> None:
        joined = self._joined
        joined.pop(channel_key(name), None)
        joined[channel_key(name)] = name
        while len(joined) > JOINED_PER_CHANNEL_LIMIT * self.door.max_channels:
            del joined[next(iter(joined))]  # the oldest: most likely a join refused long ago

    def _part_all(self, line: Line) -> None:
        """JOIN 0: leave every channel this connection joined (a channel it is no longer in,
        kicked or never let in, is passed over in silence)."""
        names = list(self._joined.values())
        self._joined.clear()
        if not names:
            self._reply(self._ask(line))
            return
        for index, name in enumerate(names, 1):
            ask = self._ask(line, command="PARTALL", arg=name, part=index, parts=len(names))
            self._charge()
            self.hub.part(self.link, Part(channel=name), tag=ask.to_tag())

    def _on_part(self, line: Line) -> None:
        names = [n for n in line.params[0].split(",") if n] if line.params else []
        if not names:
            self._reply(self._ask(line), numeric("ERR_NEEDMOREPARAMS", CLIENT, "PART"))
            return
        reason = format_in(line.params[1]) if len(line.params) > 1 and line.params[1] else None
        for index, name in enumerate(names, 1):
            ask = self._ask(line, arg=name, part=index, parts=len(names))
            try:
                request = Part(channel=name, reason=reason)
            except ProtocolError as exc:
                self._refuse(ask, exc)
                continue
            self._charge()
            self._joined.pop(channel_key(request.channel), None)
            self.hub.part(self.link, request, tag=ask.to_tag())

    def _on_topic(self, line: Line) -> None:
        if not self._need(line, 1):
            return
        name = line.params[0]
        ask = self._ask(line, arg=name)
        self._charge()
        if len(line.params) == 1:
            self.hub.lookup(self.link, channel=name, tag=ask.to_tag())
            return
        text = _one_line(format_in(line.params[1]))[:MAX_TOPIC_CHARS]
        self.hub.set_topic(self.link, SetTopic(channel=name, text=text), tag=ask.to_tag())

    def _on_names(self, line: Line) -> None:
        names = [n for n in line.params[0].split(",") if n] if line.params else []
        if not names:
            self._reply(self._ask(line), numeric("RPL_ENDOFNAMES", CLIENT, "*"))
            return
        for index, name in enumerate(names, 1):
            ask = self._ask(line, arg=name, part=index, parts=len(names))
            self._charge()
            self.hub.lookup(self.link, channel=name, tag=ask.to_tag())

    def _on_list(self, line: Line) -> None:
        self._charge()
        ask = self._ask(line, arg=line.params[0] if line.params else "")
        self.hub.list_channels(self.link, ListChannels(), tag=ask.to_tag())

    def _on_mode(self, line: Line) -> None:
        if not self._need(line, 1):
            return
        target, modes = line.params[0], "".join(line.params[1:2])
        if not is_channel(target):
            ask = self._ask(line, command="UMODE", arg=target, extra=modes)
            self.hub.lookup(self.link, nicks=[target], tag=ask.to_tag())
            return
        if not modes:
            self.hub.lookup(self.link, channel=target, tag=self._ask(line, arg=target).to_tag())
            return
        steps = self._mode_steps(line, target, parse_modes(modes, list(line.params[2:])))
        if not steps:
            self._reply(self._ask(line, arg=target))  # only +n, always on: nothing to say
        for index, step in enumerate(steps, 1):
            step(index, len(steps))

    def _mode_steps(self, line: Line, channel: str,
                    parsed: ParsedModes) -> list[Callable[[int, int], None]]:
        """The parts of a channel MODE line's answer, each sent when called with its number.

        Refusals come first, then one request for the flags (one MODE line back,
        however many letters), then each operator, ban and list query in turn.
        """
        steps: list[Callable[[int, int], None]] = []
        refusals = [numeric("ERR_UNKNOWNMODE", CLIENT, letter) for letter in parsed.unknown]
        if parsed.missing:
            refusals.append(numeric("ERR_NEEDMOREPARAMS", CLIENT, "MODE"))
        if refusals:
            steps.append(lambda part, parts: self._reply(
                self._ask(line, arg=channel, part=part, parts=parts), *refusals))
        flags = {c.letter: bool(c.on) for c in parsed.changes
                 if c.letter in "ti" and c.on is not None}
        if flags:
            steps.append(lambda part, parts: self._set_flags(
                self._ask(line, arg=channel, part=part, parts=parts), channel, flags))
        for change in parsed.changes:
            if change.letter not in "tin":
                steps.append(functools.partial(self._change_mode, line, channel, change))
        return steps

    def _set_flags(self, ask: Ask, channel: str, flags: dict[str, bool]) -> None:
        self._charge()
        try:
            request = SetMode(channel=channel, topic_lock=flags.get("t"),
                              invite_only=flags.get("i"))
        except ProtocolError as exc:
            self._refuse(ask, exc)
            return
        self.hub.mode(self.link, request, tag=ask.to_tag())

    def _change_mode(self, line: Line, channel: str, change: ModeChange, part: int,
                     parts: int) -> None:
        """Ask the hub for one operator, ban or list query of a MODE line (one part of it)."""
        if change.on is None:  # a list: asked of the hub, which knows if the channel exists
            self._charge()
            self.hub.lookup(self.link, channel=channel, tag=self._ask(
                line, "MODELIST", channel, change.letter, part=part, parts=parts).to_tag())
            return
        ask = self._ask(line, arg=channel, extra=change.arg, part=part, parts=parts)
        tag = ask.to_tag()
        self._charge()
        try:
            if change.letter == "o":
                request: OpUser | DeopUser = (OpUser if change.on else DeopUser)(
                    channel=channel, nick=change.arg)
                self.hub.op(self.link, request, tag=tag)
            elif change.on:
                self.hub.ban(self.link, BanUser(nick=mask_nick(change.arg), channel=channel),
                             tag=tag)
            else:
                self.hub.unban(self.link, UnbanUser(nick=mask_nick(change.arg),
                                                    channel=channel), tag=tag)
        except ProtocolError as exc:
            self._refuse(ask, exc)

    def _on_kick(self, line: Line) -> None:
        nicks = [n for n in line.params[1].split(",") if n] if len(line.params) > 1 else []
        if not line.params or not line.params[0] or not nicks:
            self._reply(self._ask(line), numeric("ERR_NEEDMOREPARAMS", CLIENT, "KICK"))
            return
        channel = line.params[0]
        reason = format_in(line.params[2]) if len(line.params) > 2 and line.params[2] else None
        for index, nick in enumerate(nicks, 1):
            ask = self._ask(line, arg=channel, extra=nick, part=index, parts=len(nicks))
            self._charge()
            try:
                request = KickUser(channel=channel, nick=nick, reason=reason)
            except ProtocolError as exc:
                self._refuse(ask, exc)
                continue
            self.hub.kick(self.link, request, tag=ask.to_tag())

    def _on_invite(self, line: Line) -> None:
        if not self._need(line, 2):
            return
        nick, channel = line.params[0], line.params[1]
        ask = self._ask(line, arg=channel, extra=nick)
        self._charge()
        try:
            request = InviteUser(channel=channel, nick=nick)
        except ProtocolError as exc:
            self._refuse(ask, exc)  # 403 names the channel, 401 the nick
            return
        self.hub.invite(self.link, request, tag=ask.to_tag())

    def _on_kill(self, line: Line) -> None:
        if not self._need(line, 1):
            return
        nick = line.params[0]
        reason = format_in(line.params[1]) if len(line.params) > 1 and line.params[1] else None
        self._charge()
        self.hub.kill(self.link, KillUser(nick=nick, reason=reason),
                      tag=self._ask(line, arg=nick).to_tag())

    # Accounts: SASL PLAIN before registration.

    def _on_authenticate(self, line: Line) -> None:
        if self.registered:
            self._reply(self._ask(line), numeric("ERR_SASLALREADY", CLIENT))
            return
        if not self._need(line, 1):
            return
        step = line.params[0]
        if not self.caps.has("sasl") or step == "*":
            self._sasl_buffer = None
            self._send_direct([numeric("ERR_SASLABORTED" if step == "*" else "ERR_SASLFAIL",
                                       "*")])
            return
        if self._sasl_buffer is None:
            if step.upper() != "PLAIN":
                self._send_direct([numeric("RPL_SASLMECHS", "*", "PLAIN"),
                                   numeric("ERR_SASLFAIL", "*")])
                return
            self._sasl_buffer = ""
            self._send_direct([Line("AUTHENTICATE", ("+",))])
            return
        if len(step) > SASL_CHUNK or len(self._sasl_buffer) > SASL_MAX:
            self._sasl_buffer = None
            self._send_direct([numeric("ERR_SASLTOOLONG", "*")])
            return
        if step != "+":
            self._sasl_buffer += step
        if len(step) == SASL_CHUNK:
            return  # more is coming
        payload, self._sasl_buffer = self._sasl_buffer, None
        self._finish_sasl(payload)

    def _finish_sasl(self, payload: str) -> None:
        """Check PLAIN's ``authzid NUL authcid NUL password`` against the accounts."""
        try:
            authzid, authcid, password = base64.b64decode(payload, validate=True) \
                .decode("utf-8").split("\0")
        except (ValueError, UnicodeDecodeError):
            authzid = authcid = password = ""
        account = authcid or authzid
        try:
            record = self._sasl_account(account, authzid, authcid, password)
        except ServerError as exc:  # the store is away: this attempt fails, a later may not
            self._note_refusal(exc.code, exc.message)
            self._send_direct([Line("FAIL", ("AUTHENTICATE", "TEMPORARILY_UNAVAILABLE",
                                             exc.message), trailing=True),
                               numeric("ERR_SASLFAIL", "*")])
            return
        if record is None:
            log.warning("[%s] refused: SASL PLAIN for %r", self.peer, account[:32])
            self._send_direct([numeric("ERR_SASLFAIL", "*")])
            return
        self._proved_account = record.nick
        self._send_direct([numeric("RPL_LOGGEDIN", "*", "*", record.nick,
                                   text=f"You are now logged in as {record.nick}"),
                           numeric("RPL_SASLSUCCESS", "*")])

    def _sasl_account(self, account: str, authzid: str, authcid: str,
                      password: str) -> AccountRecord | None:
        """The account PLAIN's credentials prove, if any; raise ServerError if out of reach."""
        if not account or authzid and nick_key(authzid) != nick_key(authcid):
            return None
        try:
            proved = self._desk.proves(account, password, self.address)
        except AuthFailed:
            return None  # a wrong password (after the desk's wait)
        return self.hub.account_record(account) if proved else None

    # Messages.

    def _on_privmsg(self, line: Line) -> None:
        notice = line.command == "NOTICE"
        targets = [t for t in line.params[0].split(",") if t] if line.params else []
        if not targets:
            if not notice:
                self._reply(self._ask(line), numeric("ERR_NORECIPIENT", CLIENT, line.command))
            return
        targets, excess = targets[:MAX_TARGETS], targets[MAX_TARGETS:]
        if notice:
            excess = []  # never an error for a NOTICE
        parts = len(targets) + bool(excess)
        text = line.params[1] if len(line.params) > 1 else ""
        for index, target in enumerate(targets, 1):
            ask = self._ask(line, arg=target, part=index, parts=parts)
            incoming = from_irc(text, notice=notice, private=not is_channel(target))
            if incoming is None:  # a CTCP request or reply other than ACTION: not carried
                self._reply(ask)
                continue
            if not visible(incoming.text):
                if notice:
                    self._reply(ask)
                else:
                    self._reply(ask, numeric("ERR_NOTEXTTOSEND", CLIENT))
                continue
            self._charge()
            try:
                if is_channel(target):
                    say = Say(text=incoming.text, action=incoming.action, channel=target)
                    self.hub.say(self.link, say, tag=ask.to_tag())
                else:
                    self.hub.tell(self.link, Msg(to=target, text=incoming.text),
                                  tag=ask.to_tag())
            except ProtocolError as exc:
                self._refuse(ask, exc)
        if excess:
            self._reply(self._ask(line, part=parts, parts=parts),
                        *(numeric("ERR_TOOMANYTARGETS", CLIENT, target,
                                  text=f"Too many recipients; at most {MAX_TARGETS} a line")
                          for target in excess))

    def _on_tagmsg(self, line: Line) -> None:
        """Client-only tags are not relayed (CLIENTTAGDENY=*): a TAGMSG carries nothing."""
        self._reply(self._ask(line))

    # Users.

    def _on_who(self, line: Line) -> None:
        mask = line.params[0] if line.params and line.params[0] not in ("", "0") else "*"
        whox = line.params[1] if len(line.params) > 1 and line.params[1].startswith("%") else ""
        ask = self._ask(line, arg=mask, extra=whox)
        self._charge()
        if is_channel(mask):
            self.hub.lookup(self.link, channel=mask, tag=ask.to_tag())
        elif is_mask(mask):
            self.hub.lookup(self.link, tag=ask.to_tag())
        else:
            self.hub.lookup(self.link, nicks=[mask], tag=ask.to_tag())

    def _on_whois(self, line: Line) -> None:
        if not line.params or not line.params[-1]:
            self._reply(self._ask(line), numeric("ERR_NONICKNAMEGIVEN", CLIENT))
            return
        nick = line.params[-1].split(",")[0]
        ask = self._ask(line, arg=nick)
        self._charge()
        try:
            request = WhoisQuery(nick=nick)
        except ProtocolError as exc:
            self._refuse(ask, exc)
            return
        self.hub.whois(self.link, request, tag=ask.to_tag())

    def _on_whowas(self, line: Line) -> None:
        if not self._need(line, 1):
            return
        nick = line.params[0]
        self._reply(self._ask(line), numeric("ERR_WASNOSUCHNICK", CLIENT, nick),
                    numeric("RPL_ENDOFWHOWAS", CLIENT, nick))

    def _on_ison(self, line: Line) -> None:
        nicks = [n for p in line.params for n in p.split()]
        if not nicks:
            self._reply(self._ask(line), numeric("ERR_NEEDMOREPARAMS", CLIENT, "ISON"))
            return
        self.hub.lookup(self.link, nicks=nicks, tag=self._ask(line).to_tag())

    def _on_userhost(self, line: Line) -> None:
        nicks = [n for p in line.params for n in p.split()][:MAX_USERHOST]
        if not nicks:
            self._reply(self._ask(line), numeric("ERR_NEEDMOREPARAMS", CLIENT, "USERHOST"))
            return
        self.hub.lookup(self.link, nicks=nicks, tag=self._ask(line).to_tag())

    def _on_away(self, line: Line) -> None:
        text = _one_line(format_in(line.params[0]))[:MAX_REASON_CHARS] if line.params else ""
        self.hub.set_away(self.link, text or None, tag=self._ask(line).to_tag())

    # The server.

    def _on_lusers(self, line: Line) -> None:
        self.hub.census(self.link, tag=self._ask(line).to_tag())

    def _on_motd(self, line: Line) -> None:
        lines = [item for item in motd(self.door, CLIENT) if isinstance(item, Line)]
        self._reply(self._ask(line), *lines)

    def _on_version(self, line: Line) -> None:
        door = self.door
        self._reply(self._ask(line), numeric("RPL_VERSION", CLIENT, door.version,
                                             door.server_name, text="termchat IRC door"),
                    *(numeric("RPL_ISUPPORT", CLIENT, *tokens) for tokens in door.isupport()))

    def _on_chathistory(self, line: Line) -> None:
        try:
            request = parse_chathistory(line.params, MAX_HISTORY_LIMIT)
        except BadHistoryRequest as exc:
            self._reply(self._ask(line), Line("FAIL", ("CHATHISTORY", exc.code, exc.subcommand,
                                                       exc.message), trailing=True))
            return
        target = request.target
        parts = len(request.pages)
        first = self._ask(line, arg=target, extra=request.subcommand, parts=parts)
        try:
            validate_channel(target) if is_channel(target) else validate_nick(target)
        except ProtocolError as exc:
            self._refuse(first, exc)
            return
        self._charge()
        for index, page in enumerate(request.pages, 1):
            ask = self._ask(line, arg=target, extra=request.subcommand, part=index, parts=parts)
            self.hub.history_span(self.link, target, page.span, page.limit, tag=ask.to_tag())


def _first(line: Line) -> str:
    return line.params[0] if line.params else ""


def _one_line(text: str) -> str:
    return " ".join(text.split())[:MAX_REASON_CHARS]


def _error_line(reason: str) -> bytes:
    return Line("ERROR", (f"Closing link: {BYE_TEXTS.get(reason, reason)}",),
                trailing=True).to_bytes()


_COMMANDS: Final[dict[str, Callable[[IrcSession, Line], None]]] = {
    "CAP": IrcSession._on_cap,
    "PASS": IrcSession._on_pass,
    "NICK": IrcSession._on_nick,
    "USER": IrcSession._on_user,
    "PING": IrcSession._on_ping,
    "PONG": IrcSession._on_pong,
    "QUIT": IrcSession._on_quit,
    "JOIN": IrcSession._on_join,
    "PART": IrcSession._on_part,
    "TOPIC": IrcSession._on_topic,
    "NAMES": IrcSession._on_names,
    "LIST": IrcSession._on_list,
    "MODE": IrcSession._on_mode,
    "KICK": IrcSession._on_kick,
    "INVITE": IrcSession._on_invite,
    "KILL": IrcSession._on_kill,
    "AUTHENTICATE": IrcSession._on_authenticate,
    "PRIVMSG": IrcSession._on_privmsg,
    "NOTICE": IrcSession._on_privmsg,
    "TAGMSG": IrcSession._on_tagmsg,
    "WHO": IrcSession._on_who,
    "WHOIS": IrcSession._on_whois,
    "WHOWAS": IrcSession._on_whowas,
    "ISON": IrcSession._on_ison,
    "USERHOST": IrcSession._on_userhost,
    "AWAY": IrcSession._on_away,
    "LUSERS": IrcSession._on_lusers,
    "MOTD": IrcSession._on_motd,
    "VERSION": IrcSession._on_version,
    "CHATHISTORY": IrcSession._on_chathistory,
}
"""Every command the door knows; any other is answered 421."""

