"""A channel's members, kept in display order as they come and go, even 10,000 of them.

Pure: :class:`Roster` holds each nick once under its comparison key
(:func:`protocol.nick_key`), its operators listed first, and, when the server
sent only some of the members (a *partial* roster, see the ``presence``
capability in ``docs/PROTOCOL.md``), how many there are. Nicks are kept sorted
as they are added and removed (a binary search and a move per nick, one merge
for a batch) rather than re-sorted, so a presence frame of hundreds of joins,
drawing a window of the roster and completing a nick stay cheap in a channel of
10,000. Deciding what a server frame means is left to :mod:`tui_client.events`.
Not thread-safe: only the UI thread (or the plain client's loop) uses it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from typing import Final

from protocol import nick_key

__all__ = ["OPERATOR_MARK", "Roster"]

OPERATOR_MARK: Final = "@"
"""Shown before an operator's nick in the roster and in /names (as IRC clients do)."""
_AFTER_ALL: Final = "\U0010ffff"
"""Sorts after any character a nick key holds (a noncharacter, never a letter or digit)."""
_FEW: Final = 16
"""Up to this many nicks at once are placed one by one; more are merged in one pass."""


class _SortedNicks:
    """Nicks in the order of their keys, which are unique (parallel lists, bisected)."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        ordered = sorted(pairs)
        self.keys: list[str] = [key for key, _nick in ordered]
        self.nicks: list[str] = [nick for _key, nick in ordered]

    def __len__(self) -> int:
        return len(self.keys)

    def add(self, key: str, nick: str) -> None:
        """Insert ``nick`` under ``key``, which must not be present."""
        index = bisect_left(self.keys, key)
        self.keys.insert(index, key)
        self.nicks.insert(index, nick)

    def add_many(self, pairs: list[tuple[str, str]]) -> None:
        """Insert (key, nick) pairs whose keys are not present: O(N + k log k) in all."""
        if len(pairs) <= _FEW:
            for key, nick in pairs:
                self.add(key, nick)
            return
        merged = sorted([*zip(self.keys, self.nicks, strict=True), *pairs])  # one merge of 2 runs
        self.keys = [key for key, _nick in merged]
        self.nicks = [nick for _key, nick in merged]

    def remove(self, key: str) -> bool:
        """Remove the nick under ``key``; return False if there is none."""
        index = bisect_left(self.keys, key)
        if index == len(self.keys) or self.keys[index] != key:
            return False
        del self.keys[index]
        del self.nicks[index]
        return True

    def remove_many(self, keys: set[str]) -> None:
        """Remove the nicks under ``keys`` (absent ones are skipped): O(N) in all."""
        if len(keys) <= _FEW:
            for key in keys:
                self.remove(key)
            return
        kept = [(k, n) for k, n in zip(self.keys, self.nicks, strict=True) if k not in keys]
        self.keys = [key for key, _nick in kept]
        self.nicks = [nick for _key, nick in kept]

    def starting_with(self, prefix: str) -> tuple[list[str], list[str]]:
        """Return the (keys, nicks) whose key starts with ``prefix``, in order."""
        start = bisect_left(self.keys, prefix)
        end = bisect_left(self.keys, prefix + _AFTER_ALL, lo=start)
        return self.keys[start:end], self.nicks[start:end]


class Roster:
    """The members of a channel, each nick once, and which of them are its operators.

    :attr:`names` is sorted case-insensitively; :meth:`ranked` and
    :meth:`window` put the operators first, as the roster pane shows them.
    An operator's mark follows the nick through renames and goes when it
    leaves. A *partial* roster lists only some members: :attr:`count` says how
    many there are, following joins and leaves, until :meth:`replace` is given
    the whole list.
    """

    def __init__(self, names: Iterable[str] = (), operators: Iterable[str] = ()) -> None:
        self._by_key: dict[str, str] = {}
        self._op_keys: set[str] = set()
        self._ops = _SortedNicks()
        self._others = _SortedNicks()
        self._unlisted: int | None = None  # members not listed; None: the roster is whole
        self.replace(names, operators)

    def replace(
        self, names: Iterable[str], operators: Iterable[str] | None = None,
        users: int | None = None,
    ) -> None:
        """Take ``names`` as the roster (and ``operators``, if given, as its operators).

        With ``users`` the roster is partial: ``names`` are only some of that many members.
        """
        self._by_key = {nick_key(n): n for n in names}
        if operators is not None:
            self._op_keys = {nick_key(n) for n in operators}
        self._op_keys &= self._by_key.keys()
        self._ops = _SortedNicks((k, n) for k, n in self._by_key.items() if k in self._op_keys)
        self._others = _SortedNicks(
            (k, n) for k, n in self._by_key.items() if k not in self._op_keys
        )
        self._unlisted = None if users is None else max(0, users - len(self._by_key))

    def clear(self) -> None:
        self.replace([], [])

    # -- membership

    def add(self, nick: str) -> bool:
        """Add ``nick``; return False if it was there already."""
        key = nick_key(nick)
        if key in self._by_key:
            return False
        self._by_key[key] = nick
        self._others.add(key, nick)
        return True

    def remove(self, nick: str) -> bool:
        """Remove ``nick`` (and its operator's mark); return False if it was not listed.

        In a partial roster a member not listed still leaves the count.
        """
        key = nick_key(nick)
        if self._by_key.pop(key, None) is None:
            if self._unlisted:
                self._unlisted -= 1
            return False
        if key in self._op_keys:
            self._op_keys.discard(key)
            self._ops.remove(key)
        else:
            self._others.remove(key)
        return True

    def update(self, joined: Iterable[str], left: Iterable[str]) -> None:
        """Follow many joins and leaves at once (a ``presence`` frame): O(N + k log k)."""
        gone: set[str] = set()
        for nick in left:
            key = nick_key(nick)
            if self._by_key.pop(key, None) is not None:
                gone.add(key)
            elif self._unlisted:
                self._unlisted -= 1
        gone_ops = gone & self._op_keys
        if gone_ops:
            self._op_keys -= gone_ops
            self._ops.remove_many(gone_ops)
        self._others.remove_many(gone - gone_ops)
        new: dict[str, str] = {}
        for nick in joined:
            key = nick_key(nick)
            if key not in self._by_key:
                new[key] = self._by_key[key] = nick
        self._others.add_many(list(new.items()))

    def rename(self, old: str, new: str) -> bool:
        """Replace ``old`` by ``new``, keeping its mark; return False if ``old`` was not there."""
        if old not in self:
            return False
        operator = self.is_operator(old)
        self.remove(old)
        self.add(new)
        if operator:
            self.set_operator(new, True)
        return True

    def set_operator(self, nick: str, operator: bool) -> bool:
        """Mark ``nick`` as an operator or not; return False if it is not a member."""
        key = nick_key(nick)
        listed = self._by_key.get(key)
        if listed is None:
            return False
        if operator and key not in self._op_keys:
            self._others.remove(key)
            self._ops.add(key, listed)
            self._op_keys.add(key)
        elif not operator and key in self._op_keys:
            self._ops.remove(key)
            self._others.add(key, listed)
            self._op_keys.discard(key)
        return True

    # -- reading

    @property
    def partial(self) -> bool:
        """Whether the server listed only some members (``who`` makes the roster whole)."""
        return self._unlisted is not None

    @property
    def count(self) -> int:
        """How many members the channel has: those listed, and those known of but not listed."""
        return len(self._by_key) + (self._unlisted or 0)

    def is_operator(self, nick: str) -> bool:
        return nick_key(nick) in self._op_keys

    def label(self, nick: str) -> str:
        """Return ``nick`` as the roster shows it: ``@alice`` for an operator."""
        return (OPERATOR_MARK if self.is_operator(nick) else "") + nick

    def ranked(self) -> list[str]:
        """Return the nicks as the roster pane lists them: operators first, each part sorted."""
        return [*self._ops.nicks, *self._others.nicks]

    def window(self, start: int, size: int) -> list[str]:
        """Return ``size`` nicks of :meth:`ranked` from ``start`` on, without building it all."""
        start, size = max(0, start), max(0, size)
        ops = self._ops.nicks[start : start + size]
        rest = max(0, start - len(self._ops))
        return ops + self._others.nicks[rest : rest + size - len(ops)]

    def starting_with(self, prefix_key: str) -> list[str]:
        """Return the nicks whose key starts with ``prefix_key`` (a nick key), sorted by key."""
        keys, nicks = self._others.starting_with(prefix_key)
        op_keys, op_nicks = self._ops.starting_with(prefix_key)
        for key, nick in zip(op_keys, op_nicks, strict=True):  # operators are few: place each
            index = bisect_left(keys, key)
            keys.insert(index, key)
            nicks.insert(index, nick)
        return nicks

    @property
    def names(self) -> list[str]:
        """Return the nicks sorted case-insensitively (a copy)."""
        return self.starting_with("")

    def __contains__(self, nick: object) -> bool:
        return isinstance(nick, str) and nick_key(nick) in self._by_key

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        """How many members are listed (:attr:`count` says how many there are)."""
        return len(self._by_key)
