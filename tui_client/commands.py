"""Turn a line the user typed into a command, from the one table of commands.

Pure: nothing is sent and no state changes here. :data:`COMMANDS` lists every
command once with its usage, its help and its parser; :func:`parse_input`, the
help text (:func:`help_lines`) and both clients read it. A command is a value
that says what was asked (:class:`SendText`, :class:`JoinCommand` ...); which
buffer or channel it applies to is decided when it is carried out, by
:mod:`tui_client.actions`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from protocol import (
    ClientFrame,
    ListChannels,
    Nick,
    ProtocolError,
    validate_channel,
    validate_nick,
    validate_text,
)

__all__ = [
    "COMMANDS",
    "CloseCommand",
    "Command",
    "CommandError",
    "CommandSpec",
    "JoinCommand",
    "LocalAction",
    "NamesCommand",
    "PartCommand",
    "PrivateCommand",
    "QuitCommand",
    "SendFrame",
    "SendText",
    "TopicCommand",
    "WhoCommand",
    "help_lines",
    "parse_input",
]

TOPIC_CLEAR: Final = "-delete"
"""``/topic -delete`` clears the topic (as in WeeChat)."""


@dataclass(frozen=True, slots=True)
class SendText:
    """Say ``text`` in the current buffer (a channel, or privately in a query buffer)."""

    text: str
    action: bool = False


@dataclass(frozen=True, slots=True)
class SendFrame:
    """Send this frame to the server; it needs no buffer."""

    frame: ClientFrame


@dataclass(frozen=True, slots=True)
class PrivateCommand:
    """Open (``switch``: and show) the private buffer with ``nick``; send ``text`` if any."""

    nick: str
    text: str | None = None
    switch: bool = False


@dataclass(frozen=True, slots=True)
class JoinCommand:
    """Enter ``channel``, or switch to it when we are in it already."""

    channel: str


@dataclass(frozen=True, slots=True)
class PartCommand:
    """Leave the current channel."""

    reason: str | None = None


@dataclass(frozen=True, slots=True)
class TopicCommand:
    """Show the current channel's topic (``text`` None), set it, or clear it (``""``)."""

    text: str | None = None


@dataclass(frozen=True, slots=True)
class CloseCommand:
    """Close the current buffer (leaving its channel first)."""


@dataclass(frozen=True, slots=True)
class NamesCommand:
    """List the current channel's members, as the client knows them."""


@dataclass(frozen=True, slots=True)
class WhoCommand:
    """Ask the server who is in the current channel."""


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


