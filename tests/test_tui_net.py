"""The client's network thread (tui_client.net) against a scripted fake server.

The fake server is a listening socket on 127.0.0.1 port 0 driven by the test, so
reconnect details (since, resume token, backoff, ping answers) can be checked exactly.
"""

from __future__ import annotations

import json
import queue
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from protocol import (
    CAP_PRESENCE,
    Account,
    Bye,
    ByeReason,
    Channel,
    Error,
    ErrorCode,
    Kick,
    Leave,
    Message,
    Register,
    Rename,
    Unregister,
    Welcome,
    encode_wire,
)
from tui_client.net import NICK_PASSWORD_REFUSED, Connection, NetEvent, NetStatus
from tui_client.status import Status

pytestmark = pytest.mark.timeout(20)
WAIT_S = 5.0


class FakeServer:
    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(WAIT_S)
        self.port = self.listener.getsockname()[1]

    def accept(self) -> tuple[socket.socket, Any]:
        conn, _addr = self.listener.accept()
        conn.settimeout(WAIT_S)
        reader = conn.makefile("rb")
        return conn, reader

    def close(self) -> None:
        self.listener.close()


def started(fake: FakeServer) -> tuple[Connection, queue.Queue[NetEvent]]:
    """A started connection of alice's to ``fake`` that retries quickly, and its events."""
    events: queue.Queue[NetEvent] = queue.Queue()
    conn = Connection("127.0.0.1", fake.port, "alice", events, backoff_first_s=0.05)
    conn.start()
    return conn, events


def read_frame(reader: Any) -> dict[str, Any]:
    line = reader.readline()
    assert line, "client closed"
    obj: dict[str, Any] = json.loads(line)
    return obj


def welcome(
    nick: str, history: list[Message], resume: str | None = "tok", channels: tuple[str, ...] = ()
) -> bytes:
    frames = [Channel(name, [nick], history if i == 0 else []) for i, name in enumerate(channels)]
    return encode_wire(
        Welcome(nick, "fake", [nick], history, resume=resume, channels=frames).to_wire()
    )


def wire(frame: object) -> bytes:
    return encode_wire(frame.to_wire())  # type: ignore[attr-defined]


def wait_reconnecting(events: queue.Queue[NetEvent]) -> None:
    status = next_event(events, NetStatus)
    while status.status != Status.RECONNECTING or not status.retry_in_s:
        status = next_event(events, NetStatus)


def next_event(events: queue.Queue[NetEvent], kind: type) -> Any:
    while True:
        event = events.get(timeout=WAIT_S)
        if isinstance(event, kind):
            return event


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.close()


def test_reconnect_sends_since_and_resume_and_asks_for_presence(fake: FakeServer) -> None:
    conn, events = started(fake)
    try:
        sock, reader = fake.accept()
        hello = read_frame(reader)
        assert hello == {"type": "hello", "nick": "alice", "proto": 1, "caps": [CAP_PRESENCE]}
        sock.sendall(welcome("alice", [Message(7, 1.0, "bob", "hi")]))
        assert isinstance(next_event(events, Welcome), Welcome)
        sock.sendall(encode_wire({"type": "ping", "token": "t1"}))
        assert read_frame(reader) == {"type": "pong", "token": "t1"}
        sock.sendall(encode_wire(Message(9, 2.0, "bob", "later").to_wire()))
        next_event(events, Message)
        sock.sendall(encode_wire(Bye(ByeReason.SERVER_SHUTDOWN).to_wire()))
        sock.close()
        status = next_event(events, NetStatus)
        while status.status != Status.RECONNECTING or not status.retry_in_s:
            status = next_event(events, NetStatus)
        sock2, reader2 = fake.accept()
        hello2 = read_frame(reader2)
        assert hello2["since"] == 9 and hello2["resume"] == "tok" and hello2["nick"] == "alice"
        assert hello2["caps"] == [CAP_PRESENCE]  # a reconnect asks again
        sock2.close()
    finally:
        conn.stop()


@pytest.mark.parametrize("code", [ErrorCode.NICK_TAKEN, ErrorCode.NICK_REGISTERED])
def test_nick_refused_on_first_connect_waits_for_a_new_nick(fake: FakeServer, code: str) -> None:
    conn, events = started(fake)
    try:
        sock, reader = fake.accept()
        read_frame(reader)
        sock.sendall(encode_wire(Error(code, "Taken.").to_wire()))
        assert next_event(events, Error).code == code
        status = next_event(events, NetStatus)
        while status.status != Status.DISCONNECTED:
            status = next_event(events, NetStatus)
        sock.close()
        conn.change_nick("alice2")
        sock2, reader2 = fake.accept()
        assert read_frame(reader2)["nick"] == "alice2"
        sock2.close()
    finally:
        conn.stop()


