"""What each server frame and connection event means for the buffers.

Pure: :class:`EventApplier` takes the frames :mod:`tui_client.net` queued and
changes the owners of the client's state through their methods: the buffers
(:mod:`tui_client.buffers`), our nick (:mod:`tui_client.identity`) and the
connection status (:mod:`tui_client.status`). A hello refused for a
registered nick (or for a wrong nick password) opens a question in the
:class:`~tui_client.secret.SecretPrompt`; answering it is left to the client.
It keeps no state of its own beyond those references. Handlers are dispatched
from one table by frame type. Ringing the bell is left to the caller:
:meth:`EventApplier.apply` says when. Not thread-safe (UI thread, or the plain
client's main loop).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Final

from protocol import (
    RESUME_HISTORY_CAP,
    WELCOME_HISTORY,
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
    Message,
    Mode,
    PresenceUpdate,
    Rename,
    Roster,
    ServerFrame,
    Topic,
    Welcome,
    Whois,
)
from tui_client.buffers import Buffer, Buffers, ChannelModes, EntryKind
from tui_client.identity import Identity
from tui_client.prefs import Prefs
from tui_client.secret import WHERE_NICK_PASSWORD, Ask, Purpose, SecretPrompt
from tui_client.status import NICK_ERRORS, NICK_PASSWORD_REFUSED, ConnectionStatus, NetStatus

__all__ = ["PRESENCE_NAMED_MAX", "EventApplier", "format_duration", "local_time", "presence_text"]

log = logging.getLogger(__name__)

ASK_HINT: Final = (
    "-- asking for the password of {nick}; to take another nick, cancel and /nick NAME"
)
FINAL_BYES: Final = {
    ByeReason.KILLED: "-- an admin closed your connection ({why}); the client will not "
                      "reconnect: start it again to come back, /quit to leave",
    ByeReason.BANNED: "-- you are banned from this server ({why}); the client will not "
                      "reconnect (/quit to leave)",
    ByeReason.REPLACED: "-- another session took over {nick} (replaced); this one stops "
                        "(/quit to leave)",
}
ACCOUNT_LINES: Final = {
    Purpose.REGISTER: "-- {nick} is registered to you: from now on it needs its password "
                      f"(next time, give it with {WHERE_NICK_PASSWORD})",
    Purpose.IDENTIFY: "-- you are identified as {nick}",
    Purpose.PASSWORD: "-- the password of {nick} is changed",
    Purpose.UNREGISTER: "-- {nick} is no longer registered; anyone may use it once you leave",
}
_DURATION_UNITS: Final = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
PRESENCE_NAMED_MAX: Final = 5
"""Up to this many comings and goings in one presence frame are named; more are counted."""


def presence_text(joined: list[str], left: list[str]) -> str | None:
    """Return one line for a batch of joins and leaves (None: nothing happened).

    Few are named, ``-- alice, bob joined; carol left``; many are counted, as
    irssi sums up a netsplit: ``-- 57 joined, 3 left``.
    """
    if not joined and not left:
        return None
    if len(joined) + len(left) <= PRESENCE_NAMED_MAX:
        named = [f"{', '.join(nicks)} {verb}" for nicks, verb in ((joined, "joined"),
                                                                   (left, "left")) if nicks]
        return "-- " + "; ".join(named)
    counted = [f"{len(nicks)} {verb}" for nicks, verb in ((joined, "joined"), (left, "left"))
               if nicks]
    return "-- " + ", ".join(counted)


def format_duration(seconds: float) -> str:
    """Return a duration the way people say it: ``45s``, ``3m 12s``, ``2h 5m``, ``3d 4h``."""
    left = max(0, int(seconds))
    parts: list[str] = []
    for unit, size in _DURATION_UNITS:
        if left >= size or (unit == "s" and not parts):
            parts.append(f"{left // size}{unit}")
            left %= size
        if len(parts) == 2:
            break
    return " ".join(parts)


def local_time(ts: float, now: float | None = None) -> str:
    """Return a moment in local time: ``17:05`` today, else ``Wed 3 Dec 17:05``."""
    moment = time.localtime(ts)
    today = time.localtime(time.time() if now is None else now)
    if moment[:3] == today[:3]:
        return time.strftime("%H:%M", moment)
    return time.strftime("%a ", moment) + str(moment.tm_mday) + time.strftime(" %b %H:%M", moment)


class EventApplier:
    """Apply server frames and connection events to the buffers, our nick and the status."""

    def __init__(
        self,
        buffers: Buffers,
        me: Identity,
        status: ConnectionStatus,
        prefs: Prefs,
        prompt: SecretPrompt,
    ) -> None:
        self._buffers = buffers
        self._me = me
        self._status = status
        self._prefs = prefs
        self._prompt = prompt
        self._handlers: dict[type[Any], Callable[[Any], bool]] = {
            Welcome: self._on_welcome,
            Channel: self._on_channel,
            Message: self._on_message,
            Join: self._on_join,
            Leave: self._on_leave,
            PresenceUpdate: self._on_presence,
            Rename: self._on_rename,
            Topic: self._on_topic,
            Kick: self._on_kick,
            Mode: self._on_mode,
            Invite: self._on_invite,
            Account: self._on_account,
            Whois: self._on_whois,
            Channels: self._on_channels,
            Roster: self._on_roster,
            History: self._on_history,
            Error: self._on_error,
            Bye: self._on_bye,
        }

    def apply(self, event: ServerFrame | NetStatus) -> bool:
        """Apply one frame or status change; return True when the bell should ring."""
        if isinstance(event, NetStatus):
            self._on_status(event)
            return False
        handler = self._handlers.get(type(event))
        if handler is None:
            return False
        alert = handler(event)
        return alert and self._prefs.bell_enabled

    # -- helpers

    def _notice(self, text: str, kind: str = EntryKind.SYSTEM) -> None:
        """Say something about the connection in the server buffer and the current one."""
        self._buffers.server.add_line(text, kind)
        if self._buffers.current is not self._buffers.server:
            self._buffers.current.add_line(text, kind)

    def _tell(self, buffer: Buffer, text: str, ts: float | None = None) -> None:
        """Say something about ``buffer`` there, and in the current buffer if that is another."""
        buffer.add_line(text, EntryKind.SYSTEM, ts)
        if self._buffers.current is not buffer:
            self._buffers.current.add_line(text, EntryKind.SYSTEM, ts)

    def _channel_buffer(self, name: str | None) -> Buffer | None:
        buffer = self._buffers.find(name) if name else None
        if buffer is None or not buffer.is_channel:
            log.debug("event for a channel without a buffer: %s", name)
            return None
        return buffer

    def _enter(self, frame: Channel, live: bool, cap: int) -> tuple[Buffer, int, bool]:
        """Open (or refill) a channel's buffer from its snapshot; return (buffer, new, alert).

        A snapshot of ``cap`` messages may have been cut: what lies between the
        buffer's newest message and the snapshot's oldest is then a gap to fill.
        """
        buffer = self._buffers.open_channel(frame.name)
        buffer.enter(frame.roster, frame.topic, frame.topic_by, frame.operators or (),
                     ChannelModes(frame.topic_lock, frame.invite_only),
                     users=frame.users if frame.partial else None)
        if len(frame.history) >= cap:
            buffer.expect_gap(frame.history[0].id)
        new = 0
        alert = False
        for msg in frame.history:
            added = buffer.add_message(msg, self._me, live)
            new += added.new
            alert = alert or added.alert
        return buffer, new, alert

    # -- connection

    def _on_status(self, event: NetStatus) -> None:
        if self._status.set(event.status, event.retry_in_s or None):
            self._notice("-- lost the connection to the server")

    def _on_welcome(self, frame: Welcome) -> bool:
        self._me.set_nick(frame.nick)
        first = self._status.note_welcome()
        self._buffers.forget_requests()
        before = {b for b in self._buffers.channels() if b.joined}
        alert = False
        missed = 0
        entered: list[Buffer] = []
        for channel in frame.channels:  # a resume's replay is cut at RESUME_HISTORY_CAP
            buffer, new, rang = self._enter(channel, live=not first, cap=RESUME_HISTORY_CAP)
            entered.append(buffer)
            missed += new
            alert = alert or rang
            if buffer not in before:
                buffer.add_line(f"-- you are in {buffer.name} ({buffer.roster.count} here)")
        private = frame.private or []
        if len(private) >= RESUME_HISTORY_CAP:  # cut too: every conversation may lack some
            for buffer in self._buffers:
                if buffer.is_query:
                    buffer.expect_gap(private[0].id)
        for msg in private:
            added = self._private(msg)
            missed += added[0]
            alert = alert or added[1]
        for buffer in self._buffers.channels():
            if buffer in before and buffer not in entered:
                buffer.leave()
                buffer.add_line(
                    f"-- not back in {buffer.name}; /join {buffer.name} to try again",
                    EntryKind.ERROR,
                )
        if first:
            server = self._buffers.server
            server.add_line(f"-- connected to {frame.server} as {frame.nick}", EntryKind.SYSTEM)
            if frame.motd:
                server.add_line(frame.motd, EntryKind.INFO)
            if entered and self._buffers.current is server:
                self._buffers.switch_to(entered[0])
        else:
            plural = "" if missed == 1 else "s"
            self._notice(f"-- reconnected as {frame.nick} ({missed} missed message{plural} loaded)")
        return alert

    def _on_bye(self, frame: Bye) -> bool:
        self._status.note_bye()
        text = FINAL_BYES.get(frame.reason, "-- server closed the connection ({reason})")
        self._notice(text.format(reason=frame.reason, why=frame.text or frame.reason,
                                 nick=self._me.nick))
        return False

    def _on_error(self, frame: Error) -> bool:
        if not self._status.connected and frame.code in (*NICK_ERRORS, NICK_PASSWORD_REFUSED):
            return self._on_refused(frame)
        text = frame.message
        if frame.code == ErrorCode.BANNED:
            text = self._ban_text(frame)
        elif frame.code == ErrorCode.NICK_REGISTERED:
            text = f"{text} /identify NICK claims it with its password."
        if self._status.connected:
            self._buffers.current.add_line(f"! {text}", EntryKind.ERROR)
        else:
            self._notice(f"! {text}", EntryKind.ERROR)
        return False

    def _on_refused(self, frame: Error) -> bool:
        """The hello's nick was refused: say so, and ask for the password if it is registered."""
        self._status.note_refused()
        text = frame.message
        wants_password = frame.code in (ErrorCode.NICK_REGISTERED, NICK_PASSWORD_REFUSED)
        if not wants_password and "/nick" not in text:
            text = f"{text} Choose another nick with /nick NAME."
        self._notice(f"! {text}", EntryKind.ERROR)
        if wants_password:
            self._prompt.open(Ask(Purpose.HELLO, self._me.nick))
            self._notice(ASK_HINT.format(nick=self._me.nick))
        return wants_password

    @staticmethod
    def _ban_text(frame: Error) -> str:
        """The server's sentence, with the ban's end in local time and its reason."""
        text = frame.message
        if frame.until is not None:
            text = f"{text} (The ban ends {local_time(frame.until)} your time.)"
        if frame.reason and frame.reason not in text:
            text = f"{text} Reason: {frame.reason}"
        return text

    # -- channels

    def _on_channel(self, frame: Channel) -> bool:
        buffer, _new, _alert = self._enter(frame, live=False, cap=WELCOME_HISTORY)
        buffer.add_line(f"-- you are in {buffer.name} ({buffer.roster.count} here)")
        self._buffers.switch_to(buffer)
        return False

    def _on_join(self, frame: Join) -> bool:
        buffer = self._channel_buffer(frame.channel)
        if buffer is None or self._me.is_me(frame.nick):
            return False
        buffer.roster.add(frame.nick)
        buffer.add_line(f"-- {frame.nick} joined", EntryKind.SYSTEM, frame.ts)
        return False

    def _on_leave(self, frame: Leave) -> bool:
        buffer = self._channel_buffer(frame.channel)
        if buffer is None:
            return False
        if self._me.is_me(frame.nick):
            buffer.leave()
            buffer.add_line(
                f"-- you left {buffer.name} ({frame.reason}); /join {buffer.name} to go back, "
                "/close to close this buffer",
                EntryKind.SYSTEM,
                frame.ts,
            )
            return False
        buffer.roster.remove(frame.nick)
        buffer.add_line(f"-- {frame.nick} left ({frame.reason})", EntryKind.SYSTEM, frame.ts)
        return False

    def _on_presence(self, frame: PresenceUpdate) -> bool:
        """Joins and leaves of a big channel, batched: follow them all, say so in one line."""
        buffer = self._channel_buffer(frame.channel)
        if buffer is None or not buffer.joined:
            return False
        joined = [n for n in frame.joined if not self._me.is_me(n)]  # we are listed already
        left = [n for n in frame.left if not self._me.is_me(n)]
        buffer.roster.update(joined, left)
        text = presence_text(joined, left)
        if text is not None:
            buffer.add_line(text, EntryKind.SYSTEM, frame.ts)
        return False

    def _on_topic(self, frame: Topic) -> bool:
        buffer = self._channel_buffer(frame.channel)
        if buffer is None:
            return False
        buffer.set_topic(frame.text, frame.by)
        if frame.text:
            text = f"-- {frame.by} set the topic: {frame.text}"
        else:
            text = f"-- {frame.by} cleared the topic"
        buffer.add_line(text, EntryKind.SYSTEM, frame.ts)
        return False

    def _on_roster(self, frame: Roster) -> bool:
        buffer = self._channel_buffer(frame.channel) or self._buffers.current
        listed = True
        if buffer.is_channel:
            listed = buffer.take_roster_answer()  # not when it only fills a partial roster in
            buffer.roster.replace(frame.users, frame.operators or ())
        if not listed:
            return False
        operators = set(frame.operators or ())
        names = ", ".join(f"@{n}" if n in operators else n for n in frame.users)
        where = f" in {frame.channel}" if frame.channel else ""
        buffer.add_line(f"-- online{where} ({len(frame.users)}): {names}", EntryKind.SYSTEM)
        return False

    def _on_channels(self, frame: Channels) -> bool:
        self._buffers.note_channels(c.name for c in frame.channels)
        target = self._buffers.current
        target.add_line(f"-- channels with people in them: {len(frame.channels)}")
        for summary in frame.channels:
            topic = f": {summary.topic}" if summary.topic else ""
            target.add_line(f"   {summary.name} ({summary.users}){topic}")
        return False

    def _on_history(self, frame: History) -> bool:
        if frame.peer is not None:
            buffer = self._buffers.find(frame.peer)
            buffer = buffer if buffer is not None and buffer.is_query else None
        else:
            buffer = self._channel_buffer(frame.channel)
        if buffer is None:
            return False
        if frame.after is not None:  # only gap pages ask for what follows an id
            buffer.add_gap_page(frame.messages, frame.after, self._me)
        else:
            buffer.add_history(frame.messages, self._me)
        return False

    def _on_kick(self, frame: Kick) -> bool:
        buffer = self._channel_buffer(frame.channel)
        if buffer is None:
            return False
        # The server says "kicked by bob" without a reason, and "banned by bob: spam" for
        # a ban; the line names bob already.
        said = frame.reason
        for done in ("kicked", "banned"):
            said = said.removeprefix(f"{done} by {frame.by}")
        said = said.removeprefix(": ")
        reason = f": {said}" if said else ""
        if self._me.is_me(frame.nick):
            buffer.leave()
            self._tell(buffer, f"-- you were kicked from {buffer.name} by {frame.by}{reason}",
                       frame.ts)
            return True
        buffer.roster.remove(frame.nick)
        buffer.add_line(f"-- {frame.by} kicked {frame.nick}{reason}", EntryKind.SYSTEM, frame.ts)
        return False

    def _on_mode(self, frame: Mode) -> bool:
        if frame.channel is None:  # server-wide, told the admin alone
            what = f"banned {frame.ban}" if frame.ban else f"lifted the ban on {frame.unban}"
            self._buffers.current.add_line(f"-- {frame.by} {what} server-wide",
                                           EntryKind.SYSTEM, frame.ts)
            return False
        buffer = self._channel_buffer(frame.channel)
        if buffer is None:
            return False
        about_me = False
        for nick, operator in ((frame.op, True), (frame.deop, False)):
            if nick:
                buffer.roster.set_operator(nick, operator)
                about_me = about_me or self._me.is_me(nick)
        buffer.set_modes(frame.topic_lock, frame.invite_only)
        for text in self._mode_lines(frame, buffer.name):
            buffer.add_line(f"-- {frame.by} {text}", EntryKind.SYSTEM, frame.ts)
        return about_me or bool(frame.ban and self._me.is_me(frame.ban))

    def _mode_lines(self, frame: Mode, channel: str) -> list[str]:
        """Return what changed, as words: 'made carol an operator', 'locked the topic' ..."""
        def who(nick: str) -> str:
            return "you" if self._me.is_me(nick) else nick

        lines = []
        if frame.op:
            lines.append(f"made {who(frame.op)} an operator of {channel}")
        if frame.deop:
            lines.append(f"took the operator's role from {who(frame.deop)}")
        if frame.ban:
            lines.append(f"banned {who(frame.ban)} from {channel}")
        if frame.unban:
            lines.append(f"lifted the ban on {who(frame.unban)}")
        if frame.topic_lock is not None:
            lines.append("locked the topic: only operators may set it (+t)" if frame.topic_lock
                         else "unlocked the topic: anyone here may set it (-t)")
        if frame.invite_only is not None:
            lines.append(f"made {channel} invite-only (+i)" if frame.invite_only
                         else f"opened {channel} to everyone (-i)")
        return lines

    def _on_invite(self, frame: Invite) -> bool:
        if self._me.is_me(frame.nick):
            text = f"-- {frame.by} invites you to {frame.channel}; /join {frame.channel} to go in"
            self._buffers.current.add_line(text, EntryKind.SYSTEM, frame.ts)
            return True
        self._buffers.current.add_line(
            f"-- {frame.nick} may now join {frame.channel}", EntryKind.SYSTEM, frame.ts
        )
        return False

    # -- accounts

    def _on_account(self, frame: Account) -> bool:
        purpose = self._me.note_account(frame.identified)
        if not frame.registered:
            purpose = Purpose.UNREGISTER
        text = ACCOUNT_LINES.get(purpose or "", "-- account {nick}: {state}")
        state = "identified" if frame.identified else "registered" if frame.registered else "free"
        self._buffers.current.add_line(text.format(nick=frame.nick, state=state))
        return False

    def _on_whois(self, frame: Whois) -> bool:
        account = f"identified as {frame.account}" if frame.account else "not identified"
        channels = f"in {', '.join(frame.channels)}" if frame.channels else "in no channel"
        parts = [account, channels, f"idle {format_duration(frame.idle)}",
                 f"here since {local_time(frame.connected_since)}"]
        if frame.away:
            parts.append(f"away: {frame.away}")
        self._buffers.current.add_line(f"-- {frame.nick}: {'; '.join(parts)}", EntryKind.INFO)
        return False

    # -- messages and names

    def _private(self, msg: Message) -> tuple[int, bool]:
        peer = msg.to if self._me.is_me(msg.sender) and msg.to else msg.sender
        added = self._buffers.open_query(peer).add_message(msg, self._me)
        return int(added.new), added.alert

    def _on_message(self, frame: Message) -> bool:
        if frame.to is not None:
            return self._private(frame)[1]
        buffer = self._channel_buffer(frame.channel)
        if buffer is None:
            return False
        return buffer.add_message(frame, self._me).alert

    def _on_rename(self, frame: Rename) -> bool:
        mine = self._me.is_me(frame.old)
        if mine:
            self._me.set_nick(frame.new)
            text = f"-- you are now known as {frame.new}"
            self._buffers.server.add_line(text, EntryKind.SYSTEM, frame.ts)
        else:
            text = f"-- {frame.old} is now known as {frame.new}"
        for buffer in self._buffers.channels():
            if buffer.roster.rename(frame.old, frame.new) or (mine and buffer.joined):
                buffer.add_line(text, EntryKind.SYSTEM, frame.ts)
        query = self._buffers.rename_query(frame.old, frame.new)
        if query is not None:
            query.add_line(text, EntryKind.SYSTEM, frame.ts)
        return False
