"""How the hub's frames read on an IRC connection: the IRC :class:`~server.hub.Dialect`.

Every frame becomes a list of :class:`~server.irc.lines.Line`; a table says
which function renders each frame type. Events everyone gets (messages, joins,
parts, quits, renames, topics) depend only on the dialect's broadcast
capabilities, so the hub encodes them once per dialect; answers to one
connection's requests are rendered with the :class:`~server.irc.asks.Ask` that
rides in their tag and then wrapped for labeled-response. Rendering is pure
but for the door's ident registry (thread-safe); a dialect object is shared
and may be used from any thread.
"""

from __future__ import annotations

import calendar
import math
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

from protocol import (
    Account,
    Bye,
    ByeReason,
    Channel,
    Channels,
    Error,
    ErrorCode,
    History,
    Invite,
    Join,
    Kick,
    Leave,
    LeaveReason,
    Message,
    Mode,
    Pong,
    Rename,
    Roster,
    ServerFrame,
    Topic,
    Welcome,
    Whois,
    nick_key,
)
from server.hub import (
    AwayNotice,
    AwaySet,
    Census,
    Departed,
    Presence,
    Quitted,
    Raw,
    Rejoined,
)
from server.irc.asks import Ask
from server.irc.lines import MAX_LINE_BYTES, Line
from server.irc.modes import USER_MODES, mode_string, parse_user_modes
from server.irc.nicks import is_mask, matches
from server.irc.numerics import NUMERICS, numeric
from server.irc.replies import CLIENT, IrcReply
from server.irc.text import format_out, split_utf8, to_irc

if TYPE_CHECKING:
    from server.irc.door import IrcDoor

__all__ = ["BYE_TEXTS", "IrcDialect", "iso_time", "motd", "parse_time", "time_ms"]

_NO_ASK: Final = Ask("*")
BYE_TEXTS: Final = {
    ByeReason.QUIT: "Quit",
    ByeReason.SERVER_SHUTDOWN: "Server shutting down",
    ByeReason.SLOW_CONSUMER: "SendQ exceeded",
    ByeReason.HELLO_TIMEOUT: "Registration timed out",
    ByeReason.REPLACED: "Replaced by a new connection",
    ByeReason.SERVER_FULL: "Server is full",
    ByeReason.IDLE_TIMEOUT: "Ping timeout",
    ByeReason.KILLED: "Killed",
    ByeReason.BANNED: "Banned from this server",
}
WHOX_FIELDS: Final = "tcuihsnfdlaor"
"""WHOX fields in the order a 354 reply gives them, whatever order they were asked in."""
HIDDEN_IP: Final = "255.255.255.255"


def time_ms(ts: float) -> int:
    """Return ``ts`` in whole milliseconds: the largest ``k`` with ``k / 1000 <= ts``.

    Defined through float comparison, so a bound of ``k / 1000`` splits the
    messages exactly as their shown times do (CHATHISTORY by timestamp).
    """
    k = math.floor(ts * 1000)
    if (k + 1) / 1000 <= ts:
        k += 1
    elif k / 1000 > ts:
        k -= 1
    return k


