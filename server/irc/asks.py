"""What an IRC request asked, carried to its answer in the hub's tag.

The hub answers every request of an IRC session as one tagged answer; the tag
is an :class:`Ask` in a string, so the dialect can spell that answer the way
the command calls for (an error of PART is 442, of PRIVMSG 404, none at all
of NOTICE), echo what the client typed (WHO's mask, CHATHISTORY's target), and
apply the connection's answer-only capabilities (labeled-response, batch,
userhost-in-names). One command can take several hub requests (``JOIN
#a,#b``, ``CHATHISTORY AROUND``): each is one *part*, and the parts of one
command share its serial, so they make one labeled batch. Pure code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["Ask"]

_SEP: Final = "\0"  # never in an IRC line, so never in what a client typed


@dataclass(frozen=True, slots=True)
class Ask:
    """One part of one IRC command, as its answer needs to know it."""

    command: str
    arg: str = ""
    """What the client named (a target, a mask), as typed."""
    extra: str = ""
    """More of the request: WHOX fields, a CHATHISTORY subcommand."""
    serial: int = 0
    """The command's number on its connection: batch ids are made of it."""
    part: int = 1
    parts: int = 1
    flags: str = ""
    """The connection's answer capabilities: ``b`` batch, ``u`` userhost-in-names."""
    label: str | None = None
    """The labeled-response label, when the client sent one and negotiated it."""

    @property
    def first(self) -> bool:
        return self.part == 1

    @property
    def last(self) -> bool:
        return self.part == self.parts

    def has(self, flag: str) -> bool:
        return flag in self.flags

    def to_tag(self) -> str:
        fields = [self.command, self.arg, self.extra, str(self.serial), str(self.part),
                  str(self.parts), self.flags]
        if self.label is not None:
            fields.append(self.label)
        return _SEP.join(fields)

    @classmethod
    def from_tag(cls, tag: str | None) -> Ask:
        """Read an Ask back; a tag that is not one stands for no command in particular."""
        fields = (tag or "").split(_SEP, 7)
        if len(fields) < 7:
            return cls("*")
        command, arg, extra, serial, part, parts, flags = fields[:7]
        return cls(command, arg, extra, _int(serial), _int(part) or 1, _int(parts) or 1, flags,
                   fields[7] if len(fields) > 7 else None)


def _int(text: str) -> int:
    return int(text) if text.isdigit() else 0
