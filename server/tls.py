"""TLS for server connections, over the socket-free engine in ``protocol.tls``.

The reader thread decrypts what arrives and the flusher thread encrypts what
leaves, so each connection's engine sits behind its own lock.
"""

from __future__ import annotations

import logging
import ssl
import threading

from protocol.tls import TlsEngine

__all__ = ["ConnectionTls", "TlsSetupError", "make_server_context"]

log = logging.getLogger(__name__)


class TlsSetupError(Exception):
    """The certificate or key cannot be used; the message says why in a sentence."""


def make_server_context(certfile: str, keyfile: str | None) -> ssl.SSLContext:
    """Return a TLS 1.2+ server context for the certificate chain and key."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(certfile, keyfile)
    except FileNotFoundError as exc:
        raise TlsSetupError(f"Cannot read {exc.filename}: no such file.") from None
    except (ssl.SSLError, OSError) as exc:
        raise TlsSetupError(f"Cannot use the certificate {certfile}: {exc}.") from None
    return context


class ConnectionTls:
    """One connection's TLS engine behind a lock. Thread-safe."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._engine = TlsEngine(context, server_side=True)
        self._lock = threading.Lock()

    def decrypt(self, ciphertext: bytes) -> tuple[bytes, bool]:
        """Return the plaintext completed by ``ciphertext``, and whether bytes await sending."""
        with self._lock:
            plaintext = self._engine.receive(ciphertext)
            return plaintext, self._engine.has_output

    def encrypt(self, plaintext: bytes) -> bytes:
        """Return what to send for ``plaintext``, with any handshake bytes before it.

        Plaintext queued before the handshake completes (a refusal to a client
        that never finished it) is dropped: it cannot be sent safely.
        """
        with self._lock:
            if self._engine.handshake_done:
                self._engine.send(plaintext)
            elif plaintext:
                log.debug("dropped %d bytes queued before the TLS handshake", len(plaintext))
            return self._engine.take_output()

    @property
    def peer_closed(self) -> bool:
        return self._engine.peer_closed
