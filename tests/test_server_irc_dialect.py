"""The IRC dialect: each frame as IRC lines, answers per command, labeled-response."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from irc_support import Msg, parse  # noqa: E402

from protocol import (  # noqa: E402
    Channel,
    Channels,
    ChannelSummary,
    Error,
    History,
    Join,
    Leave,
    Message,
    Rename,
    Topic,
    Whois,
)
from server.hub import Census, Departed, Presence, Quitted, Rejoined  # noqa: E402
from server.irc.asks import Ask  # noqa: E402
from server.irc.door import IrcDoor  # noqa: E402
from server.irc.lines import Line  # noqa: E402
from server.irc.nicks import irc_ident  # noqa: E402
from server.irc.replies import CLIENT, IrcReply  # noqa: E402

TS = 1714564800.1234


def door() -> IrcDoor:
    d = IrcDoor("irc.test", motd="line one\nline two")
    d.idents.register("owner", "wee", irc_ident("weeuser", "Wee Chat"))
    return d


def lines(data: bytes) -> list[Msg]:
    return [parse(raw) for raw in data.decode().split("\r\n") if raw]


def test_channel_events_are_spelt_with_the_dialects_tags() -> None:
    plain = door().dialect(set())
    tagged = door().dialect({"server-time", "message-tags"})
    message = Message(id=42, ts=TS, sender="bob", text="hi all", channel="#dev")
    (line,) = lines(plain.encode(message))
    assert (line.source, line.command, line.params, line.tags) == (
        "bob!bob@termchat", "PRIVMSG", ["#dev", "hi all"], {})
    (line,) = lines(tagged.encode(message))
    assert line.tags == {"time": "2024-05-01T12:00:00.123Z", "msgid": "42"}
    (join,) = lines(plain.encode(Join(nick="wee", ts=TS, channel="#dev")))
    assert join.raw == ":wee!~weeuser@irc JOIN #dev"
    (part,) = lines(plain.encode(Leave(nick="bob", reason="part", ts=TS, channel="#dev")))
    assert part.raw == ":bob!bob@termchat PART #dev"
    (part,) = lines(plain.encode(Leave(nick="bob", reason="lunch", ts=TS, channel="#dev")))
    assert part.params == ["#dev", "lunch"]
    assert plain.encode(Departed(nick="bob", reason="x", ts=TS, channel="#dev")) == b""
    (quit_,) = lines(plain.encode(Quitted(nick="bob", reason="gone", ts=TS)))
    assert quit_.raw == ":bob!bob@termchat QUIT :gone"
    (nick,) = lines(plain.encode(Rename(old="bob", new="robert", ts=TS)))
    assert nick.raw == ":bob!bob@termchat NICK robert"
    (topic,) = lines(plain.encode(Topic(channel="#dev", text="\ufdd2news", by="bob", ts=TS)))
    assert topic.params == ["#dev", "\x02news"]


def test_a_long_or_multiline_message_becomes_several_privmsgs() -> None:
    dialect = door().dialect({"message-tags"})
    text = "first line\n" + "é" * 600
    out = lines(dialect.encode(Message(id=7, ts=TS, sender="bob", text=text, to="wee")))
    assert [m.tags["msgid"] for m in out] == ["7", "7-2", "7-3", "7-4"]
    assert out[0].params == ["wee", "first line"]
    assert "".join(m.params[1] for m in out[1:]) == "é" * 600
    assert all(len(m.raw.split(" ", 1)[1].encode()) + 2 <= 512 for m in out)


def test_a_join_answer_is_join_topic_and_names() -> None:
    dialect = door().dialect(set())
    frame = Channel(name="#dev", roster=["bob", "wee"], history=[], topic="t", topic_by="bob",
                    topic_ts=TS)
    out = lines(dialect.encode_answer([frame], "wee", Ask("JOIN", "#dev", flags="u").to_tag()))
    assert [m.command for m in out] == ["JOIN", "332", "333", "353", "366"]
    assert out[3].params == ["wee", "=", "#dev", "bob!bob@termchat wee!~weeuser@irc"]
    again = Rejoined.of(frame)
    assert dialect.encode_answer([again], "wee", Ask("JOIN", "#dev").to_tag()) == b""


def test_labeled_answers_ack_tag_or_batch() -> None:
    dialect = door().dialect(set())
    ack = lines(dialect.encode_answer([], "wee", Ask("PRIVMSG", "#x", label="a").to_tag()))
    assert [(m.command, m.tags) for m in ack] == [("ACK", {"label": "a"})]
    pong = IrcReply([Line("PONG", ("irc.test", "t"))])
    (one,) = lines(dialect.encode_answer([pong], "wee", Ask("PING", label="b").to_tag()))
    assert one.tags == {"label": "b"}
    names = Presence(users=[Whois(nick="wee", channels=[], idle=0, connected_since=TS)],
                     channel="#dev")
    out = lines(dialect.encode_answer([names], "wee",
                                      Ask("NAMES", "#dev", serial=5, label="c").to_tag()))
    assert out[0].raw == "@label=c :irc.test BATCH +L5 labeled-response"
    assert [m.tags.get("batch") for m in out[1:-1]] == ["L5", "L5"]
    assert out[-1].raw == ":irc.test BATCH -L5"


def test_the_parts_of_one_command_make_one_batch() -> None:
    dialect = door().dialect(set())
    first = Ask("PART", "#a", serial=3, part=1, parts=2, label="p")
    last = Ask("PART", "#b", serial=3, part=2, parts=2, label="p")
    one = lines(dialect.encode_answer([], "wee", first.to_tag()))
    error = Error(code="not_in_channel", message="no")
    two = lines(dialect.encode_answer([error], "wee", last.to_tag()))
    assert [m.command for m in one + two] == ["BATCH", "442", "BATCH"]
    assert one == [] and two[1].params == ["wee", "#b", "You're not on that channel"]
    quiet = [Ask("NOTICE", f"#{n}", serial=4, part=n, parts=3, label="q") for n in (1, 2, 3)]
    out = [m for ask in quiet for m in lines(dialect.encode_answer([], "wee", ask.to_tag()))]
    assert [(m.command, m.tags) for m in out] == [("ACK", {"label": "q"})]  # no empty batch


def test_errors_read_as_the_command_calls_for() -> None:
    dialect = door().dialect(set())

    def answer(code: str, command: str, arg: str = "x") -> list[list[str]]:
        tag = Ask(command, arg).to_tag()
        error = Error(code=code, message="m")
        return [[m.command, *m.params] for m in lines(dialect.encode_answer([error], "wee", tag))]

    assert answer("not_in_channel", "PRIVMSG", "#c") == [["404", "wee", "#c",
                                                          "Cannot send to channel"]]
    assert answer("not_in_channel", "TOPIC", "#c")[0][:3] == ["442", "wee", "#c"]
    assert answer("no_such_user", "PRIVMSG")[0][0] == "401"
    assert [m[0] for m in answer("no_such_user", "WHOIS")] == ["401", "318"]
    assert answer("nick_taken", "NICK")[0][0] == "433"
    assert answer("nick_invalid", "NICK")[0][0] == "432"
    assert answer("channel_invalid", "JOIN")[0][0] == "403"
    assert answer("too_many_channels", "JOIN")[0][0] == "405"
    assert answer("no_such_user", "NOTICE") == []
    assert answer("server_error", "PRIVMSG")[0][:3] == ["400", "wee", "PRIVMSG"]
    tag = Ask("CHATHISTORY", "#c", "LATEST").to_tag()
    (fail,) = lines(dialect.encode_answer([Error(code="not_in_channel", message="m")], "w", tag))
    assert fail.params == ["CHATHISTORY", "INVALID_TARGET", "LATEST", "#c", "m"]


def test_who_whox_whois_and_lusers() -> None:
    dialect = door().dialect(set())
    users = [Whois(nick="wee", channels=["#dev"], idle=3, connected_since=TS, away="out"),
             Whois(nick="bob", channels=["#dev"], idle=0, connected_since=TS)]
    who = lines(dialect.encode_answer([Presence(users=users, channel="#dev")], "bob",
                                      Ask("WHO", "#DEV").to_tag()))
    assert who[0].params == ["bob", "#dev", "~weeuser", "irc", "irc.test", "wee", "G",
                             "0 Wee Chat"]
    assert who[-1].params[:2] == ["bob", "#DEV"]
    whox = lines(dialect.encode_answer([Presence(users=users[:1], asked=["wee"])], "bob",
                                       Ask("WHO", "wee", "%rolaudfnshict,7").to_tag()))
    assert whox[0].params == ["bob", "7", "*", "~weeuser", "255.255.255.255", "irc",
                              "irc.test", "wee", "G", "0", "3", "0", "n/a", "Wee Chat"]
    everyone = Presence(users=users)
    masked = lines(dialect.encode_answer([everyone], "bob", Ask("WHO", "w*").to_tag()))
    assert [m.params[5] for m in masked[:-1]] == ["wee"]
    whois = lines(dialect.encode_answer([users[0]], "bob", Ask("WHOIS", "WEE").to_tag()))
    assert [m.command for m in whois] == ["311", "319", "312", "301", "317", "318"]
    census = Census(users=3, local=2, channels=4, peak_users=5, peak_local=2)
    welcome = lines(dialect.encode_answer([census], "bob", Ask("WELCOME").to_tag()))
    assert [m.command for m in welcome] == ["251", "254", "255", "265", "266", "375", "372",
                                            "372", "376"]
    assert welcome[3].params == ["bob", "2", "2", "Current local users 2, max 2"]


def test_history_is_one_chathistory_batch_across_parts() -> None:
    dialect = door().dialect({"server-time", "message-tags"})
    before = History(messages=[Message(id=1, ts=TS, sender="bob", text="a", channel="#c")])
    after = History(messages=[Message(id=2, ts=TS, sender="bob", text="b", channel="#c")])
    first = Ask("CHATHISTORY", "#C", "AROUND", serial=9, part=1, parts=2, flags="b")
    last = Ask("CHATHISTORY", "#C", "AROUND", serial=9, part=2, parts=2, flags="b")
    out = lines(dialect.encode_answer([before], "wee", first.to_tag())
                + dialect.encode_answer([after], "wee", last.to_tag()))
    assert [m.command for m in out] == ["BATCH", "PRIVMSG", "PRIVMSG", "BATCH"]
    assert out[0].params == ["+H9", "chathistory", "#C"]
    assert [m.tags["batch"] for m in out[1:3]] == ["H9", "H9"]


def test_list_filters_and_session_replies() -> None:
    dialect = door().dialect(set())
    listing = Channels(channels=[ChannelSummary(name="#chan1", users=1),
                                 ChannelSummary(name="#chan2", users=2, topic="t")])

    def listed(arg: str) -> list[str]:
        out = lines(dialect.encode_answer([listing], "wee", Ask("LIST", arg).to_tag()))
        return [m.params[1] for m in out if m.command == "322"]

    assert listed("") == ["#chan1", "#chan2"]
    assert listed("*an2") == ["#chan2"] and listed("!*an2") == ["#chan1"]
    assert listed(">1") == ["#chan2"] and listed("<2") == ["#chan1"]
    assert listed("#CHAN1") == ["#chan1"]
    reply = IrcReply([Line("CAP", (CLIENT, "ACK", "x"), trailing=True)])
    assert dialect.encode(reply, "wee") == b":irc.test CAP wee ACK :x\r\n"


def test_moderation_events_read_as_irc_lines() -> None:
    from protocol import Invite, Kick, Mode

    dialect = door().dialect(set())
    (kick,) = lines(dialect.encode(Kick(channel="#c", nick="wee", reason="out", by="bob",
                                        ts=TS)))
    assert kick.raw == ":bob!bob@termchat KICK #c wee :out"
    ops = lines(dialect.encode(Mode(channel="#c", by="bob", ts=TS, op="wee")))
    assert [m.raw for m in ops] == [":bob!bob@termchat MODE #c +o wee"]
    flags = lines(dialect.encode(Mode(channel="#c", by="bob", ts=TS, ban="x")))
    assert flags[0].params == ["#c", "+b", "x!*@*"]
    locked = lines(dialect.encode(Mode(channel="#c", by="bob", ts=TS, topic_lock=False)))
    assert locked[0].params == ["#c", "-t"]
    both = lines(dialect.encode(Mode(channel="#c", by="bob", ts=TS, op="wee", topic_lock=True,
                                     invite_only=False)))
    assert [m.params for m in both] == [["#c", "+ot-i", "wee"]]
    invite = Invite(channel="#c", nick="wee", by="bob", ts=TS)
    assert lines(dialect.encode(invite, "wee"))[0].raw == ":bob!bob@termchat INVITE wee #c"
    assert lines(dialect.encode(invite, "bob"))[0].params == ["bob", "wee", "#c"]  # 341
    frame = Channel(name="#c", roster=["bob", "wee"], history=[], operators=["bob"])
    out = lines(dialect.encode_answer([frame], "wee", Ask("JOIN", "#c").to_tag()))
    assert [m.params[-1] for m in out if m.command == "353"] == ["@bob wee"]
