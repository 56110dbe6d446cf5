"""Accounts and moderation through the IRC door, on both hubs: SASL PLAIN, ops, kicks, bans."""

from __future__ import annotations

import base64

import pytest
from conftest import HUBS, StartServer
from helpers import RawClient, ServerProcess
from irc_support import IrcClient, irc_user
from test_server_channels import sync, user

pytestmark = pytest.mark.parametrize("hub", HUBS, indirect=True)

PASSWORD = "correct horse"


@pytest.fixture
def door(start_server: StartServer) -> ServerProcess:
    return start_server("--irc-port", "0", "--irc-server-name", "irc.test")


def register_native(server: ServerProcess, nick: str) -> None:
    """Register ``nick`` as an account from a native client, then leave."""
    client = RawClient(server.port)
    client.hello(nick, channels=[])
    client.send({"type": "register", "password": PASSWORD})
    assert client.recv_until("account")["registered"]
    client.close()
    server.wait_for_log(f"{nick} left")


def sasl_user(server: ServerProcess, nick: str, account: str | None = None,
              password: str = PASSWORD) -> tuple[IrcClient, list[str]]:
    """An IRC client that logs in with SASL PLAIN; return it and the SASL numerics."""
    client = IrcClient(server.irc_port)
    client.send("CAP LS 302")
    client.send("CAP REQ :sasl")
    client.recv_until("CAP", timeout=5)
    assert client.recv_until("CAP").params[1] == "ACK"
    client.send("AUTHENTICATE PLAIN")
    assert client.recv().params == ["+"]
    secret = base64.b64encode(f"\0{account or nick}\0{password}".encode()).decode()
    client.send(f"AUTHENTICATE {secret}")
    numerics = [client.recv().command]
    if numerics[0] == "900":
        numerics.append(client.recv().command)
    return client, numerics


def finish_registration(client: IrcClient, nick: str) -> list[str]:
    client.send(f"NICK {nick}")
    client.send("USER u 0 * :U")
    client.send("CAP END")
    lines = []
    while not lines or lines[-1].command not in ("376", "422", "433"):
        lines.append(client.recv())
    client.nick = nick
    return [m.command for m in lines]


def test_sasl_plain_proves_a_nick_registered_by_a_native_client(door: ServerProcess) -> None:
    register_native(door, "owner")
    squatter = IrcClient(door.irc_port)
    squatter.send("NICK owner")
    squatter.send("USER u 0 * :U")
    taken = squatter.recv()
    assert taken.command == "433" and "SASL" in taken.text
    _wrong, numerics = sasl_user(door, "owner", password="wrong password")
    assert numerics == ["904"]
    client, numerics = sasl_user(door, "owner")
    assert numerics == ["900", "903"]
    assert finish_registration(client, "owner")[0] == "001"
    other = irc_user(door.irc_port, "other")
    other.send("WHOIS owner")
    whois = other.sync()
    assert [m.params[2] for m in whois if m.command == "330"] == ["owner"]


def test_sasl_under_another_nick_takes_the_accounts_nick(door: ServerProcess) -> None:
    register_native(door, "owner")
    client, _numerics = sasl_user(door, "owner")
    assert finish_registration(client, "guest123")[0] == "001"
    client.sync()
    client.send("WHO owner")
    assert client.sync()[0].params[5] == "owner"


def test_pass_nick_colon_password_logs_in_like_sasl(door: ServerProcess) -> None:
    register_native(door, "owner")
    wrong = IrcClient(door.irc_port)
    wrong.send("PASS owner:not the password")
    wrong.send("NICK owner")
    wrong.send("USER u 0 * :U")
    assert wrong.recv().command == "464"
    assert wrong.recv().command == "ERROR"
    client = IrcClient(door.irc_port)
    client.send(f"PASS owner:{PASSWORD}")
    assert finish_registration(client, "owner")[0] == "001"
    other = irc_user(door.irc_port, "other")
    other.send("WHOIS owner")
    assert [m.params[2] for m in other.sync() if m.command == "330"] == ["owner"]


