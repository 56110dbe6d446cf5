"""The line-mode client: stdin lines in, plain event lines out.

Used with ``--plain`` or when stdout is not a terminal. It shares commands,
state and networking with the full-screen client and prints each new entry as
one line (``[12:00] alice: hi``). Exits on end of input or /quit.
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from typing import Final, TextIO

from protocol import Nick
from tui_client.commands import (
    HELP_LINES,
    CommandError,
    LocalAction,
    QuitCommand,
    SendFrame,
    parse_input,
)
from tui_client.net import Connection, NetEvent, NetStatus
from tui_client.render import format_plain
from tui_client.state import ClientState, Entry, Status

__all__ = ["run_plain"]

log = logging.getLogger(__name__)

POLL_S: Final = 0.05
EOF_WAIT_S: Final = 10.0  # how long queued lines wait for a connection after end of input


class _PlainClient:
    def __init__(
        self,
        host: str,
        port: int,
        nick: str,
        password: str | None,
        out: TextIO,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.out = out
        self.state = ClientState(host, port, nick)
        self.state.listener = self._print_entry
        self.events: queue.Queue[NetEvent] = queue.Queue()
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.conn = Connection(host, port, nick, self.events, password=password, tls=tls)
        self.pending: list[str] = []
        self.eof_at: float | None = None
        self.done = False
        self.status = 1
        self.quit_reason: str | None = None

    def _print_entry(self, entry: Entry) -> None:
        print(format_plain(entry, self.state), file=self.out, flush=True)

    def _read_stdin(self, stdin: TextIO) -> None:
        try:
            for line in stdin:
                self.lines.put(line.rstrip("\r\n"))
        except (OSError, ValueError) as exc:  # stdin closed under us
            log.info("stdin ended: %s", exc)
        finally:
            self.lines.put(None)

    def run(self, stdin: TextIO) -> int:
        threading.Thread(
            target=self._read_stdin, args=(stdin,), name="stdin-reader", daemon=True
        ).start()
        self.conn.start()
        try:
            while not self.done:
                self._drain_events()
                self._drain_lines()
                self._flush_pending()
                if self.eof_at is not None and not self.pending:
                    self.status = 0
                    break
                if self.eof_at is not None and time.monotonic() - self.eof_at > EOF_WAIT_S:
                    print(
                        "-- could not connect; unsent lines were dropped", file=self.out, flush=True
                    )
                    break
        finally:
            self.conn.stop(self.quit_reason)
        return self.status

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
                return

    def _on_event(self, event: NetEvent) -> None:
        if not isinstance(event, NetStatus):
            self.state.apply(event)
            return
        before = self.state.status
        self.state.set_status(event.status, event.retry_in_s or None)
        if event.status == Status.RECONNECTING and event.retry_in_s:
            print(f"-- reconnecting in {event.retry_in_s:.0f}s", file=self.out, flush=True)
        elif event.status == Status.DISCONNECTED and before != Status.DISCONNECTED:
            print("-- disconnected", file=self.out, flush=True)
            if not self.conn.connected and not self.state.welcomed_once:
                self.done = True  # refused at hello: nothing more will happen

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
            line = self.pending[0]
            command = parse_input(line)
            if isinstance(command, SendFrame) and not self.conn.connected:
                if isinstance(command.frame, Nick) and not self.state.welcomed_once:
                    self.conn.change_nick(command.frame.nick)
                    self.pending.pop(0)
                    continue
                return  # wait for the connection
            self.pending.pop(0)
            self._run(command)

    def _run(self, command: object) -> None:
        if isinstance(command, SendFrame):
            self.conn.send(command.frame)
        elif isinstance(command, CommandError):
            print(f"! {command.message}", file=self.out, flush=True)
        elif isinstance(command, QuitCommand):
            self.quit_reason = command.reason
            self.status = 0
            self.done = True
        elif isinstance(command, LocalAction):
            self._local(command.name)

    def _local(self, name: str) -> None:
        if name == "help":
            for text in HELP_LINES:
                print(text, file=self.out, flush=True)
        elif name == "roster":
            print(
                f"-- online ({len(self.state.roster)}): {', '.join(self.state.roster)}",
                file=self.out,
                flush=True,
            )
        elif name == "bell":
            self.state.bell_enabled = not self.state.bell_enabled


def run_plain(
    host: str,
    port: int,
    nick: str,
    password: str | None,
    stdin: TextIO,
    out: TextIO,
    tls: ssl.SSLContext | None = None,
) -> int:
    """Run the line-mode client until end of input or /quit; return the exit status."""
    return _PlainClient(host, port, nick, password, out, tls).run(stdin)
