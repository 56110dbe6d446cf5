"""One client connection: its reader thread, the handshake and the request handlers.

A session reads its socket, decodes frames and answers them, calling the
:class:`~server.room.Room` for anything that concerns other users. It never
writes to the socket itself: every reply goes through the flusher, which alone
sends and closes. A bad frame belongs to its own client: it gets an ``error``
frame and the connection carries on.
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
    MAX_CLIENT_FRAME_BYTES,
    BadRequest,
    Bye,
    ClientFrame,
    DecodeResult,
    Error,
    FrameDecoder,
    Hello,
    History,
    HistoryQuery,
    Msg,
    Nick,
    Ping,
    Pong,
    ProtocolError,
    Quit,
    Roster,
    Say,
    ServerFrame,
    Who,
    encode_frame,
    parse_client_frame,
)
from server.config import ServerConfig
from server.errors import AuthFailed, NotWelcomed, RateLimited
from server.limits import AuthGuard, TokenBucket
from server.outbound import Flusher
from server.room import Member, Room
from server.tls import ConnectionTls

__all__ = ["Session"]

log = logging.getLogger(__name__)

RECV_BYTES: Final = 64 * 1024
LOUD_REFUSALS: Final = 5
"""Refused frames per session logged at WARNING; the rest go to DEBUG."""


class Session:
    """A connected client, served by its own reader thread."""

    def __init__(
        self,
        sock: socket.socket,
        peer: str,
        room: Room,
        flusher: Flusher,
        config: ServerConfig,
        auth: AuthGuard,
        on_exit: Callable[[Session], None],
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.sock = sock
        self.peer = peer
        self.room = room
        self.flusher = flusher
        self.config = config
        self.tls = ConnectionTls(tls_context) if tls_context is not None else None
        self.outbox = flusher.open(sock, peer, config.max_queue_bytes, self.tls)
        self.member: Member | None = None
        self.last_heard = time.monotonic()
        self._auth = auth
        self._bucket = TokenBucket(config.rate_limit_per_s, config.rate_burst)
        self._refusals = 0
        self._pings_sent = 0
        self._on_exit = on_exit
        self._decoder = FrameDecoder(MAX_CLIENT_FRAME_BYTES)
        self._done = False
        self._leave_reason: str | None = None
        self.thread = threading.Thread(target=self._run, name=f"reader-{peer}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    @property
    def address(self) -> str:
        """The peer's IP address, without the port."""
        return self.peer.rsplit(":", 1)[0]

    def close(self, reason: str) -> None:
        """Say ``bye`` and close the connection (any thread); the reader then exits."""
        self._send(Bye(reason=reason))
        self.flusher.close_after_flush(self.outbox, reason)

    def ping(self) -> None:
        """Ask a silent client for a sign of life (any thread)."""
        self._pings_sent += 1
        self._send(Ping(token=f"idle-{self._pings_sent}"))

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
            if self.member is None and not self._wait_readable(deadline):
                self._send(Bye(reason="hello_timeout"))
                self._leave_reason = "hello_timeout"
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
        reason = self.outbox.close_reason or self._leave_reason or "connection closed"
        if self.member is not None and self.room.leave(self.member, reason):
            log.info("[%s] %s left (%s)", self.peer, self.member.nick, reason)
        log.info("[%s] disconnected (%s)", self.peer, reason)
        self.flusher.release(self.outbox)
        self._on_exit(self)

    def _handle(self, item: DecodeResult) -> None:
        try:
            if isinstance(item, ProtocolError):
                raise item
            frame = parse_client_frame(item)
            if self.member is None and not isinstance(frame, (Hello, Quit)):
                raise NotWelcomed("Say hello first: send a hello frame with your nick.")
            _HANDLERS[type(frame)](self, frame)
        except ProtocolError as exc:
            self._refusals += 1
            level = logging.WARNING if self._refusals <= LOUD_REFUSALS else logging.DEBUG
            log.log(level, "[%s] refused: %s (%s)", self.peer, exc.code, exc.message)
            self._send(Error(code=exc.code, message=exc.message))

    def _check_rate(self) -> None:
        if not self._bucket.try_take():
            raise RateLimited("You are sending too fast; wait a moment and try again.")

    def _send(self, frame: ServerFrame) -> None:
        self.flusher.send(self.outbox, encode_frame(frame))

    # Handlers, one per client frame type.

    def _on_hello(self, frame: Hello) -> None:
        if self.member is not None:
            raise BadRequest("You are already welcomed; use /nick to change your nick.")
        if not self._auth.check(self.address, frame.password):
            time.sleep(self._auth.delay_s(self.address))
            raise AuthFailed("Wrong or missing password; check it and connect again.")
        self.member = self.room.join(frame.nick, self.outbox, self.peer, frame.since, frame.resume)
        log.info("[%s] joined as %s", self.peer, frame.nick)

    def _on_say(self, frame: Say) -> None:
        assert self.member is not None
        self._check_rate()
        self.room.say(self.member, frame.text, frame.action)

    def _on_msg(self, frame: Msg) -> None:
        assert self.member is not None
        self._check_rate()
        self.room.tell(self.member, frame.to, frame.text)

    def _on_nick(self, frame: Nick) -> None:
        assert self.member is not None
        self._check_rate()
        old = self.room.rename(self.member, frame.nick)
        if old is not None:
            log.info("[%s] %s is now known as %s", self.peer, old, frame.nick)

    def _on_who(self, frame: Who) -> None:
        self._send(Roster(users=self.room.roster()))

    def _on_history(self, frame: HistoryQuery) -> None:
        messages = self.room.history(frame.before, frame.limit)
        self._send(History(messages=messages, before=frame.before))

    def _on_ping(self, frame: Ping) -> None:
        self._send(Pong(token=frame.token))

    def _on_pong(self, frame: Pong) -> None:
        """Nothing to do: hearing from the client already counts as a sign of life."""

    def _on_quit(self, frame: Quit) -> None:
        reason = frame.reason or "quit"
        if self.member is not None and self.room.leave(self.member, reason):
            log.info("[%s] %s left (%s)", self.peer, self.member.nick, reason)
        self.member = None
        self._leave_reason = "quit"
        self._send(Bye(reason="quit"))
        self._done = True


_HANDLERS: Final[dict[type[ClientFrame], Callable[[Session, Any], None]]] = {
    Hello: Session._on_hello,
    Say: Session._on_say,
    Msg: Session._on_msg,
    Nick: Session._on_nick,
    Who: Session._on_who,
    HistoryQuery: Session._on_history,
    Ping: Session._on_ping,
    Pong: Session._on_pong,
    Quit: Session._on_quit,
}
"""The handler of each client frame type (one table for all sessions)."""
