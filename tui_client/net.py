"""The client's network side: one receiver thread per connection, and sending.

:class:`Connection` connects, says hello, decodes frames and puts them on a
``queue.Queue`` for the UI thread, with :class:`NetStatus` events for the
connection state. It answers pings itself and reconnects after a loss with
backoff (1, 2, 4 ... 30 s) with one ``hello`` that names every channel it is in
at that moment (as the server confirmed them: welcome, ``channel`` replies, our
own ``leave``), asks for the messages it missed (``since``, the highest id seen
in any channel or private message) and hands back its latest resume token
(from the welcome, or from a rename of ours; kept in memory only). Every hello
asks for the ``presence`` capability (:data:`CAPS_WANTED`), and every hello
carries the nick password when there is one (from the start, from the user
after a refusal, or the one a ``register``, ``identify`` or ``set_password``
just set, once its ``account`` answer confirms it; kept in memory only, never
logged). A hello refused for its nick waits for :meth:`Connection.change_nick`
or :meth:`Connection.use_nick_password`; a ``bye`` that means "do not come
back" (quit, killed, banned, replaced) ends the connection for good. What to
do with the frames is left to the caller. ``send``, ``change_nick``,
``use_nick_password`` and ``stop`` are thread-safe; everything else runs on
the receiver thread, which ``stop`` joins.
"""

from __future__ import annotations

import enum
import logging
import queue
import socket
import ssl
import threading
from typing import Final

from protocol import (
    CAP_PRESENCE,
    MAX_SERVER_FRAME_BYTES,
    Account,
    Bye,
    ByeReason,
    Channel,
    ClientFrame,
    Error,
    ErrorCode,
    FrameDecoder,
    Hello,
    History,
    Identify,
    Kick,
    Leave,
    Message,
    Ping,
    Pong,
    ProtocolError,
    Quit,
    Register,
    Rename,
    ServerFrame,
    SetPassword,
    Welcome,
    channel_key,
    encode_frame,
    nick_key,
    parse_server_frame,
)
from tui_client.status import NICK_ERRORS, NICK_PASSWORD_REFUSED, NetStatus, Status
from tui_client.transport import Transport

__all__ = [
    "BACKOFF_MAX_S",
    "NICK_PASSWORD_REFUSED",
    "TLS_FAILED",
    "Connection",
    "NetEvent",
    "NetStatus",
]

log = logging.getLogger(__name__)

BACKOFF_FIRST_S: Final = 1.0
BACKOFF_MAX_S: Final = 30.0
CONNECT_TIMEOUT_S: Final = 5.0
RECONNECT_BYE_REASONS: Final = frozenset(
    {ByeReason.SERVER_SHUTDOWN, ByeReason.SLOW_CONSUMER, ByeReason.IDLE_TIMEOUT}
)
WAIT_ALWAYS_ERRORS: Final = frozenset({ErrorCode.NICK_REGISTERED, NICK_PASSWORD_REFUSED})
"""Refusals that wait for the user also on a reconnect (a taken nick may just not be freed yet)."""
FATAL_HELLO_ERRORS: Final = frozenset(
    {
        ErrorCode.AUTH_FAILED,
        ErrorCode.CHANNEL_INVALID,
        ErrorCode.TOO_MANY_CHANNELS,
        ErrorCode.BANNED,  # server-wide; a channel's own refusal follows the welcome
    }
)
CAPS_WANTED: Final = (CAP_PRESENCE,)
"""Capabilities every hello asks for: big channels' joins and leaves come batched."""
TLS_FAILED: Final = "tls_failed"
"""The code of the local ``error`` event for a failed TLS handshake (never on the wire)."""

NetEvent = ServerFrame | NetStatus


class _Outcome(enum.Enum):
    LOST = "lost"  # try again after a pause
    NEED_NICK = "need_nick"  # wait for change_nick()
    END = "end"  # stop for good


