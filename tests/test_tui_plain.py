"""The line-mode client (stdout not a terminal) against the real server."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from helpers import ROOT, RawClient, ServerProcess

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
    assert wait_line(lines, "bob: hi carol").endswith("] bob: hi carol, привет")
    proc.stdin.write("hello bob\n/me waves\n/bogus\n")
    proc.stdin.flush()
    assert bob.recv_until("message", text="hello bob")["from"] == "carol"
    assert bob.recv_until("message", text="waves")["action"] is True
    assert (
        wait_line(lines, "Unknown command") == "! Unknown command /bogus; type /help for the list."
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
