"""Wire the server together: store, hub, flusher, the accept loop and sessions.

:class:`ChatServer` owns every thread it starts and stops them all in
:meth:`ChatServer.stop`, which is safe to call from any thread (a signal
handler's caller, a test) and returns once everything is joined. One accept
loop serves every listener: the native port and, when asked for, the IRC
door's plain and TLS ports; the limits (``--max-clients``, per address) count
connections of both kinds together.
"""

from __future__ import annotations

import logging
import selectors
import socket
import ssl
import threading
import time
from typing import Final, Protocol

from protocol import ByeReason
from server.account_desk import AccountDesk
from server.config import ServerConfig
from server.hub import BackplaneError, HubEngine
from server.irc import IrcDoor, IrcSession
from server.limits import AuthGuard
from server.local_hub import LocalHub
from server.outbound import Flusher
from server.reaper import IdleReaper
from server.rules import MemoryRules, RulesStore, SqliteRules
from server.session import Session
from server.store import HistoryStore, MessageStore, NullStore
from server.tls import make_server_context
from server.trimmer import HistoryTrimmer

__all__ = ["ChatServer"]

log = logging.getLogger(__name__)

LISTEN_BACKLOG: Final = 4096
STOP_TIMEOUT_S: Final = 5.0
"""Readers stop at once when told (their sockets' read sides are shut); past this, say so."""
NATIVE: Final = "native"
IRC: Final = "irc"
IRC_TLS: Final = "irc+tls"


class Connection(Protocol):
    """What the server needs of a session of either door."""

    peer: str
    last_heard: float
    thread: threading.Thread

    @property
    def address(self) -> str: ...

    def start(self) -> None: ...

    def close(self, reason: str) -> None: ...

    def ping(self) -> None: ...

    def refuse(self, message: str) -> None: ...


