"""The IRC door against the specs, over raw sockets: the cases an IRC test suite tries.

Odd but legal input (a mode letter without its parameter, empty target lists,
labeled commands that have nothing to say) must get the numeric the specs
name and leave the connection open.
"""

from __future__ import annotations

import base64
import time

import pytest
from conftest import HUBS, StartServer
from helpers import ServerProcess
from irc_support import IrcClient, Msg, irc_user
from test_server_irc_accounts import PASSWORD, finish_registration, register_native, sasl_user

LABELS = ("batch", "labeled-response")


@pytest.fixture
def irc(start_server: StartServer) -> ServerProcess:
    return start_server("--irc-port", "0", "--irc-server-name", "irc.test")


def commands(lines: list[Msg]) -> list[str]:
    return [m.command for m in lines]


def operator(server: ServerProcess, nick: str, *channels: str,
             caps: tuple[str, ...] = ()) -> IrcClient:
    """An IRC user with an account (registered natively), operator of the ``channels`` it opens."""
    register_native(server, nick)
    client, _numerics = sasl_user(server, nick)
    if caps:
        client.send(f"CAP REQ :{' '.join(caps)}")
        client.recv_until("CAP")
    finish_registration(client, nick)
    for channel in channels:
        client.send(f"JOIN {channel}")
        client.recv_until("366")
    client.sync()
    return client


def test_a_mode_letter_without_its_parameter_is_461_not_a_dropped_connection(
        irc: ServerProcess) -> None:
    alice = irc_user(irc.irc_port, "alice", "#a")
    for line in ("MODE #a +o", "MODE #a -o", "MODE #a +ob", "MODE #a +o :"):
        alice.send(line)
        reply = alice.sync()
        assert [(m.command, m.params[1]) for m in reply][:1] == [("461", "MODE")], line
    alice.send("MODE #a +zy")
    assert [(m.command, m.params[1]) for m in alice.sync()] == [("472", "z"), ("472", "y")]
    alice.send("MODE #a +b")  # no mask: the ban list
    assert commands(alice.sync()) == ["368"]
    alice.send("MODE #a +n")  # always on: nothing to say
    assert alice.sync() == []


def test_the_refusals_of_a_labeled_mode_line_make_one_batch(irc: ServerProcess) -> None:
    alice = irc_user(irc.irc_port, "alice", "#a", caps=LABELS)
    alice.send("@label=m MODE #a +zyo")
    out = alice.sync()
    assert commands(out) == ["BATCH", "472", "472", "461", "BATCH"]
    assert out[0].tags == {"label": "m"}
    alice.send("@label=n MODE #a +n")
    assert [(m.command, m.tags) for m in alice.sync()] == [("ACK", {"label": "n"})]


@pytest.mark.parametrize("hub", HUBS, indirect=True)
def test_several_flags_come_back_as_one_mode_line(irc: ServerProcess) -> None:
    chief = operator(irc, "chief", "#ops")
    guest = irc_user(irc.irc_port, "guest", "#ops")
    chief.sync()
    chief.send("MODE #ops +it")
    modes = [m for m in chief.sync() if m.command == "MODE"]
    assert [m.params for m in modes] == [["#ops", "+ti"]]
    assert [m.params for m in guest.sync() if m.command == "MODE"] == [["#ops", "+ti"]]
    chief.send("MODE #ops -t+z-i")
    out = chief.sync()
    assert sorted((m.command, m.params[1]) for m in out) == [("472", "z"), ("MODE", "-ti")]


def test_a_labeled_command_with_nothing_to_say_gets_an_ack(irc: ServerProcess) -> None:
    alice = irc_user(irc.irc_port, "alice", "#a", caps=LABELS)
    _bob = irc_user(irc.irc_port, "bob", "#a")
    alice.recv_until("JOIN")
    for line in ("PRIVMSG bob,#a :hi", "NOTICE bob,#a,ghost :hi", "PONG irc.test", "NOTICE ,"):
        alice.send(f"@label=q {line}")
        assert [(m.command, m.tags) for m in alice.sync()] == [("ACK", {"label": "q"})], line
    alice.send("@label=r PRIVMSG bob,ghost,#a :hi")
    out = alice.sync()
    assert commands(out) == ["BATCH", "401", "BATCH"] and out[0].tags == {"label": "r"}


