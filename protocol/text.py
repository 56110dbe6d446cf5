"""Rules for the strings users type: nicks, message texts, and their sanitising.

Pure functions, no I/O. The sanitiser removes everything a terminal could act on
(C0 controls but newline and tab, DEL, C1 controls, which include ESC's 8-bit
twin CSI) plus lone surrogates, which cannot be encoded as UTF-8.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from protocol.errors import BadRequest, NickInvalid, TextTooLong

__all__ = [
    "MAX_NICK_CHARS",
    "MAX_TEXT_CHARS",
    "NICK_EXTRA_CHARS",
    "nick_key",
    "sanitize_text",
    "validate_nick",
    "validate_text",
]

MAX_NICK_CHARS: Final = 32
MAX_TEXT_CHARS: Final = 4096
NICK_EXTRA_CHARS: Final = "_-."

_UNSAFE_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def sanitize_text(text: str) -> str:
    """Return ``text`` without control characters a terminal would act on."""
    return _UNSAFE_CHARS.sub("", text)


def validate_nick(nick: str) -> str:
    """Return ``nick`` in NFC form, or raise :class:`NickInvalid` saying why."""
    nick = unicodedata.normalize("NFC", nick)
    if not 1 <= len(nick) <= MAX_NICK_CHARS:
        raise NickInvalid(f"A nick must be 1 to {MAX_NICK_CHARS} characters long.")
    if not all(ch.isalnum() or ch in NICK_EXTRA_CHARS for ch in nick):
        raise NickInvalid("A nick may hold only letters, digits and _ - . characters.")
    return nick


def nick_key(nick: str) -> str:
    """Return the form under which two nicks count as the same (case-insensitive)."""
    return unicodedata.normalize("NFKC", nick).casefold()


def validate_text(text: str) -> str:
    """Return ``text`` sanitised, or raise if it is empty or too long."""
    text = sanitize_text(text)
    if not text.strip():
        raise BadRequest("A message needs some text.")
    if len(text) > MAX_TEXT_CHARS:
        raise TextTooLong(f"A message may be at most {MAX_TEXT_CHARS} characters long.")
    return text
