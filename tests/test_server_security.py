"""Hostile and careless peers against a real server: limits, password, fuzzing, floods."""

from __future__ import annotations

import json
import os
import random
import socket
import threading
import time
from pathlib import Path

from conftest import StartServer
from helpers import RawClient, ServerProcess, proc_status, wait_until


def test_rate_limit_refuses_loudly_never_silently(start_server: StartServer) -> None:
    server = start_server("--rate-limit", "5", "--rate-burst", "10")
    alice = RawClient(server.port)
    alice.hello("alice")
    for i in range(30):
        alice.send({"type": "say", "text": f"m{i}"})
    outcomes = [alice.recv()["type"] for _ in range(30)]
    assert outcomes.count("error") >= 15
    assert outcomes.count("message") >= 10
    alice.send({"type": "nick", "nick": "alice2"})
    frame = alice.recv()
    assert frame["type"] in ("rename", "error")
    time.sleep(1.0)
    alice.send({"type": "say", "text": "after a pause"})
    assert alice.recv_until("message")["text"] == "after a pause"
    server.wait_for_log("refused: rate_limited")


def test_silent_client_is_pinged_then_dropped(start_server: StartServer) -> None:
    server = start_server("--idle-timeout", "2")
    watcher = RawClient(server.port)
    watcher.hello("watcher")
    silent = RawClient(server.port)
    silent.hello("silent")
    seen_by_watcher: list[dict[str, object]] = []

    def answer_pings_until_leave() -> None:
        while True:
            frame = watcher.recv(timeout=10)
            seen_by_watcher.append(frame)
            if frame["type"] == "ping":
                watcher.send({"type": "pong", "token": frame.get("token")})
            if frame["type"] == "leave":
                return

    responder = threading.Thread(target=answer_pings_until_leave)
    responder.start()
    frames = silent.wait_closed(timeout=10)
    assert frames[0]["type"] == "ping"
    assert frames[-1] == {"type": "bye", "reason": "idle_timeout"}
    responder.join(15)
    leave = seen_by_watcher[-1]
    assert (leave["type"], leave["nick"], leave["reason"]) == ("leave", "silent", "idle_timeout")
    watcher.send({"type": "who"})
    assert watcher.recv_until("roster")["users"] == ["watcher"]


def test_connections_per_address_are_capped(start_server: StartServer) -> None:
    server = start_server("--max-clients-per-ip", "2")
    first, second = RawClient(server.port), RawClient(server.port)
    first.hello("one")
    second.hello("two")
    frames = RawClient(server.port).wait_closed()
    assert frames[0]["code"] == "server_full" and "address" in frames[0]["message"]
    second.send({"type": "quit"})
    second.wait_closed()
    assert wait_until(lambda: RawClient(server.port).hello("three")["type"] == "welcome")
    first.close()


def test_password_from_environment(tmp_path: Path) -> None:
    os.environ["TERMCHAT_PASSWORD"] = "open sesame"
    try:
        server = ServerProcess(tmp_path / "chat.db").start()
    finally:
        del os.environ["TERMCHAT_PASSWORD"]
    try:
        client = RawClient(server.port)
        assert client.hello("alice")["code"] == "auth_failed"
        started = time.monotonic()
        for _ in range(3):
            assert client.hello("alice", password="guess")["code"] == "auth_failed"
        assert time.monotonic() - started >= 0.1 + 0.2 + 0.4  # failures are slowed down
        assert client.hello("alice", password="open sesame")["type"] == "welcome"
        assert "open sesame" not in "\n".join(server.log_lines)
        assert server.proc is not None
        assert "open sesame" not in Path(f"/proc/{server.proc.pid}/cmdline").read_text()
    finally:
        server.kill()


