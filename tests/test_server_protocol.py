"""Every frame of protocol v1 and every error code, against a real server process."""

from __future__ import annotations

import socket

import pytest
from conftest import HUBS, StartServer
from helpers import RawClient, ServerProcess

from protocol import MAX_CLIENT_FRAME_BYTES

pytestmark = pytest.mark.parametrize("hub", HUBS, indirect=True)


def welcomed(server: ServerProcess, nick: str) -> RawClient:
    client = RawClient(server.port)
    assert client.hello(nick)["type"] == "welcome"
    return client


def test_hello_gets_welcome_with_roster_and_join_for_others(server: ServerProcess) -> None:
    alice = RawClient(server.port)
    welcome = alice.hello("alice")
    assert welcome["nick"] == "alice" and welcome["proto"] == 1
    assert welcome["roster"] == ["alice"] and welcome["history"] == []
    assert welcome["server"].startswith("termchat") and welcome["resume"]
    bob = RawClient(server.port)
    assert bob.hello("Боб")["roster"] == ["alice", "Боб"]
    join = alice.recv()
    assert join["type"] == "join" and join["nick"] == "Боб" and join["ts"] > 0
    server.wait_for_log("joined as Боб")


def test_say_reaches_everyone_in_id_order(server: ServerProcess) -> None:
    alice, bob = welcomed(server, "alice"), welcomed(server, "bob")
    alice.recv_until("join", nick="bob")
    alice.send({"type": "say", "text": "привет"})
    bob.send({"type": "say", "text": "waves", "action": True})
    seen = []
    for client in (alice, bob):
        first, second = client.recv_until("message"), client.recv_until("message")
        assert second["id"] > first["id"]
        seen.append([first, second])
    assert seen[0] == seen[1]
    by_sender = {m["from"]: m for m in seen[0]}
    assert by_sender["alice"]["text"] == "привет" and "action" not in by_sender["alice"]
    assert by_sender["bob"]["text"] == "waves" and by_sender["bob"]["action"] is True
    assert "to" not in by_sender["alice"]


def test_escape_sequences_are_stripped_before_relay(server: ServerProcess) -> None:
    alice = welcomed(server, "alice")
    alice.send({"type": "say", "text": "a\x1b[2J\x9b31mb\x07"})
    assert alice.recv_until("message")["text"] == "a[2J31mb"


def test_private_message_reaches_target_and_sender_only(server: ServerProcess) -> None:
    alice, bob, carol = (welcomed(server, n) for n in ("alice", "bob", "carol"))
    alice.send({"type": "msg", "to": "BOB", "text": "psst"})
    for client in (alice, bob):
        msg = client.recv_until("message")
        assert (msg["from"], msg["to"], msg["text"]) == ("alice", "bob", "psst")
    carol.send({"type": "say", "text": "public"})
    assert carol.recv_until("message")["text"] == "public"
    bob.send({"type": "msg", "to": "nobody", "text": "hi"})
    assert bob.recv_until("error")["code"] == "no_such_user"


def test_rename_reaches_everyone_and_frees_the_old_nick(server: ServerProcess) -> None:
    alice, bob = welcomed(server, "alice"), welcomed(server, "bob")
    alice.send({"type": "nick", "nick": "alicia"})
    for client in (alice, bob):
        rename = client.recv_until("rename")
        assert (rename["old"], rename["new"]) == ("alice", "alicia")
    server.wait_for_log("alice is now known as alicia")
    assert welcomed(server, "alice")
    bob.send({"type": "nick", "nick": "ALICIA"})
    assert bob.recv_until("error")["code"] == "nick_taken"
    bob.send({"type": "nick", "nick": "Bob"})
    rename = bob.recv_until("rename")
    assert (rename["old"], rename["new"]) == ("bob", "Bob")


def test_who_returns_roster(server: ServerProcess) -> None:
    alice, _bob = welcomed(server, "alice"), welcomed(server, "Bob")
    alice.send({"type": "who"})
    assert alice.recv_until("roster")["users"] == ["alice", "Bob"]


def test_history_pages_back_oldest_first(server: ServerProcess) -> None:
    alice = welcomed(server, "alice")
    for i in range(120):
        alice.send({"type": "say", "text": f"m{i}"})
    ids = [alice.recv_until("message")["id"] for _ in range(120)]
    alice.send({"type": "msg", "to": "alice", "text": "private note"})
    alice.recv_until("message")
    alice.send({"type": "history"})
    page = alice.recv_until("history")
    assert [m["text"] for m in page["messages"]] == [f"m{i}" for i in range(70, 120)]
    alice.send({"type": "history", "before": ids[70], "limit": 1000})
    page = alice.recv_until("history")
    assert page["before"] == ids[70]
    assert [m["text"] for m in page["messages"]] == [f"m{i}" for i in range(70)]
    history = RawClient(server.port).hello("late")["history"]
    assert "private note" not in [m["text"] for m in history]


