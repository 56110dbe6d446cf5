"""The line-mode client: stdin lines in, plain event lines out.

Used with ``--plain`` or when stdout is not a terminal. It shares the command
table, the buffers, event handling and networking with the full-screen client
and prints each new entry as one line that names its channel or private peer
(``[12:00] #dev alice: hi``; server notices name nothing). Plain text goes to
the *current* buffer: the channel joined last (the first of the welcome at
start), or the one switched to with ``/join`` of a channel already joined or
``/query NICK``; each switch prints ``-- talking in #dev``. After a reconnect
whose replay the server cut, the missing middle is fetched first and what came
after it is held back meanwhile, so each channel still prints in order. Exits
on end of input, /quit, or when the connection ends for good (a ``bye killed``, say).

A password question (a refused hello's nick password, ``/register`` ...) is
answered with ``getpass`` when stdin is a terminal, the stdin reader held
meanwhile so the two do not race for the keys; otherwise the client says what
to do instead (and stops, for the hello).

Threads: the connection's receiver, and a stdin reader that feeds a queue.
On POSIX the reader waits with ``select`` and a short timeout, so it stops
when asked and is joined on the way out; elsewhere (Windows, where ``select``
takes only sockets, or a stdin without a file descriptor) it blocks in
``readline`` as a daemon thread that ends with the process.
"""

from __future__ import annotations

import codecs
import contextlib
import getpass
import io
import logging
import os
import queue
import select
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Final, TextIO

from protocol import Nick
from tui_client.actions import CommandRunner
from tui_client.buffers import Buffer, Buffers, Entry
from tui_client.commands import (
    Command,
    CommandError,
    LocalAction,
    QuitCommand,
    SendFrame,
    parse_input,
)
from tui_client.events import EventApplier
from tui_client.identity import Identity
from tui_client.net import Connection, NetEvent, NetStatus
from tui_client.prefs import Prefs
from tui_client.render import format_plain
from tui_client.secret import WHERE_NICK_PASSWORD, Purpose, SecretPrompt
from tui_client.status import ConnectionStatus, Status

__all__ = ["LineReader", "run_plain"]

log = logging.getLogger(__name__)

POLL_S: Final = 0.05
EOF_WAIT_S: Final = 10.0  # how long queued lines wait for a connection after end of input
READ_BYTES: Final = 65536
STOPPABLE_READS: Final = os.name == "posix"
"""Only POSIX ``select`` waits on pipes and terminals; elsewhere the reader blocks."""
HOLD_WAIT_S: Final = 1.0
NO_TERMINAL_HELLO: Final = (
    f"-- {{nick}} is registered: give its password with {WHERE_NICK_PASSWORD}, or pick "
    "another nick with --nick NAME"
)
NO_TERMINAL_ASK: Final = (
    "This asks for a password without echo, which needs a terminal on stdin; run the "
    "client in one."
)


