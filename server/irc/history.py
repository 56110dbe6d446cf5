"""CHATHISTORY requests (IRCv3 draft/chathistory) as pages of the chat's history.

Pure code. :func:`parse_chathistory` turns ``CHATHISTORY <subcommand> <target>
...`` into the :class:`~server.hub.Span` pages the hub reads: LATEST, BEFORE,
AFTER and BETWEEN are one page each, AROUND two (the messages before the
reference, then it and those after). References are ``*``, ``msgid=<our id>``
or ``timestamp=<server-time>``; a timestamp stands for every message shown
with that millisecond (see ``server.irc.dialect.time_ms``), so BEFORE and
AFTER a message's own time leave that message out, as its id would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from server.hub import Span
from server.irc.dialect import parse_time

__all__ = ["BadHistoryRequest", "HistoryPage", "HistoryRequest", "parse_chathistory"]

SUBCOMMANDS = ("LATEST", "BEFORE", "AFTER", "AROUND", "BETWEEN")


class BadHistoryRequest(Exception):
    """A CHATHISTORY request that cannot be served: FAIL CHATHISTORY <code> ..."""

    def __init__(self, code: str, subcommand: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.subcommand = subcommand
        self.message = message


@dataclass(frozen=True, slots=True)
class HistoryPage:
    span: Span
    limit: int


@dataclass(frozen=True, slots=True)
class HistoryRequest:
    subcommand: str
    target: str
    pages: list[HistoryPage]


@dataclass(frozen=True, slots=True)
class _Ref:
    """A point in a history: a message id, or a time in milliseconds (None: now)."""

    msgid: int | None = None
    ms: int | None = None

    def after(self) -> dict[str, Any]:
        """Span bounds for "newer than this point"."""
        if self.msgid is not None:
            return {"after_id": self.msgid}
        if self.ms is not None:
            return {"after_ts": math.nextafter((self.ms + 1) / 1000, -math.inf)}
        return {}

    def from_here(self) -> dict[str, Any]:
        """Span bounds for "this point and newer"."""
        if self.msgid is not None:
            return {"after_id": self.msgid - 1}
        if self.ms is not None:
            return {"after_ts": math.nextafter(self.ms / 1000, -math.inf)}
        return {}

    def before(self) -> dict[str, Any]:
        """Span bounds for "older than this point"."""
        if self.msgid is not None:
            return {"before_id": self.msgid}
        if self.ms is not None:
            return {"before_ts": self.ms / 1000}
        return {}

    def earlier_than(self, other: _Ref) -> bool:
        if self.msgid is not None and other.msgid is not None:
            return self.msgid < other.msgid
        if self.ms is not None and other.ms is not None:
            return self.ms < other.ms
        return True  # an id and a time cannot be compared here: take them in order


def parse_chathistory(params: tuple[str, ...], max_limit: int) -> HistoryRequest:
    """Return the pages a CHATHISTORY request asks for, or raise BadHistoryRequest."""
    subcommand = params[0].upper() if params else "*"
    if subcommand not in SUBCOMMANDS:
        raise BadHistoryRequest("INVALID_PARAMS", subcommand,
                                f"Unknown CHATHISTORY subcommand; use one of "
                                f"{', '.join(SUBCOMMANDS)}.")
    wanted = 5 if subcommand == "BETWEEN" else 4
    if len(params) < wanted:
        raise BadHistoryRequest("INVALID_PARAMS", subcommand, "Not enough parameters.")
    target = params[1]
    limit = _limit(params[wanted - 1], subcommand, max_limit)
    first = _ref(params[2], subcommand, star=subcommand == "LATEST")
    if subcommand == "LATEST":
        pages = [HistoryPage(Span(**first.after(), newest=True), limit)]
    elif subcommand == "BEFORE":
        pages = [HistoryPage(Span(**first.before(), newest=True), limit)]
    elif subcommand == "AFTER":
        pages = [HistoryPage(Span(**first.after(), newest=False), limit)]
    elif subcommand == "BETWEEN":
        second = _ref(params[3], subcommand)
        if first.earlier_than(second):
            pages = [HistoryPage(Span(**first.after(), **second.before(), newest=False), limit)]
        else:
            pages = [HistoryPage(Span(**second.after(), **first.before(), newest=True), limit)]
    else:
        older = (limit - 1) // 2
        pages = [HistoryPage(Span(**first.from_here(), newest=False), limit - older)]
        if older:
            pages.insert(0, HistoryPage(Span(**first.before(), newest=True), older))
    return HistoryRequest(subcommand, target, pages)


def _limit(text: str, subcommand: str, max_limit: int) -> int:
    if not text.isdigit() or int(text) < 1:
        raise BadHistoryRequest("INVALID_PARAMS", subcommand, "The limit must be 1 or more.")
    return min(int(text), max_limit)


def _ref(text: str, subcommand: str, star: bool = False) -> _Ref:
    if text == "*" and star:
        return _Ref()
    kind, _, value = text.partition("=")
    if kind == "msgid":
        number = value.split("-", 1)[0]
        if number.isdigit():
            return _Ref(msgid=int(number))
    elif kind == "timestamp":
        ms = parse_time(value)
        if ms is not None:
            return _Ref(ms=ms)
    raise BadHistoryRequest("INVALID_PARAMS", subcommand,
                            "A reference is msgid=<id> or timestamp=<time>"
                            + (" or *." if star else "."))
