"""Load generator: N simulated chat users over real TCP sockets, stdlib only.

Each worker process serves a slice of the users with one ``selectors`` loop on
non-blocking sockets; nothing is parsed per message except on a sample of
receivers. Deliveries are counted with ``bytes.count`` on whole lines, echoes to
the sender with a per-user ``"from":"uN"`` pattern, and latency is the
receiver's ``time.monotonic_ns()`` minus the *scheduled* send time carried in
the text (``"<sender_idx> <seq> <monotonic_ns>"``), so a late sender does not
hide delay (no coordinated omission). CLOCK_MONOTONIC is system-wide on Linux,
so times compare across worker processes.

The driver (``tests/bench/run.py``) owns the server, CPU pinning and /proc sampling;
this module knows nothing about them. It can also be run alone against a server
that is already listening::

    python3 tests/bench/loadgen.py --port 8080 --users 200 --rate 5 --duration 10

Against the nodes of a cluster (one Redis), user ``i`` connects to the
``i % K``-th of K ports; the workload and the counting do not change, since
all nodes are one chat::

    python3 tests/bench/loadgen.py --port 8080,8081,8082 --users 300 --rate 2 --duration 10

Workload "one room": every user joins, then each sends ``rate`` messages per
second for ``duration`` seconds (open loop, evenly spaced with +-10% jitter,
random phase), and every user reads everything.

Workload "many channels" (``--channels K``): the same, but user ``i`` joins only
``#c{i % K}`` in its ``hello`` and names it in every ``say``, so each message is
due to the other members of that channel only. Expected deliveries are counted
per channel from what its members sent.
"""

from __future__ import annotations

import argparse
import array
import errno
import heapq
import json
import multiprocessing
import os
import random
import re
import resource
import selectors
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Final

__all__ = [
    "ChatTarget", "IrcTarget", "LoadConfig", "Swarm", "TARGETS",
    "channel_sizes", "offered_per_rate", "raise_fd_limit",
]

RECV_BYTES: Final = 256 * 1024
JITTER: Final = 0.10
LATENCY_SAMPLES_PER_S: Final = 25_000
"""Aim for about this many parsed deliveries per second; it picks the receiver sample."""
POLL_S: Final = 0.05
MAX_LATENCY_SAMPLES: Final = 4_000_000


# Targets: what the wire looks like for one kind of server.


class ChatTarget:
    """This project's JSON Lines protocol.

    With ``channels`` = 0 every user is in the server's default channel and says
    name no channel (the bytes of the one-room workload); with K > 0 user ``i``
    is in ``#c{i % K}`` only.
    """

    name = "chat"
    message_marker = b'{"type":"message"'
    latency_re = re.compile(rb'"text":"(\d+) \d+ (\d+)"')
    echoes = True
    has_pings = False

    def __init__(self, channels: int = 0, presence: bool = False) -> None:
        self.channels = channels
        self.caps = b',"caps":["presence"]' if presence else b""

    def hello(self, idx: int) -> bytes:
        if self.channels:
            return b'{"type":"hello","nick":"u%d","proto":1,"channels":["#c%d"]%s}\n' % (
                idx, idx % self.channels, self.caps)
        return b'{"type":"hello","nick":"u%d","proto":1%s}\n' % (idx, self.caps)

    def maybe_ready(self, idx: int, lines: bytes) -> tuple[bool, bytes]:
        """Look at complete lines before the welcome; return (welcomed, bytes to send)."""
        if b'{"type":"welcome"' in lines:
            if self.channels and b'"name":"#c%d"' % (idx % self.channels) not in lines:
                raise ConnectionError(f"welcome without #c{idx % self.channels} "
                                      f"(a server without channels?): {lines[:200]!r}")
            return True, b""
        if b'{"type":"error"' in lines or b'{"type":"bye"' in lines:
            raise ConnectionError(lines[:300].decode("utf-8", "replace"))
        return False, b""

    def say(self, idx: int, text: bytes) -> bytes:
        if self.channels:
            return b'{"type":"say","text":"%s","channel":"#c%d"}\n' % (text, idx % self.channels)
        return b'{"type":"say","text":"%s"}\n' % text

    def echo_marker(self, idx: int) -> bytes:
        return b'"from":"u%d","text"' % idx

    def maybe_reply(self, lines: bytes) -> bytes:
        """Bytes to answer server keep-alives found in ``lines`` (none for chat)."""
        return b""

    trouble_markers: tuple[bytes, ...] = (b'{"type":"error"', b'{"type":"bye"')


