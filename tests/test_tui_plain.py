"""The line-mode client (stdout not a terminal) against the real server."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from helpers import ROOT, RawClient, ServerProcess

from tui_client.plain import LineReader

pytestmark = pytest.mark.timeout(30)


def start_plain(
    server: ServerProcess,
    tmp_path: Path,
    nick: str,
    *extra: str,
    env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[str], queue.Queue[str]]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui_client",
            "--port",
            str(server.port),
            "--nick",
            nick,
            "--log-file",
            str(tmp_path / "plain.log"),
            *extra,
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=pump, name="plain-stdout", daemon=True).start()
    return proc, lines


def wait_line(lines: queue.Queue[str], needle: str) -> str:
    while True:
        line = lines.get(timeout=10)
        if needle in line:
            return line


def test_plain_client_chats_and_exits_on_eof(server: ServerProcess, tmp_path: Path) -> None:
    bob = RawClient(server.port)
    assert bob.hello("bob")["type"] == "welcome"
    proc, lines = start_plain(server, tmp_path, "carol")
    assert proc.stdin is not None
    wait_line(lines, "-- connected to")
    bob.send({"type": "say", "text": "hi carol, привет"})
    assert wait_line(lines, "bob: hi carol").endswith("] #lobby bob: hi carol, привет")
    proc.stdin.write("hello bob\n/me waves\n/bogus\n")
    proc.stdin.flush()
    assert bob.recv_until("message", text="hello bob")["from"] == "carol"
    assert bob.recv_until("message", text="waves")["action"] is True
    assert wait_line(lines, "Unknown command").endswith(
        "] #lobby ! Unknown command /bogus; type /help for the list."
    )
    proc.stdin.close()
    assert proc.wait(timeout=10) == 0
    assert bob.recv_until("leave", nick="carol")


def test_plain_client_sends_lines_given_before_connecting(
    server: ServerProcess, tmp_path: Path
) -> None:
    bob = RawClient(server.port)
    bob.hello("bob")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tui_client",
            "--port",
            str(server.port),
            "--nick",
            "dave",
            "--log-file",
            str(tmp_path / "plain.log"),
        ],
        cwd=ROOT,
        input="one shot\n/quit done\n",
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 0, result.stderr
    # (the server may deliver dave's leave before his last message; accept either order)
    seen = {bob.recv()["type"] for _ in range(3)}
    assert seen == {"join", "message", "leave"}
    assert "Traceback" not in result.stderr


def test_plain_client_talks_in_the_current_channel_and_names_it(
    server: ServerProcess, tmp_path: Path
) -> None:
    bob = RawClient(server.port)
    assert bob.hello("bob", channels=["#a", "#b"])["type"] == "welcome"
    proc, lines = start_plain(server, tmp_path, "carol", "--join", "#a,#b")
    assert proc.stdin is not None
    wait_line(lines, "-- talking in #a")
    bob.send({"type": "say", "text": "over in b", "channel": "#b"})
    assert wait_line(lines, "over in b").endswith("] #b bob: over in b")
    proc.stdin.write("to a\n/join #b\nto b\n/topic plans\n")
    proc.stdin.flush()
    assert bob.recv_until("message", text="to a")["channel"] == "#a"
    wait_line(lines, "-- talking in #b")
    assert bob.recv_until("message", text="to b")["channel"] == "#b"
    assert bob.recv_until("topic")["text"] == "plans"
    assert wait_line(lines, "set the topic").endswith("] #b -- carol set the topic: plans")
    proc.stdin.write("/query bob\npsst\n/list\n")
    proc.stdin.flush()
    wait_line(lines, "-- talking privately with bob")
    assert bob.recv_until("message", text="psst")["to"] == "bob"
    assert wait_line(lines, "psst").endswith("] bob *you -> bob*: psst")
    assert "#a (2)" in wait_line(lines, "#a (2)")
    proc.stdin.write("/quit\n")  # stdin stays open: the reader must stop by itself
    proc.stdin.flush()
    assert proc.wait(timeout=10) == 0
    assert bob.recv_until("leave", nick="carol")


def test_plain_client_prints_a_gap_beyond_the_replay_cap_whole_and_in_order(
    server: ServerProcess, tmp_path: Path
) -> None:
    bob = RawClient(server.port)
    assert bob.hello("bob")["type"] == "welcome"
    proc, lines = start_plain(server, tmp_path, "carol")
    assert proc.stdin is not None
    bob.send({"type": "say", "text": "before the gap"})
    wait_line(lines, "bob: before the gap")
    port = server.port
    bob.close()
    server.stop()
    wait_line(lines, "-- reconnecting in")
    server.start()  # elsewhere, so the client cannot come back while the gap grows
    dave = RawClient(server.port)
    assert dave.hello("dave")["type"] == "welcome"
    missed = 1200  # more than a resume replays (RESUME_HISTORY_CAP)
    for i in range(1, missed + 1):
        dave.send({"type": "say", "text": f"gap {i:04d}"})
    dave.send({"type": "ping", "token": "sync"})
    dave.recv_until("pong", token="sync", timeout=30)
    dave.close()
    server.stop()
    server.start(port=port)
    printed: list[str] = []
    while not printed or "gap 1200" not in printed[-1]:
        printed.append(lines.get(timeout=30))
    numbers = [int(line.rsplit(" ", 1)[1]) for line in printed if "dave: gap " in line]
    assert numbers == list(range(1, missed + 1))  # the cut middle first, each once
    proc.stdin.close()
    assert proc.wait(timeout=10) == 0


def test_plain_help_lists_the_channel_commands(server: ServerProcess, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tui_client", "--port", str(server.port), "--nick", "erin",
         "--log-file", str(tmp_path / "plain.log")],
        cwd=ROOT, input="/help\n", capture_output=True, text=True, timeout=20,
    )
    assert result.returncode == 0, result.stderr
    assert "/join #CHANNEL" in result.stdout and "/roster" not in result.stdout


def test_line_reader_stops_on_request_without_end_of_input() -> None:
    read_fd, write_fd = os.pipe()
    stream = os.fdopen(read_fd, encoding="utf-8")
    lines: queue.Queue[str | None] = queue.Queue()
    reader = LineReader(stream, lines)
    try:
        assert reader.stoppable
        reader.start()
        os.write(write_fd, b"one\r\ntw")
        assert lines.get(timeout=5) == "one"
        os.write(write_fd, "о\n".encode())
        assert lines.get(timeout=5) == "twо"
        reader.stop()
        assert lines.get(timeout=5) is None
    finally:
        os.close(write_fd)
        stream.close()