def iso_time(ts: float) -> str:
    """Return the server-time spelling of ``ts``: ``2024-05-01T12:00:00.123Z``."""
    seconds, millis = divmod(time_ms(ts), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def parse_time(text: str) -> int | None:
    """Return a server-time timestamp in milliseconds; None if it is not one."""
    try:
        whole, _, fraction = text.removesuffix("Z").partition(".")
        seconds = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None
    digits = (fraction + "000")[:3]
    return seconds * 1000 + int(digits) if digits.isdigit() else None


class IrcDialect:
    """IRC lines for a set of broadcast capabilities."""

    batches_presence = False
    """IRC clients are sent every JOIN and PART, in channels of any size."""

    def __init__(self, door: IrcDoor, caps: frozenset[str]) -> None:
        self.door = door
        self.caps = caps
        self.echoes = "echo-message" in caps
        self._time = "server-time" in caps
        self._tags = "message-tags" in caps

    def __repr__(self) -> str:
        return f"IrcDialect({sorted(self.caps)})"

    # The hub's side.

    def encode(self, frame: ServerFrame, nick: str | None = None, tag: str | None = None) -> bytes:
        return _serialize(self.render(frame, nick or "*", Ask.from_tag(tag) if tag else _NO_ASK))

    def encode_answer(self, frames: list[ServerFrame], nick: str, tag: str) -> bytes:
        ask = Ask.from_tag(tag)
        lines: list[Line | bytes] = []
        after: list[Line | bytes] = []
        for frame in frames:
            lines += self._render_answer(frame, nick, ask, after)
        return _serialize(self._labeled(lines, ask) + after)

    def render(self, frame: ServerFrame, nick: str, ask: Ask = _NO_ASK) -> list[Line | bytes]:
        """Return the lines of ``frame`` for the user ``nick``, answering ``ask``."""
        renderer = _RENDERERS.get(type(frame))
        if renderer is None:
            return []
        lines = list(renderer(self, frame, nick, ask))
        if isinstance(frame, Rename) and nick_key(frame.new) == nick_key(nick):
            self.door.idents.rename(frame.old, frame.new)  # our user, renamed: after its line
        return lines

    def _render_answer(self, frame: ServerFrame, nick: str, ask: Ask,
                       after: list[Line | bytes]) -> list[Line | bytes]:
        if isinstance(frame, Message) and frame.to is not None and self.echoes \
                and nick_key(frame.to) == nick_key(frame.sender) == nick_key(nick):
            after += self._message(frame)  # to oneself: the echo, then the delivery
        return self.render(frame, nick, ask)

    def _labeled(self, lines: list[Line | bytes], ask: Ask) -> list[Line | bytes]:
        """Wrap an answer for labeled-response: an ACK, one labeled line, or a batch.

        The parts of one command make one batch, opened by the first part with
        something to say; if none had anything, the last part is the ACK.
        """
        label = ask.label
        if label is None:
            return lines
        if ask.parts == 1 and not lines:
            return [self._ack(label)]
        if ask.parts == 1 and len(lines) == 1 and isinstance(lines[0], Line):
            return [lines[0].with_tags({"label": label})]
        batch = f"L{ask.serial}"
        inner: list[Line | bytes] = [
            line.with_tags({"batch": batch})
            if isinstance(line, Line) and "batch" not in line.tags else line
            for line in lines
        ]
        batches = self.door.batches
        if lines and (ask.parts == 1 or batches.open(ask.serial)):
            inner.insert(0, Line("BATCH", ("+" + batch, "labeled-response"),
                                 self.door.server_name, {"label": label}))
        if ask.parts == 1 or (ask.last and batches.close(ask.serial)):
            inner.append(Line("BATCH", ("-" + batch,), self.door.server_name))
        elif ask.last:
            inner.append(self._ack(label))
        return inner

    def _ack(self, label: str) -> Line:
        return Line("ACK", (), self.door.server_name, {"label": label})

    # Pieces.

    def _num(self, name: str, nick: str, *params: str, text: str | None = None) -> Line:
        """A numeric from the server to ``nick``; ``text`` replaces its usual sentence."""
        return numeric(name, nick, *params, text=text, source=self.door.server_name)

    def _event_tags(self, ts: float | None) -> dict[str, str]:
        return {"time": iso_time(ts)} if self._time and ts else {}

    def _mask(self, nick: str) -> str:
        return self.door.idents.mask(nick)

    def _message(self, message: Message) -> list[Line | bytes]:
        out = to_irc(message.text, message.action)
        command = "NOTICE" if out.notice else "PRIVMSG"
        target = message.channel or message.to or "*"
        source = self._mask(message.sender)
        budget = MAX_LINE_BYTES - 2 - len(f":{source} {command} {target} :".encode())
        pieces = [piece for text in out.lines for piece in split_utf8(text, budget)]
        lines: list[Line | bytes] = []
        for index, piece in enumerate(pieces):
            tags = self._event_tags(message.ts)
            if self._tags:
                tags["msgid"] = str(message.id) if index == 0 else f"{message.id}-{index + 1}"
            lines.append(Line(command, (target, piece), source, tags, trailing=True))
        return lines

    def _names(self, channel: str, nicks: Iterable[str], nick: str, ask: Ask,
               operators: Iterable[str] | None = None) -> list[Line | bytes]:
        """353 lines (as many as the names need) for ``channel``; no 366."""
        ops = {nick_key(n) for n in operators or ()}
        names = [("@" if nick_key(n) in ops else "") + (self._mask(n) if ask.has("u") else n)
                 for n in nicks]
        head = f":{self.door.server_name} 353 {nick} = {channel} :"
        budget = MAX_LINE_BYTES - 2 - len(head.encode())
        lines: list[Line | bytes] = []
        chunk: list[str] = []
        size = 0
        for name in names:
            extra = len(name.encode()) + (1 if chunk else 0)
            if chunk and size + extra > budget:
                lines.append(self._num("RPL_NAMREPLY", nick, "=", channel, text=" ".join(chunk)))
                chunk, size, extra = [], 0, len(name.encode())
            chunk.append(name)
            size += extra
        if chunk:
            lines.append(self._num("RPL_NAMREPLY", nick, "=", channel, text=" ".join(chunk)))
        return lines

    def _topic_lines(self, channel: str, nick: str, topic: str | None, by: str | None,
                     ts: float | None) -> list[Line | bytes]:
        if not topic:
            return [self._num("RPL_NOTOPIC", nick, channel)]
        lines: list[Line | bytes] = [self._num("RPL_TOPIC", nick, channel,
                                               text=format_out(topic))]
        if by:
            lines.append(self._num("RPL_TOPICWHOTIME", nick, channel, self._mask(by),
                                   str(int(ts or 0))))
        return lines

    def _who_line(self, user: Whois, channel: str, nick: str, whox: str,
                  operator: bool = False) -> Line:
        ident = self.door.idents.ident(user.nick)
        flags = ("G" if user.away is not None else "H") + ("@" if operator else "")
        if not whox:
            return self._num("RPL_WHOREPLY", nick, channel, ident.user, ident.host,
                             self.door.server_name, user.nick, flags, text=f"0 {ident.realname}")
        fields, _, token = whox.lstrip("%").partition(",")
        values = {
            "t": token or "0", "c": channel, "u": ident.user, "i": HIDDEN_IP, "h": ident.host,
            "s": self.door.server_name, "n": user.nick, "f": flags, "d": "0",
            "l": str(user.idle), "a": user.account or "0", "o": "n/a", "r": ident.realname,
        }
        params = [values[f] for f in WHOX_FIELDS if f in fields and (f != "t" or token)]
        if not params:
            params = ["*"]
        return Line(NUMERICS["RPL_WHOSPCRPL"].code, (nick, *params), self.door.server_name,
                    trailing="r" in fields)


# Renderers: (dialect, frame, recipient nick, ask) -> lines.

Renderer = Callable[[IrcDialect, Any, str, Ask], Iterable[Line | bytes]]


def _welcome(d: IrcDialect, frame: Welcome, nick: str, _ask: Ask) -> list[Line | bytes]:
    door = d.door
    created = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(door.created))
    lines: list[Line | bytes] = [
        d._num("RPL_WELCOME", nick, text=f"Welcome to the {door.network} IRC network, {nick}"),
        d._num("RPL_YOURHOST", nick, text=f"Your host is {door.server_name}, running version "
                                          f"{door.version}"),
        d._num("RPL_CREATED", nick, text=f"This server was created {created}"),
        d._num("RPL_MYINFO", nick, door.server_name, door.version, USER_MODES, "bint", "bo"),
    ]
    lines += [d._num("RPL_ISUPPORT", nick, *tokens) for tokens in door.isupport()]
    return lines


