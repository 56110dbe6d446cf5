"""A connected socket, plain or TLS, read by one thread and written by any.

TLS runs over the socket-free engine in ``protocol.tls``: the reader decrypts,
writers encrypt, and both serialise on one lock, so the SSL state is never
used by two threads at once (OpenSSL does not allow that). Lock order: the
send lock, then the TLS lock.
"""

from __future__ import annotations

import socket
import ssl
import threading
from typing import Final

from protocol.tls import TlsEngine

__all__ = ["Transport"]

RECV_BYTES: Final = 65536


class Transport:
    """One connection's byte stream; :meth:`recv` from one thread, :meth:`sendall` from any."""

    def __init__(
        self, sock: socket.socket, tls: ssl.SSLContext | None = None, server_hostname: str = ""
    ) -> None:
        self.sock = sock
        self._engine = (
            TlsEngine(tls, server_side=False, server_hostname=server_hostname or None)
            if tls is not None
            else None
        )
        self._send_lock = threading.Lock()
        self._tls_lock = threading.Lock()
        self._early = b""

    def handshake(self) -> None:
        """Complete the TLS handshake (nothing to do for plain TCP).

        Raises ``ssl.SSLError`` (an untrusted certificate, say) or ConnectionError.
        """
        engine = self._engine
        if engine is None:
            return
        with self._tls_lock:
            done = engine.step_handshake()
        self._flush_output()
        while not done:
            data = self.sock.recv(RECV_BYTES)
            if not data:
                raise ConnectionError("the server closed the connection during the TLS handshake")
            with self._tls_lock:
                self._early += engine.receive(data)
                done = engine.handshake_done
            self._flush_output()

    def recv(self) -> bytes:
        """Return the next plaintext bytes; b"" once the server closed. Reader thread only."""
        if self._early:
            data, self._early = self._early, b""
            return data
        engine = self._engine
        while True:
            data = self.sock.recv(RECV_BYTES)
            if not data or engine is None:
                return data
            with self._tls_lock:
                plaintext = engine.receive(data)
                output_waiting = engine.has_output
                closed = engine.peer_closed
            if output_waiting:
                self._flush_output()
            if plaintext or closed:
                return plaintext

    def sendall(self, data: bytes) -> None:
        """Send ``data`` (encrypted under TLS). Thread-safe; raises OSError on failure."""
        with self._send_lock:
            if self._engine is not None:
                with self._tls_lock:
                    self._engine.send(data)
                    data = self._engine.take_output()
            self.sock.sendall(data)

    def _flush_output(self) -> None:
        """Send TLS bytes the engine produced by itself (handshake, session tickets)."""
        assert self._engine is not None
        with self._send_lock:
            with self._tls_lock:
                data = self._engine.take_output()
            if data:
                self.sock.sendall(data)

    def close(self) -> None:
        """Shut the socket down (unblocking the reader) and close it."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed by the peer
        self.sock.close()
