"""Carry out a typed command against the buffers and the connection.

Shared by the full-screen and the plain client: :class:`CommandRunner` decides
which channel or peer a command means (the current buffer's), sends frames
through a :class:`Sender` and writes what the user should read into the
buffers. It never touches the terminal. A command that needs the server while
there is no connection changes nothing and answers :data:`NOT_SENT`, so the
caller can keep the line (the TUI puts it back in the input line; the plain
client waits for the connection). Account commands open a question in the
:class:`~tui_client.secret.SecretPrompt`; its answers come back through
:meth:`CommandRunner.answer`, which validates them and sends the frame (or,
for a refused hello, hands the nick password to the connection). Passwords
are never written into a buffer or a log. Not thread-safe (UI thread, or the
plain client's main loop).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from protocol import (
    ClientFrame,
    HistoryQuery,
    Identify,
    JoinChannel,
    Msg,
    Nick,
    Part,
    ProtocolError,
    Register,
    Say,
    SetPassword,
    SetTopic,
    Unregister,
    Who,
    validate_password,
)
from tui_client.buffers import GAP_PAGE, Buffer, Buffers, EntryKind
from tui_client.commands import (
    AskSecret,
    ChannelRequest,
    CloseCommand,
    Command,
    CommandError,
    JoinCommand,
    LocalAction,
    NamesCommand,
    PartCommand,
    PrivateCommand,
    QuitCommand,
    SendFrame,
    SendText,
    ShowModes,
    TopicCommand,
    WhoCommand,
    help_lines,
)
from tui_client.identity import Identity
from tui_client.prefs import Prefs
from tui_client.secret import Ask, Purpose, SecretPrompt
from tui_client.status import ConnectionStatus

__all__ = ["DONE", "NOT_SENT", "CommandRunner", "Outcome", "Sender"]

log = logging.getLogger(__name__)

SERVER_BUFFER_HINT: Final = (
    "This is the server buffer: join a channel with /join #name, or switch to one "
    "with Alt+number or Ctrl-N."
)
NO_CHANNEL_HINT: Final = (
    "No channel is current: join one with /join #name (joining it again makes it current)."
)
NOT_CHANNEL_HINT: Final = "This is not a channel buffer; switch to a channel first."
MISMATCH: Final = "The two passwords differ; nothing was sent. Try again."


class Sender(Protocol):
    """What the runner needs of a connection (``tui_client.net.Connection`` is one)."""

    def send(self, frame: ClientFrame) -> bool: ...

    def change_nick(self, nick: str) -> None: ...

    def use_nick_password(self, password: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a command ended: ``sent`` is False when it needed a connection there was not.

    ``quit`` is set (maybe to None) when the user asked to leave.
    """

    sent: bool = True
    quit: bool = False
    quit_reason: str | None = None


DONE: Final = Outcome()
NOT_SENT: Final = Outcome(sent=False)


