"""IRC and native users side by side, on both hubs: one chat whichever door one came by."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import HUBS, StartServer
from helpers import RawClient, ServerProcess
from irc_support import IrcClient, irc_user
from test_server_channels import channel_history, sync, user

pytestmark = pytest.mark.parametrize("hub", HUBS, indirect=True)

CAPS = ("server-time", "message-tags", "batch", "draft/chathistory")


@pytest.fixture
def mixed(start_server: StartServer) -> ServerProcess:
    return start_server("--irc-port", "0")


def native_frames(client: RawClient, kind: str) -> list[dict[str, Any]]:
    return [f for f in sync(client) if f["type"] == kind]


def test_messages_both_ways_with_me_lines_and_formatting(mixed: ServerProcess) -> None:
    alice = user(mixed, "alice", "#mix")
    wee = irc_user(mixed.irc_port, "wee", "#mix")
    other = irc_user(mixed.irc_port, "other", "#mix")
    join = alice.recv_until("join", nick="wee")
    assert join["channel"] == "#mix"
    sync(alice)
    wee.sync()
    wee.send("PRIVMSG #mix :hello from \x02IRC\x02")
    wee.send("PRIVMSG #mix :\x01ACTION waves\x01")
    wee.sync()
    messages = native_frames(alice, "message")
    assert [(m["from"], m["text"], m.get("action", False)) for m in messages] == [
        ("wee", "hello from IRC", False), ("wee", "waves", True)]
    seen = [m.params for m in other.sync() if m.command == "PRIVMSG"]
    assert seen == [["#mix", "hello from \x02IRC\x02"], ["#mix", "\x01ACTION waves\x01"]]
    alice.send({"type": "say", "text": "hi IRC", "channel": "#mix"})
    alice.send({"type": "say", "text": "stretches", "action": True, "channel": "#mix"})
    alice.send({"type": "say", "text": "two\nlines and " + "ю" * 400, "channel": "#mix"})
    sync(alice)
    lines = [m for m in wee.sync() if m.command == "PRIVMSG"]
    assert [m.nick for m in lines] == ["alice"] * len(lines)
    texts = [m.params[1] for m in lines]
    assert texts[:3] == ["hi IRC", "\x01ACTION stretches\x01", "two"]
    assert "".join(texts[3:]) == "lines and " + "ю" * 400 and len(texts) > 4


def test_private_messages_both_ways(mixed: ServerProcess) -> None:
    alice = user(mixed, "alice")
    wee = irc_user(mixed.irc_port, "wee")
    wee.send("PRIVMSG alice :psst")
    wee.send("PRIVMSG alice :\x01ACTION whispers\x01")
    wee.sync()
    assert [(m["from"], m["to"], m["text"]) for m in native_frames(alice, "message")] == [
        ("wee", "alice", "psst"), ("wee", "alice", "whispers")]
    alice.send({"type": "msg", "to": "WEE", "text": "hi back"})
    sync(alice)
    (line,) = [m for m in wee.sync() if m.command == "PRIVMSG"]
    assert (line.nick, line.params) == ("alice", ["wee", "hi back"])


def test_joins_parts_renames_topics_and_quits_both_ways(mixed: ServerProcess) -> None:
    alice = user(mixed, "alice", "#mix")
    wee = irc_user(mixed.irc_port, "wee", "#mix")
    sync(alice)
    alice.send({"type": "topic", "channel": "#mix", "text": "native topic"})
    topic = wee.recv_until("TOPIC")
    assert (topic.nick, topic.params) == ("alice", ["#mix", "native topic"])
    wee.send("TOPIC #mix :\x0304irc\x03 topic")
    assert alice.recv_until("topic", by="wee")["text"] == "irc topic"
    alice.send({"type": "nick", "nick": "alicia"})
    rename = wee.recv_until("NICK")
    assert (rename.nick, rename.params) == ("alice", ["alicia"])
    wee.send("NICK weechat")
    assert alice.recv_until("rename", old="wee")["new"] == "weechat"
    wee.send("PART #mix :back soon")
    leave = alice.recv_until("leave")
    assert (leave["nick"], leave["reason"]) == ("weechat", "back soon")
    wee.send("JOIN #mix")
    names = wee.recv_until("353")
    assert sorted(names.params[-1].split()) == ["alicia", "weechat"]
    alice.send({"type": "part", "channel": "#mix"})
    part = wee.recv_until("PART")
    assert (part.nick, part.params) == ("alicia", ["#mix"])
    alice.send({"type": "join", "channel": "#mix"})
    assert wee.recv_until("JOIN").nick == "alicia"
    wee.send("QUIT :good night")
    leave = alice.recv_until("leave", nick="weechat")
    assert (leave["nick"], leave["reason"]) == ("weechat", "good night")
    again = irc_user(mixed.irc_port, "again", "#mix")
    alice.send({"type": "quit", "reason": "bye all"})
    quit_ = again.recv_until("QUIT")
    assert (quit_.nick, quit_.params) == ("alicia", ["bye all"])


def test_chathistory_is_the_native_history(mixed: ServerProcess) -> None:
    alice = user(mixed, "alice", "#h")
    wee = irc_user(mixed.irc_port, "wee", "#h", caps=CAPS)
    sync(alice)
    for i in range(5):
        alice.send({"type": "say", "text": f"native {i}", "channel": "#h"})
        wee.send(f"PRIVMSG #h :irc \x02{i}\x02")
    sync(alice)
    wee.sync()
    native = [(str(m["id"]), m["from"], m["text"]) for m in channel_history(alice, "#h")]
    wee.send("CHATHISTORY LATEST #h * 100")
    _start, *inner, _end = wee.sync()
    irc = [(m.tags["msgid"], m.nick, m.params[1].replace("\x02", "")) for m in inner]
    assert irc == native and len(native) == 10
    assert inner[-1].tags["time"].endswith("Z")


def test_unicode_nicks_are_the_same_nicks_on_irc(mixed: ServerProcess) -> None:
    vasya = user(mixed, "Вася", "#юникод")
    wee = irc_user(mixed.irc_port, "wee", "#юникод")
    sync(vasya)
    wee.send("NAMES #юникод")
    assert sorted(wee.sync()[0].params[-1].split()) == ["wee", "Вася"]
    clash = IrcClient(mixed.irc_port)
    clash.send("NICK вася")
    clash.send("USER v 0 * :V")
    assert clash.recv().command == "433"  # one nick, whichever door: no collision possible
    wee.send("PRIVMSG вася :привет")
    wee.sync()
    (message,) = native_frames(vasya, "message")
    assert (message["from"], message["to"], message["text"]) == ("wee", "Вася", "привет")
    vasya.send({"type": "say", "text": "здравствуй", "channel": "#юникод"})
    line = wee.recv_until("PRIVMSG")
    assert (line.nick, line.params) == ("Вася", ["#юникод", "здравствуй"])
    clash.close()
