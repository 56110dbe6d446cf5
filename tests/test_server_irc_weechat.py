"""A real IRC client against the server: WeeChat (headless) next to a native client.

WeeChat runs in a home of the test's own, is driven through its FIFO pipe and
read through its logger's files (flushed at once), and quits by itself. The
test skips without ``weechat-headless`` unless ``TERMCHAT_REQUIRE_WEECHAT`` is
set (as CI sets it), then it fails.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import StartServer
from helpers import WAIT_S, RawClient, wait_until
from test_server_channels import sync

REQUIRE_ENV = "TERMCHAT_REQUIRE_WEECHAT"


def weechat_binary() -> str:
    path = shutil.which("weechat-headless")
    if path is None:
        message = "weechat-headless is not installed (apt-get install weechat-headless)"
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(message)
        pytest.skip(message)
    return path


class WeeChat:
    """weechat-headless connected to one server, its channel buffer logged to a file."""

    def __init__(self, home: Path, port: int, nick: str, channel: str) -> None:
        self.home = home
        self.fifo = home / "fifo"
        self.logs = home / "logs"
        self.channel = channel
        commands = [
            f"/set fifo.file.path {self.fifo}",
            f"/set logger.file.path {self.logs}",
            "/set logger.file.flush_delay 0",
            "/set irc.look.display_join_message 329,332,333,353,366",
            f"/set irc.server_default.nicks {nick}",
            "/set irc.server_default.username weeuser",
            "/set irc.server_default.anti_flood_prio_high 0",
            "/set irc.server_default.anti_flood_prio_low 0",
            f"/server add tc 127.0.0.1/{port} -notls",
            f"/set irc.server.tc.autojoin {channel}",
            "/connect tc",
        ]
        self.proc = subprocess.Popen(
            [weechat_binary(), "--dir", str(home), "--plugins", "irc,logger,fifo",
             "--run-command", ";".join(commands)],
            cwd=home, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def command(self, text: str) -> None:
        """Type ``text`` into the channel's buffer (a message, or a /command)."""
        assert wait_until(lambda: self.fifo.exists() and stat.S_ISFIFO(self.fifo.stat().st_mode))
        with open(self.fifo, "w", encoding="utf-8") as pipe:
            pipe.write(f"irc.tc.{self.channel} *{text}\n")

    def channel_log(self) -> str:
        path = self.logs / f"irc.tc.{self.channel}.weechatlog"
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def wait_logged(self, text: str) -> None:
        if not wait_until(lambda: text in self.channel_log()):
            raise AssertionError(f"WeeChat never showed {text!r}; its log:\n{self.channel_log()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(WAIT_S)


@pytest.fixture
def weechat_home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "weechat"
    home.mkdir()
    yield home


def test_weechat_joins_sees_the_nick_list_chats_and_quits(start_server: StartServer,
                                                          weechat_home: Path) -> None:
    weechat_binary()
    server = start_server("--irc-port", "0", "--irc-server-name", "irc.test")
    bob = RawClient(server.port)
    assert bob.hello("bob", channels=["#test"])["type"] == "welcome"
    wee = WeeChat(weechat_home, server.irc_port, "wee", "#test")
    try:
        assert bob.recv_until("join", nick="wee", timeout=20)["channel"] == "#test"
        wee.wait_logged("wee (~weeuser@irc) has joined #test")
        wee.wait_logged("Nicks #test: [bob wee]")
        wee.wait_logged("Channel #test: 2 nicks")
        bob.send({"type": "say", "text": "hello WeeChat", "channel": "#test"})
        wee.wait_logged("bob\thello WeeChat")
        bob.send({"type": "say", "text": "waves back", "action": True, "channel": "#test"})
        wee.wait_logged("bob waves back")
        wee.command("hello from WeeChat, привет")
        message = bob.recv_until("message", timeout=WAIT_S, **{"from": "wee"})
        assert message["text"] == "hello from WeeChat, привет"
        wee.command("/me waves")
        action = bob.recv_until("message", **{"from": "wee"})
        assert (action["text"], action.get("action")) == ("waves", True)
        bob.send({"type": "nick", "nick": "robert"})
        wee.wait_logged("bob is now known as robert")
        wee.command("/names")
        wee.wait_logged("Nicks #test: [robert wee]")
        sync(bob)
        wee.command("/quit see you")
        leave = bob.recv_until("leave", nick="wee")
        assert leave["reason"] == "see you"
        assert wee.proc.wait(WAIT_S) == 0
    finally:
        wee.stop()
