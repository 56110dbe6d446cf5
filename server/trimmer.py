"""Keep the stored history to the newest N messages, off the relaying path.

The room worker tells the trimmer how many messages it stored; every tenth of
the limit the trimmer's own thread deletes the surplus in small chunks, so
relaying never waits for a large delete.
"""

from __future__ import annotations

import logging
import threading

from server.store import HistoryStore, StoreError

__all__ = ["HistoryTrimmer"]

log = logging.getLogger(__name__)


class HistoryTrimmer:
    """A thread that trims the store to ``keep`` messages when asked. Thread-safe."""

    def __init__(self, store: HistoryStore, keep: int) -> None:
        self._store = store
        self._keep = keep
        self._every = max(1, keep // 10)
        self._stored = 0
        self._lock = threading.Lock()
        self._due = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="history-trimmer", daemon=True)

    def start(self) -> None:
        self._due.set()  # trim what an earlier run left, once
        self._thread.start()

    def note_stored(self, count: int) -> None:
        """Count newly stored messages; wake the thread when a trim is due."""
        with self._lock:
            self._stored += count
            if self._stored < self._every:
                return
            self._stored = 0
        self._due.set()

    def _run(self) -> None:
        while True:
            self._due.wait()
            self._due.clear()
            if self._stopping:
                return
            try:
                deleted = self._store.trim(self._keep)
            except StoreError as exc:
                log.error("%s", exc)
                continue
            if deleted:
                log.info("trimmed %d old messages (keeping %d)", deleted, self._keep)

    def stop(self) -> None:
        self._stopping = True
        self._due.set()
        self._thread.join()