class LineReader:
    """Read lines from a text stream into a queue on a thread; None marks the end.

    :meth:`stop` ends the thread where reads can be waited on with a timeout
    (see :data:`STOPPABLE_READS`); :meth:`join` then returns at once. While
    :meth:`held`, the reader reads nothing (so ``getpass`` can have the terminal).
    """

    def __init__(self, stream: TextIO, lines: queue.Queue[str | None]) -> None:
        self._stream = stream
        self._lines = lines
        self._stop = threading.Event()
        self._hold = threading.Event()
        self._holding = threading.Event()  # the reader saw the hold and waits
        self._fd = self._file_descriptor(stream) if STOPPABLE_READS else None
        self._thread = threading.Thread(
            target=self._run, name="stdin-reader", daemon=self._fd is None
        )

    @staticmethod
    def _file_descriptor(stream: TextIO) -> int | None:
        try:
            return stream.fileno()
        except (OSError, ValueError, io.UnsupportedOperation):
            return None  # a stream in memory, or closed: read it line by line

    @property
    def stoppable(self) -> bool:
        return self._fd is not None

    def start(self) -> None:
        self._thread.start()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Keep the reader from reading inside the ``with`` block (stoppable readers only)."""
        self._holding.clear()
        self._hold.set()
        try:
            if self._fd is not None and self._thread.is_alive():
                self._holding.wait(HOLD_WAIT_S)
            yield
        finally:
            self._hold.clear()

    def stop(self, timeout_s: float = 1.0) -> None:
        """Ask the reader to stop and join it when it can stop. Idempotent."""
        self._stop.set()
        if self._fd is not None and self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        try:
            if self._fd is not None:
                self._read_fd(self._fd)
            else:
                for line in self._stream:
                    self._lines.put(line.rstrip("\r\n"))
        except (OSError, ValueError) as exc:  # stdin closed under us
            log.info("stdin ended: %s", exc)
        finally:
            self._lines.put(None)

    def _read_fd(self, fd: int) -> None:
        decoder = codecs.getincrementaldecoder(self._stream.encoding or "utf-8")("replace")
        partial = ""
        while not self._stop.is_set():
            if self._hold.is_set():
                self._holding.set()
                time.sleep(POLL_S / 5)
                continue
            ready, _w, _x = select.select([fd], [], [], POLL_S)
            if not ready:
                continue
            data = os.read(fd, READ_BYTES)
            text = partial + decoder.decode(data, final=not data)
            *lines, partial = text.split("\n")
            for line in lines:
                self._lines.put(line.rstrip("\r"))
            if not data:
                if partial:
                    self._lines.put(partial.rstrip("\r"))
                return


def _works_offline(command: Command, welcomed_once: bool) -> bool:
    """Tell whether a command may run before the connection is up."""
    if isinstance(command, (LocalAction, CommandError, QuitCommand)):
        return True
    return isinstance(command, SendFrame) and isinstance(command.frame, Nick) and not welcomed_once


class _PlainClient:
    def __init__(
        self,
        host: str,
        port: int,
        nick: str,
        password: str | None,
        out: TextIO,
        tls: ssl.SSLContext | None = None,
        channels: list[str] | None = None,
        nick_password: str | None = None,
        can_ask: bool = False,
    ) -> None:
        self.out = out
        self.can_ask = can_ask  # stdin is a terminal: getpass may ask
        self.me = Identity(nick)
        self.status = ConnectionStatus(host, port)
        self.prefs = Prefs()
        self.buffers = Buffers()
        self.buffers.listener = self._print_entry
        self.prompt = SecretPrompt()
        self.events: queue.Queue[NetEvent] = queue.Queue()
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.conn = Connection(
            host, port, nick, self.events, password=password, tls=tls, channels=channels,
            nick_password=nick_password,
        )
        self.applier = EventApplier(self.buffers, self.me, self.status, self.prefs, self.prompt)
        self.runner = CommandRunner(
            self.buffers, self.me, self.status, self.prefs, self.conn, self.prompt,
            full_screen=False,
        )
        self.pending: list[str] = []
        self.eof_at: float | None = None
        self.done = False
        self.exit_status = 1
        self.quit_reason: str | None = None
        self._talking_in: Buffer = self.buffers.current
        self._held: dict[Buffer, list[Entry]] = {}  # newer than a gap still being filled
        self._retrying = False  # the refused hello was given a password: it tries again

    def _say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def _print_entry(self, buffer: Buffer, entry: Entry) -> None:
        gap = buffer.gap
        if gap is not None and entry.key >= (gap.before, 0, 0):
            self._held.setdefault(buffer, []).append(entry)  # printed once the gap is filled
            return
        self._say(format_plain(buffer, entry, self.me))

    def _print_held(self, every: bool = False) -> None:
        """Print what waited for a gap, in order, for each buffer whose gap is filled (or all)."""
        for buffer in [b for b in self._held if every or b.gap is None]:
            for entry in sorted(self._held.pop(buffer), key=lambda e: e.key):
                self._say(format_plain(buffer, entry, self.me))

    def _note_switch(self) -> None:
        current = self.buffers.current
        if current is self._talking_in:
            return
        self._talking_in = current
        if current.is_channel:
            self._say(f"-- talking in {current.name}")
        elif current.is_query:
            self._say(f"-- talking privately with {current.name}")
        else:
            self._say("-- no current channel; /join #name to talk")

    def run(self, stdin: TextIO) -> int:
        reader = LineReader(stdin, self.lines)
        reader.start()
        self.conn.start()
        try:
            while not self.done:
                self._drain_events()
                self.runner.fill_gaps()
                self._print_held()
                self._maybe_ask(reader)
                self._drain_lines()
                self._flush_pending()
                self._maybe_ask(reader)
                if self.eof_at is not None and not self.pending:
                    self.exit_status = 0
                    break
                if self.eof_at is not None and time.monotonic() - self.eof_at > EOF_WAIT_S:
                    self._say("-- could not connect; unsent lines were dropped")
                    break
        finally:
            self.conn.stop(self.quit_reason)
            reader.stop()
            self._print_held(every=True)  # leaving mid-fill: late rather than never
        return self.exit_status

    def _drain_events(self) -> None:
        try:
            event = self.events.get(timeout=POLL_S)
        except queue.Empty:
            return
        while True:
            self._on_event(event)
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                break
        self._note_switch()

    def _on_event(self, event: NetEvent) -> None:
        before = self.status.status
        self.applier.apply(event)
        if not isinstance(event, NetStatus):
            return
        if event.status != Status.DISCONNECTED:
            self._retrying = False  # the retry began
        if event.status == Status.RECONNECTING and event.retry_in_s:
            self._say(f"-- reconnecting in {event.retry_in_s:.0f}s")
        elif event.status == Status.DISCONNECTED and before != Status.DISCONNECTED:
            self._say("-- disconnected")
            if self.conn.ended:
                self.done = True  # nothing more will happen
            elif not self.status.welcomed_once and not (self.prompt.active or self._retrying):
                self.done = True  # refused at hello, and nobody here to choose another nick

    def _maybe_ask(self, reader: LineReader) -> None:
        """Answer an open password question with getpass, or say what to do without a terminal."""
        ask = self.prompt.ask
        if ask is None:
            return
        if not self.can_ask:
            self.prompt.cancel()
            if ask.purpose == Purpose.HELLO:
                self._say(NO_TERMINAL_HELLO.format(nick=ask.nick))
                self.done = True
            else:
                self.runner.run(CommandError(NO_TERMINAL_ASK))
            return
        answered = None
        with reader.held():
            try:
                while answered is None:
                    self.prompt.insert(getpass.getpass(f"{self.prompt.question}: "))
                    answered = self.prompt.submit()
            except (EOFError, KeyboardInterrupt):
                self.prompt.cancel()
                self._say("-- not asked any more; nothing was sent")
                return
        self._retrying = answered[0].purpose == Purpose.HELLO  # its disconnect may still come
        self.runner.answer(*answered)

    def _drain_lines(self) -> None:
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                return
            if line is None:
                self.eof_at = time.monotonic()
            else:
                self.pending.append(line)

    def _flush_pending(self) -> None:
        while self.pending and not self.done:
            command = parse_input(self.pending[0])
            if command is None:
                self.pending.pop(0)
                continue
            if not self.status.connected and not _works_offline(
                command, self.status.welcomed_once
            ):
                return  # wait for the connection
            outcome = self.runner.run(command)
            if not outcome.sent:
                return  # the connection just dropped: try again once it is back
            self.pending.pop(0)
            self._note_switch()
            if outcome.quit:
                self.quit_reason = outcome.quit_reason
                self.exit_status = 0
                self.done = True


def run_plain(
    host: str,
    port: int,
    nick: str,
    password: str | None,
    stdin: TextIO,
    out: TextIO,
    tls: ssl.SSLContext | None = None,
    channels: list[str] | None = None,
    nick_password: str | None = None,
) -> int:
    """Run the line-mode client until end of input or /quit; return the exit status."""
    can_ask = stdin.isatty()
    client = _PlainClient(host, port, nick, password, out, tls, channels, nick_password, can_ask)
    return client.run(stdin)
