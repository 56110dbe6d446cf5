"""Test helpers: a real server process and a raw socket client speaking protocol v1."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from protocol import MAX_SERVER_FRAME_BYTES, FrameDecoder, encode_wire

ROOT = Path(__file__).resolve().parent.parent
WAIT_S = 10.0


class ServerProcess:
    """`python -m server` on an ephemeral port, its log lines collected.

    The rate limit is off unless the arguments set one: most tests send in bulk.
    """

    def __init__(self, db_path: Path, *args: str) -> None:
        self.db_path = db_path
        self.args = args
        self.log_lines: list[str] = []
        self._log_queue: queue.Queue[str] = queue.Queue()
        self.port = 0
        self.host = "127.0.0.1"
        self.proc: subprocess.Popen[str] | None = None
        self.redis: Any = None  # the RedisProcess of a cluster node, for tests that stop it

    def start(self, port: int = 0) -> ServerProcess:
        """Start the server and wait for its `listening on` line."""
        unlimited = [] if "--rate-limit" in self.args else ["--rate-limit", "0"]
        cmd = [sys.executable, "-m", "server", "--host", self.host, "--port", str(port),
               "--db", str(self.db_path), "--log-level", "DEBUG", *unlimited, *self.args]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL, text=True, env=env,
        )
        reader = threading.Thread(
            target=self._read_log, args=(self.proc,), name="server-log", daemon=True
        )
        reader.start()
        line = self.wait_for_log("listening on")
        self.port = int(line.rsplit(":", 1)[1].split()[0])
        return self

    def _read_log(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self.log_lines.append(line.rstrip("\n"))
            self._log_queue.put(line.rstrip("\n"))

    def wait_for_log(self, needle: str, timeout: float = WAIT_S) -> str:
        """Return the first new log line containing `needle`."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                log = "\n".join(self.log_lines)
                raise AssertionError(f"no log line with {needle!r}; log:\n{log}")
            try:
                line = self._log_queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if needle in line:
                return line

    def stop(self, sig: int = signal.SIGTERM, timeout: float = WAIT_S) -> int:
        """Send `sig` and return the exit status."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        """Kill -9 the server."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=WAIT_S)


class RawClient:
    """A blocking socket client that sends wire objects and reads them back."""

    def __init__(self, port: int, host: str = "127.0.0.1", recv_size: int = 4096) -> None:
        self.sock = socket.create_connection((host, port), timeout=WAIT_S)
        self.decoder = FrameDecoder(MAX_SERVER_FRAME_BYTES)
        self.pending: list[dict[str, Any]] = []
        self.recv_size = recv_size

    def send(self, obj: dict[str, Any]) -> None:
        self.sock.sendall(encode_wire(obj))

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv(self, timeout: float = WAIT_S) -> dict[str, Any]:
        """Return the next frame; raise TimeoutError if none comes."""
        deadline = time.monotonic() + timeout
        while not self.pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no frame arrived")
            self.sock.settimeout(remaining)
            data = self.sock.recv(self.recv_size)
            if not data:
                raise ConnectionError("server closed the connection")
            for item in self.decoder.receive_data(data):
                assert isinstance(item, dict), item
                self.pending.append(item)
        return self.pending.pop(0)

    def recv_until(self, kind: str, timeout: float = WAIT_S, **fields: Any) -> dict[str, Any]:
        """Skip frames until one of type `kind` whose fields match."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self.recv(max(0.01, deadline - time.monotonic()))
            if frame["type"] == kind and all(frame.get(k) == v for k, v in fields.items()):
                return frame

    def hello(self, nick: str, **fields: Any) -> dict[str, Any]:
        """Say hello and return the welcome (or error) frame."""
        self.send({"type": "hello", "nick": nick, "proto": 1, **fields})
        return self.recv()

    def wait_closed(self, timeout: float = WAIT_S) -> list[dict[str, Any]]:
        """Read until the server closes; return the frames read on the way."""
        frames: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                frames.append(self.recv(max(0.01, deadline - time.monotonic())))
            except ConnectionError:
                return frames

    def close(self) -> None:
        self.sock.close()


def dump(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def proc_status(server: ServerProcess, field: str) -> int:
    """Return a number from the server's /proc status (Threads, VmRSS in KiB ...)."""
    assert server.proc is not None
    for line in Path(f"/proc/{server.proc.pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT_S) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes; return its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def stream_big_messages(
    talker: RawClient, count: int, size: int = 3000, window: int = 8
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Send ``count`` large messages, reading along; return (messages, leaves) seen.

    At most ``window`` messages are in flight, so the talker itself keeps up. A
    leave may arrive at any point of the stream, so leaves are kept, not skipped.
    """
    in_flight = threading.Semaphore(window)

    def send_all() -> None:
        for i in range(count):
            in_flight.acquire()
            talker.send({"type": "say", "text": f"{i} " + "z" * size})

    sender = threading.Thread(target=send_all, name="stream-sender")
    sender.start()
    messages: list[dict[str, Any]] = []
    leaves: list[dict[str, Any]] = []
    while len(messages) < count:
        frame = talker.recv(timeout=20)
        if frame["type"] == "message":
            messages.append(frame)
            in_flight.release()
        elif frame["type"] == "leave":
            leaves.append(frame)
    sender.join()
    return messages, leaves
