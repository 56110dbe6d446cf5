"""Outbound bytes: one flushing thread sends for every connection.

Producers (reader threads, the room worker) only append bytes to an
:class:`Outbox` and never touch a socket. An outbox holds references to the
producers' immutable ``bytes``, so a broadcast costs one object shared by every
recipient, not a copy each. The :class:`Flusher` thread takes what is queued,
sends it with non-blocking ``sendmsg`` calls (many buffers per system call),
waits on a selector for sockets that are full, and is woken by a byte on a
socketpair only when it is asleep, so under load it batches by itself. It alone
closes sockets.

An outbox is capped in bytes; a consumer that falls that far behind is sent its
farewell (``bye slow_consumer`` for the native protocol) and its socket is shut
down (IRC's "SendQ exceeded"). This module knows no frames, only bytes.
"""

from __future__ import annotations

import logging
import selectors
import socket
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final, Protocol

from protocol import ByeReason

if TYPE_CHECKING:
    from server.tls import ConnectionTls

__all__ = ["Flusher", "Outbox", "Sender"]

log = logging.getLogger(__name__)

LINGER_S: Final = 2.0
"""How long a closing connection may take to flush its last bytes."""

_SEND_FLAGS: Final = getattr(socket, "MSG_DONTWAIT", 0) | getattr(socket, "MSG_NOSIGNAL", 0)
_MAX_BUFFERS_PER_SEND: Final = 1024  # Linux's IOV_MAX

Buffer = bytes | memoryview


class Outbox:
    """The bytes waiting for one connection, as a list of shared buffers.

    ``queued`` is appended to by producers under the flusher's lock; ``sending``
    belongs to the flusher thread alone. On a TLS connection ``queued`` holds
    plaintext and ``sending`` ciphertext. ``farewell`` is what the connection is
    sent instead of everything queued when it overflows, in its own protocol;
    it starts with a line end, which ends any frame cut short.
    """

    __slots__ = (
        "sock", "peer", "max_bytes", "tls", "farewell", "queued", "queued_bytes", "sending",
        "sending_bytes", "in_work", "waiting_writable", "closing", "close_deadline",
        "released", "shut", "closed", "close_reason",
    )

    def __init__(
        self, sock: socket.socket, peer: str, max_bytes: int, tls: ConnectionTls | None = None,
        farewell: bytes = b"\n",
    ) -> None:
        self.sock = sock
        self.peer = peer
        self.max_bytes = max_bytes
        self.tls = tls
        self.farewell = farewell
        self.queued: list[bytes] = []
        self.queued_bytes = 0
        self.sending: list[Buffer] = []
        self.sending_bytes = 0
        self.in_work = False
        self.waiting_writable = False
        self.closing = False
        self.close_deadline = 0.0
        self.released = False
        self.shut = False
        self.closed = False
        self.close_reason: str | None = None

    @property
    def pending_bytes(self) -> int:
        """Bytes not yet handed to the kernel (approximate outside the lock)."""
        return self.queued_bytes + self.sending_bytes


class Sender(Protocol):
    """What producers (the hub and its helpers) may do with outboxes: the flusher's face."""

    def send(self, box: Outbox, data: bytes) -> bool: ...

    def send_many(self, boxes: Iterable[Outbox], data: bytes) -> None: ...

    def close_after_flush(self, box: Outbox, reason: str | None = None) -> None: ...

    def release(self, box: Outbox) -> None: ...


