"""The IRC front door: irssi, WeeChat and IRC bots on the same hub as native clients.

``lines`` parses and spells IRC lines (pure), ``caps`` negotiates IRCv3
capabilities, ``text`` maps message texts, ``nicks`` maps nicks and keeps who
is who, ``history`` reads CHATHISTORY requests, ``numerics`` is the table of
numeric replies, ``dialect`` spells the hub's frames as IRC lines, ``door``
holds what all IRC connections share, and ``session`` is one connection's
reader thread. docs/IRC.md describes the mapping.
"""

from server.irc.door import IrcDoor
from server.irc.session import IrcSession

__all__ = ["IrcDoor", "IrcSession"]
