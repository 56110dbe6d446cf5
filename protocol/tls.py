"""TLS as a pure byte transformer: ciphertext in, plaintext out, and back.

:class:`TlsEngine` wraps an ``ssl.SSLObject`` over two memory BIOs, so TLS
needs no socket of its own: the caller moves bytes between the engine and
whatever transport it has. Not thread-safe: callers serialise every call.
"""

from __future__ import annotations

import ssl

__all__ = ["TlsEngine"]

_READ_BYTES = 65536


class TlsEngine:
    """One TLS connection's state, server or client side."""

    def __init__(
        self, context: ssl.SSLContext, server_side: bool, server_hostname: str | None = None
    ) -> None:
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._ssl = context.wrap_bio(
            self._incoming, self._outgoing, server_side=server_side,
            server_hostname=server_hostname,
        )
        self.handshake_done = False
        self.peer_closed = False

    def step_handshake(self) -> bool:
        """Advance the handshake with what has arrived; True once it is complete.

        Raises ``ssl.SSLError`` when the peer cannot be trusted or speaks no TLS.
        """
        if not self.handshake_done:
            try:
                self._ssl.do_handshake()
            except ssl.SSLWantReadError:
                return False
            self.handshake_done = True
        return True

    def receive(self, ciphertext: bytes) -> bytes:
        """Feed bytes from the peer; return the plaintext they complete (maybe none)."""
        self._incoming.write(ciphertext)
        if not self.step_handshake():
            return b""
        chunks: list[bytes] = []
        while True:
            try:
                chunk = self._ssl.read(_READ_BYTES)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                self.peer_closed = True
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)

    def send(self, plaintext: bytes) -> None:
        """Encrypt plaintext for the peer; fetch the bytes with :meth:`take_output`."""
        if plaintext:
            self._ssl.write(plaintext)

    @property
    def has_output(self) -> bool:
        """Tell whether bytes for the peer are waiting (handshake or data)."""
        return self._outgoing.pending > 0

    def take_output(self) -> bytes:
        """Return (and forget) every byte waiting to go to the peer."""
        return self._outgoing.read()