def _census(d: IrcDialect, frame: Census, nick: str, ask: Ask) -> list[Line | bytes]:
    lines: list[Line | bytes] = [
        d._num("RPL_LUSERCLIENT", nick,
               text=f"There are {frame.users} users and 0 invisible on 1 servers"),
        d._num("RPL_LUSERCHANNELS", nick, str(frame.channels)),
        d._num("RPL_LUSERME", nick, text=f"I have {frame.local} clients and 0 servers"),
        d._num("RPL_LOCALUSERS", nick, str(frame.local), str(frame.peak_local),
               text=f"Current local users {frame.local}, max {frame.peak_local}"),
        d._num("RPL_GLOBALUSERS", nick, str(frame.users), str(frame.peak_users),
               text=f"Current global users {frame.users}, max {frame.peak_users}"),
    ]
    if ask.command == "WELCOME":
        lines += motd(d.door, nick, d.door.server_name)
    return lines


def motd(door: IrcDoor, nick: str, source: str | None = None) -> list[Line | bytes]:
    """The MOTD numerics (375, 372 ..., 376), or 422 without one."""
    text = door.motd_lines()
    if not text:
        return [numeric("ERR_NOMOTD", nick, source=source)]
    return [
        numeric("RPL_MOTDSTART", nick, text=f"- {door.server_name} Message of the day - ",
                source=source),
        *(numeric("RPL_MOTD", nick, text=f"- {line}", source=source) for line in text),
        numeric("RPL_ENDOFMOTD", nick, source=source),
    ]


