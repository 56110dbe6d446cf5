"""Rules for the strings users type: nicks, message texts, and their sanitising.

Pure functions, no I/O. Nicks and channel names share one alphabet (Unicode
letters and digits plus ``_ - .``) and one comparison key (NFKC casefold). The
sanitiser removes everything a terminal could act on (C0 controls but newline
and tab, DEL, C1 controls, which include ESC's 8-bit twin CSI) plus lone
surrogates, which cannot be encoded as UTF-8.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Final

from protocol.errors import BadRequest, ChannelInvalid, NickInvalid, TextTooLong

__all__ = [
    "CHANNEL_PREFIX",
    "MAX_CHANNEL_CHARS",
    "MAX_NICK_CHARS",
    "MAX_TEXT_CHARS",
    "NICK_EXTRA_CHARS",
    "channel_key",
    "is_channel",
    "nick_key",
    "sanitize_text",
    "validate_channel",
    "validate_nick",
    "validate_text",
]

MAX_NICK_CHARS: Final = 32
MAX_TEXT_CHARS: Final = 4096
NICK_EXTRA_CHARS: Final = "_-."
CHANNEL_PREFIX: Final = "#"
MAX_CHANNEL_CHARS: Final = 32
"""Characters of a channel name after its ``#``."""

_UNSAFE_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def sanitize_text(text: str) -> str:
    """Return ``text`` without control characters a terminal would act on."""
    return _UNSAFE_CHARS.sub("", text)


def validate_nick(nick: str) -> str:
    """Return ``nick`` in NFC form, or raise :class:`NickInvalid` saying why."""
    nick = unicodedata.normalize("NFC", nick)
    if not 1 <= len(nick) <= MAX_NICK_CHARS:
        raise NickInvalid(f"A nick must be 1 to {MAX_NICK_CHARS} characters long.")
    if not _name_chars_ok(nick):
        raise NickInvalid("A nick may hold only letters, digits and _ - . characters.")
    return nick


def nick_key(nick: str) -> str:
    """Return the form under which two nicks count as the same (case-insensitive)."""
    return unicodedata.normalize("NFKC", nick).casefold()


def _name_chars_ok(name: str) -> bool:
    return all(ch.isalnum() or ch in NICK_EXTRA_CHARS for ch in name)


def is_channel(name: str) -> bool:
    """Tell whether ``name`` is meant as a channel (starts with ``#``), valid or not."""
    return name.startswith(CHANNEL_PREFIX)


@lru_cache(maxsize=4096)
def validate_channel(name: str) -> str:
    """Return the channel name in NFC form, or raise :class:`ChannelInvalid` saying why.

    Every ``say`` names its channel, so the few names in use are checked once.
    """
    name = unicodedata.normalize("NFC", name)
    body = name[len(CHANNEL_PREFIX) :]
    if (
        not is_channel(name)
        or not 1 <= len(body) <= MAX_CHANNEL_CHARS
        or not _name_chars_ok(body)
    ):
        raise ChannelInvalid(
            f"A channel name is # and 1 to {MAX_CHANNEL_CHARS} letters, digits or _ - . "
            "characters, like #general."
        )
    return name


channel_key = nick_key
"""Return the form under which two channel names count as the same (as for nicks)."""


def validate_text(text: str) -> str:
    """Return ``text`` sanitised, or raise if it is empty or too long."""
    text = sanitize_text(text)
    if not text.strip():
        raise BadRequest("A message needs some text.")
    if len(text) > MAX_TEXT_CHARS:
        raise TextTooLong(f"A message may be at most {MAX_TEXT_CHARS} characters long.")
    return text
