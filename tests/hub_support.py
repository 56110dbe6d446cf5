"""Drive a hub in process: links whose outboxes record what the hub delivers.

No sockets and no threads of the test's own: a :class:`Mailbag` stands where
the flusher stands (it has the same four methods) and decodes what it is
given; :class:`Peer` is one connection's link with the frames it received.
``Peer.sync`` uses the barrier rule itself: it asks the hub to deliver a pong
and returns what came before it.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterable
from typing import Any

from protocol import Account, ClientFrame, Hello, Pong
from server.hub import Hub, Link
from server.outbound import Outbox

WAIT_S = 10.0
_tokens = itertools.count()


class Mailbag:
    """Everything delivered, per outbox, as decoded frames. Thread-safe."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.frames: dict[Outbox, list[dict[str, Any]]] = {}
        self.closing: dict[Outbox, str | None] = {}
        self.released: set[Outbox] = set()

    def send(self, box: Outbox, data: bytes) -> bool:
        with self._cond:
            if box in self.closing:
                return False
            lines = data.decode("utf-8").splitlines()
            self.frames.setdefault(box, []).extend(json.loads(line) for line in lines)
            self._cond.notify_all()
        return True

    def send_many(self, boxes: Iterable[Outbox], data: bytes) -> None:
        for box in list(boxes):
            self.send(box, data)

    def close_after_flush(self, box: Outbox, reason: str | None = None) -> None:
        with self._cond:
            self.closing.setdefault(box, reason)
            self._cond.notify_all()

    def release(self, box: Outbox) -> None:
        with self._cond:
            self.released.add(box)
            self._cond.notify_all()

    def wait(self, box: Outbox, count: int, timeout: float = WAIT_S) -> list[dict[str, Any]]:
        """Wait until ``box`` has at least ``count`` frames; return them all."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.frames.get(box, [])) >= count, timeout):
                raise AssertionError(f"{box.peer}: only {self.frames.get(box)} arrived")
            return list(self.frames[box])

    def wait_released(self, box: Outbox, timeout: float = WAIT_S) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: box in self.released, timeout), box.peer


class Peer:
    """One connection to the hub under test."""

    def __init__(self, hub: Hub, bag: Mailbag, name: str) -> None:
        self.hub = hub
        self.bag = bag
        self.outbox = Outbox(None, name, 1 << 30)  # type: ignore[arg-type]  # never sent on
        self.link = Link(self.outbox, name)
        self._read = 0

    def hello(self, nick: str, **fields: Any) -> Account:
        return self.hub.hello(self.link, Hello(nick=nick, **fields))

    def request(self, method: str, frame: ClientFrame) -> None:
        getattr(self.hub, method)(self.link, frame)

    def sync(self) -> list[dict[str, Any]]:
        """Return the frames not read yet, up to a pong queued now (which is dropped)."""
        token = f"sync-{next(_tokens)}"
        self.hub.reply(self.link, Pong(token=token))
        count = self._read + 1
        while True:
            frames = self.bag.wait(self.outbox, count)
            if frames[-1] == {"type": "pong", "token": token}:
                new, self._read = frames[self._read : -1], len(frames)
                return new
            count = len(frames) + 1

    def all_frames(self) -> list[dict[str, Any]]:
        return list(self.bag.frames.get(self.outbox, []))
