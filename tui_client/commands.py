"""Turn a line the user typed into a command: a frame to send or a local action.

Pure: nothing is sent here. Both the full-screen and the plain client use
:func:`parse_input`; carrying the command out is left to them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from protocol import ClientFrame, Msg, Nick, ProtocolError, Say, Who

__all__ = [
    "HELP_LINES",
    "Command",
    "CommandError",
    "LocalAction",
    "QuitCommand",
    "SendFrame",
    "parse_input",
]

HELP_LINES: Final = (
    "Commands:",
    "  /nick NEW        change your nick",
    "  /me TEXT         send an action (* you TEXT)",
    "  /msg NICK TEXT   send a private message",
    "  /who             list who is online",
    "  /roster          show or hide the roster (F2)",
    "  /clear           clear the message pane",
    "  /bell            turn the bell on mentions on or off",
    "  /quit [reason]   leave (or type: exit)",
    "  //text           send text starting with a slash",
    "Keys: PgUp/PgDn scroll, End back to live, Tab completes nicks, Up/Down recall.",
)


@dataclass(frozen=True, slots=True)
class SendFrame:
    """Send this frame to the server."""

    frame: ClientFrame


@dataclass(frozen=True, slots=True)
class LocalAction:
    """Do something in the client only: ``roster``, ``clear``, ``help`` or ``bell``."""

    name: str


@dataclass(frozen=True, slots=True)
class QuitCommand:
    """Leave the chat."""

    reason: str | None = None


@dataclass(frozen=True, slots=True)
class CommandError:
    """The line could not be used; ``message`` says why (shown locally)."""

    message: str


Command = SendFrame | LocalAction | QuitCommand | CommandError


def _nick(arg: str) -> Command:
    if not arg or " " in arg:
        return CommandError("Usage: /nick NEW")
    return SendFrame(Nick(arg))


def _me(arg: str) -> Command:
    if not arg:
        return CommandError("Usage: /me TEXT")
    return SendFrame(Say(arg, action=True))


def _msg(arg: str) -> Command:
    to, _, text = arg.partition(" ")
    if not to or not text.strip():
        return CommandError("Usage: /msg NICK TEXT")
    return SendFrame(Msg(to, text))


def _quit(arg: str) -> Command:
    return QuitCommand(arg or None)


def _local(name: str) -> Callable[[str], Command]:
    return lambda _arg: LocalAction(name)


_COMMANDS: Final[dict[str, Callable[[str], Command]]] = {
    "nick": _nick,
    "me": _me,
    "msg": _msg,
    "who": lambda _arg: SendFrame(Who()),
    "roster": _local("roster"),
    "clear": _local("clear"),
    "help": _local("help"),
    "bell": _local("bell"),
    "quit": _quit,
    "exit": _quit,
}


def parse_input(line: str) -> Command | None:
    """Return the command for a typed line, or None for an empty line."""
    if not line.strip():
        return None
    if line.strip() == "exit":
        return QuitCommand()
    try:
        if line.startswith("//"):
            return SendFrame(Say(line[1:]))
        if not line.startswith("/"):
            return SendFrame(Say(line))
        name, _, arg = line[1:].partition(" ")
        handler = _COMMANDS.get(name.lower())
        if handler is None:
            return CommandError(f"Unknown command /{name}; type /help for the list.")
        return handler(arg.strip())
    except ProtocolError as exc:
        return CommandError(str(exc))