def test_an_irc_operator_runs_a_channel(door: ServerProcess) -> None:
    register_native(door, "chief")
    chief, _numerics = sasl_user(door, "chief")
    finish_registration(chief, "chief")
    chief.send("JOIN #ops")
    burst = chief.sync()
    assert [m.params[-1] for m in burst if m.command == "353"] == ["@chief"]
    native = user(door, "native", "#ops")
    chief.sync()
    chief.send("MODE #ops +t")
    assert chief.recv_until("MODE").params == ["#ops", "+t"]
    mode = native.recv_until("mode")
    assert (mode["by"], mode["topic_lock"]) == ("chief", True)
    native.send({"type": "topic", "channel": "#ops", "text": "mine"})
    assert native.recv_until("error")["code"] == "not_operator"
    chief.send("MODE #ops")
    assert chief.recv_until("324").params[2] == "+nt"
    chief.send("KICK #ops native :behave")
    kick = native.recv_until("kick")
    assert (kick["nick"], kick["by"], kick["reason"]) == ("native", "chief", "behave")
    assert chief.recv_until("KICK").params == ["#ops", "native", "behave"]
    chief.send("MODE #ops +b native!*@*")
    assert chief.recv_until("MODE").params == ["#ops", "+b", "native!*@*"]
    native.send({"type": "join", "channel": "#ops"})
    assert native.recv_until("error")["code"] == "banned"
    chief.send("MODE #ops b")
    assert [m.command for m in chief.sync()] == ["367", "368"]
    chief.send("MODE #ops -b native")
    assert chief.recv_until("MODE").params == ["#ops", "-b", "native!*@*"]
    chief.send("MODE #ops +i")
    chief.recv_until("MODE")
    guest = irc_user(door.irc_port, "guest")
    guest.send("JOIN #ops")
    assert guest.recv().command == "473"
    chief.send("INVITE guest #ops")
    assert chief.recv_until("341").params[1:] == ["guest", "#ops"]
    invite = guest.recv_until("INVITE")
    assert (invite.nick, invite.params) == ("chief", ["guest", "#ops"])
    guest.send("JOIN #ops")
    assert guest.recv_until("366").params[1] == "#ops"
    guest.send("KICK #ops chief")
    assert guest.recv_until("482").params[1] == "#ops"
    guest.send("MODE #ops +o guest")
    assert guest.recv_until("482").params[1] == "#ops"
    guest.send("MODE #ops +v guest")
    assert guest.recv_until("472").params[1] == "v"
    guest.send("KILL chief :no")
    assert guest.recv_until("481").command == "481"
    chief.send("MODE #ops +b troll")
    chief.recv_until("MODE")
    guest.send("NICK troll")  # banned where guest is: a refused nick, not a refused join
    refusal = guest.recv_until("432")
    assert refusal.params[1] == "troll" and "#ops" in refusal.params[-1]


def test_native_moderation_reaches_irc_users(door: ServerProcess) -> None:
    register_native(door, "boss")
    register_native(door, "helper")
    boss = RawClient(door.port)
    boss.hello("boss", channels=["#room"], nick_password=PASSWORD)
    helper, _numerics = sasl_user(door, "helper")
    finish_registration(helper, "helper")
    wee = irc_user(door.irc_port, "wee", "#room")
    helper.send("JOIN #room")
    helper.sync()
    sync(boss)
    boss.send({"type": "op", "channel": "#room", "nick": "helper"})
    mode = wee.recv_until("MODE")
    assert (mode.nick, mode.params) == ("boss", ["#room", "+o", "helper"])
    wee.send("NAMES #room")
    assert sorted(wee.sync()[0].params[-1].split()) == ["@boss", "@helper", "wee"]
    wee.send("WHO #room")
    flags = {m.params[5]: m.params[6] for m in wee.sync() if m.command == "352"}
    assert flags == {"boss": "H@", "helper": "H@", "wee": "H"}
    boss.send({"type": "kick", "channel": "#room", "nick": "wee", "reason": "out"})
    kick = wee.recv_until("KICK")
    assert (kick.nick, kick.params) == ("boss", ["#room", "wee", "out"])
    boss.send({"type": "ban", "channel": "#room", "nick": "wee", "reason": "spam"})
    sync(boss)
    wee.send("JOIN #room")
    refused = wee.recv_until("474")
    assert refused.params[1] == "#room" and "spam" in refused.text