def _channel(d: IrcDialect, frame: Channel, nick: str, ask: Ask) -> list[Line | bytes]:
    lines: list[Line | bytes] = [
        Line("JOIN", (frame.name,), d._mask(nick), d._event_tags(time.time()))]
    if frame.topic:
        lines += d._topic_lines(frame.name, nick, frame.topic, frame.topic_by, frame.topic_ts)
    lines += d._names(frame.name, frame.roster, nick, ask, frame.operators)
    lines.append(d._num("RPL_ENDOFNAMES", nick, frame.name))
    return lines


def _message(d: IrcDialect, frame: Message, _nick: str, _ask: Ask) -> list[Line | bytes]:
    return d._message(frame)


def _join(d: IrcDialect, frame: Join, _nick: str, _ask: Ask) -> list[Line | bytes]:
    return [Line("JOIN", (frame.channel or "*",), d._mask(frame.nick), d._event_tags(frame.ts))]


def _leave(d: IrcDialect, frame: Leave, _nick: str, _ask: Ask) -> list[Line | bytes]:
    params: tuple[str, ...] = (frame.channel or "*",)
    if frame.reason and frame.reason != LeaveReason.PART:
        params += (format_out(frame.reason),)
    return [Line("PART", params, d._mask(frame.nick), d._event_tags(frame.ts),
                 trailing=len(params) > 1)]


def _quitted(d: IrcDialect, frame: Quitted, _nick: str, _ask: Ask) -> list[Line | bytes]:
    return [Line("QUIT", (format_out(frame.reason),), d._mask(frame.nick),
                 d._event_tags(frame.ts), trailing=True)]


def _rename(d: IrcDialect, frame: Rename, _nick: str, _ask: Ask) -> list[Line | bytes]:
    return [Line("NICK", (frame.new,), d._mask(frame.old), d._event_tags(frame.ts))]


def _topic(d: IrcDialect, frame: Topic, _nick: str, _ask: Ask) -> list[Line | bytes]:
    return [Line("TOPIC", (frame.channel, format_out(frame.text)), d._mask(frame.by),
                 d._event_tags(frame.ts), trailing=True)]


def _bye(d: IrcDialect, frame: Bye, _nick: str, _ask: Ask) -> list[Line | bytes]:
    why = BYE_TEXTS.get(frame.reason, frame.reason) + (f" ({frame.text})" if frame.text else "")
    return [Line("ERROR", (f"Closing link: {why}",), trailing=True)]


def _pong(d: IrcDialect, frame: Pong, _nick: str, _ask: Ask) -> list[Line | bytes]:
    server = d.door.server_name
    return [Line("PONG", (server, frame.token or server), server, trailing=True)]


def _raw(_d: IrcDialect, frame: Raw, _nick: str, _ask: Ask) -> list[Line | bytes]:
    return [frame.data]


def _reply(d: IrcDialect, frame: IrcReply, nick: str, _ask: Ask) -> list[Line | bytes]:
    server = d.door.server_name
    return [Line(line.command, tuple(nick if p == CLIENT else p for p in line.params),
                 line.source or server, line.tags, line.trailing) for line in frame.lines]


def _away_set(d: IrcDialect, frame: AwaySet, nick: str, _ask: Ask) -> list[Line | bytes]:
    return [d._num("RPL_UNAWAY" if frame.text is None else "RPL_NOWAWAY", nick)]


def _away_notice(d: IrcDialect, frame: AwayNotice, nick: str, ask: Ask) -> list[Line | bytes]:
    if ask.command == "NOTICE":
        return []
    return [d._num("RPL_AWAY", nick, frame.nick, text=format_out(frame.text))]


