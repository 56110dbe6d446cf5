"""Real Redis servers for the tests, and a TCP proxy that can cut one node off.

Each :class:`RedisProcess` is a ``redis-server`` of its own on a free loopback
port with its data (AOF, fsync always) in a temp dir, so tests can stop, kill
and restart it. :class:`TcpProxy` stands between one node and Redis; ``cut()``
drops its connections and refuses new ones, like a network partition; ``mute()``
lets requests through but drops the replies, like answers lost on the way.
"""

from __future__ import annotations

import os
import selectors
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

WAIT_S = 10.0
REQUIRE_ENV = "TERMCHAT_REQUIRE_REDIS"
"""Set (as CI does) to fail, not skip, when redis-server is missing."""


def redis_server_binary() -> str:
    """Return the redis-server path; skip the test (fail under CI) if there is none."""
    path = shutil.which("redis-server")
    if path is None:
        message = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisProcess:
    """``redis-server`` on a free port, its files in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisProcess:
        """Start (again, on the same port and data once it has one) and wait until it answers."""
        binary = redis_server_binary()
        for _attempt in range(5):
            port = self.port or free_port()
            self.proc = subprocess.Popen(
                [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(self.directory),
                 "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                 "--protected-mode", "no", "--logfile", str(self.directory / "redis.log")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
            )
            if self._wait_ready(port):
                self.port = port
                return self
            self.kill()
        raise AssertionError(f"redis-server did not start; log:\n{self.log()}")

    def _wait_ready(self, port: int) -> bool:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return True
            except OSError:
                pass  # not listening yet
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        """Shut down cleanly (it writes its data out)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=WAIT_S)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=WAIT_S)

    def log(self) -> str:
        path = self.directory / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""


class TcpProxy:
    """Forward 127.0.0.1:``port`` to ``target``; ``cut()`` partitions, ``restore()`` heals.

    ``mute()`` drops what Redis sends back until ``unmute()``.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self.port = int(self._listener.getsockname()[1])
        self._open = True
        self._pairs: dict[socket.socket, socket.socket] = {}
        self._upstream: set[socket.socket] = set()
        self._muted = False
        self._mute_at: bytes | None = None
        self._mute_only: bytes | None = None
        self._asked: dict[socket.socket, bytes] = {}
        """What each connection to Redis was last asked."""
        self._lock = threading.Lock()
        self._stop_r, self._stop_w = socket.socketpair()
        self._thread = threading.Thread(target=self._run, name="tcp-proxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def cut(self) -> None:
        """Drop every connection and refuse new ones."""
        with self._lock:
            self._open = False
            pairs, self._pairs = self._pairs, {}
            self._upstream.clear()
        for sock in pairs:
            sock.close()

    def restore(self) -> None:
        with self._lock:
            self._open = True

    def mute(self, after: bytes | None = None, only: bytes | None = None) -> None:
        """Pass requests on to Redis, but drop its replies.

        ``after``: from the request holding these bytes on; ``only``: to requests
        holding these.
        """
        with self._lock:
            self._muted = after is None
            self._mute_at, self._mute_only = after, only

    def unmute(self) -> None:
        with self._lock:
            self._muted, self._mute_at, self._mute_only = False, None, None

    def close(self) -> None:
        self.cut()
        self._stop_w.send(b"x")
        self._thread.join(WAIT_S)
        self._listener.close()

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._listener, selectors.EVENT_READ)
        selector.register(self._stop_r, selectors.EVENT_READ)
        while True:
            with self._lock:
                for sock in self._pairs:
                    if sock.fileno() >= 0 and sock not in selector.get_map():
                        selector.register(sock, selectors.EVENT_READ)
            for key in list(selector.get_map().values()):
                sock = key.fileobj
                if isinstance(sock, socket.socket) and sock.fileno() < 0:
                    selector.unregister(sock)
            for key, _events in selector.select(0.05):
                sock = key.fileobj
                if sock is self._stop_r:
                    return
                if sock is self._listener:
                    self._accept()
                    continue
                assert isinstance(sock, socket.socket)
                self._pump(sock, selector)

    def _accept(self) -> None:
        try:
            client, _addr = self._listener.accept()
        except BlockingIOError:
            return
        with self._lock:
            if not self._open:
                client.close()
                return
        try:
            server = socket.create_connection(("127.0.0.1", self.target_port), timeout=2)
        except OSError:
            client.close()
            return
        with self._lock:
            self._pairs[client] = server
            self._pairs[server] = client
            self._upstream.add(server)

    def _pump(self, sock: socket.socket, selector: selectors.BaseSelector) -> None:
        with self._lock:
            peer = self._pairs.get(sock)
        try:
            data = sock.recv(65536) if peer is not None else b""
            with self._lock:
                if self._mute_at is not None and self._mute_at in data:
                    self._muted, self._mute_at = True, None
                if peer is not None and sock not in self._upstream:
                    self._asked[peer] = data
                dropping = self._muted and sock in self._upstream and (
                    self._mute_only is None or self._mute_only in self._asked.get(sock, b""))
            if data and peer is not None:
                if not dropping:
                    peer.sendall(data)
                return
        except OSError:
            pass  # one side went away: close both
        selector.unregister(sock)
        with self._lock:
            self._pairs.pop(sock, None)
            self._upstream.discard(sock)
            self._asked.pop(sock, None)
            if peer is not None:
                self._pairs.pop(peer, None)
                self._upstream.discard(peer)
                self._asked.pop(peer, None)
        sock.close()
        if peer is not None:
            peer.close()