class IrcTarget(ChatTarget):
    """An IRC server (ngircd): NICK/USER, JOIN #bench, PRIVMSG #bench; no echo."""

    name = "irc"
    message_marker = b" PRIVMSG #bench :"
    latency_re = re.compile(rb" PRIVMSG #bench :(\d+) \d+ (\d+)")
    echoes = False
    has_pings = True

    def __init__(self, channels: int = 0, presence: bool = False) -> None:
        if channels or presence:
            raise ValueError("--channels and --presence need --target chat")
        super().__init__()

    def hello(self, idx: int) -> bytes:
        return b"NICK u%d\r\nUSER u%d 0 * :bench user\r\n" % (idx, idx)

    def maybe_ready(self, idx: int, lines: bytes) -> tuple[bool, bytes]:
        out = self.maybe_reply(lines)
        if b" 366 " in lines:
            return True, out
        if b" 001 " in lines:
            out += b"JOIN #bench\r\n"
        if b"ERROR :" in lines or b" 433 " in lines:
            raise ConnectionError(lines[:300].decode("utf-8", "replace"))
        return False, out

    def say(self, idx: int, text: bytes) -> bytes:
        return b"PRIVMSG #bench :%s\r\n" % text

    def echo_marker(self, idx: int) -> bytes:
        return b":u%d!" % idx  # never matches a delivery: IRC does not echo

    def maybe_reply(self, lines: bytes) -> bytes:
        out = b""
        start = 0
        while (pos := lines.find(b"PING ", start)) >= 0:
            if pos == 0 or lines[pos - 1] == 10:
                end = lines.find(b"\n", pos)
                out += b"PONG " + lines[pos + 5:end].rstrip(b"\r") + b"\r\n"
            start = pos + 5
        return out

    trouble_markers = (b"ERROR :",)


TARGETS: Final[dict[str, Callable[[int], ChatTarget]]] = {"chat": ChatTarget, "irc": IrcTarget}
"""Target by name; the argument is the number of channels (0: one room)."""


@dataclass(frozen=True)
class LoadConfig:
    """One run of the one-room (``channels`` = 0) or many-channel workload."""

    host: str = "127.0.0.1"
    port: int = 8080
    ports: tuple[int, ...] = ()
    """Several nodes of one cluster: user i connects to ``ports[i % len(ports)]``
    (empty: everyone to ``port``)."""
    users: int = 100
    rate: float = 1.0
    duration_s: float = 10.0
    target: str = "chat"
    procs: int = 1
    connect_concurrency: int = 256
    connect_timeout_s: float = 60.0
    drain_timeout_s: float = 10.0
    latency_stride: int = 0
    """Parse latency on every k-th receiver of each channel; 0 picks k from
    LATENCY_SAMPLES_PER_S."""
    seed: int = 1
    channels: int = 0
    """0: everyone in the default channel; K: user i in ``#c{i % K}`` only."""
    presence: bool = False
    """Ask for the ``presence`` capability: joins and leaves of big channels come batched."""

    def __post_init__(self) -> None:
        if self.channels < 0 or (self.channels > self.users > 0):
            raise ValueError(f"channels must be 0..users ({self.users}), not {self.channels}")
        if len(self.ports) > self.users > 0:
            raise ValueError(f"{len(self.ports)} ports for {self.users} users leave a node idle")

    def address_of(self, idx: int) -> tuple[str, int]:
        """Return where user ``idx`` connects: node ``idx % K`` of K ports, or the one port."""
        port = self.ports[idx % len(self.ports)] if self.ports else self.port
        return self.host, port