def _history(d: IrcDialect, frame: History, nick: str, ask: Ask) -> list[Line | bytes]:
    lines = [line for message in frame.messages for line in d._message(message)]
    if not ask.has("b"):
        return lines
    batch = f"H{ask.serial}"
    server = d.door.server_name
    out: list[Line | bytes] = []
    if ask.first:
        out.append(Line("BATCH", ("+" + batch, "chathistory", ask.arg), server))
    out += [line.with_tags({"batch": batch}) if isinstance(line, Line) else line
            for line in lines]
    if ask.last:
        out.append(Line("BATCH", ("-" + batch,), server))
    return out


def _channels(d: IrcDialect, frame: Channels, nick: str, ask: Ask) -> list[Line | bytes]:
    keep = _list_filter(ask.arg)
    lines: list[Line | bytes] = [d._num("RPL_LISTSTART", nick, "Channel")]
    for summary in frame.channels:
        if keep(summary.name, summary.users):
            lines.append(d._num("RPL_LIST", nick, summary.name, str(summary.users),
                                text=format_out(summary.topic or "")))
    lines.append(d._num("RPL_LISTEND", nick))
    return lines


def _list_filter(arg: str) -> Callable[[str, int], bool]:
    """LIST's filter: names or masks (any), ``!mask`` (none), ``<n`` and ``>n`` (all)."""
    wanted: list[str] = []
    unwanted: list[str] = []
    counts: list[Callable[[int], bool]] = []
    for token in filter(None, arg.split(",")):
        if token[0] in "<>" and token[1:].isdigit():
            counts.append(_count_test(token[0], int(token[1:])))
        elif token.startswith("!"):
            unwanted.append(token[1:])
        else:
            wanted.append(token)

    def keep(name: str, users: int) -> bool:
        return ((not wanted or any(matches(mask, name) for mask in wanted))
                and not any(matches(mask, name) for mask in unwanted)
                and all(test(users) for test in counts))

    return keep


def _count_test(sign: str, limit: int) -> Callable[[int], bool]:
    if sign == "<":
        return lambda users: users < limit
    return lambda users: users > limit


def _roster(d: IrcDialect, frame: Roster, nick: str, ask: Ask) -> list[Line | bytes]:
    channel = frame.channel or "*"
    return [*d._names(channel, frame.users, nick, ask, frame.operators),
            d._num("RPL_ENDOFNAMES", nick, ask.arg or channel)]


def _whois(d: IrcDialect, frame: Whois, nick: str, ask: Ask) -> list[Line | bytes]:
    ident = d.door.idents.ident(frame.nick)
    target = frame.nick
    lines: list[Line | bytes] = [
        d._num("RPL_WHOISUSER", nick, target, ident.user, ident.host, "*", text=ident.realname)]
    if frame.channels:
        ops = {nick_key(name) for name in frame.operator_of or ()}
        shown = [("@" if nick_key(name) in ops else "") + name for name in frame.channels]
        lines.append(d._num("RPL_WHOISCHANNELS", nick, target, text=" ".join(shown)))
    lines.append(d._num("RPL_WHOISSERVER", nick, target, d.door.server_name,
                        text=f"termchat ({d.door.network})"))
    if frame.away is not None:
        lines.append(d._num("RPL_AWAY", nick, target, text=format_out(frame.away)))
    if frame.account is not None:
        lines.append(d._num("RPL_WHOISACCOUNT", nick, target, frame.account))
    lines.append(d._num("RPL_WHOISIDLE", nick, target, str(frame.idle),
                        str(int(frame.connected_since))))
    lines.append(d._num("RPL_ENDOFWHOIS", nick, ask.arg or target))
    return lines


def _presence(d: IrcDialect, frame: Presence, nick: str, ask: Ask) -> list[Line | bytes]:
    render = _PRESENCE.get(ask.command)
    return list(render(d, frame, nick, ask)) if render is not None else []


