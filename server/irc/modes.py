"""MODE strings (``+ob-t nick mask``, ``+i``) as the changes the chat knows. Pure code.

The chat's channels have operators (``o``), bans (``b``, by nick or account:
a mask's nick part), a topic lock (``t``), invite only (``i``), and are always
``n`` (only members may speak). ``b`` without a mask asks for the ban list,
``e`` and ``I`` for lists that are always empty here. Any other letter is
unknown (472); voice and keys do not exist in the chat. An ``o`` with no nick
left to take is missing its parameter (461), as a client can type it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = [
    "CHANMODES", "USER_MODES", "ModeChange", "ParsedModes", "mask_nick", "mode_string",
    "parse_modes", "parse_user_modes",
]

CHANMODES: Final = "b,,,int"
"""The ISUPPORT CHANMODES value: list modes, then those with and without parameters."""
USER_MODES: Final = "iw"
"""User modes a client may set on itself (irssi asks for ``+i`` at every connect): kept and
shown in 221, with no effect on who sees what."""
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


@dataclass(frozen=True, slots=True)
class ParsedModes:
    """What a MODE string asks for: changes and list queries, and what cannot be done."""

    changes: list[ModeChange]
    unknown: list[str]
    """Letters this server does not know (472 each)."""
    missing: list[str]
    """Letters that need a parameter none was left for (461)."""


def parse_modes(modes: str, args: list[str]) -> ParsedModes:
    """Return the changes a MODE string asks for, each parameter taken in turn."""
    changes: list[ModeChange] = []
    unknown: list[str] = []
    missing: list[str] = []
    pending = [arg for arg in args if arg]  # an empty one (`+o :`) is no nick
    on = True
    for letter in modes:
        if letter in "+-":
            on = letter == "+"
        elif letter in _LISTS and (letter not in _WITH_ARG or not pending):
            changes.append(ModeChange(letter, None))
        elif letter in _WITH_ARG and not pending:
            missing.append(letter)
        elif letter in _WITH_ARG:
            changes.append(ModeChange(letter, on, pending.pop(0)))
        elif letter in _FLAGS:
            changes.append(ModeChange(letter, on))
        else:
            unknown.append(letter)
    return ParsedModes(changes, unknown, missing)


def parse_user_modes(modes: str) -> tuple[list[tuple[bool, str]], list[str]]:
    """Return the ``(on, letter)`` user mode changes of a MODE string, and the unknown letters."""
    changes: list[tuple[bool, str]] = []
    unknown: list[str] = []
    on = True
    for letter in modes:
        if letter in "+-":
            on = letter == "+"
        elif letter in USER_MODES:
            changes.append((on, letter))
        else:
            unknown.append(letter)
    return changes, unknown


def mode_string(changes: list[tuple[bool, str, str]]) -> list[str]:
    """Spell ``(on, letter, arg)`` changes as one MODE line's parameters: ``+ot-b nick mask``."""
    letters: list[str] = []
    args: list[str] = []
    sign = ""
    for on, letter, arg in changes:
        if ("+" if on else "-") != sign:
            sign = "+" if on else "-"
            letters.append(sign)
        letters.append(letter)
        if arg:
            args.append(arg)
    return ["".join(letters), *args] if letters else []


def mask_nick(mask: str) -> str:
    """The nick part of a ban mask (``nick!*@*`` is ``nick``); may be empty or ``*``."""
    return mask.split("!", 1)[0]