def test_bye_quit_ends_and_stop_joins(fake: FakeServer) -> None:
    conn, events = started(fake)
    sock, reader = fake.accept()
    read_frame(reader)
    sock.sendall(welcome("alice", []))
    sock.sendall(encode_wire(Bye(ByeReason.QUIT).to_wire()))
    status = next_event(events, NetStatus)
    while status.status != Status.DISCONNECTED:
        status = next_event(events, NetStatus)
    conn.stop()
    assert not conn._thread.is_alive()
    sock.close()


def test_stop_says_quit(fake: FakeServer) -> None:
    events: queue.Queue[NetEvent] = queue.Queue()
    conn = Connection("127.0.0.1", fake.port, "alice", events)
    conn.start()
    sock, reader = fake.accept()
    read_frame(reader)
    sock.sendall(welcome("alice", []))
    next_event(events, Welcome)
    conn.stop("gone")
    assert read_frame(reader) == {"type": "quit", "reason": "gone"}
    assert not conn._thread.is_alive()
    sock.close()


def test_reconnect_rejoins_the_channels_it_is_in_with_one_hello(fake: FakeServer) -> None:
    events: queue.Queue[NetEvent] = queue.Queue()
    conn = Connection(
        "127.0.0.1", fake.port, "alice", events, backoff_first_s=0.05, channels=["#a", "#b"]
    )
    conn.start()
    try:
        sock, reader = fake.accept()
        assert read_frame(reader)["channels"] == ["#a", "#b"]
        sock.sendall(welcome("alice", [Message(3, 1.0, "bob", "hi", channel="#a")],
                             channels=("#a", "#b")))
        sock.sendall(wire(Channel("#ops", ["alice"], [Message(5, 2.0, "x", "y", channel="#ops")])))
        sock.sendall(wire(Leave("alice", "part", 3.0, channel="#a")))
        sock.sendall(wire(Channel("#x", ["alice"], [])))
        sock.sendall(wire(Kick("#x", "alice", "", "op", 3.5)))  # no leave follows a kick
        sock.sendall(wire(Rename("alice", "Alicia", 4.0, resume="tok2")))
        sock.sendall(wire(Message(8, 5.0, "bob", "private", to="Alicia")))
        next_event(events, Rename)
        next_event(events, Message)
        sock.shutdown(socket.SHUT_RDWR)  # the reader's file keeps the socket open otherwise
        wait_reconnecting(events)
        sock2, reader2 = fake.accept()
        hello = read_frame(reader2)
        assert hello["channels"] == ["#b", "#ops"]
        assert hello["nick"] == "Alicia" and hello["resume"] == "tok2" and hello["since"] == 8
        sock2.close()
    finally:
        conn.stop()


def test_without_join_the_first_hello_names_no_channels(fake: FakeServer) -> None:
    conn, events = started(fake)
    try:
        sock, reader = fake.accept()
        assert "channels" not in read_frame(reader)
        sock.sendall(welcome("alice", [], channels=("#lobby",)))
        next_event(events, Welcome)
        sock.shutdown(socket.SHUT_RDWR)
        wait_reconnecting(events)
        sock2, reader2 = fake.accept()
        assert read_frame(reader2)["channels"] == ["#lobby"]
        sock2.close()
    finally:
        conn.stop()


def refuse(sock: socket.socket, code: str, message: str = "No.") -> None:
    sock.sendall(encode_wire(Error(code, message).to_wire()))


def wait_disconnected(events: queue.Queue[NetEvent]) -> None:
    status = next_event(events, NetStatus)
    while status.status != Status.DISCONNECTED:
        status = next_event(events, NetStatus)


def test_every_hello_carries_the_nick_password(fake: FakeServer) -> None:
    events: queue.Queue[NetEvent] = queue.Queue()
    conn = Connection("127.0.0.1", fake.port, "alice", events, backoff_first_s=0.05,
                      nick_password="pw-from-file")
    conn.start()
    try:
        sock, reader = fake.accept()
        assert read_frame(reader)["nick_password"] == "pw-from-file"
        sock.sendall(welcome("alice", []))
        next_event(events, Welcome)
        sock.shutdown(socket.SHUT_RDWR)
        wait_reconnecting(events)
        sock2, reader2 = fake.accept()
        assert read_frame(reader2)["nick_password"] == "pw-from-file"  # a reconnect too
        sock2.close()
    finally:
        conn.stop()