def channel_sizes(users: int, channels: int) -> list[int]:
    """Return the members of each channel (``[users]`` for the one-room workload)."""
    if not channels:
        return [users]
    return [users // channels + (1 if c < users % channels else 0) for c in range(channels)]


def offered_per_rate(users: int, channels: int) -> int:
    """Return the deliveries one message per user causes: sum of n * (n - 1) per channel."""
    return sum(n * (n - 1) for n in channel_sizes(users, channels))


def raise_fd_limit() -> int:
    """Raise RLIMIT_NOFILE to its hard limit; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _pick_stride(cfg: LoadConfig) -> int:
    """Sample every k-th member of each channel, k chosen for ~LATENCY_SAMPLES_PER_S parsed.

    Every channel's first member is always sampled, so each channel is
    represented even when k exceeds its size (then more is parsed than aimed at).
    """
    if cfg.latency_stride > 0:
        return cfg.latency_stride
    offered = sum(n * max(n - 1, 1) for n in channel_sizes(cfg.users, cfg.channels)) * cfg.rate
    return max(1, int(offered // LATENCY_SAMPLES_PER_S) + 1)


# Worker process.


@dataclass
class _WorkerStats:
    users: int = 0
    connected: int = 0
    connect_failed: int = 0
    first_connect_ns: int = 0
    last_welcome_ns: int = 0
    welcome_ms: list[float] = field(default_factory=list)
    sent: int = 0
    received: int = 0
    echoes: int = 0
    expected: int = 0
    trouble_frames: int = 0
    disconnected: int = 0
    last_delivery_ns: int = 0
    max_send_lag_ms: float = 0.0
    max_loop_gap_ns: int = 0
    send_lag_over_10ms: int = 0
    cpu_s: float = 0.0
    wall_s: float = 0.0
    recv_calls: int = 0
    recv_bytes: int = 0
    sampled_receivers: int = 0
    receivers_off: int = 0
    foreign: int = 0
    received_by_node: list[int] = field(default_factory=list)
    expected_by_node: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class _Worker:
    """One process's users and their event loop."""

    def __init__(self, cfg: LoadConfig, first: int, count: int, pipe: Connection) -> None:
        self.cfg = cfg
        self.first = first
        self.count = count
        self.pipe = pipe
        self.target = TARGETS[cfg.target](cfg.channels, cfg.presence)
        self.stats = _WorkerStats(users=count)
        self.sel = selectors.DefaultSelector()
        self.sel.register(pipe.fileno(), selectors.EVENT_READ, -1)
        self.socks: list[socket.socket | None] = [None] * count
        self.partial = [b""] * count
        self.outbuf = [b""] * count
        self.ready = [False] * count
        self.alive = [False] * count
        self.started_ns = [0] * count
        self.got = [0] * count
        self.sent_by = [0] * count
        self.groups = groups = max(cfg.channels, 1)
        # Each user's channel index (0 for all in one room); this worker's sends per channel.
        self.chan = [(first + i) % groups for i in range(count)]
        self.sent_in = [0] * groups
        stride = _pick_stride(cfg)
        # User i is member number i // groups of its channel: sampling by that number
        # takes every stride-th member of every channel (plain i % stride in one room).
        self.sampled = [((first + i) // groups) % stride == 0 for i in range(count)]
        self.stats.sampled_receivers = sum(self.sampled)
        self.echo_pat = [self.target.echo_marker(first + i) for i in range(count)]
        self.me = [b"%d" % (first + i) for i in range(count)]
        self.latency_us = array.array("q")
        self.rbuf = bytearray(RECV_BYTES)
        self.rview = memoryview(self.rbuf)
        self.counting = False
        self.commands: list[tuple[Any, ...]] = []
        self.rng = random.Random(cfg.seed * 1_000_003 + first)

    # Connect phase.

    def connect_all(self) -> None:
        cfg = self.cfg
        todo = list(range(self.count))
        todo.reverse()
        in_flight = 0
        done = 0
        deadline = time.monotonic() + cfg.connect_timeout_s
        self.stats.first_connect_ns = time.monotonic_ns()
        while done < self.count and time.monotonic() < deadline:
            while todo and in_flight < cfg.connect_concurrency:
                i = todo.pop()
                if self._start_connect(i, cfg.address_of(self.first + i)):
                    in_flight += 1
                else:
                    done += 1
            for key, events in self.sel.select(POLL_S):
                i = key.data
                if i < 0:
                    self._read_pipe()
                    continue
                was_ready = self.ready[i]
                was_alive = self.socks[i] is not None
                if events & selectors.EVENT_WRITE and not self.alive[i]:
                    self._finish_connect(i)
                elif events & selectors.EVENT_READ:
                    self._on_readable(i)
                if events & selectors.EVENT_WRITE and self.alive[i] and self.outbuf[i]:
                    self._flush(i)
                if (self.ready[i] and not was_ready) or (was_alive and self.socks[i] is None):
                    in_flight -= 1
                    done += 1
        for i in range(self.count):
            if not self.ready[i]:
                state = "connected" if self.alive[i] else "connecting"
                self._fail(i, f"not welcomed ({state}, buffered {self.partial[i][:100]!r})")
        self.stats.connected = sum(self.ready)
        self.stats.connect_failed = self.count - self.stats.connected
        self.stats.welcome_ms.sort()

    def _start_connect(self, i: int, addr: tuple[str, int]) -> bool:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.started_ns[i] = time.monotonic_ns()
        err = sock.connect_ex(addr)
        if err not in (0, errno.EINPROGRESS):
            sock.close()
            self._fail(i, f"connect: {os.strerror(err)}")
            return False
        self.socks[i] = sock
        self.sel.register(sock, selectors.EVENT_WRITE, i)
        return True

    def _finish_connect(self, i: int) -> None:
        sock = self.socks[i]
        assert sock is not None
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self._drop(i, f"connect: {os.strerror(err)}")
            return
        self.alive[i] = True
        self.sel.modify(sock, selectors.EVENT_READ, i)
        self._send(i, self.target.hello(self.first + i))

    def _fail(self, i: int, why: str) -> None:
        if len(self.stats.errors) < 20:
            self.stats.errors.append(f"u{self.first + i}: {why}")

    def _drop(self, i: int, why: str) -> None:
        sock = self.socks[i]
        if sock is None:
            return
        self._fail(i, why)
        self.sel.unregister(sock)
        sock.close()
        self.socks[i] = None
        self.alive[i] = False
        self.stats.disconnected += 1

    # Socket I/O.

    def _send(self, i: int, data: bytes) -> None:
        sock = self.socks[i]
        if sock is None:
            return
        if self.outbuf[i]:
            self.outbuf[i] += data
            return
        try:
            sent = sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            self._drop(i, f"send: {exc}")
            return
        if sent < len(data):
            self.outbuf[i] = data[sent:]
            self.sel.modify(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, i)

    def _flush(self, i: int) -> None:
        sock = self.socks[i]
        assert sock is not None
        data = self.outbuf[i]
        try:
            sent = sock.send(data)
        except BlockingIOError:
            return
        except OSError as exc:
            self._drop(i, f"send: {exc}")
            return
        self.outbuf[i] = data[sent:]
        if not self.outbuf[i]:
            self.sel.modify(sock, selectors.EVENT_READ, i)

    def _on_readable(self, i: int) -> None:
        """Read once; count complete lines (cheap) or look for the welcome.

        ``recv_into`` one reused buffer: a fresh 256 KiB ``recv`` per call costs
        an mmap and page faults, which was half the generator's CPU.
        """
        sock = self.socks[i]
        assert sock is not None
        try:
            n = sock.recv_into(self.rbuf)
        except BlockingIOError:
            return
        except OSError as exc:
            self._drop(i, f"recv: {exc}")
            return
        if not n:
            self._drop(i, "closed by server")
            return
        now = time.monotonic_ns()
        st = self.stats
        st.recv_calls += 1
        st.recv_bytes += n
        part = self.partial[i]
        data: bytes | bytearray
        if part:
            data = part + self.rview[:n]
            end = len(data)
        else:
            data, end = self.rbuf, n
        cut = data.rfind(b"\n", 0, end) + 1
        self.partial[i] = bytes(data[cut:end]) if cut < end else b""
        if not cut:
            return
        if not self.ready[i]:
            self._before_ready(i, bytes(data[:cut]), now)
            return
        target = self.target
        if target.has_pings and (data.startswith(b"PING ") or data.find(b"\nPING ", 0, cut) >= 0):
            self._send(i, target.maybe_reply(bytes(data[:cut])))
        if not self.counting:
            return
        k = data.count(target.message_marker, 0, cut)
        if k:
            e = data.count(self.echo_pat[i], 0, cut) if target.echoes else 0
            self.got[i] += k - e
            st.received += k - e
            st.echoes += e
            st.last_delivery_ns = now
            if self.sampled[i] and len(self.latency_us) < MAX_LATENCY_SAMPLES:
                me = self.me[i]
                append = self.latency_us.append
                groups, mine = self.groups, self.chan[i]
                for m in target.latency_re.finditer(data, 0, cut):
                    if m.group(1) != me:
                        append((now - int(m.group(2))) // 1000)
                        if groups > 1 and int(m.group(1)) % groups != mine:
                            st.foreign += 1
        for marker in target.trouble_markers:
            pos = data.find(marker, 0, cut)
            if pos >= 0:
                st.trouble_frames += data.count(marker, 0, cut)
                self._fail(i, bytes(data[pos:pos + 200]).decode("utf-8", "replace"))

    def _before_ready(self, i: int, lines: bytes, now: int) -> None:
        try:
            ready, out = self.target.maybe_ready(self.first + i, lines)
        except ConnectionError as exc:
            self._drop(i, f"refused: {exc}")
            return
        if out:
            self._send(i, out)
        if ready:
            self.ready[i] = True
            self.stats.welcome_ms.append((now - self.started_ns[i]) / 1e6)
            self.stats.last_welcome_ns = now

    def _read_pipe(self) -> None:
        while self.pipe.poll():
            self.commands.append(self.pipe.recv())

    def _service(self, timeout: float) -> None:
        """Wait up to ``timeout`` and serve whatever is ready."""
        for key, events in self.sel.select(timeout):
            i = key.data
            if i < 0:
                self._read_pipe()
                continue
            if events & selectors.EVENT_READ:
                self._on_readable(i)
            if events & selectors.EVENT_WRITE and self.socks[i] is not None and self.outbuf[i]:
                self._flush(i)

    def wait_command(self) -> tuple[Any, ...]:
        """Keep reading sockets until the driver sends a command."""
        while not self.commands:
            self._service(POLL_S)
        return self.commands.pop(0)

    # Traffic phase.

    def run_traffic(self, start_ns: int, end_ns: int) -> None:
        cfg = self.cfg
        st = self.stats
        interval_ns = int(1e9 / cfg.rate) if cfg.rate > 0 else 0
        heap: list[tuple[int, int]] = []
        if interval_ns:
            for i in range(self.count):
                if self.ready[i] and self.socks[i] is not None:
                    t = start_ns + int(self.rng.random() * interval_ns)
                    if t < end_ns:
                        heap.append((t, i))
        heapq.heapify(heap)
        seq = [0] * self.count
        rnd = self.rng.random
        say = self.target.say
        first = self.first
        chan, sent_in = self.chan, self.sent_in
        lag_limit = 10_000_000
        cpu0 = time.process_time()
        wall0 = time.monotonic_ns()
        while time.monotonic_ns() < start_ns:
            self._service(max(0.0, min(POLL_S, (start_ns - time.monotonic_ns()) / 1e9)))
        self.counting = True
        prev = time.monotonic_ns()
        while True:
            now = time.monotonic_ns()
            if now - prev > st.max_loop_gap_ns:
                st.max_loop_gap_ns = now - prev
            prev = now
            while heap and heap[0][0] <= now:
                t, i = heapq.heappop(heap)
                lag = now - t
                if lag > lag_limit:
                    st.send_lag_over_10ms += 1
                    if lag / 1e6 > st.max_send_lag_ms:
                        st.max_send_lag_ms = lag / 1e6
                if self.socks[i] is not None:
                    seq[i] += 1
                    self._send(i, say(first + i, b"%d %d %d" % (first + i, seq[i], t)))
                    self.sent_by[i] += 1
                    sent_in[chan[i]] += 1
                    st.sent += 1
                    nxt = t + int(interval_ns * (1.0 + JITTER * (2.0 * rnd() - 1.0)))
                    if nxt < end_ns:
                        heapq.heappush(heap, (nxt, i))
            if not heap and now >= end_ns:
                break
            wait = (heap[0][0] - now) / 1e9 if heap else (end_ns - now) / 1e9
            wait = max(0.0, min(POLL_S, wait))
            self._service(wait)
            prev += int(wait * 1e9)  # a gap is time spent working, not waiting
        self._cpu0, self._wall0 = cpu0, wall0

    def drain(self, sent_in: list[int], deadline_ns: int) -> None:
        """Read until every live receiver has what the others in its channel sent, or the deadline.

        ``sent_in`` is what all workers' users sent, per channel.
        """
        st = self.stats
        due = [sent_in[self.chan[i]] - self.sent_by[i] for i in range(self.count)]
        st.expected = sum(due[i] for i in range(self.count) if self.ready[i])
        while st.received < st.expected and time.monotonic_ns() < deadline_ns:
            self._service(POLL_S)
        st.receivers_off = sum(self.got[i] != due[i] for i in range(self.count) if self.ready[i])
        nodes = max(len(self.cfg.ports), 1)
        st.received_by_node = [0] * nodes
        st.expected_by_node = [0] * nodes
        for i in range(self.count):
            if self.ready[i]:
                node = (self.first + i) % nodes
                st.received_by_node[node] += self.got[i]
                st.expected_by_node[node] += due[i]
        st.cpu_s = time.process_time() - self._cpu0
        st.wall_s = (time.monotonic_ns() - self._wall0) / 1e9

    def close_all(self) -> None:
        for sock in self.socks:
            if sock is not None:
                try:
                    sock.close()
                except OSError:
                    pass  # already gone
        self.sel.close()


def _worker_main(cfg: LoadConfig, first: int, count: int, pipe: Connection) -> None:
    """Worker process: connect, then obey the driver's commands over ``pipe``."""
    # A Ctrl-C reaches the whole process group; the driver stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise_fd_limit()
    worker = _Worker(cfg, first, count, pipe)
    try:
        worker.connect_all()
        pipe.send(("ready", asdict(worker.stats)))
        while True:
            cmd = worker.wait_command()
            if cmd[0] == "go":
                worker.run_traffic(cmd[1], cmd[2])
                pipe.send(("sent", worker.sent_in))
                _tag, sent_in, deadline_ns = worker.wait_command()
                worker.drain(sent_in, deadline_ns)
                pipe.send(("stats", asdict(worker.stats), worker.latency_us.tobytes()))
            elif cmd[0] == "stop":
                break
    finally:
        worker.close_all()
        pipe.close()


# Driver side.


class Swarm:
    """The users of one run, spread over ``cfg.procs`` worker processes."""

    def __init__(self, cfg: LoadConfig) -> None:
        self.cfg = cfg
        self.pipes: list[Connection] = []
        self.procs: list[multiprocessing.process.BaseProcess] = []
        self.connect: dict[str, Any] = {}

    def start(self) -> dict[str, Any]:
        """Fork the workers, connect every user; return connect figures."""
        ctx = multiprocessing.get_context("fork")
        per = -(-self.cfg.users // self.cfg.procs)
        t0 = time.monotonic_ns()
        for p in range(self.cfg.procs):
            first = p * per
            count = min(per, self.cfg.users - first)
            if count <= 0:
                break
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=_worker_main, args=(self.cfg, first, count, theirs),
                               name=f"loadgen-{p}", daemon=True)
            proc.start()
            theirs.close()
            self.pipes.append(mine)
            self.procs.append(proc)
        ready_timeout = self.cfg.connect_timeout_s + 30
        replies = [self._expect(pipe, "ready", ready_timeout) for pipe in self.pipes]
        stats = [r[1] for r in replies]
        welcome = sorted(ms for s in stats for ms in s["welcome_ms"])
        last = max((s["last_welcome_ns"] for s in stats), default=t0)
        first_ns = min(s["first_connect_ns"] for s in stats)
        self.connect = {
            "users": self.cfg.users,
            "welcomed": sum(s["connected"] for s in stats),
            "failed": sum(s["connect_failed"] for s in stats),
            "connect_all_s": round((last - first_ns) / 1e9, 3),
            "welcome_p50_ms": _pct(welcome, 50),
            "welcome_p99_ms": _pct(welcome, 99),
            "welcome_max_ms": welcome[-1] if welcome else None,
            "errors": [e for s in stats for e in s["errors"]][:10],
        }
        return self.connect

    def traffic(self) -> dict[str, Any]:
        """Run the timed send phase and the drain; return delivery figures."""
        cfg = self.cfg
        start_ns = time.monotonic_ns() + 200_000_000
        end_ns = start_ns + int(cfg.duration_s * 1e9)
        for pipe in self.pipes:
            pipe.send(("go", start_ns, end_ns))
        wait_s = cfg.duration_s + 30
        per_worker = [self._expect(p, "sent", wait_s)[1] for p in self.pipes]
        sent_in = [sum(col) for col in zip(*per_worker, strict=True)]
        total_sent = sum(sent_in)
        deadline = time.monotonic_ns() + int(cfg.drain_timeout_s * 1e9)
        for pipe in self.pipes:
            pipe.send(("expect", sent_in, deadline))
        replies = [self._expect(p, "stats", cfg.drain_timeout_s + 30) for p in self.pipes]
        stats = [r[1] for r in replies]
        lat = array.array("q")
        for r in replies:
            lat.frombytes(r[2])
        lat_sorted = sorted(lat)
        received = sum(s["received"] for s in stats)
        expected = sum(s["expected"] for s in stats)
        last = max(s["last_delivery_ns"] for s in stats) or end_ns
        span_s = max(last, end_ns) - start_ns
        sizes = channel_sizes(cfg.users, cfg.channels)
        return {
            "channels": cfg.channels,
            "channel_users_min": min(sizes),
            "channel_users_max": max(sizes),
            "sent": total_sent,
            "sent_per_s": round(total_sent / cfg.duration_s, 1),
            "expected_per_message": round(expected / total_sent, 3) if total_sent else None,
            "offered_deliveries_per_s": round(expected / cfg.duration_s),
            "deliveries": received,
            "deliveries_per_s": round(received / (span_s / 1e9)),
            "expected": expected,
            "loss": expected - received,
            "echoes": sum(s["echoes"] for s in stats),
            "drain_s": round(max(0, last - end_ns) / 1e9, 3),
            "lat_p50_ms": _pct_us(lat_sorted, 50),
            "lat_p90_ms": _pct_us(lat_sorted, 90),
            "lat_p99_ms": _pct_us(lat_sorted, 99),
            "lat_max_ms": round(lat_sorted[-1] / 1000, 2) if lat_sorted else None,
            "lat_samples": len(lat_sorted),
            "sampled_receivers": sum(s["sampled_receivers"] for s in stats),
            "receivers_off": sum(s["receivers_off"] for s in stats),
            "foreign_deliveries": sum(s["foreign"] for s in stats),
            "received_by_node": [sum(col) for col in zip(*(s["received_by_node"] for s in stats),
                                                         strict=True)],
            "expected_by_node": [sum(col) for col in zip(*(s["expected_by_node"] for s in stats),
                                                         strict=True)],
            "trouble_frames": sum(s["trouble_frames"] for s in stats),
            "disconnected": sum(s["disconnected"] for s in stats),
            "gen_cpu_s": round(sum(s["cpu_s"] for s in stats), 2),
            "gen_cpu_util": round(max(s["cpu_s"] / s["wall_s"] for s in stats if s["wall_s"]), 3),
            "gen_max_send_lag_ms": round(max(s["max_send_lag_ms"] for s in stats), 1),
            "gen_late_sends": sum(s["send_lag_over_10ms"] for s in stats),
            "gen_max_loop_gap_ms": round(max(s["max_loop_gap_ns"] for s in stats) / 1e6, 1),
            "gen_recv_calls": sum(s["recv_calls"] for s in stats),
            "errors": [e for s in stats for e in s["errors"]][:10],
        }

    def stop(self) -> None:
        for pipe in self.pipes:
            try:
                pipe.send(("stop",))
            except OSError:
                pass  # the worker already exited
        for proc in self.procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
                proc.join()

    def _expect(self, pipe: Connection, tag: str, timeout_s: float) -> tuple[Any, ...]:
        if not pipe.poll(timeout_s):
            raise TimeoutError(f"worker did not answer {tag!r} within {timeout_s:.0f} s")
        reply = pipe.recv()
        if reply[0] != tag:
            raise RuntimeError(f"worker sent {reply[0]!r}, expected {tag!r}")
        return reply


def _pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    k = min(len(values) - 1, max(0, int(round(p / 100 * len(values) + 0.5)) - 1))
    return round(values[k], 2)


def _pct_us(values: list[int], p: float) -> float | None:
    v = _pct(values, p)  # type: ignore[arg-type]
    return None if v is None else round(v / 1000, 2)


def _ports(text: str) -> list[int]:
    """Parse ``"8080"`` or ``"8080,8081,8082"`` into ports."""
    try:
        ports = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port or a comma list of ports: {text!r}") from None
    if not ports or not all(0 < p < 65536 for p in ports):
        raise argparse.ArgumentTypeError(f"ports must be 1..65535: {text!r}")
    return ports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="One-room or many-channel load against a "
                                                 "running server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=_ports, required=True, metavar="PORT[,PORT...]",
                        help="the server's port, or the ports of K cluster nodes: "
                             "user i connects to the (i %% K)-th")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--rate", type=float, default=1.0, help="messages/s per user")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of sending")
    parser.add_argument("--procs", type=int, default=1)
    parser.add_argument("--target", choices=sorted(TARGETS), default="chat")
    parser.add_argument("--channels", type=int, default=0, metavar="K",
                        help="user i in #c{i %% K} only (default 0: everyone in the default "
                             "channel)")
    parser.add_argument("--presence", action="store_true",
                        help="ask for the presence capability (batched joins in big channels)")
    parser.add_argument("--connect-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    if args.channels and args.target != "chat":
        parser.error("--channels needs --target chat")
    if not 0 <= args.channels <= args.users:
        parser.error("--channels must be between 0 and --users")
    if len(args.port) > args.users:
        parser.error("give at most one port per user")
    raise_fd_limit()
    ports = tuple(args.port) if len(args.port) > 1 else ()
    cfg = LoadConfig(host=args.host, port=args.port[0], ports=ports, users=args.users,
                     rate=args.rate, duration_s=args.duration, procs=args.procs,
                     target=args.target, connect_timeout_s=args.connect_timeout,
                     channels=args.channels, presence=args.presence)
    swarm = Swarm(cfg)
    try:
        result = {"connect": swarm.start()}
        if args.duration > 0 and args.rate > 0:
            result["traffic"] = swarm.traffic()
    finally:
        swarm.stop()
    json.dump(result, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
