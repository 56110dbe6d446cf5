"""Turn a line the user typed into a command, from the one table of commands.

Pure: nothing is sent and no state changes here. :data:`COMMANDS` lists every
command once with its usage, its help and its parser; :func:`parse_input`, the
help text (:func:`help_lines`) and both clients read it. A command is a value
that says what was asked (:class:`SendText`, :class:`JoinCommand` ...); which
buffer or channel it applies to is decided when it is carried out, by
:mod:`tui_client.actions`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from protocol import (
    BanUser,
    ClientFrame,
    DeopUser,
    InviteUser,
    KickUser,
    KillUser,
    ListChannels,
    Nick,
    OpUser,
    ProtocolError,
    SetMode,
    UnbanUser,
    WhoisQuery,
    validate_channel,
    validate_nick,
    validate_text,
)
from tui_client.secret import Purpose

__all__ = [
    "COMMANDS",
    "AskSecret",
    "ChannelRequest",
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
    "ShowModes",
    "TopicCommand",
    "WhoCommand",
    "help_lines",
    "keeps_history",
    "parse_input",
]

TOPIC_CLEAR: Final = "-delete"
"""``/topic -delete`` clears the topic (as in WeeChat)."""
SERVER_WIDE: Final = "-server"
"""``/ban -server NICK``: an admin's ban of the whole server, not of the current channel."""
BY_ADDRESS: Final = "-address"
"""``/ban -address NICK``: ban the user's address too."""
_DURATION: Final = re.compile(r"(\d{1,7})([mhd]?)")
_MINUTES_PER: Final = {"": 1, "m": 1, "h": 60, "d": 24 * 60}
_MODE_FLAGS: Final = {"t": "topic_lock", "i": "invite_only"}


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
class ChannelRequest:
    """Send a ``kind`` frame about the current channel (or ``channel``), with ``fields``.

    The frame is built when the channel is known: ``kind(channel=..., **fields)``.
    """

    kind: Callable[..., ClientFrame]
    fields: tuple[tuple[str, Any], ...] = ()
    channel: str | None = None

    def frame(self, channel: str) -> ClientFrame:
        """Return the frame for ``channel``; raises ProtocolError if its rules refuse it."""
        return self.kind(channel=channel, **dict(self.fields))


@dataclass(frozen=True, slots=True)
class ShowModes:
    """Say which modes the current channel has."""