def _who(d: IrcDialect, frame: Presence, nick: str, ask: Ask) -> list[Line | bytes]:
    users = frame.users
    if frame.channel is None and is_mask(ask.arg):
        users = [u for u in users if matches(ask.arg, u.nick)]
    ops = {nick_key(n) for n in frame.operators}
    lines = [d._who_line(user, frame.channel or "*", nick, ask.extra,
                         nick_key(user.nick) in ops) for user in users]
    return [*lines, d._num("RPL_ENDOFWHO", nick, ask.arg or "*")]




def _names_of(d: IrcDialect, frame: Presence, nick: str, ask: Ask) -> list[Line | bytes]:
    lines = d._names(frame.channel or ask.arg, [u.nick for u in frame.users], nick, ask,
                     frame.operators) if frame.users else []
    return [*lines, d._num("RPL_ENDOFNAMES", nick, ask.arg or frame.channel or "*")]


def _ison(d: IrcDialect, frame: Presence, nick: str, _ask: Ask) -> list[Line | bytes]:
    return [d._num("RPL_ISON", nick, text=" ".join(u.nick for u in frame.users))]


def _userhost(d: IrcDialect, frame: Presence, nick: str, _ask: Ask) -> list[Line | bytes]:
    replies = []
    for user in frame.users:
        ident = d.door.idents.ident(user.nick)
        away = "-" if user.away is not None else "+"
        replies.append(f"{user.nick}={away}{ident.user}@{ident.host}")
    return [d._num("RPL_USERHOST", nick, text=" ".join(replies))]


def _topic_query(d: IrcDialect, frame: Presence, nick: str, ask: Ask) -> list[Line | bytes]:
    if not frame.users:
        return [d._num("ERR_NOSUCHCHANNEL", nick, ask.arg)]
    return d._topic_lines(frame.channel or ask.arg, nick, frame.topic, frame.topic_by,
                          frame.topic_ts)


def _mode_query(d: IrcDialect, frame: Presence, nick: str, ask: Ask) -> list[Line | bytes]:
    if not frame.users:
        return [d._num("ERR_NOSUCHCHANNEL", nick, ask.arg)]
    channel = frame.channel or ask.arg
    modes = "+n" + ("t" if frame.topic_lock else "") + ("i" if frame.invite_only else "")
    lines: list[Line | bytes] = [d._num("RPL_CHANNELMODEIS", nick, channel, modes)]
    if frame.created is not None:
        lines.append(d._num("RPL_CREATIONTIME", nick, channel, str(int(frame.created))))
    return lines


def _mode_list(d: IrcDialect, frame: Presence, nick: str, ask: Ask) -> list[Line | bytes]:
    """A channel's ban list (``MODE #chan b``), or its exception or invite lists (empty here)."""
    if not frame.users:
        return [d._num("ERR_NOSUCHCHANNEL", nick, ask.arg)]
    channel = frame.channel or ask.arg
    if ask.extra in _EMPTY_LISTS:
        return [d._num(_EMPTY_LISTS[ask.extra], nick, channel)]
    lines: list[Line | bytes] = [d._num("RPL_BANLIST", nick, channel, f"{target}!*@*")
                                 for target in frame.bans]
    return [*lines, d._num("RPL_ENDOFBANLIST", nick, channel)]


_EMPTY_LISTS: Final = {"e": "RPL_ENDOFEXCEPTLIST", "I": "RPL_ENDOFINVITELIST"}
"""List modes with nothing in them here, by letter, and their end numerics."""


def _user_mode(d: IrcDialect, frame: Presence, nick: str, ask: Ask) -> list[Line | bytes]:
    if not frame.users:
        return [d._num("ERR_NOSUCHNICK", nick, ask.arg)]
    if nick_key(frame.users[0].nick) != nick_key(nick):
        return [d._num("ERR_USERSDONTMATCH", nick)]
    if not ask.extra:
        return [d._num("RPL_UMODEIS", nick, "+" + d.door.idents.ident(nick).modes)]
    changes, unknown = parse_user_modes(ask.extra)
    done = d.door.idents.change_modes(nick, changes)  # our user, as the hub knows it now
    lines: list[Line | bytes] = []
    if done:
        lines.append(Line("MODE", (nick, *mode_string([(on, c, "") for on, c in done])),
                          d._mask(nick)))
    if unknown:
        lines.append(d._num("ERR_UMODEUNKNOWNFLAG", nick))
    return lines


