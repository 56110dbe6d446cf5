"""The IRC door on a two-node cluster: an IRC user on one node, a native user on the other."""

from __future__ import annotations

import base64

import pytest
from conftest import StartServer
from irc_support import IrcClient, irc_user
from test_server_channels import channel_history, sync, user

pytestmark = pytest.mark.parametrize("hub", ["redis"], indirect=True)


def test_an_irc_user_and_a_native_user_on_two_nodes(start_server: StartServer) -> None:
    irc_node = start_server("--irc-port", "0", "--irc-server-name", "irc.one")
    native_node = start_server()
    alice = user(native_node, "alice", "#c")
    wee = irc_user(irc_node.irc_port, "wee", "#c", caps=("server-time", "message-tags",
                                                          "batch", "draft/chathistory"))
    assert alice.recv_until("join", nick="wee")["channel"] == "#c"
    wee.send("NAMES #c")
    assert sorted(wee.sync()[0].params[-1].split()) == ["alice", "wee"]
    alice.send({"type": "say", "text": "from node two", "channel": "#c"})
    line = wee.recv_until("PRIVMSG")
    assert (line.source, line.params) == ("alice!alice@termchat", ["#c", "from node two"])
    wee.send("PRIVMSG #c :from node one")
    message = alice.recv_until("message", text="from node one")
    assert message["from"] == "wee" and line.tags["msgid"] != str(message["id"])
    wee.send("PRIVMSG alice :private")
    assert alice.recv_until("message", text="private")["to"] == "alice"
    alice.send({"type": "msg", "to": "wee", "text": "private back"})
    assert wee.recv_until("PRIVMSG").params == ["wee", "private back"]
    wee.send("WHOIS alice")
    whois = wee.sync()
    assert [m.command for m in whois if m.command in ("311", "319", "318")] == [
        "311", "319", "318"]
    alice.send({"type": "topic", "channel": "#c", "text": "across nodes"})
    assert wee.recv_until("TOPIC").params == ["#c", "across nodes"]
    sync(alice)
    wee.sync()
    native = [str(m["id"]) for m in channel_history(alice, "#c")]
    wee.send("CHATHISTORY LATEST #c * 50")
    _start, *inner, _end = wee.sync()
    assert [m.tags["msgid"] for m in inner] == native and len(native) == 2
    wee.send("QUIT :off")
    leave = alice.recv_until("leave", nick="wee")
    assert leave["reason"] == "off"


def test_irc_logins_while_redis_is_away_are_told_so(start_server: StartServer) -> None:
    node = start_server("--irc-port", "0", "--irc-server-name", "irc.one")
    owner = user(node, "owner", "#c")
    owner.send({"type": "register", "password": "correct horse"})
    owner.recv_until("account")
    assert node.redis is not None
    node.redis.stop()
    secret = base64.b64encode(b"\0owner\0correct horse").decode()
    sasl = IrcClient(node.irc_port)
    sasl.send("CAP LS 302")
    sasl.send("CAP REQ :sasl")
    sasl.recv_until("CAP")  # LS
    assert sasl.recv_until("CAP").params[1] == "ACK"
    sasl.send("AUTHENTICATE PLAIN")
    sasl.recv_until("AUTHENTICATE")
    sasl.send(f"AUTHENTICATE {secret}")
    fail = sasl.recv_until("FAIL")
    assert fail.params[:2] == ["AUTHENTICATE", "TEMPORARILY_UNAVAILABLE"]
    assert "unavailable" in fail.params[-1]
    assert sasl.recv().command == "904"
    login = IrcClient(node.irc_port)
    login.send("PASS owner:correct horse")
    login.send("NICK owner")
    login.send("USER u 0 * :U")
    refusal = login.recv()
    assert refusal.command == "400" and "unavailable" in refusal.params[-1]
    login.send("PING still-there")
    assert login.recv_until("PONG").params[-1] == "still-there"
