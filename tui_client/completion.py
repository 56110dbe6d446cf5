"""Tab completion of nicks and channel names in the input line.

Pure state: :class:`Completer` looks at the word before the cursor and cycles
through matching names (case-insensitive) on repeated Tab presses: channel
names for a word starting with ``#``, nicks otherwise. Names come as a list,
or as a :class:`NameIndex` that finds a prefix itself (a roster of 10,000
finds it by bisection, so Tab neither casefolds nor sorts every nick).
Reading the roster, the buffers and the editor is left to the caller.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from protocol import is_channel, nick_key

__all__ = ["Completer", "NameIndex"]


@runtime_checkable
class NameIndex(Protocol):
    """Names that find those starting with a key themselves (``tui_client.roster.Roster``)."""

    def starting_with(self, prefix_key: str) -> list[str]:
        """Return the names whose ``nick_key`` starts with ``prefix_key``, in key order."""
        ...


def _matching(names: NameIndex | Iterable[str], key: str) -> list[str]:
    if isinstance(names, NameIndex):
        return names.starting_with(key)
    return sorted({n for n in names if nick_key(n).startswith(key)}, key=lambda n: (nick_key(n), n))


@dataclass
class _Cycle:
    before: str  # text before the completed word
    colon: bool  # a nick at the start of the line: add ": "
    after: str  # text after the cursor
    candidates: list[str]
    index: int
    result: tuple[str, int]  # the text and cursor we produced last


class Completer:
    """Complete nicks and channels; a Tab right after a completion moves to the next match."""

    def __init__(self) -> None:
        self._cycle: _Cycle | None = None

    def complete(
        self, text: str, cursor: int, nicks: NameIndex | Iterable[str],
        channels: Iterable[str] = (),
    ) -> tuple[str, int] | None:
        """Return the new (text, cursor), or None when nothing matches.

        A nick at the start of the line is followed by ``": "``; anything else
        (a nick later on, a channel anywhere) by a space.
        """
        cycle = self._cycle
        if cycle is not None and cycle.result == (text, cursor):
            cycle.index = (cycle.index + 1) % len(cycle.candidates)
            return self._apply(cycle)
        start = cursor
        while start > 0 and not text[start - 1].isspace():
            start -= 1
        word = text[start:cursor]
        if not word:
            self._cycle = None
            return None
        candidates = _matching(channels if is_channel(word) else nicks, nick_key(word))
        if not candidates:
            self._cycle = None
            return None
        colon = start == 0 and not is_channel(word)
        self._cycle = _Cycle(text[:start], colon, text[cursor:], candidates, 0, ("", 0))
        return self._apply(self._cycle)

    @staticmethod
    def _apply(cycle: _Cycle) -> tuple[str, int]:
        suffix = ": " if cycle.colon else " "
        head = cycle.before + cycle.candidates[cycle.index] + suffix
        after = cycle.after.lstrip(" ") if cycle.after.startswith(" ") else cycle.after
        cycle.result = (head + after, len(head))
        return cycle.result

    def reset(self) -> None:
        """Forget the current cycle."""
        self._cycle = None
