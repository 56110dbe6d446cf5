"""One native client connection: its reader thread, the handshake and the requests.

A session is the front door for the JSON Lines protocol: it reads its socket,
decodes and checks frames (size, validity, rate, password) and hands every
request to the :class:`~server.hub.Hub`, which answers on the session's
:class:`~server.hub.Link`. It never writes to the socket itself: the flusher
alone sends and closes. A bad frame belongs to its own client: it gets an
``error`` frame (through the hub, so it keeps its place in line) and the
connection carries on.
"""

from __future__ import annotations

import logging
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any, Final

from protocol import (
    CAP_PRESENCE,
    MAX_CLIENT_FRAME_BYTES,
    Account,
    BadRequest,
    BanUser,
    Bye,
    ByeReason,
    ClientFrame,
    DecodeResult,
    DeopUser,
    Error,
    ErrorCode,
    FrameDecoder,
    Hello,
    HistoryQuery,
    Identify,
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
    Ping,
    Pong,
    ProtocolError,
    Quit,
    Register,
    Say,
    SetMode,
    SetPassword,
    SetTopic,
    UnbanUser,
    Unregister,
    Who,
    WhoisQuery,
    encode_frame,
    nick_key,
    parse_client_frame,
)
from server.account_desk import AccountDesk
from server.config import ServerConfig
from server.errors import AuthFailed, NotWelcomed, RateLimited, error_frame
from server.hub import JSON_LINES, JSON_LINES_BATCHED, Hub, Link
from server.limits import AuthGuard, TokenBucket
from server.outbound import Flusher
from server.tls import ConnectionTls

__all__ = ["Session"]

log = logging.getLogger(__name__)

RECV_BYTES: Final = 16 * 1024
"""Below the mmap threshold (server.memory): a bigger buffer per recv costs a mapping each."""
_FAREWELL: Final = b"\n" + encode_frame(Bye(reason=ByeReason.SLOW_CONSUMER))
"""Sent instead of the queue to a client that falls too far behind."""
LOUD_REFUSALS: Final = 5
"""Refused frames per session logged at WARNING; the rest go to DEBUG."""


