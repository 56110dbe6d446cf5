"""Who we are in the chat: our nick, our account, and telling our own name in text.

Pure, no I/O. The nick changes only through :meth:`Identity.set_nick` (a welcome,
a rename of our own, or /nick before the first welcome); the account through
:meth:`Identity.note_account` (an ``account`` answer). Deciding when is left to
:mod:`tui_client.events` and :mod:`tui_client.actions`. No password is kept
here. Not thread-safe (UI thread, or the plain client's main loop).
"""

from __future__ import annotations

import re
from typing import Final

from protocol import nick_key

__all__ = ["Identity"]

_WORD_CHARS: Final = r"[\w\-.]"


class Identity:
    """Our nick, and whether a nick or a text means us."""

    def __init__(self, nick: str = "") -> None:
        self._nick = nick
        self._key = nick_key(nick) if nick else ""
        self._pattern: re.Pattern[str] | None = None
        self._identified = False
        self._expected: str | None = None  # the account request last sent, until answered

    @property
    def nick(self) -> str:
        return self._nick

    def set_nick(self, nick: str) -> None:
        """Take ``nick`` as ours from now on."""
        self._nick = nick
        self._key = nick_key(nick) if nick else ""
        self._pattern = None

    def is_me(self, nick: str) -> bool:
        """Tell whether ``nick`` is ours (case-insensitively)."""
        return bool(self._key) and nick_key(nick) == self._key

    def mentions_me(self, text: str) -> bool:
        """Tell whether ``text`` names our nick as a whole word (any case)."""
        if not self._key:
            return False
        if self._pattern is None:
            key = re.escape(self._key)
            self._pattern = re.compile(rf"(?<!{_WORD_CHARS}){key}(?!{_WORD_CHARS})")
        return self._pattern.search(nick_key(text)) is not None

    # -- account

    @property
    def identified(self) -> bool:
        """Whether the server last said we are identified to our nick's account."""
        return self._identified

    def expect_account(self, purpose: str) -> None:
        """Remember which account request was sent (a ``Purpose``), to word its answer."""
        self._expected = purpose

    def note_account(self, identified: bool) -> str | None:
        """Take an ``account`` answer; return the purpose of the request it answers, if known.

        Answers come in the order requests went; one that failed gets an error
        instead, so the purpose is only a guess when two requests were in flight.
        """
        self._identified = identified
        purpose, self._expected = self._expected, None
        return purpose
