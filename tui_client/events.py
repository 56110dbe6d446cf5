"""What each server frame and connection event means for the buffers.

Pure: :class:`EventApplier` takes the frames :mod:`tui_client.net` queued and
changes the owners of the client's state through their methods: the buffers
(:mod:`tui_client.buffers`), our nick (:mod:`tui_client.identity`) and the
connection status (:mod:`tui_client.status`). It keeps no state of its own
beyond those references. Handlers are dispatched from one table by frame type.
Ringing the bell is left to the caller: :meth:`EventApplier.apply` says when.
Not thread-safe (UI thread, or the plain client's main loop).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from protocol import (
    Bye,
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
    Rename,
    Roster,
    ServerFrame,
    Topic,
    Welcome,
)
from tui_client.buffers import Buffer, Buffers, EntryKind
from tui_client.identity import Identity
from tui_client.prefs import Prefs
from tui_client.status import ConnectionStatus, NetStatus

__all__ = ["EventApplier"]

log = logging.getLogger(__name__)


class EventApplier:
    """Apply server frames and connection events to the buffers, our nick and the status."""

    def __init__(
        self, buffers: Buffers, me: Identity, status: ConnectionStatus, prefs: Prefs
    ) -> None:
        self._buffers = buffers
        self._me = me
        self._status = status
        self._prefs = prefs
        self._handlers: dict[type[Any], Callable[[Any], bool]] = {
            Welcome: self._on_welcome,
            Channel: self._on_channel,
            Message: self._on_message,
            Join: self._on_join,
            Leave: self._on_leave,
            Rename: self._on_rename,
            Topic: self._on_topic,
            Kick: self._on_kick,
            Mode: self._on_mode,
            Invite: self._on_invite,
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

    def _channel_buffer(self, name: str | None) -> Buffer | None:
        buffer = self._buffers.find(name) if name else None
        if buffer is None or not buffer.is_channel:
            log.debug("event for a channel without a buffer: %s", name)
            return None
        return buffer

    def _enter(self, frame: Channel, live: bool) -> tuple[Buffer, int, bool]:
        """Open (or refill) a channel's buffer from its snapshot; return (buffer, new, alert)."""
        buffer = self._buffers.open_channel(frame.name)
        buffer.enter(frame.roster, frame.topic, frame.topic_by)
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
        before = {b for b in self._buffers.channels() if b.joined}
        alert = False
        missed = 0
        entered: list[Buffer] = []
        for channel in frame.channels:
            buffer, new, rang = self._enter(channel, live=not first)
            entered.append(buffer)
            missed += new
            alert = alert or rang
            if buffer not in before:
                buffer.add_line(f"-- you are in {buffer.name} ({len(buffer.roster)} here)")
        for msg in frame.private or []:
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
            self._notice(f"-- reconnected as {frame.nick} ({missed} missed messages loaded)")
        return alert

    def _on_bye(self, frame: Bye) -> bool:
        self._status.note_bye()
        self._notice(f"-- server closed the connection ({frame.reason})")
        return False

    def _on_error(self, frame: Error) -> bool:
        text = frame.message
        if frame.code == ErrorCode.NICK_TAKEN and not self._status.connected:
            if "/nick" not in text:
                text = f"{text} Choose another nick with /nick NAME."
        target = self._buffers.current if self._status.connected else self._buffers.server
        target.add_line(f"! {text}", EntryKind.ERROR)
        return False

    # -- channels

    def _on_channel(self, frame: Channel) -> bool:
        buffer, _new, _alert = self._enter(frame, live=False)
        buffer.add_line(f"-- you are in {buffer.name} ({len(buffer.roster)} here)")
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
        if buffer.is_channel:
            buffer.roster.replace(frame.users)
        names = ", ".join(frame.users)
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
        if buffer is not None:
            buffer.add_history(frame.messages, self._me)
        return False

    def _on_kick(self, frame: Kick) -> bool:
        buffer = self._channel_buffer(frame.channel)
        if buffer is None:
            return False
        reason = f" ({frame.reason})" if frame.reason else ""
        if self._me.is_me(frame.nick):
            buffer.leave()
            text = f"-- {frame.by} put you out of {buffer.name}{reason}; /close closes this buffer"
        else:
            buffer.roster.remove(frame.nick)
            text = f"-- {frame.by} put {frame.nick} out{reason}"
        buffer.add_line(text, EntryKind.SYSTEM, frame.ts)
        return self._me.is_me(frame.nick)

    def _on_mode(self, frame: Mode) -> bool:
        buffer = self._channel_buffer(frame.channel) if frame.channel else None
        target = buffer or self._buffers.current
        changes = [
            f"{word} {value}"
            for word, value in (
                ("made an operator:", frame.op),
                ("took the operator's role from", frame.deop),
                ("banned", frame.ban),
                ("lifted the ban on", frame.unban),
            )
            if value
        ]
        changes += [
            f"turned {label} {'on' if value else 'off'}"
            for label, value in (("the topic lock", frame.topic_lock),
                                 ("invite-only", frame.invite_only))
            if value is not None
        ]
        for change in changes:
            target.add_line(f"-- {frame.by} {change}", EntryKind.SYSTEM, frame.ts)
        return False

    def _on_invite(self, frame: Invite) -> bool:
        if self._me.is_me(frame.nick):
            text = f"-- {frame.by} invites you to {frame.channel}; /join {frame.channel} to go in"
            self._buffers.current.add_line(text, EntryKind.SYSTEM, frame.ts)
            return True
        self._buffers.current.add_line(
            f"-- {frame.nick} may now join {frame.channel}", EntryKind.SYSTEM, frame.ts
        )
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
