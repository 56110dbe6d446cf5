"""IRCv3 capability negotiation (CAP LS, LIST, REQ, END) as a pure state machine.

:class:`CapNegotiation` keeps what one connection negotiated and returns the
parameters of every reply; the session sends them. Registration waits while a
negotiation is open (a ``CAP LS`` or ``CAP REQ`` before registering, until
``CAP END``). The capabilities never change while the server runs, so
cap-notify never has a ``NEW`` or ``DEL`` to send. Not thread-safe: one per
session, used by its reader thread.
"""

from __future__ import annotations

from typing import Final

__all__ = ["BROADCAST_CAPS", "CAPABILITIES", "CapNegotiation"]

CAPABILITIES: Final[dict[str, str]] = {
    "batch": "",
    "cap-notify": "",
    "draft/chathistory": "",
    "echo-message": "",
    "labeled-response": "",
    "message-tags": "",
    "multi-prefix": "",
    "sasl": "PLAIN",
    "server-time": "",
    "userhost-in-names": "",
}
"""Every capability offered, with its value for CAP LS 302."""

BROADCAST_CAPS: Final = frozenset({"echo-message", "message-tags", "server-time"})
"""The capabilities that change what a link gets of everyone's events (its dialect)."""

MAX_LS_CHARS: Final = 380
"""Capabilities per line of a multi-line CAP LS 302 reply, in characters."""


class CapNegotiation:
    """What one connection asked for and was granted."""

    def __init__(self) -> None:
        self.version = 0
        """301 for a plain ``CAP LS``, 302 (or more) when the client said so."""
        self.enabled: set[str] = set()
        self.negotiating = False
        """True from a CAP LS or REQ before registration until CAP END."""

    def ls(self, version: str | None) -> list[list[str]]:
        """Answer ``CAP LS [version]``: the parameters after ``CAP <nick>`` of each line."""
        try:
            asked = int(version) if version else 301
        except ValueError:
            asked = 301
        self.version = max(self.version, asked)
        if self.version >= 302:
            self.enabled.add("cap-notify")
            words = [f"{n}={v}" if v else n for n, v in CAPABILITIES.items()]
        else:
            words = list(CAPABILITIES)
        if self.version < 302:
            return [["LS", " ".join(words)]]
        chunks: list[list[str]] = [[]]
        for word in words:
            if chunks[-1] and len(" ".join([*chunks[-1], word])) > MAX_LS_CHARS:
                chunks.append([])
            chunks[-1].append(word)
        return [["LS", "*", " ".join(c)] for c in chunks[:-1]] + [["LS", " ".join(chunks[-1])]]

    def listing(self) -> list[str]:
        """Answer ``CAP LIST``."""
        return ["LIST", " ".join(sorted(self.enabled))]

    def request(self, text: str) -> list[str]:
        """Answer ``CAP REQ :text``: ACK and apply all of it, or NAK and change nothing."""
        names = text.split()
        wanted = set(self.enabled)
        for name in names:
            removing = name.startswith("-")
            cap = name[1:] if removing else name
            if cap not in CAPABILITIES or (removing and cap == "cap-notify"
                                            and self.version >= 302):
                return ["NAK", text]
            if removing:
                wanted.discard(cap)
            else:
                wanted.add(cap)
        if not names:
            return ["NAK", text]
        self.enabled = wanted
        return ["ACK", text]

    def has(self, cap: str) -> bool:
        return cap in self.enabled

    def broadcast_set(self) -> frozenset[str]:
        """The enabled capabilities that decide the connection's dialect."""
        return frozenset(self.enabled & BROADCAST_CAPS)