class CommandRunner:
    """Carry out commands for one client; ``full_screen`` picks the help shown."""

    def __init__(
        self,
        buffers: Buffers,
        me: Identity,
        status: ConnectionStatus,
        prefs: Prefs,
        sender: Sender,
        prompt: SecretPrompt,
        full_screen: bool = True,
        key_help: list[tuple[str, str]] | None = None,
    ) -> None:
        self._buffers = buffers
        self._me = me
        self._status = status
        self._prefs = prefs
        self._sender = sender
        self._prompt = prompt
        self._full_screen = full_screen
        self._key_help = key_help
        self._handlers: dict[type[Any], Callable[[Any], Outcome]] = {
            SendText: self._send_text,
            SendFrame: self._send_frame,
            PrivateCommand: self._private,
            JoinCommand: self._join,
            PartCommand: self._part,
            TopicCommand: self._topic,
            CloseCommand: self._close,
            NamesCommand: self._names,
            WhoCommand: self._who,
            ChannelRequest: self._channel_request,
            ShowModes: self._show_modes,
            AskSecret: self._ask_secret,
            LocalAction: self._local,
            QuitCommand: self._quit,
            CommandError: self._error,
        }
        self._answers: dict[str, Callable[[Ask, list[str]], ClientFrame | None]] = {
            Purpose.HELLO: self._hello_password,
            Purpose.REGISTER: lambda _ask, a: Register(self._new_password(a[0], a[1])),
            Purpose.IDENTIFY: lambda ask, a: Identify(ask.nick, a[0]),
            Purpose.PASSWORD: lambda _ask, a: SetPassword(a[0], self._new_password(a[1], a[2])),
            Purpose.UNREGISTER: lambda _ask, a: Unregister(a[0]),
        }
        self._local_actions: dict[str, Callable[[], None]] = {
            "roster": self._prefs.toggle_roster,
            "clear": lambda: self._buffers.current.clear(),
            "help": self._help,
            "bell": self._toggle_bell,
        }

    def run(self, command: Command) -> Outcome:
        """Carry out ``command``; see :class:`Outcome`."""
        return self._handlers[type(command)](command)

    def answer(self, ask: Ask, answers: list[str]) -> Outcome:
        """Use the answers to a password question: check them, then send the request.

        A new password must be given the same twice and be of the allowed
        length; else nothing is sent and the user is told why.
        """
        try:
            frame = self._answers[ask.purpose](ask, answers)
        except ProtocolError as exc:
            return self._refuse(exc.message)
        if frame is None:
            return DONE
        if not self._sender.send(frame):
            return self._refuse("Not connected, so nothing was sent; try again after the "
                                "reconnect.")
        self._me.expect_account(ask.purpose)
        return DONE

    # -- helpers

    def _say(self, text: str, kind: str = EntryKind.SYSTEM) -> Outcome:
        self._buffers.current.add_line(text, kind)
        return DONE

    def _refuse(self, text: str) -> Outcome:
        return self._say(f"! {text}", EntryKind.ERROR)

    def _send(self, make: Callable[[], ClientFrame]) -> Outcome:
        """Build a frame (its rules may refuse it) and send it."""
        try:
            frame = make()
        except ProtocolError as exc:
            return self._refuse(exc.message)
        return DONE if self._sender.send(frame) else NOT_SENT

    def _channel(self) -> Buffer | None:
        """Return the current buffer if it is a channel we are in; else say why not."""
        buffer = self._buffers.current
        if not buffer.is_channel:
            if buffer is not self._buffers.server:
                self._refuse(NOT_CHANNEL_HINT)
            else:
                self._refuse(SERVER_BUFFER_HINT if self._full_screen else NO_CHANNEL_HINT)
            return None
        if not buffer.joined:
            self._refuse(f"You are not in {buffer.name}; /join {buffer.name} to go back in.")
            return None
        return buffer

    # -- commands

    def _send_text(self, command: SendText) -> Outcome:
        buffer = self._buffers.current
        if buffer.is_query:
            if command.action:
                return self._refuse("/me works in channels only.")
            return self._send(lambda: Msg(buffer.name, command.text))
        channel = self._channel()
        if channel is None:
            return DONE
        return self._send(lambda: Say(command.text, action=command.action, channel=channel.name))

    def _send_frame(self, command: SendFrame) -> Outcome:
        frame = command.frame
        if isinstance(frame, Nick) and not self._status.connected:
            self._me.set_nick(frame.nick)
            self._sender.change_nick(frame.nick)
            return self._say(f"-- will connect as {frame.nick}")
        return self._send(lambda: frame)

    def _private(self, command: PrivateCommand) -> Outcome:
        if command.text is not None:
            text = command.text
            outcome = self._send(lambda: Msg(command.nick, text))
            if not outcome.sent:
                return outcome
        buffer = self._buffers.open_query(command.nick)
        if command.switch:
            self._buffers.switch_to(buffer)
        return DONE

    def _join(self, command: JoinCommand) -> Outcome:
        buffer = self._buffers.find(command.channel)
        if buffer is not None and buffer.joined:
            self._buffers.switch_to(buffer)
            return DONE
        return self._send(lambda: JoinChannel(command.channel))

    def _part(self, command: PartCommand) -> Outcome:
        channel = self._channel()
        if channel is None:
            return DONE
        return self._send(lambda: Part(channel.name, command.reason))

    def _topic(self, command: TopicCommand) -> Outcome:
        channel = self._channel()
        if channel is None:
            return DONE
        if command.text is None:
            if not channel.topic:
                return self._say(f"-- {channel.name} has no topic; set one with /topic TEXT")
            by = f" (set by {channel.topic_by})" if channel.topic_by else ""
            return self._say(f"-- topic of {channel.name}: {channel.topic}{by}")
        text = command.text
        return self._send(lambda: SetTopic(channel.name, text))

    def _close(self, _command: CloseCommand) -> Outcome:
        buffer = self._buffers.current
        if buffer is self._buffers.server:
            return self._refuse("The server buffer stays open; /quit leaves the chat.")
        if buffer.is_channel and buffer.joined:
            outcome = self._send(lambda: Part(buffer.name))
            if not outcome.sent:
                return outcome
        self._buffers.close(buffer)
        return DONE

    def _names(self, _command: NamesCommand) -> Outcome:
        channel = self._channel()
        if channel is None:
            return DONE
        roster = channel.roster
        if roster.partial:  # only some members are known: the server lists them all
            if not channel.roster_asked:
                outcome = self._send(lambda: Who(channel.name))
                if not outcome.sent:
                    return outcome
                channel.note_roster_asked(quiet=False)
            channel.list_rosters()
            return self._say(f"-- asking the server who is in {channel.name} "
                             f"({roster.count} users) ...")
        names = ", ".join(roster.label(n) for n in roster.ranked())
        return self._say(f"-- in {channel.name} ({roster.count}): {names}")

    def _who(self, _command: WhoCommand) -> Outcome:
        channel = self._channel()
        if channel is None:
            return DONE
        outcome = self._send(lambda: Who(channel.name))
        if outcome.sent:
            channel.list_rosters()  # one asked for quietly may be on its way too: list it
        return outcome

    def ask_whole_roster(self) -> bool:
        """Ask for the current channel's whole roster if only part is known; True if sent.

        Once per entering the channel (the answer makes the roster whole), and
        only for the channel shown: asking for every big channel at once would
        cost what the partial rosters save.
        """
        buffer = self._buffers.current
        if not buffer.wants_roster() or not self._sender.send(Who(buffer.name)):
            return False
        buffer.note_roster_asked()
        return True

    def fill_gaps(self) -> int:
        """Ask for the next page of every buffer's gap (one page on its way each); return how many.

        Pages go oldest first (``after`` the gap's bottom, ``before`` its top), so a
        reconnect's gap fills once and in order, whichever buffer is shown.
        """
        sent = 0
        for buffer in self._buffers:
            gap = buffer.maybe_gap_query()
            if gap is None:
                continue
            try:
                query = HistoryQuery(
                    after=gap.after, before=gap.before, limit=GAP_PAGE,
                    channel=buffer.name if buffer.is_channel else None,
                    peer=buffer.name if buffer.is_query else None,
                )
            except ProtocolError:  # a peer's nick this client cannot ask about: leave it
                continue
            if not self._sender.send(query):
                break  # not connected: the next welcome asks again
            buffer.note_gap_requested()
            sent += 1
        return sent

    def _channel_request(self, command: ChannelRequest) -> Outcome:
        if command.channel is not None:
            name = command.channel
            return self._send(lambda: command.frame(name))
        channel = self._channel()
        if channel is None:
            return DONE
        return self._send(lambda: command.frame(channel.name))

    def _show_modes(self, _command: ShowModes) -> Outcome:
        channel = self._channel()
        if channel is None:
            return DONE
        modes = channel.modes
        on = [text for flag, text in ((modes.topic_lock, "only operators set the topic (+t)"),
                                      (modes.invite_only, "invite-only (+i)")) if flag]
        if not on:
            return self._say(f"-- {channel.name} has no modes set; /mode +t locks the topic to "
                             "operators, /mode +i makes it invite-only")
        return self._say(f"-- modes of {channel.name}: {', '.join(on)}")

    def _ask_secret(self, command: AskSecret) -> Outcome:
        nick = command.nick or self._me.nick
        if self._status.connected:
            self._prompt.open(Ask(command.purpose, nick))
            return DONE
        if command.purpose == Purpose.IDENTIFY and self._status.refused:
            self._prompt.open(Ask(Purpose.HELLO, nick))  # the refused hello waits for it
            return DONE
        if not self._status.welcomed_once:
            return self._refuse("Not connected yet; account commands work once you are in.")
        return NOT_SENT

    def _local(self, command: LocalAction) -> Outcome:
        self._local_actions[command.name]()
        return DONE

    def _quit(self, command: QuitCommand) -> Outcome:
        return Outcome(quit=True, quit_reason=command.reason)

    def _error(self, command: CommandError) -> Outcome:
        return self._refuse(command.message)

    # -- password answers

    @staticmethod
    def _new_password(first: str, again: str) -> str:
        if first != again:
            raise ProtocolError(MISMATCH)
        return validate_password(first)

    def _hello_password(self, ask: Ask, answers: list[str]) -> None:
        """Retry the refused hello with the nick password (and the nick it is for)."""
        if not answers[0]:
            raise ProtocolError("No password given; /identify asks again, /nick NAME picks "
                                "another nick.")
        if ask.nick != self._me.nick:
            self._me.set_nick(ask.nick)
            self._sender.change_nick(ask.nick)
        self._sender.use_nick_password(answers[0])
        self._say(f"-- trying again as {ask.nick} with its password")

    # -- local actions

    def _toggle_bell(self) -> None:
        self._prefs.toggle_bell()
        self._say(f"-- bell {'on' if self._prefs.bell_enabled else 'off'}")

    def _help(self) -> None:
        for line in help_lines(self._full_screen, self._key_help):
            self._buffers.current.add_line(line, EntryKind.INFO)