_PRESENCE: Final[dict[str, Renderer]] = {
    "WHO": _who,
    "NAMES": _names_of,
    "ISON": _ison,
    "USERHOST": _userhost,
    "TOPIC": _topic_query,
    "MODE": _mode_query,
    "MODELIST": _mode_list,
    "UMODE": _user_mode,
}
"""What a lookup's answer is, by the command that asked."""


# Errors: which numeric each error code is, by the command that caused it.

_ERRORS: Final[dict[tuple[str, str], str]] = {
    (ErrorCode.NO_SUCH_USER, "*"): "ERR_NOSUCHNICK",
    (ErrorCode.NICK_INVALID, "NICK"): "ERR_ERRONEUSNICKNAME",
    (ErrorCode.NICK_INVALID, "*"): "ERR_NOSUCHNICK",
    (ErrorCode.NICK_TAKEN, "*"): "ERR_NICKNAMEINUSE",
    (ErrorCode.NICK_REGISTERED, "*"): "ERR_NICKNAMEINUSE",
    (ErrorCode.NOT_IN_CHANNEL, "PRIVMSG"): "ERR_CANNOTSENDTOCHAN",
    (ErrorCode.NOT_IN_CHANNEL, "*"): "ERR_NOTONCHANNEL",
    (ErrorCode.CHANNEL_INVALID, "*"): "ERR_NOSUCHCHANNEL",
    (ErrorCode.TOO_MANY_CHANNELS, "*"): "ERR_TOOMANYCHANNELS",
    (ErrorCode.NOT_WELCOMED, "*"): "ERR_NOTREGISTERED",
    (ErrorCode.TEXT_TOO_LONG, "*"): "ERR_INPUTTOOLONG",
    (ErrorCode.NOT_OPERATOR, "KILL"): "ERR_NOPRIVILEGES",
    (ErrorCode.NOT_OPERATOR, "*"): "ERR_CHANOPRIVSNEEDED",
    (ErrorCode.BANNED, "NICK"): "ERR_ERRONEUSNICKNAME",  # the nick is banned: say why
    (ErrorCode.BANNED, "*"): "ERR_BANNEDFROMCHAN",
    (ErrorCode.INVITE_ONLY, "*"): "ERR_INVITEONLYCHAN",
}
_ARGLESS: Final = frozenset({"ERR_NOTREGISTERED", "ERR_NOPRIVILEGES"})
"""Numerics that name no target."""
_TWO_NAMES: Final = frozenset({"KICK", "INVITE", "MODE"})
"""Commands that name a channel (their Ask's arg) and a user (its extra)."""
_USER_CODES: Final = frozenset({ErrorCode.NO_SUCH_USER, ErrorCode.NICK_INVALID})
"""Errors about the user a command names, not its channel."""
_SILENT: Final = frozenset({"NOTICE", "TAGMSG", "PARTALL"})
"""Commands no error is ever answered to (RFC 2812 3.3.2; JOIN 0's parts)."""
_FAIL_CODES: Final = {ErrorCode.NOT_IN_CHANNEL: "INVALID_TARGET",
                      ErrorCode.CHANNEL_INVALID: "INVALID_TARGET",
                      ErrorCode.NICK_INVALID: "INVALID_TARGET"}


def _error(d: IrcDialect, frame: Error, nick: str, ask: Ask) -> list[Line | bytes]:
    if ask.command in _SILENT:
        return []
    if ask.command == "CHATHISTORY":
        code = _FAIL_CODES.get(frame.code, "MESSAGE_ERROR")
        params = (ask.extra, ask.arg) if code == "INVALID_TARGET" else (ask.extra or "*",)
        return [Line("FAIL", ("CHATHISTORY", code, *params, frame.message),
                     d.door.server_name, trailing=True)]
    name = _ERRORS.get((frame.code, ask.command)) or _ERRORS.get((frame.code, "*"))
    if name is None or not ask.arg and name not in _ARGLESS:
        return [d._num("ERR_UNKNOWNERROR", nick, ask.command, text=frame.message)]
    if name in _ARGLESS:
        return [d._num(name, nick, text=frame.message)]
    registered = frame.code in (ErrorCode.NICK_REGISTERED, ErrorCode.BANNED)
    named = ask.extra if ask.command in _TWO_NAMES and frame.code in _USER_CODES else ask.arg
    lines: list[Line | bytes] = [d._num(name, nick, named or ask.arg,
                                        text=_explain(frame, ask) if registered else None)]
    if ask.command == "WHOIS":
        lines.append(d._num("RPL_ENDOFWHOIS", nick, ask.arg))
    return lines


