"""Answer history pages on a thread of their own, so a big read never stalls the hub.

The hub checks the request (membership), delivers everything due to the
client first, and hands over the page bounds; this thread reads the store and
queues the ``history`` frame on the client's outbox. The answer so still comes
after everything accepted before the request.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass

from protocol import Error, ErrorCode, History
from server.hub import Link
from server.outbound import Flusher
from server.store import HistoryStore, StoreError

__all__ = ["HistoryReader"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Page:
    link: Link
    channel: str
    before: int | None
    limit: int
    bound: int
    """Only ids below this were delivered when the page was asked for."""


class HistoryReader:
    """One thread reading history pages for the hub. ``submit`` is thread-safe."""

    def __init__(self, store: HistoryStore, flusher: Flusher) -> None:
        self._store = store
        self._flusher = flusher
        self._pages: queue.Queue[_Page | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="history-reader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, link: Link, channel: str, before: int | None, limit: int, bound: int) -> None:
        """Queue a page of ``channel`` older than ``before`` (and ``bound``) for ``link``."""
        self._pages.put(_Page(link, channel, before, limit, bound))

    def stop(self) -> None:
        """Answer what is queued, then stop the thread and join it."""
        self._pages.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            page = self._pages.get()
            if page is None:
                return
            try:
                self._answer(page)
            except Exception:
                log.exception("[%s] history page failed", page.link.peer)

    def _answer(self, page: _Page) -> None:
        upper = page.bound if page.before is None else min(page.before, page.bound)
        try:
            messages = self._store.before(page.channel, upper, page.limit)
            frame: History | Error = History(
                messages=messages, before=page.before, channel=page.channel
            )
        except StoreError as exc:
            log.error("%s", exc)
            frame = Error(
                code=ErrorCode.SERVER_ERROR,
                message="History cannot be read right now; try again later.",
            )
        self._flusher.send(page.link.outbox, page.link.dialect.encode(frame))