class ChatServer:
    """A running chat server: call :meth:`start`, later :meth:`stop`."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self._store: HistoryStore | None = None
        self._trimmer: HistoryTrimmer | None = None
        self._rules: RulesStore | None = None
        self._desk: AccountDesk | None = None
        self._stopping = threading.Event()
        self._flusher = Flusher()
        self._hub: HubEngine | None = None
        self._listeners: dict[socket.socket, str] = {}
        self._door: IrcDoor | None = None
        self._sessions: set[Connection] = set()
        self._per_address: dict[str, int] = {}
        self._sessions_lock = threading.Lock()
        self._auth = AuthGuard(config.password)
        self._tls_context: ssl.SSLContext | None = None
        self._reaper = IdleReaper(config.idle_timeout_s, self._sessions_snapshot)
        self._stop_r, self._stop_w = socket.socketpair()
        self._acceptor = threading.Thread(target=self._accept_loop, name="acceptor", daemon=True)
        self._stopped = False
        self.address: tuple[str, int] = (config.host, config.port)

    def start(self) -> tuple[str, int]:
        """Open the chat's state, bind, and start accepting; return the bound address.

        Raises StoreError for a database that cannot be used, BackplaneError for
        a Redis that cannot, TlsSetupError for a certificate that cannot, and
        OSError for an address that cannot be bound.
        """
        config = self.config
        if config.certfile is not None:
            self._tls_context = make_server_context(config.certfile, config.keyfile)
        self._hub = self._cluster_hub() if config.redis_url else self._local_hub()
        self._desk = AccountDesk(self._hub, self._stopping)
        listener = self._listen(config.port, NATIVE)
        self.address = listener.getsockname()[:2]
        irc_ports = [(config.irc_port, IRC), (config.irc_tls_port, IRC_TLS)]
        for port, kind in irc_ports:
            if port is not None:
                self._listen(port, kind)
        if any(port is not None for port, _kind in irc_ports):
            self._door = IrcDoor(config.irc_server_name, config.motd,
                                 config.max_channels_per_user)
        self._flusher.start()
        self._hub.start()
        if self._trimmer is not None:
            self._trimmer.start()
        self._acceptor.start()
        self._reaper.start()
        if self._auth.required:
            log.info("a password is required to join")
        self._warn_unregistered_admins()
        if self._tls_context is not None:
            log.info("TLS is on (certificate %s)", config.certfile)
        log.info("listening on %s:%d", *self.address)
        for sock, kind in self._listeners.items():
            if kind != NATIVE:
                log.info("IRC %slistening on %s:%d as %s", "with TLS " if kind == IRC_TLS else "",
                         *sock.getsockname()[:2], config.irc_server_name)
        return self.address

    def _warn_unregistered_admins(self) -> None:
        """Name the ``--admin`` nicks nobody registered: the first to register one is admin."""
        assert self._hub is not None
        free = [nick for nick in self.config.admins if self._hub.account_record(nick) is None]
        if free:
            log.warning("--admin %s: not registered yet; whoever registers it first becomes an "
                        "admin, so register it now", ", ".join(free))

    def _listen(self, port: int, kind: str) -> socket.socket:
        sock = socket.create_server((self.config.host, port), backlog=LISTEN_BACKLOG,
                                    reuse_port=False)
        self._listeners[sock] = kind
        return sock

    def _local_hub(self) -> HubEngine:
        """The hub of a server on its own, over its SQLite file."""
        config = self.config
        if config.persist:
            self._store = MessageStore(config.db_path, config.default_channel, config.max_db_bytes)
        else:
            self._store = NullStore()
            log.warning("--no-persist: messages are not stored (for benchmarks only)")
        if config.history_limit is not None:
            self._trimmer = HistoryTrimmer(self._store, config.history_limit)
        on_stored = self._trimmer.note_stored if self._trimmer else None
        self._rules = SqliteRules(config.db_path) if config.persist else MemoryRules()
        return LocalHub(self._store, self._flusher, config, on_stored, self._rules)

    def _cluster_hub(self) -> HubEngine:
        """The hub of a node of the cluster that the Redis at ``--redis`` defines."""
        url = self.config.redis_url
        assert url is not None
        try:
            from server.redis_hub import RedisHub, connect, describe_url
        except ImportError:
            raise BackplaneError(
                "--redis needs redis-py: pip install '.[redis]' (or pip install redis)."
            ) from None
        hub = RedisHub(connect(url), self._flusher, self.config)
        log.info("node %s of the cluster at %s", hub.node, describe_url(url))
        return hub

    def _sessions_snapshot(self) -> list[Connection]:
        with self._sessions_lock:
            return list(self._sessions)

    # Accept loop.

    def _accept_loop(self) -> None:
        selector = selectors.DefaultSelector()
        for listener in self._listeners:
            selector.register(listener, selectors.EVENT_READ)
        selector.register(self._stop_r, selectors.EVENT_READ)
        try:
            while True:
                ready = {key.fileobj for key, _ in selector.select()}
                if self._stop_r in ready:
                    return
                for listener in self._listeners:
                    if listener in ready:
                        self._accept_pending(listener)
        except Exception:
            log.exception("accept loop failed")
        finally:
            selector.close()

    def _accept_pending(self, listener: socket.socket) -> None:
        try:
            sock, addr = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            log.error("accept failed: %s", exc)
            time.sleep(0.1)  # out of file descriptors: back off instead of spinning
            return
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = f"{addr[0]}:{addr[1]}"
        session = self._session(sock, peer, self._listeners[listener])
        refusal = self._admit(session)
        if refusal is not None:
            self._refuse(session, refusal)
            return
        try:
            session.start()
        except RuntimeError as exc:
            log.error("[%s] cannot start a reader thread: %s", peer, exc)
            self._forget(session)
            session.refuse("The server cannot take another connection now; try again later.")

    def _session(self, sock: socket.socket, peer: str, kind: str) -> Connection:
        """A session of the door the connection came through."""
        assert self._hub is not None and self._desk is not None
        if kind == NATIVE:
            return Session(sock, peer, self._hub, self._flusher, self.config, self._auth,
                           self._desk, self._forget, self._tls_context)
        assert self._door is not None
        tls = self._tls_context if kind == IRC_TLS else None
        return IrcSession(sock, peer, self._hub, self._flusher, self.config, self._auth,
                          self._desk, self._forget, self._door, tls)

    def _admit(self, session: Connection) -> str | None:
        """Register a new session, or return why there is no room for it."""
        config = self.config
        with self._sessions_lock:
            if len(self._sessions) >= config.max_clients:
                return "The server is full; try again later."
            count = self._per_address.get(session.address, 0)
            if config.max_clients_per_ip and count >= config.max_clients_per_ip:
                return "Too many connections from your address; close one and try again."
            self._sessions.add(session)
            self._per_address[session.address] = count + 1
        return None

    def _refuse(self, session: Connection, message: str) -> None:
        log.warning("[%s] refused: server_full (%s)", session.peer, message)
        session.refuse(message)

    def _forget(self, session: Connection) -> None:
        with self._sessions_lock:
            if session in self._sessions:
                self._sessions.discard(session)
                left = self._per_address[session.address] - 1
                if left:
                    self._per_address[session.address] = left
                else:
                    del self._per_address[session.address]

    # Shutdown.

    def stop(self) -> None:
        """Say bye to everyone, store what was accepted, join every thread. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()  # readers waiting out a wrong password stop waiting
        log.info("shutting down")
        self._stop_w.send(b"\0")
        if self._acceptor.is_alive():
            self._acceptor.join()
        self._reaper.stop()  # also when the accept loop died on its own
        for listener in self._listeners:
            listener.close()
        if self._hub is not None:
            self._hub.stop(ByeReason.SERVER_SHUTDOWN)
        with self._sessions_lock:
            sessions = list(self._sessions)
        for session in sessions:
            session.close(ByeReason.SERVER_SHUTDOWN)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for session in sessions:
            session.thread.join(max(0.0, deadline - time.monotonic()))
            if session.thread.is_alive():
                log.warning("[%s] reader still busy; waiting for it", session.peer)
                session.thread.join()
        self._flusher.stop()
        if self._trimmer is not None:
            self._trimmer.stop()
        if self._store is not None:
            self._store.close()
        if self._rules is not None:
            self._rules.close()
        self._stop_r.close()
        self._stop_w.close()
        log.info("stopped")
