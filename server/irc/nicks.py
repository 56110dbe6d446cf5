"""Nicks and who-is-who as IRC sees them: the nick mapping, masks, and ident registry.

The mapping is the identity (docs/IRC.md explains why). A chat nick is 1 to
32 Unicode letters, digits and ``_ - .``: every one of them is already a nick
an IRC client can use on a server that says ``UTF8ONLY``, so IRC clients see
and type the very nick native clients see, and there is nothing to collide:
both doors ask the one hub, which keeps nicks unique by their NFKC casefold.
Going the other way, an IRC nick with characters the chat has no room for
(``[ ] \\ ` ^ { | }``) is refused with 432 and a sentence saying what is allowed.

Every user is shown as ``nick!user@host``. The host is never an address:
``irc`` for the IRC users of this server, ``termchat`` for everyone else
(native users, and IRC users of other cluster nodes, whose USER details this
node does not know). :class:`Idents` keeps the USER details of this server's
IRC users; thread-safe.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from protocol import NickInvalid, nick_key, validate_channel, validate_nick

__all__ = [
    "IRC_HOST", "NATIVE_HOST", "Ident", "Idents", "check_channel", "check_nick", "irc_ident",
    "is_mask", "matches", "native_ident",
]

IRC_HOST: Final = "irc"
NATIVE_HOST: Final = "termchat"
NATIVE_REALNAME: Final = "termchat user"
MAX_USER_CHARS: Final = 16
FORGET_AFTER_S: Final = 30.0
"""How long the details of a user who left are kept: their last lines (QUIT) still show them."""


@dataclass(frozen=True, slots=True)
class Ident:
    """How a user is shown: ``nick!user@host`` and a real name."""

    user: str
    host: str
    realname: str
    modes: str = ""
    """The user modes set (``iw``): accepted and shown, with no effect."""


def native_ident(nick: str) -> Ident:
    return Ident(user=nick, host=NATIVE_HOST, realname=NATIVE_REALNAME)


def irc_ident(username: str, realname: str) -> Ident:
    """The ident of an IRC user of this server: ``~`` (not verified) and its USER name."""
    user = "".join(ch for ch in username if ch.isprintable() and ch not in " !@")
    return Ident(user="~" + (user[:MAX_USER_CHARS] or "user"), host=IRC_HOST,
                 realname=realname or username)


class Idents:
    """The USER details of this server's IRC users, by nick key. Thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._by_key: dict[str, Ident] = {}
        self._key_of: dict[object, str] = {}
        self._gone: dict[str, float] = {}

    def register(self, owner: object, nick: str, ident: Ident) -> None:
        with self._lock:
            self._purge()
            key = nick_key(nick)
            self._by_key[key] = ident
            self._key_of[owner] = key
            self._gone.pop(key, None)

    def rename(self, old: str, new: str) -> None:
        """Move the details of ``old`` to ``new`` (the user is ours, renamed)."""
        old_key, new_key = nick_key(old), nick_key(new)
        with self._lock:
            ident = self._by_key.pop(old_key, None)
            if ident is None:
                return
            self._by_key[new_key] = ident
            self._gone.pop(new_key, None)
            for owner, key in self._key_of.items():
                if key == old_key:
                    self._key_of[owner] = new_key
                    break

    def change_modes(self, nick: str, changes: list[tuple[bool, str]]) -> list[tuple[bool, str]]:
        """Set or unset user modes of our user ``nick``; return the changes that took effect."""
        with self._lock:
            key = nick_key(nick)
            ident = self._by_key.get(key)
            if ident is None:
                return []
            modes = set(ident.modes)
            done: list[tuple[bool, str]] = []
            for on, letter in changes:
                if (letter in modes) != on:
                    (modes.add if on else modes.discard)(letter)
                    done.append((on, letter))
            self._by_key[key] = dataclasses.replace(ident, modes="".join(sorted(modes)))
            return done

    def forget(self, owner: object) -> None:
        """The user of ``owner`` left: keep its details a little while, then drop them."""
        with self._lock:
            key = self._key_of.pop(owner, None)
            if key is not None:
                self._gone[key] = self._clock()
            self._purge()

    def ident(self, nick: str) -> Ident:
        with self._lock:
            found = self._by_key.get(nick_key(nick))
        return found if found is not None else native_ident(nick)

    def mask(self, nick: str) -> str:
        ident = self.ident(nick)
        return f"{nick}!{ident.user}@{ident.host}"

    def _purge(self) -> None:
        now = self._clock()
        for key, since in list(self._gone.items()):
            if now - since >= FORGET_AFTER_S:
                del self._gone[key]
                self._by_key.pop(key, None)


def check_nick(nick: str) -> str:
    """Return an IRC client's nick as the chat takes it, or raise NickInvalid saying why."""
    try:
        return validate_nick(nick)
    except NickInvalid as exc:
        raise NickInvalid(
            f"{exc.message} IRC characters such as [ ] \\ ` ^ {{ | }} are not allowed here."
        ) from None


def check_channel(name: str) -> str:
    """Return a channel name as the chat takes it, or raise ChannelInvalid."""
    return validate_channel(name)


def is_mask(text: str) -> bool:
    return "*" in text or "?" in text


def matches(mask: str, name: str) -> bool:
    """Whether ``name`` fits the IRC glob ``mask`` (``*`` and ``?``), case-insensitively."""
    pattern = nick_key(mask).replace("[", "[[]")
    return fnmatch.fnmatchcase(nick_key(name), pattern)