def test_invalid_utf8_keeps_the_label_when_the_tags_can_be_read(irc: ServerProcess) -> None:
    alice = irc_user(irc.irc_port, "alice", "#a", caps=LABELS)
    alice.send_raw(b"@label=u PRIVMSG #a :caf\xe9\r\n")
    (fail,) = alice.sync()
    assert (fail.command, fail.params[:2], fail.tags) == (
        "FAIL", ["PRIVMSG", "INVALID_UTF8"], {"label": "u"})
    alice.send_raw(b"@label=\xe9 PRIVMSG #a :caf\xe9\r\n")
    (fail,) = alice.sync()
    assert (fail.command, fail.tags) == ("FAIL", {})


def test_empty_target_lists_are_461_or_411(irc: ServerProcess) -> None:
    alice = irc_user(irc.irc_port, "alice", "#a")
    expected = {"JOIN ,": ("461", "JOIN"), "PART ,,": ("461", "PART"),
                "KICK #a ,": ("461", "KICK"), "KICK #a": ("461", "KICK"),
                "PRIVMSG , :hi": ("411", "PRIVMSG")}
    for line, (code, param) in expected.items():
        alice.send(line)
        assert [(m.command, m.params[1]) for m in alice.sync()] == [(code, param)], line
    alice.send("NOTICE , :hi")
    assert alice.sync() == []


@pytest.mark.parametrize("hub", HUBS, indirect=True)
def test_whois_marks_the_channels_one_is_operator_of(irc: ServerProcess) -> None:
    chief = operator(irc, "chief", "#ops", "#more")
    guest = irc_user(irc.irc_port, "guest", "#ops")
    guest.send("JOIN #guests")  # opened by someone else: not chief's to run
    guest.sync()
    chief.send("JOIN #guests")
    chief.sync()
    guest.send("WHOIS chief")
    (channels,) = [m for m in guest.sync() if m.command == "319"]
    assert sorted(channels.params[2].split()) == ["#guests", "@#more", "@#ops"]
    chief.send("WHOIS guest")
    (channels,) = [m for m in chief.sync() if m.command == "319"]
    assert sorted(channels.params[2].split()) == ["#guests", "#ops"]


@pytest.mark.parametrize("hub", HUBS, indirect=True)
def test_a_channel_mode_query_says_when_the_channel_was_created(irc: ServerProcess) -> None:
    before = int(time.time())
    alice = irc_user(irc.irc_port, "alice", "#a")
    alice.send("MODE #a")
    modes, created = alice.sync()
    assert (modes.command, modes.params) == ("324", ["alice", "#a", "+n"])
    assert (created.command, created.params[:2]) == ("329", ["alice", "#a"])
    assert before <= int(created.params[2]) <= time.time()


def test_irssis_mode_plus_i_at_login_is_accepted_and_shown(irc: ServerProcess) -> None:
    alice = IrcClient(irc.irc_port)
    welcome = alice.register("alice")
    (myinfo,) = [m for m in welcome if m.command == "004"]
    assert myinfo.params[3] == "iw"  # the user modes one may set
    alice.send("MODE alice +i")
    (mode,) = alice.sync()
    assert (mode.command, mode.nick, mode.params) == ("MODE", "alice", ["alice", "+i"])
    alice.send("MODE alice +i")  # already set: nothing changes, nothing to say
    assert alice.sync() == []
    alice.send("MODE alice")
    assert [(m.command, m.params) for m in alice.sync()] == [("221", ["alice", "+i"])]
    alice.send("MODE alice -i+wz")
    assert [(m.command, m.params[:2]) for m in alice.sync()] == [
        ("MODE", ["alice", "-i+w"]), ("501", ["alice", "Unknown MODE flag"])]
    alice.send("NICK alicia")
    alice.sync()
    alice.send("MODE alicia")
    assert [m.params for m in alice.sync()] == [["alicia", "+w"]]  # the modes follow the nick