def test_welcome_carries_last_50_and_since(server: ServerProcess) -> None:
    alice = welcomed(server, "alice")
    for i in range(60):
        alice.send({"type": "say", "text": f"m{i}"})
    ids = [alice.recv_until("message")["id"] for _ in range(60)]
    bob = RawClient(server.port)
    history = bob.hello("bob")["history"]
    assert [m["text"] for m in history] == [f"m{i}" for i in range(10, 60)]
    carol = RawClient(server.port)
    history = carol.hello("carol", since=ids[54])["history"]
    assert [m["id"] for m in history] == ids[55:]


def test_ping_pong(server: ServerProcess) -> None:
    alice = welcomed(server, "alice")
    alice.send({"type": "ping", "token": "abc"})
    assert alice.recv_until("pong") == {"type": "pong", "token": "abc"}
    alice.send({"type": "ping"})
    assert alice.recv_until("pong") == {"type": "pong"}
    alice.send({"type": "pong", "token": "unsolicited"})
    alice.send({"type": "ping", "token": "still-alive"})
    assert alice.recv_until("pong")["token"] == "still-alive"


def test_quit_says_bye_and_others_see_leave(server: ServerProcess) -> None:
    alice, bob = welcomed(server, "alice"), welcomed(server, "bob")
    bob.send({"type": "quit", "reason": "off to bed\nforged"})
    assert bob.wait_closed()[-1] == {"type": "bye", "reason": "quit"}
    leave = alice.recv_until("leave")
    assert (leave["nick"], leave["reason"]) == ("bob", "off to bed forged")
    server.wait_for_log("bob left (off to bed forged)")


def test_abrupt_disconnect_is_a_leave(server: ServerProcess) -> None:
    alice, bob = welcomed(server, "alice"), welcomed(server, "bob")
    bob.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    bob.close()
    leave = alice.recv_until("leave")
    assert leave["nick"] == "bob"
    alice.send({"type": "who"})
    assert alice.recv_until("roster")["users"] == ["alice"]


def test_errors_before_hello_keep_the_connection(server: ServerProcess) -> None:
    client = RawClient(server.port)
    client.send({"type": "say", "text": "too early"})
    assert client.recv()["code"] == "not_welcomed"
    client.send({"type": "hello", "nick": "bad nick!"})
    assert client.recv()["code"] == "nick_invalid"
    holder = welcomed(server, "taken")
    client.send({"type": "hello", "nick": "TAKEN", "proto": 1})
    error = client.recv()
    assert error["code"] == "nick_taken" and "/nick" in error["message"]
    assert client.hello("fine")["type"] == "welcome"
    holder.close()


def test_every_frame_error_code(server: ServerProcess) -> None:
    alice = welcomed(server, "alice")
    cases = [
        (b"{oops\n", "bad_frame"),
        (b"\xc3\x28\n", "bad_frame"),
        (b"[1,2]\n", "bad_frame"),
        (b'{"type":"x"}' + b" " * MAX_CLIENT_FRAME_BYTES + b"\n", "frame_too_large"),
        (b'{"type":"dance"}\n', "unknown_type"),
        (b'{"type":"msg","text":"no target"}\n', "bad_request"),
        (b'{"type":"hello","nick":"again"}\n', "bad_request"),
        (b'{"type":"nick","nick":"no spaces allowed"}\n', "nick_invalid"),
        (('{"type":"say","text":"' + "x" * 4097 + '"}\n').encode(), "text_too_long"),
        (b'{"type":"msg","to":"ghost","text":"hi"}\n', "no_such_user"),
    ]
    for data, code in cases:
        alice.send_raw(data)
        error = alice.recv_until("error")
        assert error["code"] == code, (data[:40], error)
        assert error["message"]
    alice.send({"type": "say", "text": "still here"})
    assert alice.recv_until("message")["text"] == "still here"


def test_hello_timeout_closes_the_connection(start_server: StartServer) -> None:
    server = start_server("--hello-timeout", "0.5")
    silent = RawClient(server.port)
    assert silent.wait_closed(timeout=5) == [{"type": "bye", "reason": "hello_timeout"}]
    server.wait_for_log("no hello within")


def test_server_full(start_server: StartServer) -> None:
    server = start_server("--max-clients", "2")
    occupants = [welcomed(server, "one"), welcomed(server, "two")]
    third = RawClient(server.port)
    frames = third.wait_closed()
    assert frames[0]["code"] == "server_full"
    assert frames[-1] == {"type": "bye", "reason": "server_full"}
    assert len(occupants) == 2


def test_a_users_actions_reach_others_in_the_order_they_did_them(server: ServerProcess) -> None:
    watcher, dave = welcomed(server, "watcher"), welcomed(server, "dave")
    watcher.recv_until("join", nick="dave")
    dave.send_raw(
        b'{"type":"say","text":"one"}\n{"type":"nick","nick":"david"}\n'
        b'{"type":"say","text":"two"}\n{"type":"quit"}\n'
    )
    frames = [watcher.recv() for _ in range(4)]
    seen = [(f["type"], f.get("from") or f.get("new") or f.get("nick")) for f in frames]
    assert seen == [("message", "dave"), ("rename", "david"), ("message", "david"),
                    ("leave", "david")]