@dataclass(frozen=True, slots=True)
class AskSecret:
    """Ask for a password (masked) for ``purpose`` (a ``Purpose``) about ``nick`` (None: ours)."""

    purpose: str
    nick: str | None = None


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
    | ChannelRequest
    | ShowModes
    | AskSecret
    | LocalAction
    | QuitCommand
    | CommandError
)


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One command: its name, how to call it, what it does, and its parser.

    ``parse`` gets the text after the name, stripped. ``full_screen_only``
    commands mean nothing in the plain client and are left out of its help;
    ``private`` ones are not remembered in the input history.
    """

    name: str
    usage: str
    summary: str
    parse: Callable[[str], Command]
    full_screen_only: bool = False
    private: bool = False
    """The line is never kept in the input history: it might hold a password by mistake."""


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


# Accounts: the password is never an argument; it is asked for, masked.


def _secret(name: str, purpose: str) -> Callable[[str], Command]:
    def parse(arg: str) -> Command:
        if arg:
            return CommandError(f"Usage: {COMMANDS[name].usage} (the password is asked for "
                                "next, without echo; never type it on the command line)")
        return AskSecret(purpose)

    return parse


def _identify(arg: str) -> Command:
    if " " in arg:
        return CommandError(f"Usage: {COMMANDS['identify'].usage} (the password is asked for "
                            "next, without echo; never type it on the command line)")
    return AskSecret(Purpose.IDENTIFY, validate_nick(arg) if arg else None)


def _whois(arg: str) -> Command:
    if not arg or " " in arg:
        return _usage("whois")
    return SendFrame(WhoisQuery(arg))


# Moderation.


def _nick_and_rest(name: str, arg: str) -> tuple[str, str] | CommandError:
    nick, _, rest = arg.partition(" ")
    if not nick:
        return _usage(name)
    return validate_nick(nick), rest.strip()


def _flags(arg: str, allowed: tuple[str, ...]) -> tuple[set[str], str]:
    """Split leading ``-flags`` off ``arg``; return those found and the rest."""
    found: set[str] = set()
    words = arg.split(" ")
    while words and words[0] in allowed:
        found.add(words.pop(0))
    return found, " ".join(words).strip()


def _minutes(word: str) -> int | None:
    """Return the minutes a duration means (``30``, ``2h``, ``1d``), or None if it is not one."""
    match = _DURATION.fullmatch(word)
    if match is None:
        return None
    return int(match.group(1)) * _MINUTES_PER[match.group(2)]


def _kick(arg: str) -> Command:
    parsed = _nick_and_rest("kick", arg)
    if isinstance(parsed, CommandError):
        return parsed
    nick, reason = parsed
    return ChannelRequest(KickUser, (("nick", nick), ("reason", reason or None)))


def _ban(arg: str) -> Command:
    flags, arg = _flags(arg, (SERVER_WIDE, BY_ADDRESS))
    parsed = _nick_and_rest("ban", arg)
    if isinstance(parsed, CommandError):
        return parsed
    nick, rest = parsed
    first, _, after = rest.partition(" ")
    minutes = _minutes(first)
    reason = after.strip() if minutes is not None else rest
    address = BY_ADDRESS in flags
    if SERVER_WIDE in flags:
        return SendFrame(BanUser(nick, None, minutes, reason or None, address))
    fields = (("nick", nick), ("minutes", minutes), ("reason", reason or None),
              ("address", address))
    return ChannelRequest(BanUser, fields)


def _unban(arg: str) -> Command:
    flags, arg = _flags(arg, (SERVER_WIDE,))
    if not arg or " " in arg:
        return _usage("unban")
    if SERVER_WIDE in flags:
        return SendFrame(UnbanUser(arg))
    return ChannelRequest(UnbanUser, (("nick", validate_nick(arg)),))


def _op(name: str, kind: Callable[..., ClientFrame]) -> Callable[[str], Command]:
    def parse(arg: str) -> Command:
        if not arg or " " in arg:
            return _usage(name)
        return ChannelRequest(kind, (("nick", validate_nick(arg)),))

    return parse


def _invite(arg: str) -> Command:
    words = arg.split()
    if not 1 <= len(words) <= 2:
        return _usage("invite")
    channel = validate_channel(words[1]) if len(words) == 2 else None
    return ChannelRequest(InviteUser, (("nick", validate_nick(words[0])),), channel)


def _mode(arg: str) -> Command:
    """Parse ``+t``, ``-i``, ``+ti``, ``+t -i`` ...; nothing shows the modes."""
    if not arg:
        return ShowModes()
    changes: dict[str, bool] = {}
    for word in arg.split():
        if len(word) < 2 or word[0] not in "+-" or any(c not in _MODE_FLAGS for c in word[1:]):
            return _usage("mode")
        for letter in word[1:]:
            changes[_MODE_FLAGS[letter]] = word[0] == "+"
    return ChannelRequest(SetMode, tuple(sorted(changes.items())))


def _kill(arg: str) -> Command:
    parsed = _nick_and_rest("kill", arg)
    if isinstance(parsed, CommandError):
        return parsed
    nick, reason = parsed
    return SendFrame(KillUser(nick, reason or None))


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
    CommandSpec("whois", "/whois NICK", "ask about a user: account, channels, idle, away",
                _whois),
    CommandSpec("register", "/register", "own your nick: asks for a new password (twice)",
                _secret("register", Purpose.REGISTER), private=True),
    CommandSpec("identify", "/identify [NICK]",
                "prove you own NICK (default: yours) with its password; you become NICK",
                _identify, private=True),
    CommandSpec("password", "/password", "change your nick's password (asks old, then new)",
                _secret("password", Purpose.PASSWORD), private=True),
    CommandSpec("unregister", "/unregister", "give your nick up (asks its password)",
                _secret("unregister", Purpose.UNREGISTER), private=True),
    CommandSpec("kick", "/kick NICK [reason]", "(operator) put NICK out of this channel", _kick),
    CommandSpec(
        "ban",
        f"/ban [{SERVER_WIDE}] [{BY_ADDRESS}] NICK [TIME] [reason]",
        f"(operator) keep NICK out of this channel for TIME minutes (or 2h, 1d; none: until "
        f"/unban); {BY_ADDRESS} bans their address too, {SERVER_WIDE} the whole server (admin)",
        _ban,
    ),
    CommandSpec("unban", f"/unban [{SERVER_WIDE}] NICK", "(operator) lift a ban", _unban),
    CommandSpec("op", "/op NICK", "(operator) make NICK an operator here (identified users)",
                _op("op", OpUser)),
    CommandSpec("deop", "/deop NICK", "(operator) take the operator's role from NICK",
                _op("deop", DeopUser)),
    CommandSpec("mode", "/mode [+t|-t] [+i|-i]",
                "(operator) +t: only operators set the topic; +i: invite-only; none: show",
                _mode),
    CommandSpec("invite", "/invite NICK [#CHANNEL]",
                "let NICK into this (or that) invite-only channel", _invite),
    CommandSpec("kill", "/kill NICK [reason]", "(admin) close NICK's connection", _kill),
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
HELP_USAGE_COLS: Final = 24
"""Usages longer than this stand on a line of their own in the help."""
SLASH_TEXT_USAGE: Final = ("//text", "send text that starts with a slash")


def help_lines(full_screen: bool, keys: list[tuple[str, str]] | None = None) -> list[str]:
    """Return the help: every command (of this mode), then the given keys."""
    rows = [(s.usage, s.summary) for s in _SPECS if full_screen or not s.full_screen_only]
    rows.append(SLASH_TEXT_USAGE)
    width = max(len(usage) for usage, _ in rows if len(usage) <= HELP_USAGE_COLS) + 2
    lines = ["Commands (plain text goes to the current buffer):"]
    for usage, summary in rows:
        if len(usage) > HELP_USAGE_COLS:  # a long usage gets a line of its own
            lines += [f"  {usage}", f"  {'':<{width}}{summary}"]
        else:
            lines.append(f"  {usage:<{width}}{summary}")
    if keys:
        key_width = max(len(label) for label, _ in keys) + 2
        lines.append("Keys:")
        lines += [f"  {label:<{key_width}}{text}" for label, text in keys]
    return lines


def keeps_history(line: str) -> bool:
    """Tell whether a typed line may be kept in the input history (not a private command)."""
    if not line.startswith("/") or line.startswith("//"):
        return True
    spec = COMMANDS.get(_split_command(line)[0].lower())
    return spec is None or not spec.private


def _split_command(line: str) -> tuple[str, str]:
    """Split ``/name args`` at the first white space (a pasted newline too)."""
    name, *rest = re.split(r"\s", line[1:], maxsplit=1)
    return name, rest[0] if rest else ""


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
        name, arg = _split_command(line)
        spec = COMMANDS.get(name.lower())
        if spec is None:
            return CommandError(f"Unknown command /{name}; type /help for the list.")
        return spec.parse(arg.strip())
    except ProtocolError as exc:
        return CommandError(exc.message)
