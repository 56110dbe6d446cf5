"""Lines a session makes itself, delivered through the hub in line with everything else.

An :class:`IrcReply` goes to the hub's ``reply`` like any answer, so it keeps
its place among the events the link is due and gets the request's label. A
parameter equal to :data:`CLIENT` becomes the recipient's nick when sent (the
session cannot know its nick for sure: a rename may be on its way), and a
line without a source comes from the server.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Final

from server.hub import Internal
from server.irc.lines import Line

__all__ = ["CLIENT", "IrcReply"]

CLIENT: Final = "\0client"
"""Stands for the recipient's nick in an :class:`IrcReply` (NUL is never in a real one)."""


@dataclasses.dataclass(frozen=True, slots=True)
class IrcReply(Internal):
    """IRC lines a session formatted; JSON Lines sends nothing for them."""

    TYPE: ClassVar[str] = "irc_reply"
    lines: list[Line]