class Connection:
    """A chat connection that keeps itself alive until stopped."""

    def __init__(
        self,
        host: str,
        port: int,
        nick: str,
        events: queue.Queue[NetEvent],
        password: str | None = None,
        backoff_first_s: float = BACKOFF_FIRST_S,
        tls: ssl.SSLContext | None = None,
        channels: list[str] | None = None,
        nick_password: str | None = None,
    ) -> None:
        """``channels`` are those the first hello asks for (None: the server's default)."""
        self.host = host
        self.port = port
        self.nick = nick
        self.password = password
        self._nick_password = nick_password  # under _lock: the UI and the receiver set it
        self._offered: str | None = None  # a password an account request is setting
        self._hello_had_nick_password = False
        self._ended = False
        self.tls = tls
        self._events = events
        self._backoff_first_s = backoff_first_s
        self._lock = threading.Lock()
        self._transport: Transport | None = None
        self._welcomed = False  # on the current socket
        self._ever_welcomed = False
        self._welcomed_this_time = False
        self._last_id = 0
        self._resume: str | None = None
        self._channels: list[str] | None = None if channels is None else list(channels)
        self._stop = threading.Event()
        self._kick = threading.Event()
        self._thread = threading.Thread(target=self._run, name="net-receiver", daemon=True)

    # -- called from other threads

    def start(self) -> None:
        """Start the receiver thread."""
        self._thread.start()

    def send(self, frame: ClientFrame) -> bool:
        """Send a frame; return False when not connected. Thread-safe."""
        data = encode_frame(frame)
        with self._lock:
            transport = self._transport if self._welcomed or isinstance(frame, Hello) else None
            if transport is None:
                return False
            try:
                transport.sendall(data)
            except OSError as exc:
                log.info("send failed: %s", exc)
                return False
            self._note_offer(frame)
        log.debug("sent %s", frame.TYPE)
        return True

    def _note_offer(self, frame: ClientFrame) -> None:
        """Remember the password an account request sets (under the lock)."""
        if isinstance(frame, (Register, Identify)):
            self._offered = frame.password
        elif isinstance(frame, SetPassword):
            self._offered = frame.new

    def change_nick(self, nick: str) -> None:
        """Use ``nick`` for the next hello and retry at once (after a refused nick)."""
        self.nick = nick
        self._kick.set()

    def use_nick_password(self, password: str) -> None:
        """Send ``password`` as the nick password from the next hello on, and retry at once."""
        with self._lock:
            self._nick_password = password
        self._kick.set()

    @property
    def ended(self) -> bool:
        """Tell whether the connection stopped for good (it will not reconnect)."""
        return self._ended

    @property
    def connected(self) -> bool:
        """Tell whether the server has welcomed us on the current socket."""
        return self._welcomed

    def stop(self, reason: str | None = None, timeout_s: float = 2.0) -> None:
        """Say quit (if connected), close the socket and join the thread. Idempotent."""
        if self._welcomed and not self._stop.is_set():
            self.send(Quit(reason))
        self._stop.set()
        self._kick.set()
        self._close()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout_s)

    # -- receiver thread

    def _close(self) -> None:
        with self._lock:
            transport, self._transport = self._transport, None
            self._welcomed = False
        if transport is not None:
            transport.close()

    def _emit(self, event: NetEvent) -> None:
        self._events.put(event)

    def _run(self) -> None:
        try:
            self._loop()
        except Exception:
            log.exception("receiver thread failed")
        finally:
            self._close()
            self._ended = True
            self._emit(NetStatus(Status.DISCONNECTED))

    def _loop(self) -> None:
        delay = self._backoff_first_s
        while not self._stop.is_set():
            self._emit(
                NetStatus(Status.CONNECTING if not self._ever_welcomed else Status.RECONNECTING, 0)
            )
            outcome = self._session()
            if self._stop.is_set() or outcome is _Outcome.END:
                return
            if outcome is _Outcome.NEED_NICK:
                self._emit(NetStatus(Status.DISCONNECTED))
                self._kick.wait()  # cleared when the session began: an early answer counts
                continue
            if self._welcomed_this_time:
                delay = self._backoff_first_s
            self._emit(NetStatus(Status.RECONNECTING, delay))
            log.info("reconnecting in %.0f s", delay)
            if self._stop.wait(delay):
                return
            delay = min(delay * 2, BACKOFF_MAX_S)

    def _session(self) -> _Outcome:
        """Run one connection from connect to loss; say what to do next."""
        self._welcomed_this_time = False
        self._kick.clear()
        try:
            sock = socket.create_connection((self.host, self.port), timeout=CONNECT_TIMEOUT_S)
        except OSError as exc:
            log.info("connect to %s:%s failed: %s", self.host, self.port, exc)
            return _Outcome.LOST
        transport = Transport(sock, self.tls, self.host)
        try:
            transport.handshake()
        except ssl.SSLError as exc:
            log.warning("TLS with %s:%s failed: %s", self.host, self.port, exc)
            transport.close()
            reason = getattr(exc, "verify_message", None) or exc.reason or str(exc)
            self._emit(Error(code=TLS_FAILED, message=f"Secure connection failed: {reason}."))
            return _Outcome.END
        except OSError as exc:
            log.info("TLS handshake with %s:%s failed: %s", self.host, self.port, exc)
            transport.close()
            return _Outcome.LOST
        sock.settimeout(None)
        with self._lock:
            self._transport = transport
        if self._stop.is_set():
            return _Outcome.END
        with self._lock:
            nick_password = self._nick_password
        self._hello_had_nick_password = nick_password is not None
        hello = Hello(
            self.nick,
            password=self.password,
            since=self._last_id or None,
            resume=self._resume,
            channels=None if self._channels is None else list(self._channels),
            nick_password=nick_password,
            caps=list(CAPS_WANTED),
        )
        if not self.send(hello):
            return _Outcome.LOST
        decoder = FrameDecoder(MAX_SERVER_FRAME_BYTES)
        try:
            while True:
                try:
                    data = transport.recv()
                except OSError as exc:
                    log.info("connection lost: %s", exc)
                    return _Outcome.LOST
                if not data:
                    log.info("server closed the connection")
                    return _Outcome.LOST
                for item in decoder.receive_data(data):
                    outcome = self._handle(item)
                    if outcome is not None:
                        return outcome
        finally:
            self._close()

    def _handle(self, item: dict[str, object] | ProtocolError) -> _Outcome | None:
        """Handle one decoded item; return an outcome when the session ends."""
        if isinstance(item, ProtocolError):
            log.warning("bad data from server: %s", item)
            return None
        try:
            frame = parse_server_frame(item)
        except ProtocolError as exc:
            log.warning("bad frame from server: %s", exc)
            return None
        log.debug("received %s", frame.TYPE)
        if isinstance(frame, Ping):
            self.send(Pong(frame.token))
            return None
        self._track(frame)
        if isinstance(frame, Error) and not self._welcomed:
            frame = self._refusal(frame)
            self._emit(frame)
            return self._on_refused(frame)
        self._emit(frame)
        if isinstance(frame, Bye):
            return _Outcome.LOST if frame.reason in RECONNECT_BYE_REASONS else _Outcome.END
        return None

    def _track(self, frame: ServerFrame) -> None:
        """Follow what a reconnect's hello needs: nick, token, channels, newest id."""
        if isinstance(frame, Welcome):
            self._on_welcome(frame)
        elif isinstance(frame, Message):
            self._last_id = max(self._last_id, frame.id)
        elif isinstance(frame, Channel):
            self._note_channel(frame)
        elif isinstance(frame, History):
            self._note_ids(frame.messages)
        elif isinstance(frame, (Leave, Kick)) and frame.channel and self._is_me(frame.nick):
            key = channel_key(frame.channel)  # parted, or put out (no leave follows a kick)
            self._channels = [c for c in self._channels or [] if channel_key(c) != key]
        elif isinstance(frame, Rename) and self._is_me(frame.old):
            self.nick = frame.new
            if frame.resume:
                self._resume = frame.resume
        elif isinstance(frame, Account):
            self._on_account(frame)

    def _on_account(self, frame: Account) -> None:
        """Keep the password an account answer confirms (and forget one given up).

        Keep its resume token too: the account change voided the earlier one.
        """
        if frame.resume:
            self._resume = frame.resume
        with self._lock:
            offered, self._offered = self._offered, None
            if not frame.registered:
                self._nick_password = None
            elif frame.identified and offered is not None:
                self._nick_password = offered

    def _refusal(self, frame: Error) -> Error:
        """Tell a wrong nick password from a wrong server password (both are auth_failed)."""
        if frame.code != ErrorCode.AUTH_FAILED or not self._hello_had_nick_password:
            return frame
        with self._lock:
            self._nick_password = None  # wrong: the user is asked again
        return Error(code=NICK_PASSWORD_REFUSED, message=frame.message)

    def _is_me(self, nick: str) -> bool:
        return nick_key(nick) == nick_key(self.nick)

    def _note_ids(self, messages: list[Message]) -> None:
        for msg in messages:
            self._last_id = max(self._last_id, msg.id)

    def _note_channel(self, frame: Channel) -> None:
        self._note_ids(frame.history)
        channels = self._channels or []
        if all(channel_key(c) != channel_key(frame.name) for c in channels):
            self._channels = [*channels, frame.name]

    def _on_welcome(self, frame: Welcome) -> None:
        with self._lock:
            self._welcomed = True
        self._welcomed_this_time = True
        self._ever_welcomed = True
        self.nick = frame.nick
        if frame.resume:
            self._resume = frame.resume
        self._channels = []
        for channel in frame.channels:
            self._note_channel(channel)
        self._note_ids(frame.history)
        self._note_ids(frame.private or [])

    def _on_refused(self, frame: Error) -> _Outcome:
        """Decide what to do when the hello was refused."""
        if frame.code in WAIT_ALWAYS_ERRORS or (
            frame.code in NICK_ERRORS and not self._ever_welcomed
        ):
            return _Outcome.NEED_NICK
        if frame.code in FATAL_HELLO_ERRORS:
            return _Outcome.END
        return _Outcome.LOST  # server_full, or our nick not yet freed after a drop