def test_a_registered_nick_waits_for_its_password_and_a_wrong_one_is_told_apart(
    fake: FakeServer,
) -> None:
    conn, events = started(fake)
    try:
        sock, reader = fake.accept()
        assert "nick_password" not in read_frame(reader)
        refuse(sock, ErrorCode.NICK_REGISTERED)
        assert next_event(events, Error).code == ErrorCode.NICK_REGISTERED
        wait_disconnected(events)
        sock.close()
        conn.use_nick_password("wrong-one")
        sock2, reader2 = fake.accept()
        assert read_frame(reader2)["nick_password"] == "wrong-one"
        refuse(sock2, ErrorCode.AUTH_FAILED, "Wrong password for this nick.")
        refused = next_event(events, Error)
        assert refused.code == NICK_PASSWORD_REFUSED and refused.message.startswith("Wrong")
        wait_disconnected(events)  # waits for the user, with no retry loop
        sock2.close()
        conn.use_nick_password("right-one")
        sock3, reader3 = fake.accept()
        assert read_frame(reader3)["nick_password"] == "right-one"
        sock3.close()
    finally:
        conn.stop()


def test_without_a_nick_password_auth_failed_ends_the_connection(fake: FakeServer) -> None:
    conn, events = started(fake)
    try:
        sock, reader = fake.accept()
        read_frame(reader)
        refuse(sock, ErrorCode.AUTH_FAILED, "Wrong or missing password.")
        assert next_event(events, Error).code == ErrorCode.AUTH_FAILED  # the server's
        wait_disconnected(events)
        assert conn.ended
        sock.close()
    finally:
        conn.stop()


def test_a_confirmed_account_password_is_used_from_then_on(fake: FakeServer) -> None:
    events: queue.Queue[NetEvent] = queue.Queue()
    conn = Connection("127.0.0.1", fake.port, "alice", events, backoff_first_s=0.05,
                      nick_password="stale")
    conn.start()
    try:
        sock, reader = fake.accept()
        read_frame(reader)
        sock.sendall(welcome("alice", []))
        next_event(events, Welcome)
        assert conn.send(Register("registered-pw"))
        assert read_frame(reader) == {"type": "register", "password": "registered-pw"}
        sock.sendall(wire(Account("alice", registered=True, identified=True)))
        next_event(events, Account)
        sock.shutdown(socket.SHUT_RDWR)
        wait_reconnecting(events)
        sock2, reader2 = fake.accept()
        assert read_frame(reader2)["nick_password"] == "registered-pw"
        sock2.sendall(welcome("alice", []))
        next_event(events, Welcome)
        assert conn.send(Unregister("registered-pw"))
        read_frame(reader2)
        sock2.sendall(wire(Account("alice")))
        next_event(events, Account)
        sock2.shutdown(socket.SHUT_RDWR)
        wait_reconnecting(events)
        sock3, reader3 = fake.accept()
        assert "nick_password" not in read_frame(reader3)  # given up with the account
        sock3.close()
    finally:
        conn.stop()


@pytest.mark.parametrize("reason", [ByeReason.KILLED, ByeReason.BANNED])
def test_killed_or_banned_does_not_reconnect(fake: FakeServer, reason: str) -> None:
    events: queue.Queue[NetEvent] = queue.Queue()
    conn = Connection("127.0.0.1", fake.port, "alice", events, backoff_first_s=0.01)
    conn.start()
    try:
        sock, reader = fake.accept()
        read_frame(reader)
        sock.sendall(welcome("alice", []))
        sock.sendall(wire(Bye(reason)))
        assert next_event(events, Bye).reason == reason
        wait_disconnected(events)
        conn._thread.join(WAIT_S)
        assert conn.ended and not conn._thread.is_alive()  # no retry will come
        sock.close()
    finally:
        conn.stop()


def test_a_new_nick_given_while_the_hello_is_on_its_way_is_not_lost(fake: FakeServer) -> None:
    """The wait for a nick used to start by clearing the wake-up, losing an early one."""
    conn, events = started(fake)
    try:
        sock, reader = fake.accept()
        read_frame(reader)
        conn.change_nick("alice2")  # before the refusal arrives
        refuse(sock, ErrorCode.NICK_TAKEN)
        sock2, reader2 = fake.accept()
        assert read_frame(reader2)["nick"] == "alice2"
        sock2.close()
        sock.close()
    finally:
        conn.stop()


def test_an_account_answer_brings_the_token_a_reconnect_resumes_with(fake: FakeServer) -> None:
    conn, events = started(fake)
    try:
        sock, reader = fake.accept()
        read_frame(reader)
        sock.sendall(welcome("alice", [], resume="before"))
        next_event(events, Welcome)
        assert conn.send(Register("registered-pw"))
        read_frame(reader)
        sock.sendall(wire(Account("alice", registered=True, identified=True, resume="after")))
        next_event(events, Account)
        sock.shutdown(socket.SHUT_RDWR)
        wait_reconnecting(events)
        sock2, reader2 = fake.accept()
        assert read_frame(reader2)["resume"] == "after"  # the server voided the one before
        sock2.close()
    finally:
        conn.stop()