def test_join_0_parts_every_channel(irc: ServerProcess) -> None:
    chief = operator(irc, "chief", "#locked")
    chief.send("MODE #locked +i")
    chief.sync()
    alice = irc_user(irc.irc_port, "alice", "#a", "#b", caps=LABELS)
    bob = irc_user(irc.irc_port, "bob", "#b")
    alice.recv_until("JOIN")
    alice.send("JOIN #locked")
    assert commands(alice.sync()) == ["473"]  # refused: not one to part
    alice.send("@label=z JOIN 0")
    out = alice.sync()
    assert commands(out) == ["BATCH", "PART", "PART", "BATCH"] and out[0].tags == {"label": "z"}
    assert sorted(m.params[0] for m in out[1:3]) == ["#a", "#b"]
    assert [(m.command, m.nick, m.params) for m in bob.sync()] == [("PART", "alice", ["#b"])]
    alice.send("JOIN 0")
    assert alice.sync() == []
    alice.send("WHOIS alice")
    assert "319" not in commands(alice.sync())


def test_targets_beyond_targmax_are_407_not_dropped_in_silence(irc: ServerProcess) -> None:
    alice = IrcClient(irc.irc_port)
    welcome = alice.register("alice", caps=LABELS)
    (targmax,) = [t for m in welcome if m.command == "005" for t in m.params
                  if t.startswith("TARGMAX=")]
    assert {"PRIVMSG:4", "NOTICE:4"} <= set(targmax.removeprefix("TARGMAX=").split(","))
    bob = irc_user(irc.irc_port, "bob")
    alice.send("PRIVMSG bob,bob,bob,bob,ghost1,ghost2 :hi")
    assert [(m.command, m.params[1]) for m in alice.sync()] == [("407", "ghost1"),
                                                               ("407", "ghost2")]
    assert len([m for m in bob.sync() if m.command == "PRIVMSG"]) == 4
    alice.send("@label=t PRIVMSG bob,bob,bob,bob,ghost1 :hi")
    out = alice.sync()
    assert commands(out) == ["BATCH", "407", "BATCH"] and out[0].tags == {"label": "t"}
    alice.send("NOTICE bob,bob,bob,bob,ghost1 :hi")
    assert alice.sync() == []


def test_invite_errors_name_what_was_wrong(irc: ServerProcess) -> None:
    alice = irc_user(irc.irc_port, "alice", "#a")
    _bob = irc_user(irc.irc_port, "bob")
    expected = {"INVITE bob #bad!name": ("403", "#bad!name"),
                "INVITE bob nochannel": ("403", "nochannel"),
                "INVITE bad[nick] #a": ("401", "bad[nick]"), "INVITE ghost #a": ("401", "ghost"),
                "INVITE bob #elsewhere": ("442", "#elsewhere")}
    for line, (code, named) in expected.items():
        alice.send(line)
        assert [(m.command, m.params[1]) for m in alice.sync()] == [(code, named)], line


def test_passwords_never_reach_the_debug_log(irc: ServerProcess) -> None:
    register_native(irc, "owner")  # the server logs at DEBUG in every test
    by_pass = IrcClient(irc.irc_port)
    by_pass.send(f"PASS owner:{PASSWORD}")
    assert finish_registration(by_pass, "owner")[0] == "001"
    by_pass.send("QUIT")
    irc.wait_for_log("owner left")
    _client, numerics = sasl_user(irc, "owner")
    assert numerics == ["900", "903"]
    _wrong, numerics = sasl_user(irc, "owner", password="wrong horse")
    assert numerics == ["904"]
    oper = irc_user(irc.irc_port, "oper")
    oper.send("OPER root hunter2")
    oper.sync()
    payloads = [base64.b64encode(f"\0owner\0{pw}".encode()).decode()
                for pw in (PASSWORD, "wrong horse")]
    log = "\n".join(irc.log_lines)
    assert "<- PASS (secret)" in log and "<- AUTHENTICATE (secret)" in log
    for secret in (PASSWORD, "wrong horse", "hunter2", *payloads):
        assert secret not in log, secret


def test_list_modes_of_a_channel_that_does_not_exist_are_403(irc: ServerProcess) -> None:
    alice = irc_user(irc.irc_port, "alice", "#a")
    for line, code in {"MODE #a b": "368", "MODE #a e": "349", "MODE #a I": "347",
                       "MODE #nowhere b": "403", "MODE #nowhere +e": "403"}.items():
        alice.send(line)
        assert [(m.command, m.params[1]) for m in alice.sync()] == [
            (code, line.split()[1])], line