def _explain(frame: Error, ask: Ask) -> str:
    """The sentence of a refusal where IRC's usual one would mislead."""
    if frame.code == ErrorCode.NICK_REGISTERED:
        return "Nickname is registered; log in with SASL PLAIN (the nick and its password)"
    if ask.command == "NICK":
        return frame.message
    if frame.reason:
        return f"Cannot join channel (+b): {frame.reason}"
    return "Cannot join channel (+b)"


# Moderation and accounts.


def _kick(d: IrcDialect, frame: Kick, _nick: str, _ask: Ask) -> list[Line | bytes]:
    source = d._mask(frame.by) if frame.by != "server" else d.door.server_name
    return [Line("KICK", (frame.channel, frame.nick, format_out(frame.reason)), source,
                 d._event_tags(frame.ts), trailing=True)]


def _mode(d: IrcDialect, frame: Mode, nick: str, _ask: Ask) -> list[Line | bytes]:
    source = d._mask(frame.by)
    if frame.channel is None:  # a server-wide ban, told to the admin alone
        change = f"banned {frame.ban} from the server" if frame.ban else \
            f"lifted the server ban on {frame.unban}"
        return [Line("NOTICE", (nick, f"{frame.by} {change}"), d.door.server_name,
                     trailing=True)]
    ban = f"{frame.ban}!*@*" if frame.ban else None
    unban = f"{frame.unban}!*@*" if frame.unban else None
    changes = [(on, letter, arg) for on, letter, arg in (
        (True, "o", frame.op), (False, "o", frame.deop), (True, "b", ban), (False, "b", unban))
        if arg]
    changes += [(flag, letter, "") for letter, flag in (
        ("t", frame.topic_lock), ("i", frame.invite_only)) if flag is not None]
    if not changes:
        return []
    return [Line("MODE", (frame.channel, *mode_string(changes)), source,
                 d._event_tags(frame.ts))]


def _invite(d: IrcDialect, frame: Invite, nick: str, _ask: Ask) -> list[Line | bytes]:
    if nick_key(frame.nick) == nick_key(nick):
        return [Line("INVITE", (frame.nick, frame.channel), d._mask(frame.by),
                     d._event_tags(frame.ts))]
    return [d._num("RPL_INVITING", nick, frame.nick, frame.channel)]


def _account(d: IrcDialect, frame: Account, nick: str, _ask: Ask) -> list[Line | bytes]:
    if not frame.identified:
        return [d._num("RPL_LOGGEDOUT", nick, d._mask(frame.nick))]
    return [d._num("RPL_LOGGEDIN", nick, d._mask(frame.nick), frame.nick,
                   text=f"You are now logged in as {frame.nick}")]


def _nothing(_d: IrcDialect, _frame: Any, _nick: str, _ask: Ask) -> list[Line | bytes]:
    return []


_RENDERERS: Final[dict[type[ServerFrame], Renderer]] = {
    Welcome: _welcome,
    Channel: _channel,
    Rejoined: _nothing,  # joining a channel one is in: IRC says nothing
    Message: _message,
    Join: _join,
    Leave: _leave,
    Departed: _nothing,  # a quit's leaves: the one QUIT line (Quitted) stands for them
    Quitted: _quitted,
    Rename: _rename,
    Topic: _topic,
    Channels: _channels,
    Roster: _roster,
    History: _history,
    Whois: _whois,
    Error: _error,
    Pong: _pong,
    Bye: _bye,
    Presence: _presence,
    AwaySet: _away_set,
    AwayNotice: _away_notice,
    Census: _census,
    Raw: _raw,
    IrcReply: _reply,
    Kick: _kick,
    Mode: _mode,
    Invite: _invite,
    Account: _account,
}
"""How each frame type reads on IRC (by exact type: a Departed is not a Leave here)."""


def _serialize(lines: list[Line | bytes]) -> bytes:
    return b"".join(line if isinstance(line, bytes) else line.to_bytes() for line in lines)

