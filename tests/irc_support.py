"""A raw IRC client for the tests, with a line parser of its own (not the server's).

:meth:`IrcClient.sync` uses the barrier rule: it sends ``PING <token>`` and
returns every line that came before the matching ``PONG``.
"""

from __future__ import annotations

import itertools
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

WAIT_S = 10.0
_tokens = itertools.count()
_UNESCAPE = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}


@dataclass
class Msg:
    """One line from the server."""

    command: str
    params: list[str]
    source: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    raw: str = ""

    @property
    def nick(self) -> str:
        return self.source.split("!", 1)[0]

    @property
    def text(self) -> str:
        return self.params[-1] if self.params else ""


def parse(raw: str) -> Msg:
    rest = raw
    tags: dict[str, str] = {}
    if rest.startswith("@"):
        head, rest = rest[1:].split(" ", 1)
        for item in head.split(";"):
            key, _, value = item.partition("=")
            out, chars = [], iter(value)
            for ch in chars:
                out.append(_UNESCAPE.get(next(chars, ""), "") if ch == "\\" else ch)
            tags[key] = "".join(out)
    source = ""
    if rest.startswith(":"):
        source, rest = rest[1:].split(" ", 1)
    if " :" in rest:
        head, trailing = rest.split(" :", 1)
        words = head.split()
        params = words[1:] + [trailing]
    else:
        words = rest.split()
        params = words[1:]
    return Msg(words[0], params, source, tags, raw)


class IrcClient:
    """A blocking IRC connection."""

    def __init__(self, port: int, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None,
                 recv_size: int = 4096) -> None:
        sock = socket.create_connection((host, port), timeout=WAIT_S)
        self.sock = tls.wrap_socket(sock, server_hostname="localhost") if tls else sock
        self.buffer = b""
        self.pending: list[Msg] = []
        self.recv_size = recv_size
        self.nick = "*"

    def send(self, line: str) -> None:
        self.sock.sendall(line.encode("utf-8") + b"\r\n")

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv(self, timeout: float = WAIT_S) -> Msg:
        """Return the next line; raise TimeoutError if none comes."""
        deadline = time.monotonic() + timeout
        while not self.pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no line arrived")
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(self.recv_size)
            except TimeoutError:
                continue
            if not data:
                raise ConnectionError("server closed the connection")
            self.buffer += data
            *lines, self.buffer = self.buffer.split(b"\r\n")
            self.pending += [parse(line.decode("utf-8")) for line in lines if line]
        return self.pending.pop(0)

    def recv_until(self, command: str, timeout: float = WAIT_S, **match: Any) -> Msg:
        """Skip lines until one with ``command`` whose attributes match."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self.recv(max(0.01, deadline - time.monotonic()))
            if msg.command == command and all(getattr(msg, k) == v for k, v in match.items()):
                return msg

    def sync(self, token: str | None = None) -> list[Msg]:
        """Ping and return every line that came before the pong."""
        token = token or f"sync{next(_tokens)}"
        self.send(f"PING {token}")
        lines = []
        while True:
            msg = self.recv()
            if msg.command == "PONG" and msg.params[-1] == token:
                return lines
            lines.append(msg)

    def register(self, nick: str, caps: tuple[str, ...] = (), user: str = "user",
                 realname: str = "Real Name", password: str | None = None) -> list[Msg]:
        """Register and return the lines up to the end of the MOTD (376 or 422)."""
        if caps:
            self.send("CAP LS 302")
        if password is not None:
            self.send(f"PASS {password}")
        self.send(f"NICK {nick}")
        self.send(f"USER {user} 0 * :{realname}")
        if caps:
            self.send(f"CAP REQ :{' '.join(caps)}")
            self.send("CAP END")
        lines = []
        while not lines or lines[-1].command not in ("376", "422"):
            lines.append(self.recv())
            if lines[-1].command in ("432", "433", "464", "ERROR"):
                raise AssertionError(f"not registered: {lines[-1].raw}")
        self.nick = nick
        return lines

    def wait_closed(self, timeout: float = WAIT_S) -> list[Msg]:
        """Read until the server closes; return the lines read on the way."""
        lines = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                lines.append(self.recv(max(0.01, deadline - time.monotonic())))
            except ConnectionError:
                return lines
            except OSError:
                return lines

    def close(self) -> None:
        self.sock.close()


def irc_user(port: int, nick: str, *channels: str, caps: tuple[str, ...] = ()) -> IrcClient:
    """A registered IRC client in ``channels``, its join bursts read."""
    client = IrcClient(port)
    client.register(nick, caps)
    for channel in channels:
        client.send(f"JOIN {channel}")
        client.recv_until("366")
    client.sync()
    return client