Command = (
    SendText
    | SendFrame
    | PrivateCommand
    | JoinCommand
    | PartCommand
    | TopicCommand
    | CloseCommand
    | NamesCommand
    | WhoCommand
    | LocalAction
    | QuitCommand
    | CommandError
)


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One command: its name, how to call it, what it does, and its parser.

    ``parse`` gets the text after the name, stripped. ``full_screen_only``
    commands mean nothing in the plain client and are left out of its help.
    """

    name: str
    usage: str
    summary: str
    parse: Callable[[str], Command]
    full_screen_only: bool = False


def _usage(name: str) -> CommandError:
    return CommandError(f"Usage: {COMMANDS[name].usage}")


def _nick(arg: str) -> Command:
    if not arg or " " in arg:
        return _usage("nick")
    return SendFrame(Nick(arg))


def _me(arg: str) -> Command:
    if not arg:
        return _usage("me")
    return SendText(validate_text(arg), action=True)


def _msg(arg: str) -> Command:
    to, _, text = arg.partition(" ")
    if not to or not text.strip():
        return _usage("msg")
    return PrivateCommand(validate_nick(to), validate_text(text))


def _query(arg: str) -> Command:
    to, _, text = arg.partition(" ")
    if not to:
        return _usage("query")
    return PrivateCommand(validate_nick(to), validate_text(text) if text.strip() else None, True)


def _join(arg: str) -> Command:
    if not arg or " " in arg:
        return _usage("join")
    return JoinCommand(validate_channel(arg))


def _part(arg: str) -> Command:
    return PartCommand(arg or None)


def _topic(arg: str) -> Command:
    if arg == TOPIC_CLEAR:
        return TopicCommand("")
    return TopicCommand(arg or None)


def _quit(arg: str) -> Command:
    return QuitCommand(arg or None)


def _no_args(command: Command) -> Callable[[str], Command]:
    return lambda _arg: command


_SPECS: Final = (
    CommandSpec("join", "/join #CHANNEL", "enter a channel (or switch to it)", _join),
    CommandSpec("part", "/part [reason]", "leave the current channel", _part),
    CommandSpec(
        "topic",
        "/topic [text]",
        f"show or set the channel's topic ({TOPIC_CLEAR} clears it)",
        _topic,
    ),
    CommandSpec("list", "/list", "list the channels that have people in them",
                _no_args(SendFrame(ListChannels()))),
    CommandSpec("names", "/names", "list who is in the current channel",
                _no_args(NamesCommand())),
    CommandSpec("who", "/who", "ask the server who is in the current channel",
                _no_args(WhoCommand())),
    CommandSpec("msg", "/msg NICK TEXT", "send a private message (into NICK's buffer)", _msg),
    CommandSpec("query", "/query NICK [text]", "open a private buffer with NICK", _query),
    CommandSpec("close", "/close", "close the current buffer (leaving its channel)",
                _no_args(CloseCommand())),
    CommandSpec("me", "/me TEXT", "send an action (* you TEXT)", _me),
    CommandSpec("nick", "/nick NEW", "change your nick", _nick),
    CommandSpec("roster", "/roster", "show or hide the roster (F2)",
                _no_args(LocalAction("roster")), full_screen_only=True),
    CommandSpec("clear", "/clear", "clear the current buffer", _no_args(LocalAction("clear")),
                full_screen_only=True),
    CommandSpec("bell", "/bell", "turn the bell on mentions on or off",
                _no_args(LocalAction("bell"))),
    CommandSpec("help", "/help", "show this help", _no_args(LocalAction("help"))),
    CommandSpec("quit", "/quit [reason]", "leave the chat (or type: exit)", _quit),
)
COMMANDS: Final[dict[str, CommandSpec]] = {spec.name: spec for spec in _SPECS}
EXIT_WORD: Final = "exit"
SLASH_TEXT_USAGE: Final = ("//text", "send text that starts with a slash")


def help_lines(full_screen: bool, keys: list[tuple[str, str]] | None = None) -> list[str]:
    """Return the help: every command (of this mode), then the given keys."""
    rows = [(s.usage, s.summary) for s in _SPECS if full_screen or not s.full_screen_only]
    rows.append(SLASH_TEXT_USAGE)
    width = max(len(usage) for usage, _ in rows) + 2
    lines = ["Commands (plain text goes to the current buffer):"]
    lines += [f"  {usage:<{width}}{summary}" for usage, summary in rows]
    if keys:
        key_width = max(len(label) for label, _ in keys) + 2
        lines.append("Keys:")
        lines += [f"  {label:<{key_width}}{text}" for label, text in keys]
    return lines


def parse_input(line: str) -> Command | None:
    """Return the command for a typed line, or None for an empty line."""
    if not line.strip():
        return None
    if line.strip() == EXIT_WORD:
        return QuitCommand()
    try:
        if line.startswith("//"):
            return SendText(validate_text(line[1:]))
        if not line.startswith("/"):
            return SendText(validate_text(line))
        name, _, arg = line[1:].partition(" ")
        spec = COMMANDS.get(name.lower())
        if spec is None:
            return CommandError(f"Unknown command /{name}; type /help for the list.")
        return spec.parse(arg.strip())
    except ProtocolError as exc:
        return CommandError(exc.message)
