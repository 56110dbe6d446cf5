"""Channel MODE strings (``+ob-t nick mask``) as the changes the chat knows. Pure code.

The chat's channels have operators (``o``), bans (``b``, by nick or account:
a mask's nick part), a topic lock (``t``), invite only (``i``), and are always
``n`` (only members may speak). ``b`` without a mask asks for the ban list,
``e`` and ``I`` for lists that are always empty here. Any other letter is
unknown (472); voice and keys do not exist in the chat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["CHANMODES", "ModeChange", "parse_modes"]

CHANMODES: Final = "b,,,int"
"""The ISUPPORT CHANMODES value: list modes, then those with and without parameters."""
_WITH_ARG: Final = frozenset("ob")
_LISTS: Final = frozenset("beI")
_FLAGS: Final = frozenset("int")


@dataclass(frozen=True, slots=True)
class ModeChange:
    """One letter of a MODE string: set (``on``) or unset, with its argument.

    ``on`` is None for a list query (``b``, ``e``, ``I`` without an argument).
    """

    letter: str
    on: bool | None
    arg: str = ""


def parse_modes(modes: str, args: list[str]) -> tuple[list[ModeChange], list[str]]:
    """Return the changes a MODE string asks for, and the letters this server does not know."""
    changes: list[ModeChange] = []
    unknown: list[str] = []
    pending = list(args)
    on = True
    for letter in modes:
        if letter in "+-":
            on = letter == "+"
        elif letter in _LISTS and (letter not in _WITH_ARG or not pending):
            changes.append(ModeChange(letter, None))
        elif letter in _WITH_ARG:
            changes.append(ModeChange(letter, on, pending.pop(0)))
        elif letter in _FLAGS:
            changes.append(ModeChange(letter, on))
        else:
            unknown.append(letter)
    return changes, unknown


def mask_nick(mask: str) -> str:
    """The nick part of a ban mask (``nick!*@*`` is ``nick``); may be empty or ``*``."""
    return mask.split("!", 1)[0]