class Flusher:
    """The single thread that writes to every client socket."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._work: list[Outbox] = []
        self._closing: set[Outbox] = set()
        self._asleep = False
        self._wake_sent = False
        self._stopping = False
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._thread = threading.Thread(target=self._run, name="flusher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    # Producer side: any thread.

    def open(
        self, sock: socket.socket, peer: str, max_bytes: int, tls: ConnectionTls | None = None,
        farewell: bytes = b"\n",
    ) -> Outbox:
        """Return a new outbox for ``sock``; the flusher now owns closing it.

        ``farewell`` is sent instead of the queue if the peer falls ``max_bytes`` behind.
        """
        return Outbox(sock, peer, max_bytes, tls, farewell)

    def poke(self, box: Outbox) -> None:
        """Have the flusher look at ``box`` (TLS handshake bytes are waiting)."""
        with self._lock:
            self._schedule(box)
            wake = self._wake_needed()
        if wake:
            self._wake()

    def send(self, box: Outbox, data: bytes) -> bool:
        """Queue ``data`` for one connection; False if it is closing or just overflowed.

        ``data`` is kept by reference until sent: pass immutable ``bytes``.
        """
        with self._lock:
            accepted = self._append(box, data)
            wake = self._wake_needed()
        if wake:
            self._wake()
        return accepted

    def send_many(self, boxes: Iterable[Outbox], data: bytes) -> None:
        """Queue the same ``data`` for many connections under one lock.

        The per-recipient fast path is inlined: this loop is the fan-out's hot spot.
        """
        size = len(data)
        with self._lock:
            schedule = self._work.append  # bound under the lock: the flusher swaps the list
            for box in boxes:
                pending = box.queued_bytes + box.sending_bytes
                if box.closing or (pending and pending + size > box.max_bytes):
                    self._append(box, data)
                    continue
                box.queued.append(data)
                box.queued_bytes += size
                if not box.in_work and not box.waiting_writable:
                    box.in_work = True
                    schedule(box)
            wake = self._wake_needed()
        if wake:
            self._wake()

    def close_after_flush(self, box: Outbox, reason: str | None = None) -> None:
        """Flush what is queued, then shut the socket down (its reader sees EOF)."""
        with self._lock:
            self._begin_close(box, reason)
            self._schedule(box)
            wake = self._wake_needed()
        if wake:
            self._wake()

    def release(self, box: Outbox) -> None:
        """The reader is done with ``box``: close its socket once flushed."""
        with self._lock:
            box.released = True
            self._begin_close(box, box.close_reason)
            self._schedule(box)
            wake = self._wake_needed()
        if wake:
            self._wake()

    def _append(self, box: Outbox, data: bytes) -> bool:
        """Append under the lock; on overflow queue the box's farewell instead."""
        if box.closing:
            return False
        pending = box.queued_bytes + box.sending_bytes
        if pending and pending + len(data) > box.max_bytes:
            box.queued = [box.farewell]
            box.queued_bytes = len(box.farewell)
            self._begin_close(box, ByeReason.SLOW_CONSUMER)
            self._schedule(box)
            log.warning("[%s] dropped: slow_consumer (%d bytes queued)", box.peer, pending)
            return False
        box.queued.append(data)
        box.queued_bytes += len(data)
        self._schedule(box)
        return True

    def _begin_close(self, box: Outbox, reason: str | None) -> None:
        if not box.closing:
            box.closing = True
            box.close_reason = reason
            box.close_deadline = time.monotonic() + LINGER_S
            self._closing.add(box)

    def _schedule(self, box: Outbox) -> None:
        if not box.in_work and not box.waiting_writable:
            box.in_work = True
            self._work.append(box)

    def _wake_needed(self) -> bool:
        if self._asleep and not self._wake_sent:
            self._wake_sent = True
            return True
        return False

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except BlockingIOError:
            pass  # a wake-up byte is already waiting to be read

    # Flusher thread.

    def _run(self) -> None:
        try:
            while True:
                with self._lock:
                    work, self._work = self._work, []
                    taken = [self._take_queued(box) for box in work]
                    stopping = self._stopping and not work and not self._closing
                    self._asleep = not work
                if stopping:
                    break
                for box, plaintext in zip(work, taken, strict=True):
                    self._serve_box(box, plaintext)
                self._wait(block=not work)
                self._expire_closing()
        except Exception:
            log.exception("flusher thread failed")
        finally:
            self._close_everything()

    def _take_queued(self, box: Outbox) -> bytes | None:
        """Move queued buffers to the flusher's side (under the lock).

        For a TLS box, return the plaintext to encrypt once the lock is released.
        """
        box.in_work = False
        queued, box.queued = box.queued, []
        size, box.queued_bytes = box.queued_bytes, 0
        if box.tls is not None:
            return b"".join(queued)
        box.sending.extend(queued)
        box.sending_bytes += size
        return None

    def _serve_box(self, box: Outbox, plaintext: bytes | None) -> None:
        """Encrypt and send for one box; a bug here costs that connection, not the server."""
        try:
            self._encrypt(box, plaintext)
            self._flush(box)
        except Exception:
            log.exception("[%s] flushing failed; closing the connection", box.peer)
            self._abort(box)

    def _encrypt(self, box: Outbox, plaintext: bytes | None) -> None:
        """Turn taken plaintext (and any handshake bytes) into ciphertext to send."""
        if box.tls is not None and plaintext is not None and not box.closed:
            ciphertext = box.tls.encrypt(plaintext)
            if ciphertext:
                box.sending.append(ciphertext)
                box.sending_bytes += len(ciphertext)

    def _flush(self, box: Outbox) -> None:
        """Send what the flusher holds for ``box`` without blocking."""
        if box.closed:
            return
        buffers = box.sending
        while buffers:
            try:
                if len(buffers) == 1:
                    sent = box.sock.send(buffers[0], _SEND_FLAGS)
                else:
                    sent = box.sock.sendmsg(buffers[:_MAX_BUFFERS_PER_SEND], (), _SEND_FLAGS)
            except (BlockingIOError, InterruptedError):
                self._watch_writable(box)
                return
            except OSError as exc:
                log.debug("[%s] send failed: %s", box.peer, exc)
                self._abort(box)
                return
            box.sending_bytes -= sent
            _consume(buffers, sent)
        if box.waiting_writable:
            self._selector.unregister(box.sock)
            box.waiting_writable = False
        if box.closing:
            self._finish_if_closing(box)

    def _watch_writable(self, box: Outbox) -> None:
        if not box.waiting_writable:
            self._selector.register(box.sock, selectors.EVENT_WRITE, box)
            box.waiting_writable = True

    def _wait(self, block: bool) -> None:
        """Wait for writable sockets or a wake-up; only poll when there is work."""
        timeout = self._next_deadline() if block else 0.0
        for key, _events in self._selector.select(timeout):
            box = key.data
            if box is None:
                self._drain_wake()
                continue
            with self._lock:
                plaintext = self._take_queued(box)  # a box waiting to write is never in work
            self._serve_box(box, plaintext)
        with self._lock:
            self._asleep = False

    def _drain_wake(self) -> None:
        """Read the wake-up bytes, then allow the next wake-up.

        The flag is cleared only after draining: clearing it first lets a
        producer's byte be swallowed while the flag stays set, and every later
        wake-up would then be skipped.
        """
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass  # drained
        with self._lock:
            self._wake_sent = False

    def _next_deadline(self) -> float | None:
        with self._lock:
            if not self._closing:
                return 0.05 if self._stopping else None
            deadline = min(box.close_deadline for box in self._closing)
        return max(0.0, deadline - time.monotonic())

    def _finish_if_closing(self, box: Outbox) -> None:
        """Shut down (and close, once released) a closing box whose bytes are out."""
        with self._lock:
            done = box.closing and not box.queued and not box.sending
            released = box.released
        if done:
            self._shutdown(box)
            if released:
                self._close(box)

    def _expire_closing(self) -> None:
        now = time.monotonic()
        with self._lock:
            expired = [b for b in self._closing if b.close_deadline <= now]
        for box in expired:
            self._abort(box)

    def _abort(self, box: Outbox) -> None:
        """Give up on the bytes still queued: shut down, and close if released."""
        with self._lock:
            box.queued = []
            box.queued_bytes = 0
            self._begin_close(box, box.close_reason)
            released = box.released
        box.sending.clear()
        box.sending_bytes = 0
        if box.waiting_writable:
            self._selector.unregister(box.sock)
            box.waiting_writable = False
        self._shutdown(box)
        if released:
            self._close(box)

    def _shutdown(self, box: Outbox) -> None:
        """Shut the socket down once, so its reader's recv returns; stop its deadline."""
        with self._lock:
            self._closing.discard(box)
            if box.shut:
                return
            box.shut = True
        try:
            box.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # the peer already closed it

    def _close(self, box: Outbox) -> None:
        if box.closed:
            return
        if box.waiting_writable:
            self._selector.unregister(box.sock)
            box.waiting_writable = False
        box.closed = True
        box.sock.close()

    def _close_everything(self) -> None:
        with self._lock:
            boxes = list(self._closing)
        for box in boxes:
            self._shutdown(box)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def stop(self, timeout: float = LINGER_S) -> None:
        """Stop once everything queued is flushed (or ``timeout`` passes); join."""
        with self._lock:
            self._stopping = True
            for box in self._closing:
                box.close_deadline = min(box.close_deadline, time.monotonic() + timeout)
        self._wake()
        self._thread.join(timeout + 1.0)
        if self._thread.is_alive():
            log.warning("the flusher is still busy %.1f s after being told to stop; "
                        "leaving it (unflushed bytes may be lost)", timeout + 1.0)


def _consume(buffers: list[Buffer], sent: int) -> None:
    """Drop the first ``sent`` bytes from a list of buffers (the kernel took them)."""
    index = 0
    while sent:
        size = len(buffers[index])
        if sent < size:
            buffers[index] = memoryview(buffers[index])[sent:]
            break
        sent -= size
        index += 1
    del buffers[:index]
