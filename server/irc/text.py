"""Message texts between IRC and the chat: formatting, /me, NOTICE, and line splitting.

Pure functions. IRC's formatting codes (bold, colour, italics ...) are C0
control characters, which the chat's sanitiser removes, so on the way in each
becomes the Unicode noncharacter ``chr(0xFDD0 + code)`` (see
``server.hub.FORMAT_MARKS``): IRC readers get the codes back, native readers
get the text without them. A colour's numbers (``\x0304,12``, or hex for
``\x04``) become marks too, in the places of C0 codes that are no formatting
(``0`` to ``9`` in those of 0x05 to 0x0E ...), so native readers do not see
them either. Two marks at the start of a text say how it was sent: ``U+FDD0``
(NUL's place, never in an IRC line) for a NOTICE, ``U+FDD1`` (CTCP's) for a
private ``/me``, which a private chat message cannot flag. Any other CTCP
(VERSION, DCC ...) is not carried.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from server.hub import strip_format_marks

__all__ = [
    "ACTION_MARK", "FORMAT_CODES", "NOTICE_MARK", "Incoming", "Outgoing", "from_irc",
    "split_utf8", "to_irc", "visible",
]

FORMAT_CODES: Final = "\x02\x03\x04\x0f\x11\x16\x1d\x1e\x1f"
"""Bold, colour, hex colour, reset, monospace, reverse, italics, strikethrough, underline."""
_MARK_BASE: Final = 0xFDD0
NOTICE_MARK: Final = chr(_MARK_BASE)
ACTION_MARK: Final = chr(_MARK_BASE + 1)
_PARAM_SLOTS: Final = dict(zip("0123456789,ABCDEF",
                               [*range(0x05, 0x0F), 0x10, 0x12, 0x13, 0x14, 0x15, 0x17, 0x18],
                               strict=True))
"""The C0 places (none a formatting code) whose marks carry a colour's numbers."""
_IN: Final = str.maketrans({code: chr(_MARK_BASE + ord(code)) for code in FORMAT_CODES})
_PARAMS_IN: Final = str.maketrans({ch: chr(_MARK_BASE + slot) for ch, slot in
                                   _PARAM_SLOTS.items()} | {ch.lower(): chr(_MARK_BASE + slot)
                                                            for ch, slot in _PARAM_SLOTS.items()
                                                            if ch.isalpha()})
_OUT: Final = str.maketrans({chr(_MARK_BASE + c): None for c in range(32)}
                            | {chr(_MARK_BASE + ord(code)): code for code in FORMAT_CODES}
                            | {chr(_MARK_BASE + slot): ch for ch, slot in _PARAM_SLOTS.items()})
_COLOUR: Final = re.compile(r"\x03(\d{1,2}(?:,\d{1,2})?)?"
                            r"|\x04([0-9A-Fa-f]{6}(?:,[0-9A-Fa-f]{6})?)?")
_CTCP: Final = "\x01"
_ACTION: Final = "\x01ACTION "
SPLIT_SLACK: Final = 0.3
"""A split looks for a space in this last share of a piece before cutting a word."""


@dataclass(frozen=True, slots=True)
class Incoming:
    """An IRC message as the chat takes it: the text (with marks) and whether it is /me."""

    text: str
    action: bool


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A chat text as IRC lines: NOTICE or PRIVMSG, and the text of each line."""

    notice: bool
    lines: list[str]


def from_irc(text: str, notice: bool = False, private: bool = False) -> Incoming | None:
    """Return an IRC message's text for the chat; None for a CTCP other than ACTION.

    A private /me keeps its mark in the text (``private``); a channel's is
    flagged instead (``action``).
    """
    action = False
    if text.startswith(_CTCP):
        if not text.startswith(_ACTION) and text.rstrip(_CTCP) != _ACTION.strip():
            return None
        action = True
        text = text[len(_ACTION):].removesuffix(_CTCP)
    text = format_in(text)
    if notice:
        text = NOTICE_MARK + text
    elif action and private:
        text = ACTION_MARK + text
        action = False
    return Incoming(text, action)


def format_in(text: str) -> str:
    """Return IRC text with its formatting codes turned into marks (topics, reasons too)."""
    if "\x03" in text or "\x04" in text:
        text = _COLOUR.sub(_colour_in, text)
    return text.translate(_IN)


def _colour_in(match: re.Match[str]) -> str:
    code, numbers = match.group(0)[0], match.group(1) or match.group(2) or ""
    return chr(_MARK_BASE + ord(code)) + numbers.translate(_PARAMS_IN)


def visible(text: str) -> bool:
    """Whether a chat text has something to see once the marks are left out."""
    return bool(strip_format_marks(text).strip())


def to_irc(text: str, action: bool = False) -> Outgoing:
    """Return a chat text as IRC line texts: one per line, codes restored, /me as CTCP."""
    notice = text.startswith(NOTICE_MARK)
    if notice:
        text = text[1:]
    if text.startswith(ACTION_MARK):
        text, action = text[1:], True
    lines = [line for line in text.translate(_OUT).split("\n") if line.strip()]
    if action:
        lines = [f"{_ACTION}{line}{_CTCP}" for line in lines] or [f"{_ACTION}{_CTCP}"]
    return Outgoing(notice, lines)


def format_out(text: str) -> str:
    """Return a chat text on one line with IRC's codes restored (topics, reasons)."""
    return " ".join(text.translate(_OUT).split("\n"))


def split_utf8(text: str, max_bytes: int) -> list[str]:
    """Cut ``text`` into pieces of at most ``max_bytes`` UTF-8 bytes, between characters.

    A piece ends after a space when one lies in its last part, so words stay
    whole where they can; a CTCP ACTION is cut inside its wrapping and each
    piece wrapped again.
    """
    if text.startswith(_ACTION) and text.endswith(_CTCP) and len(text) > len(_ACTION):
        inner = text[len(_ACTION):-1]
        budget = max_bytes - len(_ACTION) - 1
        return [f"{_ACTION}{piece}{_CTCP}" for piece in _split(inner, budget)]
    return _split(text, max_bytes)


def _split(text: str, max_bytes: int) -> list[str]:
    max_bytes = max(max_bytes, 4)  # room for any one character
    pieces: list[str] = []
    while len(text.encode("utf-8")) > max_bytes:
        cut, size = 0, 0
        for index, ch in enumerate(text):
            size += len(ch.encode("utf-8"))
            if size > max_bytes:
                break
            cut = index + 1
        space = text.rfind(" ", 0, cut)
        if space >= int(cut * (1 - SPLIT_SLACK)) and space > 0:
            cut = space + 1
        pieces.append(text[:cut])
        text = text[cut:]
    if text or not pieces:
        pieces.append(text)
    return pieces
