"""The online nicks kept in display order, updated in place rather than re-sorted.

A welcome carries the whole roster, so a join storm would sort N nicks N times;
keeping the order as nicks come and go costs a binary search and one memmove.
Not thread-safe: owned by the hub's thread, like the channel it belongs to.
"""

from __future__ import annotations

from bisect import bisect_left

__all__ = ["SortedRoster"]


class SortedRoster:
    """Nicks sorted by their comparison key (``protocol.nick_key``)."""

    def __init__(self) -> None:
        self._keys: list[str] = []
        self._nicks: list[str] = []

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: str, nick: str) -> None:
        """Insert ``nick`` under ``key``, which must not be present."""
        index = bisect_left(self._keys, key)
        self._keys.insert(index, key)
        self._nicks.insert(index, nick)

    def remove(self, key: str) -> None:
        """Remove the nick stored under ``key``; nothing if absent."""
        index = bisect_left(self._keys, key)
        if index < len(self._keys) and self._keys[index] == key:
            del self._keys[index]
            del self._nicks[index]

    def nicks(self) -> list[str]:
        """Return a copy of the nicks in order."""
        return list(self._nicks)

    def keys(self) -> list[str]:
        """Return a copy of the comparison keys in the nicks' order."""
        return list(self._keys)

    def nicks_with(self, key: str, nick: str) -> list[str]:
        """Return a copy of the nicks in order with ``nick`` (under ``key``) added."""
        index = bisect_left(self._keys, key)
        return [*self._nicks[:index], nick, *self._nicks[index:]]
