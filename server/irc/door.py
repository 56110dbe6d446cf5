"""What all IRC connections of one server share: its names, MOTD, idents and dialects.

One :class:`IrcDoor` per server process, made by ``server.app`` when an IRC
port is open. It hands out one dialect per set of broadcast capabilities
(server-time, message-tags, echo-message), so a channel's events are spelt
once per set however many IRC users are in it. Thread-safe.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict
from typing import Final

from protocol import (
    MAX_CHANNEL_CHARS,
    MAX_HISTORY_LIMIT,
    MAX_NICK_CHARS,
    MAX_REASON_CHARS,
    MAX_TOPIC_CHARS,
)
from server.config import VERSION
from server.irc.caps import BROADCAST_CAPS
from server.irc.dialect import IrcDialect
from server.irc.modes import CHANMODES
from server.irc.nicks import MAX_USER_CHARS, Idents

__all__ = ["MAX_TARGETS", "MAX_USERHOST", "NETWORK", "IrcDoor", "OpenBatches"]

NETWORK: Final = "termchat"
TOKENS_PER_LINE: Final = 13
"""RPL_ISUPPORT tokens per line (a reply has at most 15 parameters)."""
MAX_TARGETS: Final = 4
"""PRIVMSG and NOTICE targets per line (TARGMAX); more are refused (407, silently for NOTICE)."""
MAX_USERHOST: Final = 5
"""Nicks per USERHOST (TARGMAX); more are left out."""
MAX_OPEN_BATCHES: Final = 4096
"""Labeled batches remembered as open; the oldest is forgotten past this (its link died)."""


class OpenBatches:
    """Which labeled commands answered in parts have opened their batch. Thread-safe.

    A command of several parts (``PRIVMSG a,b``) opens its labeled-response
    batch with the first part that has something to say, and closes it with
    its last part; if no part said anything, the last part is an ACK instead.
    """

    def __init__(self, limit: int = MAX_OPEN_BATCHES) -> None:
        self._lock = threading.Lock()
        self._open: OrderedDict[int, None] = OrderedDict()
        self._limit = limit

    def open(self, serial: int) -> bool:
        """Mark the batch of command ``serial`` open; return whether it was not yet."""
        with self._lock:
            if serial in self._open:
                return False
            self._open[serial] = None
            if len(self._open) > self._limit:
                self._open.popitem(last=False)
            return True

    def close(self, serial: int) -> bool:
        """Forget the batch of command ``serial``; return whether it was open."""
        with self._lock:
            if serial not in self._open:
                return False
            del self._open[serial]
            return True


class IrcDoor:
    """The IRC front door's shared parts. Thread-safe."""

    def __init__(self, server_name: str, motd: str | None = None,
                 max_channels: int = 50, network: str = NETWORK) -> None:
        self.server_name = server_name
        self.network = network
        self.motd = motd
        self.max_channels = max_channels
        self.version = f"termchat-{VERSION}"
        self.created = time.time()
        self.idents = Idents()
        self.batches = OpenBatches()
        self._serials = itertools.count(1)
        self._dialects: dict[frozenset[str], IrcDialect] = {}
        self._lock = threading.Lock()

    def next_serial(self) -> int:
        """Number a command; unique across connections, so its open batch is its alone."""
        with self._lock:
            return next(self._serials)

    def dialect(self, caps: frozenset[str] | set[str]) -> IrcDialect:
        """Return the dialect for a connection with ``caps`` enabled (shared per set)."""
        key = frozenset(caps) & BROADCAST_CAPS
        with self._lock:
            dialect = self._dialects.get(key)
            if dialect is None:
                dialect = self._dialects[key] = IrcDialect(self, key)
            return dialect

    def isupport(self) -> list[list[str]]:
        """The RPL_ISUPPORT tokens, in lines of at most 13."""
        tokens = [
            f"AWAYLEN={MAX_REASON_CHARS}", "CASEMAPPING=rfc8265",
            f"CHANLIMIT=#:{self.max_channels}", f"CHANMODES={CHANMODES}",
            f"CHANNELLEN={MAX_CHANNEL_CHARS + 1}", "CHANTYPES=#",
            f"CHATHISTORY={MAX_HISTORY_LIMIT}", "CLIENTTAGDENY=*", "ELIST=MNU",
            "MSGREFTYPES=msgid,timestamp", f"NETWORK={self.network}",
            f"NICKLEN={MAX_NICK_CHARS}", "PREFIX=(o)@",
            f"TARGMAX=PRIVMSG:{MAX_TARGETS},NOTICE:{MAX_TARGETS},NAMES:1,WHOIS:1,"
            f"USERHOST:{MAX_USERHOST},ISON:",
            f"TOPICLEN={MAX_TOPIC_CHARS}", f"USERLEN={MAX_USER_CHARS + 1}", "UTF8ONLY",
            "WHOX",
        ]
        return [tokens[i:i + TOKENS_PER_LINE] for i in range(0, len(tokens), TOKENS_PER_LINE)]

    def motd_lines(self) -> list[str]:
        """The message of the day, line by line (none: no MOTD)."""
        return self.motd.splitlines() if self.motd else []