def test_password_file(start_server: StartServer, tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("from-a-file\n")
    server = start_server("--password-file", str(secret))
    assert RawClient(server.port).hello("a", password="from-a-file")["type"] == "welcome"
    assert RawClient(server.port).hello("b", password="from-a-file\n")["code"] == "auth_failed"


def test_log_lines_cannot_be_forged(server: ServerProcess) -> None:
    client = RawClient(server.port)
    client.send({"type": "hello", "nick": "evil\nINFO fake line"})
    assert client.recv()["code"] == "nick_invalid"
    client.send({"type": "bogus\n2026-01-01 INFO forged", "x": 1})
    assert client.recv()["code"] == "unknown_type"
    client.hello("evil")
    client.send({"type": "bogus\n2026-01-01 INFO forged"})
    assert client.recv_until("error")["code"] == "unknown_type"
    client.send({"type": "quit", "reason": "bye\n2026-01-01 INFO forged too"})
    client.wait_closed()
    server.wait_for_log("evil left")
    assert not any(line.startswith("2026-01-01") for line in server.log_lines)


def random_garbage(rng: random.Random) -> bytes:
    choice = rng.randrange(6)
    if choice == 0:
        return rng.randbytes(rng.randrange(1, 3000))
    if choice == 1:
        return b"{" * rng.randrange(1, 20000) + b"\n"
    if choice == 2:
        return json.dumps({"type": rng.choice(["say", "msg", "nick", "hello", "history", "x"]),
                           "text": rng.choice([None, 5, "", "x" * 5000, ["a"], {"a": 1}]),
                           "nick": rng.choice([None, "", "a" * 40, "ok", 7]),
                           "before": rng.choice([None, -1, "1", 2**70]),
                           "limit": rng.choice([None, 0, 10**9])}).encode() + b"\n"
    if choice == 3:
        return b"\xff\xfe\xfd" * rng.randrange(1, 100) + b"\n"
    if choice == 4:
        return b"x" * rng.randrange(10_000, 100_000)
    return b'{"type":"hello","nick":"f%d","proto":1}\n' % rng.randrange(1000)


def test_live_fuzz_leaves_normal_users_unharmed(server: ServerProcess) -> None:
    alice, bob = RawClient(server.port, recv_size=65536), RawClient(server.port, recv_size=65536)
    alice.hello("alice")
    bob.hello("bob")
    threads_before = proc_status(server, "Threads")
    rss_before = proc_status(server, "VmRSS")
    stop = threading.Event()

    def fuzz(seed: int) -> None:
        rng = random.Random(seed)
        while not stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", server.port), timeout=2) as sock:
                    for _ in range(rng.randrange(1, 30)):
                        sock.sendall(random_garbage(rng))
                        if rng.random() < 0.3:
                            sock.recv(65536)
            except OSError:
                continue  # the server may close a fuzzing connection; that is its right

    fuzzers = [threading.Thread(target=fuzz, args=(seed,)) for seed in range(6)]
    for thread in fuzzers:
        thread.start()
    try:
        for i in range(100):
            (alice if i % 2 else bob).send({"type": "say", "text": f"normal {i}"})
        for client in (alice, bob):
            texts = [client.recv_until("message", timeout=30)["text"] for _ in range(100)]
            assert sorted(texts) == sorted(f"normal {i}" for i in range(100))
    finally:
        stop.set()
        for thread in fuzzers:
            thread.join()
    assert server.proc is not None and server.proc.poll() is None
    assert wait_until(lambda: proc_status(server, "Threads") <= threads_before + 2)
    assert proc_status(server, "VmRSS") < rss_before + 100_000  # KiB
    assert not any("Traceback" in line for line in server.log_lines)


def test_slowloris_does_not_lock_anyone_out(start_server: StartServer) -> None:
    server = start_server("--hello-timeout", "2")
    threads_before = proc_status(server, "Threads")
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(300)]
    tricklers = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(20)]
    for sock in tricklers:
        sock.sendall(b'{"type":')
    alice, bob = RawClient(server.port), RawClient(server.port)
    assert alice.hello("alice")["type"] == "welcome"
    assert bob.hello("bob")["type"] == "welcome"
    alice.send({"type": "say", "text": "still works"})
    assert bob.recv_until("message")["text"] == "still works"
    for sock in tricklers:
        sock.sendall(b'"h')
    assert wait_until(lambda: proc_status(server, "Threads") <= threads_before + 2, 20)
    for sock in idle + tricklers:
        sock.close()


def test_flooder_is_limited_while_others_chat(start_server: StartServer) -> None:
    server = start_server("--rate-limit", "5", "--rate-burst", "10")
    flooder = socket.create_connection(("127.0.0.1", server.port))
    flooder.sendall(b'{"type":"hello","nick":"flooder","proto":1}\n')
    alice, bob = RawClient(server.port), RawClient(server.port)
    alice.hello("alice")
    bob.hello("bob")
    started = time.monotonic()
    stop = threading.Event()

    def flood() -> None:
        line = b'{"type":"say","text":"spam"}\n'
        while not stop.is_set():
            try:
                flooder.sendall(line * 100)
            except OSError:
                return

    thread = threading.Thread(target=flood)
    thread.start()
    try:
        for i in range(10):
            alice.send({"type": "say", "text": f"hi {i}"})
            frame = bob.recv_until("message", **{"from": "alice"})
            assert frame["text"] == f"hi {i}"
            time.sleep(0.2)
    finally:
        stop.set()
        flooder.close()
        thread.join()
    elapsed = time.monotonic() - started
    alice.send({"type": "history", "limit": 500})
    history = alice.recv_until("history")["messages"]
    spam = sum(m["from"] == "flooder" for m in history)
    assert spam <= 10 + 5 * elapsed + 5
    server.wait_for_log("refused: rate_limited")
