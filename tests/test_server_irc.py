"""The IRC door over raw sockets against a real server process: each command and numeric."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from conftest import StartServer
from helpers import RawClient, ServerProcess, stream_big_messages
from irc_support import IrcClient, Msg, irc_user

from server.irc.session import FAREWELL

IRC_ARGS = ("--irc-port", "0", "--irc-server-name", "irc.test", "--motd", "Be nice.\nReally.")
ALL_CAPS = ("server-time", "message-tags", "echo-message", "batch", "labeled-response",
            "draft/chathistory", "userhost-in-names", "multi-prefix")


@pytest.fixture
def irc(start_server: StartServer) -> ServerProcess:
    return start_server(*IRC_ARGS)


def commands(lines: list[Msg]) -> list[str]:
    return [m.command for m in lines]


def isupport(lines: list[Msg]) -> dict[str, str]:
    tokens: dict[str, str] = {}
    for line in lines:
        if line.command == "005":
            for token in line.params[1:-1]:
                key, _, value = token.partition("=")
                tokens[key] = value
    return tokens


def test_registration_sends_welcome_isupport_lusers_and_motd(irc: ServerProcess) -> None:
    client = IrcClient(irc.irc_port)
    lines = client.register("alice")
    assert commands(lines)[:4] == ["001", "002", "003", "004"]
    assert lines[0].source == "irc.test" and lines[0].params[0] == "alice"
    tokens = isupport(lines)
    for key in ("CHANTYPES", "PREFIX", "NICKLEN", "CHANNELLEN", "CASEMAPPING", "NETWORK",
                "CHANMODES", "UTF8ONLY", "WHOX", "CHATHISTORY"):
        assert key in tokens, key
    assert tokens["CHANTYPES"] == "#" and tokens["NICKLEN"] == "32"
    after = commands(lines)[commands(lines).index("005"):]
    assert after[-6:] == ["265", "266", "375", "372", "372", "376"]
    assert "251" in after and "255" in after
    assert [m.params[-1] for m in lines if m.command == "372"] == ["- Be nice.", "- Really."]


def test_no_motd_is_422(start_server: StartServer) -> None:
    server = start_server("--irc-port", "0")
    lines = IrcClient(server.irc_port).register("alice")
    assert lines[-1].command == "422"


def test_registration_waits_for_cap_end(irc: ServerProcess) -> None:
    client = IrcClient(irc.irc_port)
    client.send("CAP LS 302")
    ls = client.recv_until("CAP")
    assert ls.params[:2] == ["*", "LS"] and "draft/chathistory" in ls.params[-1].split()
    client.send("NICK alice")
    client.send("USER a 0 * :Alice")
    client.send("CAP REQ :echo-message bogus")
    assert client.recv_until("CAP").params == ["*", "NAK", "echo-message bogus"]
    client.send("PING before-end")
    assert client.recv().params[-1] == "before-end"  # no 001 while negotiating
    client.send("CAP REQ :echo-message server-time")
    assert client.recv_until("CAP").params == ["*", "ACK", "echo-message server-time"]
    client.send("CAP END")
    assert client.recv().command == "001"
    client.recv_until("376")
    client.send("CAP LIST")
    assert client.recv_until("CAP").params[-1].split() == [
        "cap-notify", "echo-message", "server-time"]


def test_a_plain_cap_ls_is_one_line_without_values(irc: ServerProcess) -> None:
    client = IrcClient(irc.irc_port)
    client.send("CAP LS")
    ls = client.recv()
    assert ls.params[1] == "LS" and ls.params[2] != "*" and "=" not in ls.params[2]
    client.send("CAP LIST")
    assert client.recv().params == ["*", "LIST", ""]


def test_the_server_password_comes_with_pass(start_server: StartServer, tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("sesame\n")
    server = start_server("--irc-port", "0", "--password-file", str(secret))
    right = IrcClient(server.irc_port)
    assert right.register("alice", password="sesame")[0].command == "001"
    for password in ("wrong", None):
        client = IrcClient(server.irc_port)
        if password:
            client.send(f"PASS {password}")
        client.send("NICK bob")
        client.send("USER b 0 * :Bob")
        lines = client.wait_closed()
        assert commands(lines) == ["464", "ERROR"]
    late = IrcClient(server.irc_port)
    late.send("NICK carol")
    late.send("USER c 0 * :Carol")
    late.send("PASS sesame")
    assert "001" not in commands(late.wait_closed())


def test_registration_errors(irc: ServerProcess) -> None:
    client = IrcClient(irc.irc_port)
    client.send("JOIN #a")
    assert client.recv().command == "451"
    client.send("NICK")
    assert client.recv().command == "431"
    client.send("NICK [bot]")
    bad = client.recv()
    assert bad.command == "432" and bad.params[:2] == ["*", "[bot]"]
    client.send("USER u 0 * :")
    assert client.recv().params[:2] == ["*", "USER"]  # 461: an empty real name
    holder = irc_user(irc.irc_port, "taken")
    client.send("NICK Taken")
    client.send("USER u 0 * :U")
    taken = client.recv()
    assert (taken.command, taken.params[1]) == ("433", "Taken")
    client.send("NICK free")
    assert client.recv().command == "001"
    client.recv_until("376")
    client.send("USER again 0 * :x")
    assert client.recv().command == "462"
    client.send("PASS again")
    assert client.recv().command == "462"
    holder.close()


def test_registration_within_the_hello_timeout(start_server: StartServer) -> None:
    server = start_server("--irc-port", "0", "--hello-timeout", "0.5")
    client = IrcClient(server.irc_port)
    client.send("NICK slow")
    lines = client.wait_closed()
    assert lines[-1].command == "ERROR" and "Registration timed out" in lines[-1].text


def test_ping_pong_both_ways_and_the_idle_timeout(start_server: StartServer) -> None:
    server = start_server("--irc-port", "0", "--idle-timeout", "2")
    client = irc_user(server.irc_port, "alice")
    client.send("PING :a token")
    pong = client.recv_until("PONG")
    assert pong.params[-1] == "a token"
    ping = client.recv_until("PING", timeout=5)
    client.send(f"PONG :{ping.params[-1]}")
    silent = irc_user(server.irc_port, "silent")
    lines = silent.wait_closed(timeout=8)
    assert "PING" in commands(lines)
    assert lines[-1].command == "ERROR" and "Ping timeout" in lines[-1].text


def test_quit_says_error_and_others_see_one_quit(irc: ServerProcess) -> None:
    alice = irc_user(irc.irc_port, "alice", "#a", "#b")
    bob = irc_user(irc.irc_port, "bob", "#a", "#b")
    alice.sync()
    bob.send("QUIT :see you")
    lines = bob.wait_closed()
    assert lines[-1].command == "ERROR"
    seen = alice.sync()
    assert [(m.command, m.nick, m.params) for m in seen] == [("QUIT", "bob", ["see you"])]


def test_join_part_and_their_errors(irc: ServerProcess) -> None:
    alice = irc_user(irc.irc_port, "alice")
    alice.send("JOIN #a,#b")
    burst = alice.sync()
    assert commands(burst) == ["JOIN", "353", "366", "JOIN", "353", "366"]
    assert burst[0].source.startswith("alice!~user@") and burst[0].params == ["#a"]
    assert burst[1].params == ["alice", "=", "#a", "alice"]
    bob = irc_user(irc.irc_port, "bob")
    bob.send("JOIN #A")
    burst = bob.sync()
    assert burst[0].params == ["#a"] and burst[1].params[-1] in ("alice bob", "bob alice")
    assert [(m.command, m.nick) for m in alice.sync()] == [("JOIN", "bob")]
    bob.send("JOIN #a")
    assert bob.sync() == []  # in it already: nothing to say
    bob.send("PART #a :for lunch")
    part = bob.recv_until("PART")
    assert part.params == ["#a", "for lunch"]
    assert alice.recv_until("PART").params == ["#a", "for lunch"]
    bob.send("PART #a")
    assert bob.recv().command == "442"
    bob.send("JOIN #bad!name")
    assert bob.recv().params[:2] == ["bob", "#bad!name"]  # 403
    bob.send("JOIN")
    assert bob.recv().command == "461"


def test_names_topic_and_list(irc: ServerProcess) -> None:
    alice = irc_user(irc.irc_port, "alice", "#a")
    bob = irc_user(irc.irc_port, "bob", "#a", "#b")
    bob.send("NAMES #a")
    assert [m.command for m in bob.sync()] == ["353", "366"]
    bob.send("NAMES #nowhere")
    assert [(m.command, m.params[1]) for m in bob.sync()] == [("366", "#nowhere")]
    bob.send("TOPIC #a")
    assert bob.recv().command == "331"
    bob.send("TOPIC #a :\x02release\x02 on Friday")
    topic = alice.recv_until("TOPIC")
    assert (topic.nick, topic.params) == ("bob", ["#a", "\x02release\x02 on Friday"])
    alice.send("TOPIC #a")
    assert [m.command for m in alice.sync()] == ["332", "333"]
    alice.send("TOPIC #b :not mine")
    assert alice.recv().command == "442"
    alice.send("TOPIC #nowhere")
    assert alice.recv().command == "403"
    alice.send("LIST")
    listing = alice.sync()
    assert commands(listing) == ["321", "322", "322", "323"]
    assert [m.params[1:3] for m in listing[1:3]] == [["#a", "2"], ["#b", "1"]]
    alice.send("LIST #b")
    assert [m.params[1] for m in alice.sync() if m.command == "322"] == ["#b"]


def test_who_whox_and_whois(irc: ServerProcess) -> None:
    cool = IrcClient(irc.irc_port)
    cool.register("coolNick", user="myusernam", realname="My Real Name")
    cool.send("JOIN #chan")
    cool.sync()
    other = irc_user(irc.irc_port, "otherNick", "#chan")
    for mask in ("coolNick", "coolnick", "cool*"):
        other.send(f"WHO {mask}")
        reply, end = other.sync()
        assert reply.command == "352" and reply.params[2:8] == [
            "~myusernam", "irc", "irc.test", "coolNick", "H", "0 My Real Name"]
        assert (end.command, end.params[1]) == ("315", mask)
    other.send("WHO #CHAN")
    replies = other.sync()
    assert sorted(m.params[5] for m in replies[:-1]) == ["coolNick", "otherNick"]
    assert replies[0].params[1] == "#chan" and replies[-1].params[1] == "#CHAN"
    other.send("WHO idontexist")
    assert commands(other.sync()) == ["315"]
    other.send("WHO coolNick %tcuihsnfdlaor,123")
    reply, _end = other.sync()
    assert reply.command == "354" and reply.params[1:4] == ["123", "*", "~myusernam"]
    assert reply.params[-1] == "My Real Name"
    other.send("WHOIS coolnick")
    whois = other.sync()
    assert commands(whois) == ["311", "319", "312", "317", "318"]
    assert whois[0].params == ["otherNick", "coolNick", "~myusernam", "irc", "*",
                               "My Real Name"]
    assert whois[1].params[-1] == "#chan"
    other.send("WHOIS irc.test coolNick")
    assert other.sync()[0].command == "311"
    other.send("WHOIS ghost")
    assert [(m.command, m.params[1]) for m in other.sync()] == [("401", "ghost"),
                                                               ("318", "ghost")]
    other.send("WHOWAS ghost")
    assert commands(other.sync()) == ["406", "369"]


def test_mode_queries(irc: ServerProcess) -> None:
    alice = irc_user(irc.irc_port, "alice", "#a")
    _bob = irc_user(irc.irc_port, "bob")
    asked = {
        "MODE #a": ["324", "329"], "MODE #a b": ["368"], "MODE #a +b": ["368"],
        "MODE #a +o bob": ["482"],
        "MODE #nowhere": ["403"], "MODE alice": ["221"], "MODE alice +z": ["501"],
        "MODE bob": ["502"], "MODE ghost": ["401"],
    }
    for line, expected in asked.items():
        alice.send(line)
        assert commands(alice.sync()) == expected, line
    alice.send("MODE #a")
    assert alice.sync()[0].params == ["alice", "#a", "+n"]


def test_privmsg_and_notice_to_channels_and_nicks(irc: ServerProcess) -> None:
    alice = irc_user(irc.irc_port, "alice", "#a")
    bob = irc_user(irc.irc_port, "bob", "#a")
    alice.sync()
    alice.send("PRIVMSG #a :hello there")
    alice.send("NOTICE #a :a notice")
    alice.send("PRIVMSG bob :just you")
    alice.send("PRIVMSG #a,bob :both")
    assert alice.sync() == []  # no echo-message: nothing comes back
    got = [(m.command, m.params) for m in bob.sync()]
    assert got == [("PRIVMSG", ["#a", "hello there"]), ("NOTICE", ["#a", "a notice"]),
                   ("PRIVMSG", ["bob", "just you"]), ("PRIVMSG", ["#a", "both"]),
                   ("PRIVMSG", ["bob", "both"])]
    errors = {"PRIVMSG ghost :hi": ("401", "ghost"), "PRIVMSG #b :hi": ("404", "#b"),
              "PRIVMSG": ("411", None), "PRIVMSG #a": ("412", None), "PRIVMSG #a :": ("412", None),
              "PRIVMSG #a :\x02\x02": ("412", None)}
    for line, (code, target) in errors.items():
        alice.send(line)
        (reply,) = alice.sync()
        assert reply.command == code, line
        if target:
            assert reply.params[1] == target
    for line in ("NOTICE ghost :hi", "NOTICE #b :hi", "NOTICE", "NOTICE #a :"):
        alice.send(line)
        assert alice.sync() == [], line
    alice.send("PRIVMSG bob :\x01VERSION\x01")
    alice.send("PRIVMSG #a :\x01ACTION waves\x01")
    alice.sync()
    assert [m.params for m in bob.sync()] == [["#a", "\x01ACTION waves\x01"]]


def test_ison_userhost_and_away(irc: ServerProcess) -> None:
    alice = irc_user(irc.irc_port, "alice")
    bob = irc_user(irc.irc_port, "bob")
    alice.send("ISON bob ghost ALICE")
    assert alice.recv().params == ["alice", "bob alice"]
    alice.send("USERHOST bob")
    assert alice.recv().params == ["alice", "bob=+~user@irc"]
    bob.send("AWAY :gone fishing")
    assert bob.recv().command == "306"
    alice.send("PRIVMSG bob :there?")
    assert alice.recv().params == ["alice", "bob", "gone fishing"]  # 301
    alice.send("NOTICE bob :there?")
    alice.send("USERHOST bob")
    assert alice.sync()[0].params == ["alice", "bob=-~user@irc"]
    alice.send("WHOIS bob")
    assert [m.params[-1] for m in alice.sync() if m.command == "301"] == ["gone fishing"]
    alice.send("WHO bob")
    assert alice.sync()[0].params[6] == "G"
    bob.send("AWAY")
    bob.recv_until("305")
    alice.send("PRIVMSG bob :back?")
    assert alice.sync() == []


def test_nick_changes(irc: ServerProcess) -> None:
    alice = irc_user(irc.irc_port, "alice", "#a")
    bob = irc_user(irc.irc_port, "bob", "#a")
    alice.sync()
    bob.send("NICK robert")
    own = bob.recv_until("NICK")
    assert (own.source, own.params) == ("bob!~user@irc", ["robert"])
    seen = alice.recv_until("NICK")
    assert (seen.nick, seen.params) == ("bob", ["robert"])
    bob.send("WHO robert")
    assert bob.sync()[0].params[2] == "~user"  # the ident followed the rename
    bob.send("NICK Alice")
    assert bob.recv().command == "433"
    bob.send("NICK bad|nick")
    assert bob.recv().command == "432"


def test_unknown_commands_and_lines_too_long(irc: ServerProcess) -> None:
    alice = irc_user(irc.irc_port, "alice", "#a")
    alice.send("FROBNICATE now")
    reply = alice.recv()
    assert (reply.command, reply.params[1]) == ("421", "FROBNICATE")
    alice.send("PRIVMSG #a :" + "x" * 600)
    assert alice.recv().command == "417"
    alice.send("@+tag=" + "a" * 5000 + " PRIVMSG #a :hi")
    assert alice.recv().command == "417"
    alice.send_raw(b"PRIVMSG #a :caf\xe9\r\n")
    fail = alice.recv()
    assert fail.command == "FAIL" and fail.params[:2] == ["PRIVMSG", "INVALID_UTF8"]
    alice.send("PING still-here")
    assert alice.recv().params[-1] == "still-here"


def test_server_time_message_tags_and_echo(irc: ServerProcess) -> None:
    alice = irc_user(irc.irc_port, "alice", "#a", caps=("echo-message", "server-time",
                                                          "message-tags"))
    native = RawClient(irc.port)
    native.hello("native", channels=["#a"])
    alice.sync()
    alice.send("@+client=tag PRIVMSG #a :hi")
    echo = alice.recv_until("PRIVMSG")
    delivered = native.recv_until("message")
    assert echo.tags["msgid"] == str(delivered["id"])
    assert echo.tags["time"].endswith("Z") and "+client" not in echo.tags
    native.send({"type": "say", "text": "from native", "channel": "#a"})
    line = alice.recv_until("PRIVMSG")
    assert (line.nick, line.params, line.tags["msgid"]) == (
        "native", ["#a", "from native"], str(native.recv_until("message")["id"]))


def test_labeled_response_ack_single_line_and_batch(irc: ServerProcess) -> None:
    alice = irc_user(irc.irc_port, "alice", caps=("echo-message", "batch",
                                                  "labeled-response"))
    _bob = irc_user(irc.irc_port, "bob")
    alice.send("@label=one PING x")
    pong = alice.recv()
    assert (pong.command, pong.tags) == ("PONG", {"label": "one"})
    alice.send("@label=two PRIVMSG bob :hi")
    echo = alice.recv()
    assert (echo.command, echo.tags.get("label")) == ("PRIVMSG", "two")
    alice.send("@label=three AWAY :out")
    assert alice.recv().tags.get("label") == "three"
    alice.send("AWAY")
    assert alice.recv().command == "305"
    alice.send("@label=four JOIN #x")
    burst = alice.sync()
    assert burst[0].command == "BATCH" and burst[0].tags == {"label": "four"}
    batch = burst[0].params[0][1:]
    assert burst[0].params[1] == "labeled-response" and burst[-1].params == ["-" + batch]
    assert all(m.tags.get("batch") == batch for m in burst[1:-1])
    alice.send("@label=five TAGMSG #x")
    ack = alice.recv()
    assert (ack.command, ack.tags) == ("ACK", {"label": "five"})
    alice.send("@label=six PRIVMSG bob,ghost :hi")
    out = alice.sync()
    assert [m.command for m in out] == ["BATCH", "PRIVMSG", "401", "BATCH"]
    alice.send("@label=seven PRIVMSG alice :me")
    mine = alice.sync()
    assert [m.tags.get("label") for m in mine] == ["seven", None]  # the echo, the delivery


def test_userhost_in_names_and_a_cap_turned_off_later(irc: ServerProcess) -> None:
    alice = irc_user(irc.irc_port, "alice", "#a", caps=("userhost-in-names", "server-time",
                                                          "multi-prefix"))
    alice.send("NAMES #a")
    assert alice.sync()[0].params[-1] == "alice!~user@irc"
    bob = irc_user(irc.irc_port, "bob", "#a")
    alice.sync()
    bob.send("PRIVMSG #a :one")
    assert "time" in alice.recv_until("PRIVMSG").tags
    alice.send("CAP REQ -server-time")
    assert alice.recv_until("CAP").params[1:] == ["ACK", "-server-time"]
    bob.send("PRIVMSG #a :two")
    assert alice.recv_until("PRIVMSG").tags == {}
    bob.send("PART #a")
    assert alice.recv_until("PART").nick == "bob"  # its outbox moved with the dialect


def test_a_pong_comes_after_what_other_connections_sent_before(irc: ServerProcess) -> None:
    alice = irc_user(irc.irc_port, "alice", "#a")
    bob = irc_user(irc.irc_port, "bob", "#a")
    native = RawClient(irc.port)
    native.hello("native", channels=["#a"])
    alice.sync()
    for i in range(20):
        bob.send(f"PRIVMSG #a :bob {i}")
        native.send({"type": "say", "text": f"native {i}", "channel": "#a"})
    bob.sync()
    native.send({"type": "ping", "token": "t"})
    native.recv_until("pong")
    seen = [m.params[-1] for m in alice.sync() if m.command == "PRIVMSG"]
    assert sorted(seen) == sorted([f"bob {i}" for i in range(20)]
                                  + [f"native {i}" for i in range(20)])


def test_chathistory_each_subcommand(irc: ServerProcess) -> None:
    alice = irc_user(irc.irc_port, "alice", "#h", caps=ALL_CAPS)
    echoes: list[Msg] = []
    for i in range(10):
        alice.send(f"PRIVMSG #h :message {i}")
        echoes.append(alice.recv_until("PRIVMSG"))
        time.sleep(0.002)  # distinct milliseconds, as CHATHISTORY by timestamp needs
    ids = [m.tags["msgid"] for m in echoes]
    times = [m.tags["time"] for m in echoes]

    def history(request: str) -> list[str]:
        alice.send(f"CHATHISTORY {request}")
        start, *inner, end = alice.sync()
        assert start.command == "BATCH" and start.params[1:] == ["chathistory", "#h"]
        assert end.params == ["-" + start.params[0][1:]]
        return [m.tags["msgid"] for m in inner]

    assert history("LATEST #h * 100") == ids
    assert history("LATEST #h * 3") == ids[-3:]
    assert history(f"LATEST #h msgid={ids[4]} 100") == ids[5:]
    assert history(f"LATEST #h timestamp={times[4]} 100") == ids[5:]
    assert history(f"BEFORE #h msgid={ids[6]} 100") == ids[:6]
    assert history(f"BEFORE #h timestamp={times[6]} 2") == ids[4:6]
    assert history(f"AFTER #h msgid={ids[3]} 100") == ids[4:]
    assert history(f"AFTER #h timestamp={times[3]} 3") == ids[4:7]
    assert history(f"BETWEEN #h msgid={ids[0]} msgid={ids[-1]} 100") == ids[1:-1]
    assert history(f"BETWEEN #h msgid={ids[-1]} msgid={ids[0]} 3") == ids[-4:-1]
    assert history(f"BETWEEN #h timestamp={times[0]} timestamp={times[-1]} 3") == ids[1:4]
    assert history(f"AROUND #h msgid={ids[7]} 1") == ids[7:8]
    assert history(f"AROUND #h msgid={ids[7]} 3") == ids[6:9]
    assert ids[7] in history(f"AROUND #h timestamp={times[7]} 3")
    alice.send("CHATHISTORY LATEST #elsewhere * 10")
    fail = alice.recv()
    assert fail.command == "FAIL" and fail.params[:4] == ["CHATHISTORY", "INVALID_TARGET",
                                                         "LATEST", "#elsewhere"]
    alice.send("CHATHISTORY LATEST #h nonsense 10")
    assert alice.recv().params[:2] == ["CHATHISTORY", "INVALID_PARAMS"]


def test_chathistory_of_a_private_conversation(irc: ServerProcess) -> None:
    alice = irc_user(irc.irc_port, "alice", caps=ALL_CAPS)
    bob = irc_user(irc.irc_port, "bob", caps=ALL_CAPS)
    alice.send("PRIVMSG bob :one")
    bob.recv_until("PRIVMSG", nick="alice")
    bob.send("PRIVMSG alice :two")
    alice.recv_until("PRIVMSG", nick="bob")  # alice's own "one" comes back first (echo)
    alice.sync()
    alice.send("CHATHISTORY LATEST BOB * 10")
    start, *inner, _end = alice.sync()
    assert start.params[2] == "BOB"
    assert [(m.nick, m.params) for m in inner] == [("alice", ["bob", "one"]),
                                                  ("bob", ["alice", "two"])]


def test_a_slow_consumer_is_dropped_with_sendq_exceeded(start_server: StartServer) -> None:
    server = start_server("--irc-port", "0", "--max-queue-bytes", "65536")
    talker = RawClient(server.port, recv_size=65536)
    talker.hello("talker")
    stuck = socket.create_connection(("127.0.0.1", server.irc_port))
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.sendall(b"NICK stuck\r\nUSER s 0 * :Stuck\r\nJOIN #lobby\r\n")
    talker.recv_until("join", nick="stuck")
    _messages, leaves = stream_big_messages(talker, 3000)  # more than kernel buffers hold
    if not leaves:
        leaves.append(talker.recv_until("leave", nick="stuck", timeout=20))
    assert [(f["nick"], f["reason"]) for f in leaves] == [("stuck", "slow_consumer")]
    server.wait_for_log("dropped: slow_consumer")
    # What it gets instead of the queue, once its socket has room (a stuck one never has):
    assert FAREWELL == b"\r\nERROR :Closing link: SendQ exceeded\r\n"
    stuck.close()


def test_the_rate_limit_slows_reading_instead_of_refusing(start_server: StartServer) -> None:
    server = start_server("--irc-port", "0", "--rate-limit", "10", "--rate-burst", "2")
    alice = irc_user(server.irc_port, "alice", "#r")
    bob = irc_user(server.irc_port, "bob", "#r")
    alice.sync()
    time.sleep(0.3)  # let the bucket fill up again after the joins
    started = time.monotonic()
    for i in range(8):
        alice.send(f"PRIVMSG #r :{i}")
    assert [m.params[-1] for m in alice.sync()] == []  # no error for any of them
    assert time.monotonic() - started >= 0.45
    assert [m.params[-1] for m in bob.sync()] == [str(i) for i in range(8)]


def test_irc_and_native_connections_share_the_limits(start_server: StartServer) -> None:
    server = start_server("--irc-port", "0", "--max-clients-per-ip", "1")
    native = RawClient(server.port)
    native.hello("native")
    turned_away = IrcClient(server.irc_port)
    (line,) = turned_away.wait_closed()
    assert line.command == "ERROR" and "Too many connections" in line.text
    native.close()
    server.wait_for_log("disconnected")
    assert IrcClient(server.irc_port).register("alice")[0].command == "001"


def test_irc_over_tls(start_server: StartServer, tmp_path: Path) -> None:
    import ssl

    import trustme

    authority = trustme.CA()
    cert = authority.issue_cert("localhost", "127.0.0.1")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    server = start_server("--irc-tls-port", "0", "--irc-port", "0", "--certfile", str(certfile),
                          "--keyfile", str(keyfile))
    context = ssl.create_default_context()
    authority.configure_trust(context)
    secure = IrcClient(server.irc_tls_port, tls=context)
    assert secure.register("secure")[0].command == "001"
    plain = irc_user(server.irc_port, "plain", "#t")
    secure.send("JOIN #t")
    secure.sync()
    secure.send("PRIVMSG #t :over TLS")
    assert plain.recv_until("PRIVMSG").params == ["#t", "over TLS"]


def test_a_shutdown_closes_irc_connections_with_error(irc: ServerProcess) -> None:
    alice = irc_user(irc.irc_port, "alice", "#a")
    assert irc.stop() == 0
    lines = alice.wait_closed()
    assert lines[-1].raw == "ERROR :Closing link: Server shutting down"
