"""End-to-end: accounts and moderation in the real client against the real server.

The full-screen client runs in a pseudo-terminal read through pyte, the plain
one over pipes (or with a pty on stdin, for getpass); peers are raw socket
clients. Every wait polls with a timeout.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import StartServer
from helpers import ROOT, RawClient, ServerProcess
from tui_support import KEY_UP, TuiProcess, _take_terminal

pytestmark = pytest.mark.timeout(60)
SEP = "\u2502"
StartClient = Callable[..., TuiProcess]


@pytest.fixture
def start_client(tmp_path: Path) -> Iterator[StartClient]:
    clients: list[TuiProcess] = []

    def start(server: ServerProcess, nick: str, *args: str,
              env: dict[str, str] | None = None) -> TuiProcess:
        tui = TuiProcess(
            ["--nick", nick, "--port", str(server.port),
             "--log-file", str(tmp_path / f"{nick}-{len(clients)}.log"), *args],
            env={"TZ": "UTC", **(env or {})},
        )
        clients.append(tui)
        return tui

    yield start
    for tui in clients:
        tui.close()


def roster_column(lines: list[str]) -> list[str]:
    return [line.rsplit(SEP, 1)[1].strip() for line in lines[1:-2] if line.count(SEP) >= 2]


def type_secret(tui: TuiProcess, secret: str) -> None:
    """Type a password into the masked prompt (it shows marks only), then Enter."""
    tui.write(secret)
    tui.wait_for(lambda ls: ls[-1].rstrip().endswith(": " + "*" * len(secret)))
    tui.write("\r")


def registered(server: ServerProcess, nick: str, password: str,
               channels: list[str] | None = None) -> RawClient:
    """A raw client holding ``nick``, registered and identified with ``password``."""
    client = RawClient(server.port)
    assert client.hello(nick, channels=[])["type"] == "welcome"
    client.send({"type": "register", "password": password})
    assert client.recv_until("account")["identified"] is True
    for channel in channels or []:  # created now, by an identified user: its operator
        client.send({"type": "join", "channel": channel})
        client.recv_until("channel", name=channel)
    return client


def leave(client: RawClient) -> None:
    client.send({"type": "quit"})
    client.wait_closed()


def peer(server: ServerProcess, nick: str, channels: list[str] | None = None) -> RawClient:
    client = RawClient(server.port)
    welcome = client.hello(nick, **({"channels": channels} if channels is not None else {}))
    assert welcome["type"] == "welcome", welcome
    return client


def test_register_then_reconnect_with_the_password_from_the_environment(
    server: ServerProcess, start_client: StartClient
) -> None:
    password = "alice-pass-1"
    tui = start_client(server, "alice", env={"TERMCHAT_NICK_PASSWORD": password})
    tui.wait_for(lambda ls: "*alice" in roster_column(ls))
    tui.type_line("/register")
    tui.wait_for(lambda ls: ls[-1].startswith("New password for alice (Esc cancels): "))
    type_secret(tui, password)
    tui.wait_for(lambda ls: ls[-1].startswith("The same password again"))
    type_secret(tui, password)
    tui.wait_for("-- alice is registered to you")
    port = server.port
    server.stop()
    tui.wait_for(lambda ls: "reconnecting" in ls[-2])
    server.start(port=port)
    # The welcome's resume token predates the registration: only the password gets us back in.
    lines = tui.wait_for(lambda ls: "| connected |" in ls[-2] and "reconnected as alice"
                         in "\n".join(ls), timeout=15)
    assert "Password of alice" not in "\n".join(lines)
    tui.type_line("/whois alice")
    tui.wait_for("-- alice: identified as alice")
    tui.write(KEY_UP)  # /register was never kept in the input history
    tui.wait_for(lambda ls: ls[-1].startswith("> /whois alice"))
    tui.write(KEY_UP)
    tui.wait_for(lambda ls: ls[-1].startswith("> /whois alice"))
    assert password.encode() not in tui.raw
    tui.write("\x15")  # Ctrl-U: empty the line again
    tui.type_line("/quit")
    assert tui.wait_exit() == 0
    stranger = RawClient(server.port)
    assert stranger.hello("alice")["code"] == "nick_registered"


def test_a_registered_nick_is_asked_for_its_password(
    server: ServerProcess, start_client: StartClient
) -> None:
    password = "bob-pass-12"
    leave(registered(server, "bob", password))
    watcher = peer(server, "watcher")
    tui = start_client(server, "bob")
    lines = tui.wait_for(lambda ls: ls[-1].startswith("Password of bob (Esc cancels): "))
    assert "This nick is registered" in "\n".join(lines)
    type_secret(tui, "wrong-pass-1")
    tui.wait_for("Wrong password for this nick")
    tui.wait_for(lambda ls: ls[-1].startswith("Password of bob (Esc cancels): "))
    type_secret(tui, password)
    tui.wait_for(lambda ls: "*bob" in roster_column(ls) and "| connected |" in ls[-2])
    assert watcher.recv_until("join", nick="bob")["identified"] is True
    assert password.encode() not in tui.raw and b"wrong-pass-1" not in tui.raw


def test_escape_then_another_nick_is_the_way_out(
    server: ServerProcess, start_client: StartClient
) -> None:
    leave(registered(server, "bob", "bob-pass-12"))
    tui = start_client(server, "bob")
    tui.wait_for(lambda ls: ls[-1].startswith("Password of bob"))
    tui.write("\x1b")
    tui.wait_for(lambda ls: ls[-1].startswith(">") and "not asked any more" in "\n".join(ls))
    tui.type_line("/nick bob2")
    tui.wait_for(lambda ls: "*bob2" in roster_column(ls))


def test_a_kicked_user_sees_why(server: ServerProcess, start_client: StartClient) -> None:
    alice = registered(server, "alice", "alice-pass-1", channels=["#ops"])  # creates it: operator
    tui = start_client(server, "carol", "--join", "#ops")
    lines = tui.wait_for(lambda ls: "@alice" in roster_column(ls))
    assert roster_column(lines)[1:3] == ["@alice", "*carol"]  # operators first
    alice.send({"type": "kick", "channel": "#ops", "nick": "carol", "reason": "spam"})
    lines = tui.wait_for("-- you were kicked from #ops by alice: spam")
    assert "you are not in this channel" in lines[0]
    assert alice.recv_until("kick")["nick"] == "carol"


def test_an_operator_kicks_bans_and_sets_modes_from_the_tui(
    server: ServerProcess, start_client: StartClient
) -> None:
    leave(registered(server, "alice", "alice-pass-1"))
    tui = start_client(server, "alice", "--join", "#ops",
                       env={"TERMCHAT_NICK_PASSWORD": "alice-pass-1"})
    tui.wait_for(lambda ls: "*@alice" in roster_column(ls))  # identified, so it runs #ops
    bob = peer(server, "bob", ["#ops"])
    tui.wait_for(lambda ls: "bob" in roster_column(ls))
    tui.type_line("/kick bob spam")
    kick = bob.recv_until("kick")
    assert (kick["channel"], kick["nick"], kick["reason"], kick["by"]) == (
        "#ops", "bob", "spam", "alice")
    tui.wait_for("-- alice kicked bob: spam")
    bob.send({"type": "join", "channel": "#ops"})
    bob.recv_until("channel")
    tui.wait_for(lambda ls: "bob" in roster_column(ls))
    tui.type_line("/ban bob 5 flooding")
    assert bob.recv_until("mode")["ban"] == "bob"
    assert bob.recv_until("kick")["reason"] == "banned by alice: flooding"
    tui.wait_for("-- alice banned bob from #ops")
    before = time.time()
    bob.send({"type": "join", "channel": "#ops"})
    refusal = bob.recv_until("error")
    assert refusal["code"] == "banned" and refusal["reason"] == "flooding"
    assert before + 4 * 60 < refusal["until"] < time.time() + 5 * 60 + 1
    tui.type_line("/unban bob")
    tui.wait_for("-- alice lifted the ban on bob")
    bob.send({"type": "join", "channel": "#ops"})
    bob.recv_until("channel", name="#ops")
    tui.type_line("/mode +t")
    assert bob.recv_until("mode")["topic_lock"] is True
    tui.wait_for(lambda ls: ls[0].startswith("#ops [+t]: "))
    tui.type_line("/op bob")  # only identified users run channels: the server says so
    tui.wait_for("! bob is not identified")


def test_killed_by_an_admin_the_client_says_so_and_stays_down(
    start_server: StartServer, start_client: StartClient
) -> None:
    server = start_server("--admin", "root")
    root = registered(server, "root", "root-pass-1")
    tui = start_client(server, "bob")
    tui.wait_for(lambda ls: "*bob" in roster_column(ls))
    root.send({"type": "kill", "nick": "bob", "reason": "flooding"})
    lines = tui.wait_for("-- an admin closed your connection (killed by root:")
    shown = " ".join(line.strip(" │") for line in lines)
    assert "(killed by root: flooding); the client will not reconnect" in " ".join(shown.split())
    tui.wait_for(lambda ls: "| disconnected |" in ls[-2])


# The plain client.


def start_plain(
    server: ServerProcess, tmp_path: Path, nick: str, *extra: str,
    env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[str], queue.Queue[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui_client", "--port", str(server.port), "--nick", nick,
         "--log-file", str(tmp_path / f"plain-{nick}.log"), *extra],
        cwd=ROOT, env={**os.environ, **(env or {})}, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    return proc, pump(proc)


def pump(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def run() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=run, name="plain-stdout", daemon=True).start()
    return lines


def wait_line(lines: queue.Queue[str], needle: str) -> str:
    deadline = time.monotonic() + 10
    while True:
        line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        if needle in line:
            return line


def test_plain_whois_and_kick(server: ServerProcess, tmp_path: Path) -> None:
    leave(registered(server, "alice", "alice-pass-1"))
    proc, lines = start_plain(server, tmp_path, "alice", "--join", "#ops",
                              env={"TERMCHAT_NICK_PASSWORD": "alice-pass-1"})
    assert proc.stdin is not None
    wait_line(lines, "-- talking in #ops")
    bob = peer(server, "bob", ["#ops"])
    wait_line(lines, "bob joined")
    proc.stdin.write("/names\n")  # answered by the client itself
    proc.stdin.flush()
    assert wait_line(lines, "-- in #ops").endswith("-- in #ops (2): @alice, bob")
    proc.stdin.write("/whois bob\n/kick bob spam\n")
    proc.stdin.flush()
    assert wait_line(lines, "-- bob:").endswith("-- bob: not identified; in #ops; idle 0s; "
                                                 f"here since {time.strftime('%H:%M')}")
    assert bob.recv_until("kick")["reason"] == "spam"
    assert wait_line(lines, "kicked").endswith("#ops -- alice kicked bob: spam")
    proc.stdin.close()
    assert proc.wait(timeout=10) == 0


def test_plain_without_a_terminal_says_how_to_give_the_password(
    server: ServerProcess, tmp_path: Path
) -> None:
    leave(registered(server, "carol", "carol-pass-1"))
    proc, lines = start_plain(server, tmp_path, "carol")
    assert wait_line(lines, "-- carol is registered").endswith(
        "give its password with --nick-password-file PATH or TERMCHAT_NICK_PASSWORD, or pick "
        "another nick with --nick NAME")
    assert proc.wait(timeout=10) == 1


def test_plain_on_a_terminal_asks_with_getpass(server: ServerProcess, tmp_path: Path) -> None:
    """stdin is a terminal, stdout a pipe: getpass asks on the terminal, which echoes nothing."""
    leave(registered(server, "carol", "carol-pass-1"))
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui_client", "--plain", "--port", str(server.port),
         "--nick", "carol", "--log-file", str(tmp_path / "plain-tty.log")],
        cwd=ROOT, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "TERM": "dumb"}, start_new_session=True, preexec_fn=_take_terminal,
    )
    os.close(slave)
    terminal = bytearray()
    try:
        lines = pump(proc)
        deadline = time.monotonic() + 10
        while b"Password of carol: " not in terminal:
            assert time.monotonic() < deadline, terminal
            terminal += os.read(master, 1024)
        os.write(master, b"carol-pass-1\r")
        wait_line(lines, "-- connected to")
        os.write(master, b"/quit\r")
        assert proc.wait(timeout=10) == 0
        while True:  # what the terminal showed after the question
            try:
                data = os.read(master, 1024)
            except OSError:  # EIO: the client is gone
                break
            if not data:
                break
            terminal += data
        assert b"carol-pass-1" not in terminal
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