class Session:
    """A connected client, served by its own reader thread."""

    def __init__(
        self,
        sock: socket.socket,
        peer: str,
        hub: Hub,
        flusher: Flusher,
        config: ServerConfig,
        auth: AuthGuard,
        desk: AccountDesk,
        on_exit: Callable[[Session], None],
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.sock = sock
        self.peer = peer
        self.hub = hub
        self.flusher = flusher
        self.config = config
        self.tls = ConnectionTls(tls_context) if tls_context is not None else None
        self.outbox = flusher.open(sock, peer, config.max_queue_bytes, self.tls, _FAREWELL)
        self.link = Link(self.outbox, peer)
        self.nick: str | None = None
        self.account: str | None = None
        self.last_heard = time.monotonic()
        self._auth = auth
        self._desk = desk
        self._bucket = TokenBucket(config.rate_limit_per_s, config.rate_burst)
        self._refusals = 0
        self._pings_sent = 0
        self._on_exit = on_exit
        self._decoder = FrameDecoder(MAX_CLIENT_FRAME_BYTES)
        self._stopping = threading.Event()
        self._done = False
        self._leave_reason: str | None = None
        self._bye: str | None = None
        self.thread = threading.Thread(target=self._run, name=f"reader-{peer}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    @property
    def address(self) -> str:
        """The peer's IP address, without the port."""
        return self.peer.rsplit(":", 1)[0]

    def close(self, reason: str) -> None:
        """Say ``bye`` and close the connection (any thread); the reader exits at once."""
        self._stopping.set()
        self.flusher.send(self.outbox, encode_frame(Bye(reason=reason)))
        self.flusher.close_after_flush(self.outbox, reason)
        try:
            self.sock.shutdown(socket.SHUT_RD)  # recv returns; what is queued still goes out
        except OSError:
            pass  # already shut down or closed by the flusher

    def refuse(self, message: str) -> None:
        """Turn the connection away before it starts (the server is full); release it."""
        self.flusher.send(self.outbox, encode_frame(Error(code=ErrorCode.SERVER_FULL,
                                                          message=message)))
        self.flusher.send(self.outbox, encode_frame(Bye(reason=ByeReason.SERVER_FULL)))
        self.flusher.release(self.outbox)

    def ping(self) -> None:
        """Ask a silent client for a sign of life (any thread)."""
        self._pings_sent += 1
        self.flusher.send(self.outbox, encode_frame(Ping(token=f"idle-{self._pings_sent}")))

    # Reader thread.

    def _run(self) -> None:
        log.info("[%s] connected", self.peer)
        try:
            self._serve()
        except Exception:
            log.exception("[%s] reader failed", self.peer)
        finally:
            self._finish()

    def _serve(self) -> None:
        deadline = time.monotonic() + self.config.hello_timeout_s
        while not self._done:
            if self.nick is None and not self._wait_readable(deadline):
                self.flusher.send(self.outbox, encode_frame(Bye(reason=ByeReason.HELLO_TIMEOUT)))
                self._leave_reason = ByeReason.HELLO_TIMEOUT
                log.info("[%s] no hello within %.0f s", self.peer, self.config.hello_timeout_s)
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
                if self._done:
                    return

    def _decrypt(self, data: bytes) -> bytes:
        """Return the plaintext in ``data``; a peer that fails TLS is disconnected."""
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
        """Wait for input until ``deadline``; False if none came."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        return bool(poller.poll(remaining * 1000))

    def _finish(self) -> None:
        """Hand the link back to the hub: it tells the others, says bye if due, and closes."""
        reason = self.outbox.close_reason or self._leave_reason or LeaveReason.CONNECTION_CLOSED
        self.hub.leave(self.link, reason, bye=self._bye)
        self._on_exit(self)  # the slot is free once the log says so
        log.info("[%s] disconnected (%s)", self.peer, self._bye or reason)

    def _handle(self, item: DecodeResult) -> None:
        try:
            if isinstance(item, ProtocolError):
                raise item
            frame = parse_client_frame(item)
            if self.nick is None and not isinstance(frame, (Hello, Quit)):
                raise NotWelcomed("Say hello first: send a hello frame with your nick.")
            handler = _HANDLERS.get(type(frame))
            if handler is not None:
                handler(self, frame)
            else:
                self._check_rate()
                _REQUESTS[type(frame)](self.hub, self.link, frame)
        except ProtocolError as exc:
            self._refusals += 1
            level = logging.WARNING if self._refusals <= LOUD_REFUSALS else logging.DEBUG
            log.log(level, "[%s] refused: %s (%s)", self.peer, exc.code, exc.message)
            self.hub.reply(self.link, error_frame(exc))

    def _check_rate(self) -> None:
        if not self._bucket.try_take():
            raise RateLimited("You are sending too fast; wait a moment and try again.")

    # Frames the session handles itself; every other goes to the hub.

    def _on_hello(self, frame: Hello) -> None:
        if self.nick is not None:
            raise BadRequest("You are already welcomed; use /nick to change your nick.")
        if not self._auth.check(self.address, frame.password):
            self._stopping.wait(self._auth.delay_s(self.address))
            raise AuthFailed("Wrong or missing password; check it and connect again.")
        proved = self._desk.proves(frame.nick, frame.nick_password, self.address)
        batched = frame.caps is not None and CAP_PRESENCE in frame.caps
        self.link.dialect = JSON_LINES_BATCHED if batched else JSON_LINES
        self._granted(self.hub.hello(self.link, frame, proved))

    def _granted(self, account: Account) -> None:
        """Keep what the hub granted: the nick, and the account it was proved to own."""
        self.nick = account.nick
        self.account = nick_key(account.nick) if account.identified else None

    def _on_register(self, frame: Register) -> None:
        self._check_rate()
        self._answer(self._desk.register(self.link, frame.password))

    def _on_identify(self, frame: Identify) -> None:
        self._check_rate()
        self._answer(self._desk.identify(self.link, frame.nick, frame.password, self.address))

    def _on_set_password(self, frame: SetPassword) -> None:
        self._check_rate()
        self._answer(self._desk.set_password(self.link, self.account, frame.old, frame.new,
                                             self.address))

    def _on_unregister(self, frame: Unregister) -> None:
        self._check_rate()
        self._answer(self._desk.unregister(self.link, self.account, frame.password,
                                           self.address))

    def _answer(self, account: Account) -> None:
        self._granted(account)
        self.hub.reply(self.link, account)

    def _on_ping(self, frame: Ping) -> None:
        self.hub.reply(self.link, Pong(token=frame.token))

    def _on_pong(self, frame: Pong) -> None:
        """Nothing to do: hearing from the client already counts as a sign of life."""

    def _on_quit(self, frame: Quit) -> None:
        self._leave_reason = frame.reason or ByeReason.QUIT
        self._bye = ByeReason.QUIT
        self._done = True


_HANDLERS: Final[dict[type[ClientFrame], Callable[[Session, Any], None]]] = {
    Hello: Session._on_hello,
    Ping: Session._on_ping,
    Pong: Session._on_pong,
    Quit: Session._on_quit,
    Register: Session._on_register,
    Identify: Session._on_identify,
    SetPassword: Session._on_set_password,
    Unregister: Session._on_unregister,
}
"""The frames a session handles itself."""

_REQUESTS: Final[dict[type[ClientFrame], Callable[[Hub, Link, Any], None]]] = {
    Say: lambda hub, link, frame: hub.say(link, frame),
    Msg: lambda hub, link, frame: hub.tell(link, frame),
    Nick: lambda hub, link, frame: hub.rename(link, frame),
    JoinChannel: lambda hub, link, frame: hub.join(link, frame),
    Part: lambda hub, link, frame: hub.part(link, frame),
    SetTopic: lambda hub, link, frame: hub.set_topic(link, frame),
    ListChannels: lambda hub, link, frame: hub.list_channels(link, frame),
    Who: lambda hub, link, frame: hub.who(link, frame),
    HistoryQuery: lambda hub, link, frame: hub.history(link, frame),
    WhoisQuery: lambda hub, link, frame: hub.whois(link, frame),
    KickUser: lambda hub, link, frame: hub.kick(link, frame),
    BanUser: lambda hub, link, frame: hub.ban(link, frame),
    UnbanUser: lambda hub, link, frame: hub.unban(link, frame),
    OpUser: lambda hub, link, frame: hub.op(link, frame),
    DeopUser: lambda hub, link, frame: hub.op(link, frame),
    SetMode: lambda hub, link, frame: hub.mode(link, frame),
    InviteUser: lambda hub, link, frame: hub.invite(link, frame),
    KillUser: lambda hub, link, frame: hub.kill(link, frame),
}
"""The requests handed to the hub, each after the rate limit, and the hub method for each."""
