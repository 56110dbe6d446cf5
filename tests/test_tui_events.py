"""Server frames applied to the buffers (tui_client.events)."""

from __future__ import annotations

import time

from protocol import (
    RESUME_HISTORY_CAP,
    WELCOME_HISTORY,
    Account,
    Bye,
    ByeReason,
    Channel,
    Channels,
    ChannelSummary,
    Error,
    ErrorCode,
    History,
    Invite,
    Join,
    Kick,
    Leave,
    Message,
    Mode,
    PresenceUpdate,
    Rename,
    Roster,
    Topic,
    Welcome,
    Whois,
)
from tui_client.buffers import Buffer, Buffers, EntryKind, Gap
from tui_client.events import EventApplier, format_duration, local_time, presence_text
from tui_client.identity import Identity
from tui_client.prefs import Prefs
from tui_client.secret import Ask, Purpose, SecretPrompt
from tui_client.status import NICK_PASSWORD_REFUSED, ConnectionStatus, NetStatus, Status


def msg(i: int, sender: str = "bob", text: str = "hi", **kw: object) -> Message:
    return Message(i, 1_700_000_000.0 + i, sender, text, **kw)  # type: ignore[arg-type]


class Client:
    """The owners of the client's state, wired to an applier as the clients wire them."""

    def __init__(self, nick: str = "me") -> None:
        self.me = Identity(nick)
        self.status = ConnectionStatus("h", 1)
        self.prefs = Prefs()
        self.buffers = Buffers()
        self.prompt = SecretPrompt()
        self.applier = EventApplier(self.buffers, self.me, self.status, self.prefs, self.prompt)

    def apply(self, *frames: object) -> bool:
        rang = False
        for frame in frames:
            rang = self.applier.apply(frame) or rang  # type: ignore[arg-type]
        return rang

    def buffer(self, name: str) -> Buffer:
        buffer = self.buffers.find(name)
        assert buffer is not None, name
        return buffer


def chan(
    name: str, *history: Message, roster: tuple[str, ...] = ("me", "bob"), **kw: object
) -> Channel:
    return Channel(name, list(roster), list(history), **kw)  # type: ignore[arg-type]


def welcome(*channels: Channel, nick: str = "me", private: list[Message] | None = None) -> Welcome:
    first = channels[0] if channels else None
    return Welcome(
        nick, "srv", first.roster if first else [], first.history if first else [],
        channels=list(channels), private=private,
    )


def ids(buffer: Buffer) -> list[int]:
    return [e.key[0] for e in buffer.entries if e.kind == EntryKind.MESSAGE]


def texts(buffer: Buffer) -> list[str]:
    return [e.text for e in buffer.entries]


def test_welcome_opens_a_buffer_per_channel_and_shows_the_first() -> None:
    client = Client()
    client.apply(welcome(chan("#a", msg(1)), chan("#b", msg(2), topic="ship it", topic_by="bob")))
    assert [b.name for b in client.buffers] == ["server", "#a", "#b"]
    assert client.buffers.current is client.buffer("#a")
    b = client.buffer("#b")
    assert ids(b) == [2] and b.topic == "ship it" and b.topic_by == "bob"
    assert b.unread == 0  # backlog is not unread
    assert b.roster.names == ["bob", "me"]
    assert client.status.connected
    assert "-- connected to srv as me" in texts(client.buffers.server)


def test_reconnect_fills_each_gap_once_and_counts_it_unread() -> None:
    client = Client()
    client.apply(welcome(chan("#a", msg(1)), chan("#b", msg(2))))
    client.apply(NetStatus(Status.RECONNECTING, 1.0))
    assert "-- lost the connection to the server" in texts(client.buffers.server)
    client.apply(
        welcome(
            chan("#a", msg(1), msg(3)),
            chan("#b", msg(2), msg(4, text="me: you there?")),
            private=[msg(5, text="psst", to="me")],
        )
    )
    assert ids(client.buffer("#a")) == [1, 3] and ids(client.buffer("#b")) == [2, 4]
    assert client.buffer("#b").unread == 1 and client.buffer("#b").highlight
    assert client.buffer("#a").unread == 0  # shown
    assert ids(client.buffer("bob")) == [5] and client.buffer("bob").highlight
    assert "-- reconnected as me (3 missed messages loaded)" in texts(client.buffers.server)
    assert [b.name for b in client.buffers] == ["server", "#a", "#b", "bob"]
    client.apply(NetStatus(Status.RECONNECTING, 1.0))
    client.apply(welcome(chan("#a", msg(6)), chan("#b")))
    assert "-- reconnected as me (1 missed message loaded)" in texts(client.buffers.server)


def test_a_channel_missing_from_the_rewelcome_is_marked_left() -> None:
    client = Client()
    client.apply(welcome(chan("#a"), chan("#b")))
    client.apply(NetStatus(Status.RECONNECTING, 1.0), welcome(chan("#a")))
    assert not client.buffer("#b").joined
    assert "not back in #b" in texts(client.buffer("#b"))[-1]


def test_join_reply_opens_and_shows_the_channel() -> None:
    client = Client()
    client.apply(welcome(chan("#a")))
    client.apply(chan("#ops", msg(7), roster=("me",), topic="on call"))
    ops = client.buffer("#ops")
    assert client.buffers.current is ops and ops.topic == "on call" and ids(ops) == [7]


def test_joins_leaves_and_our_own_part_stay_in_their_channel() -> None:
    client = Client()
    client.apply(welcome(chan("#a"), chan("#b")))
    client.apply(Join("carol", 1.0, channel="#b"))
    assert client.buffer("#b").roster.names == ["bob", "carol", "me"]
    assert "-- carol joined" in texts(client.buffer("#b"))
    assert "-- carol joined" not in texts(client.buffer("#a"))
    client.apply(Leave("bob", "quit", 2.0, channel="#a"))
    assert client.buffer("#a").roster.names == ["me"]
    client.apply(Leave("me", "part", 3.0, channel="#b"))
    b = client.buffer("#b")
    assert not b.joined and len(b.roster) == 0 and "you left #b" in texts(b)[-1]


def test_messages_go_to_their_channel_or_private_buffer() -> None:
    client = Client()
    client.apply(welcome(chan("#a"), chan("#b")))
    client.apply(msg(1, channel="#b"), msg(2, channel="#a"))
    client.apply(msg(3, sender="me", text="x", to="zoe"))
    assert ids(client.buffer("#a")) == [2] and ids(client.buffer("#b")) == [1]
    assert ids(client.buffer("zoe")) == [3] and client.buffer("zoe").unread == 0  # ours
    client.apply(msg(4, channel="#nowhere"))  # a race after /close: dropped
    assert client.buffers.find("#nowhere") is None


def test_bell_rings_for_mentions_and_private_unless_turned_off() -> None:
    client = Client()
    client.apply(welcome(chan("#a")))
    assert not client.apply(msg(1, channel="#a"))
    assert client.apply(msg(2, channel="#a", text="hello me"))
    assert client.apply(msg(3, text="psst", to="me"))
    assert not client.apply(msg(4, sender="me", text="me me", channel="#a"))
    client.prefs.toggle_bell()
    assert not client.apply(msg(5, channel="#a", text="me?"))


def test_renames_follow_everywhere_and_ours_changes_our_nick() -> None:
    client = Client()
    client.apply(welcome(chan("#a"), chan("#b", roster=("me",))))
    client.apply(msg(1, text="hi", to="me"))
    client.apply(Rename("bob", "robert", 1.0))
    assert client.buffer("#a").roster.names == ["me", "robert"]
    assert "-- bob is now known as robert" in texts(client.buffer("#a"))
    assert "-- bob is now known as robert" not in texts(client.buffer("#b"))
    assert client.buffer("robert").is_query and client.buffers.find("bob") is None
    client.apply(Rename("me", "Me2", 2.0, resume="tok"))
    assert client.me.nick == "Me2" and client.me.is_me("me2")
    assert "-- you are now known as Me2" in texts(client.buffer("#b"))


def test_topic_roster_history_and_listing() -> None:
    client = Client()
    client.apply(welcome(chan("#a", msg(10)), chan("#b")))
    client.apply(Topic("#b", "new topic", "bob", 1.0))
    assert client.buffer("#b").topic == "new topic"
    client.apply(Topic("#b", "", "bob", 2.0))
    assert client.buffer("#b").topic == "" and "cleared the topic" in texts(client.buffer("#b"))[-1]
    client.apply(Roster(["me", "x"], channel="#b"))
    assert client.buffer("#b").roster.names == ["me", "x"]
    client.apply(History([msg(8), msg(9)], before=10, channel="#a"))
    assert ids(client.buffer("#a")) == [8, 9, 10]
    client.apply(Channels([ChannelSummary("#a", 2), ChannelSummary("#zz", 1, "quiet")]))
    assert "   #zz (1): quiet" in texts(client.buffers.current)
    assert "#zz" in client.buffers.channel_names()


def test_errors_bye_and_lost_connection_are_said_where_seen() -> None:
    client = Client("bob")
    client.apply(Error(ErrorCode.NICK_TAKEN, "That nick is taken."))
    assert "/nick NAME" in texts(client.buffers.server)[-1]
    client.apply(welcome(chan("#a"), nick="bob"))
    client.apply(Error(ErrorCode.NOT_IN_CHANNEL, "You are not in #x."))
    assert texts(client.buffer("#a"))[-1] == "! You are not in #x."
    client.apply(Bye("server_shutdown"), NetStatus(Status.RECONNECTING, 1.0))
    server = texts(client.buffers.server)
    assert server[-1] == "-- server closed the connection (server_shutdown)"
    assert "-- lost the connection to the server" not in server  # the bye said it


def test_status_countdown() -> None:
    status = ConnectionStatus()
    status.set(Status.RECONNECTING, 4, now=100.0)
    assert status.word(now=100.0) == "reconnecting in 4s"
    assert status.word(now=102.5) == "reconnecting in 2s"


def test_kicks_modes_and_invites() -> None:
    client = Client()
    client.apply(welcome(chan("#a", roster=("me", "bob", "carol")), chan("#b")))
    client.apply(Kick("#a", "carol", "spam", "bob", 1.0))
    assert client.buffer("#a").roster.names == ["bob", "me"]
    assert texts(client.buffer("#a"))[-1] == "-- bob kicked carol: spam"
    assert client.apply(Kick("#b", "me", "flooding", "bob", 2.0))  # rings: it is about us
    assert not client.buffer("#b").joined
    line = "-- you were kicked from #b by bob: flooding"
    assert texts(client.buffer("#b"))[-1] == line
    assert texts(client.buffer("#a"))[-1] == line  # said where we look, too
    client.apply(Join("carol", 2.5, channel="#a"))
    client.apply(Mode("bob", 3.0, channel="#a", op="carol", topic_lock=True))
    assert texts(client.buffer("#a"))[-2:] == [
        "-- bob made carol an operator of #a",
        "-- bob locked the topic: only operators may set it (+t)",
    ]
    assert client.buffer("#a").roster.is_operator("carol")
    assert client.buffer("#a").modes.topic_lock
    client.apply(Kick("#a", "carol", "kicked by bob", "bob", 5.0))  # the server's default
    assert texts(client.buffer("#a"))[-1] == "-- bob kicked carol"
    assert client.apply(Invite("#vip", "me", "bob", 4.0))
    assert "/join #vip" in texts(client.buffers.current)[-1]


def test_private_history_pages_go_to_the_query_buffer() -> None:
    client = Client()
    client.apply(welcome(chan("#a")))
    client.apply(msg(10, text="latest", to="me"))
    query = client.buffer("bob")
    assert query.wants_history()
    client.apply(History([msg(3, sender="me", text="older", to="bob")], before=10, peer="bob"))
    assert ids(query) == [3, 10]


def test_channel_and_roster_frames_bring_the_operators() -> None:
    client = Client()
    client.apply(welcome(chan("#a", roster=("me", "bob", "carol"), operators=["bob"])))
    a = client.buffer("#a")
    assert a.roster.ranked() == ["bob", "carol", "me"] and a.roster.is_operator("bob")
    client.apply(Rename("bob", "robert", 1.0))
    assert a.roster.is_operator("robert")
    client.apply(Roster(["me", "carol", "robert"], channel="#a", operators=["carol"]))
    assert a.roster.is_operator("carol") and not a.roster.is_operator("robert")
    assert texts(a)[-1] == "-- online in #a (3): me, @carol, robert"
    client.apply(Mode("carol", 2.0, channel="#a", deop="carol"))
    assert not a.roster.is_operator("carol")
    assert texts(a)[-1] == "-- carol took the operator's role from carol"


def test_modes_bans_and_our_own_op_are_readable_lines() -> None:
    client = Client()
    client.apply(welcome(chan("#a", roster=("me", "bob"), topic_lock=True)))
    a = client.buffer("#a")
    assert a.modes.topic_lock
    assert client.apply(Mode("bob", 1.0, channel="#a", op="me"))  # about us: rings
    assert a.roster.is_operator("me")
    client.apply(Mode("bob", 2.0, channel="#a", topic_lock=False))
    client.apply(Mode("bob", 3.0, channel="#a", invite_only=True))
    client.apply(Mode("bob", 4.0, channel="#a", ban="carol"))
    client.apply(Mode("bob", 5.0, channel="#a", unban="carol"))
    client.apply(Mode("bob", 6.0, channel="#a", invite_only=False))
    assert texts(a)[-6:] == [
        "-- bob made you an operator of #a",
        "-- bob unlocked the topic: anyone here may set it (-t)",
        "-- bob made #a invite-only (+i)",
        "-- bob banned carol from #a",
        "-- bob lifted the ban on carol",
        "-- bob opened #a to everyone (-i)",
    ]
    assert a.modes.flags == ""
    client.apply(Mode("me", 7.0, ban="mallory"))  # server-wide: told the admin alone
    assert texts(client.buffers.current)[-1] == "-- me banned mallory server-wide"


def test_a_refused_registered_nick_asks_for_its_password() -> None:
    client = Client("alice")
    registered = "This nick is registered; give its password with --nick-password-file."
    assert client.apply(Error(ErrorCode.NICK_REGISTERED, registered))
    assert client.prompt.ask == Ask(Purpose.HELLO, "alice")
    assert client.status.refused
    server = texts(client.buffers.server)
    assert server[-2] == f"! {registered}" and "asking for the password of alice" in server[-1]
    client.prompt.cancel()
    client.apply(Error(NICK_PASSWORD_REFUSED, "Wrong password for this nick."))
    assert client.prompt.ask == Ask(Purpose.HELLO, "alice")  # asked again
    client.apply(NetStatus(Status.CONNECTING, 0))
    assert not client.status.refused  # trying again
    client.apply(welcome(chan("#a"), nick="alice"))
    client.apply(Error(ErrorCode.NICK_REGISTERED, registered))  # a /nick to someone's nick
    assert "/identify NICK" in texts(client.buffer("#a"))[-1]


def test_a_ban_says_why_and_until_when_in_local_time() -> None:
    client = Client()
    client.apply(welcome(chan("#a")))
    until = time.time() + 3600
    client.apply(Error(ErrorCode.BANNED, "You are banned from #x until 2030-01-01 10:00 UTC.",
                       reason="spam", until=until))
    line = texts(client.buffer("#a"))[-1]
    assert line.startswith("! You are banned from #x")
    assert f"(The ban ends {local_time(until)} your time.)" in line and "Reason: spam" in line
    client.apply(Error(ErrorCode.BANNED, "You are banned from #x until lifted: spam.",
                       reason="spam"))
    assert texts(client.buffer("#a"))[-1] == "! You are banned from #x until lifted: spam."


def test_local_time_and_durations() -> None:
    now = time.mktime((2026, 12, 2, 12, 0, 0, 0, 0, -1))
    assert local_time(now + 3600, now=now) == "13:00"
    assert local_time(now + 86400, now=now) == "Thu 3 Dec 12:00"
    assert [format_duration(s) for s in (0, 45, 192, 7500, 273600)] == [
        "0s", "45s", "3m 12s", "2h 5m", "3d 4h"
    ]


def test_account_answers_say_what_changed() -> None:
    client = Client("alice")
    client.apply(welcome(chan("#a"), nick="alice"))
    for purpose, expected in [
        (Purpose.REGISTER, "-- alice is registered to you"),
        (Purpose.PASSWORD, "-- the password of alice is changed"),
        (Purpose.IDENTIFY, "-- you are identified as alice"),
    ]:
        client.me.expect_account(purpose)
        client.apply(Account("alice", registered=True, identified=True))
        assert texts(client.buffer("#a"))[-1].startswith(expected)
        assert client.me.identified
    client.me.expect_account(Purpose.UNREGISTER)
    client.apply(Account("alice"))
    assert texts(client.buffer("#a"))[-1].startswith("-- alice is no longer registered")
    assert not client.me.identified


def test_whois_answer_is_one_line() -> None:
    client = Client()
    client.apply(welcome(chan("#a")))
    since = time.time() - 60
    client.apply(Whois("bob", ["#a", "#b"], 192, since, away="lunch", account="bob"))
    assert texts(client.buffer("#a"))[-1] == (
        f"-- bob: identified as bob; in #a, #b; idle 3m 12s; here since {local_time(since)}; "
        "away: lunch"
    )
    client.apply(Whois("eve", [], 0, since))
    assert "eve: not identified; in no channel; idle 0s" in texts(client.buffer("#a"))[-1]


def test_killed_and_banned_end_with_a_clear_last_line() -> None:
    client = Client()
    client.apply(welcome(chan("#a")))
    client.apply(Bye(ByeReason.KILLED), NetStatus(Status.DISCONNECTED))
    line = texts(client.buffer("#a"))[-1]
    assert line.startswith("-- an admin closed your connection (killed)")
    assert "will not reconnect" in line and texts(client.buffers.server)[-1] == line
    client.apply(Bye(ByeReason.BANNED))
    assert texts(client.buffer("#a"))[-1].startswith("-- you are banned from this server")


# Big channels: batched presence and partial rosters (the presence capability).


def big(name: str = "#big", users: int = 10_000, **kw: object) -> Channel:
    return chan(name, roster=("me", "op"), operators=["op"], users=users, partial=True, **kw)


def test_a_partial_channel_keeps_its_roster_and_counts_the_members() -> None:
    client = Client()
    client.apply(welcome(chan("#a"), big()))
    b = client.buffer("#big")
    assert b.roster.partial and b.roster.count == 10_000 and b.roster.names == ["me", "op"]
    assert b.roster.is_operator("op") and "-- you are in #big (10000 here)" in texts(b)
    client.apply(Join("carol", 1.0, channel="#big"), Leave("stranger", "quit", 2.0, channel="#big"))
    assert b.roster.count == 10_000 and "carol" in b.roster
    client.apply(big("#huge", users=500, topic="big"))  # in answer to a join
    huge = client.buffer("#huge")
    assert client.buffers.current is huge and huge.roster.count == 500
    assert texts(huge)[-1] == "-- you are in #huge (500 here)"
    client.apply(chan("#small", roster=("me", "bob", "carol")))  # not partial: whole
    assert not client.buffer("#small").roster.partial


def test_a_presence_frame_updates_the_roster_and_says_so_in_one_line() -> None:
    client = Client()
    client.apply(welcome(chan("#a"), big()))
    b = client.buffer("#big")
    assert not b.visible  # quiet lines: they do not count as unread
    entries = len(b.entries)
    client.apply(PresenceUpdate("#big", 5.0, joined=["alice", "bob", "me"], left=["carol"]))
    assert b.roster.names == ["alice", "bob", "me", "op"] and b.roster.count == 10_001
    assert texts(b)[entries:] == ["-- alice, bob joined; carol left"]  # we are not named
    assert b.entries[-1].kind == EntryKind.SYSTEM and b.entries[-1].ts == 5.0
    joined = [f"user{i:04d}" for i in range(500)]
    client.apply(PresenceUpdate("#big", 6.0, joined=joined, left=["alice", "x", "y"]))
    assert texts(b)[-1] == "-- 500 joined, 3 left"
    assert b.roster.count == 10_001 + 500 - 3 and len(b.roster) == 503 and "alice" not in b.roster
    client.apply(PresenceUpdate("#big", 7.0, left=joined[:6]))
    assert texts(b)[-1] == "-- 6 left"
    client.apply(PresenceUpdate("#big", 8.0, joined=["me"]))  # only ourselves: nothing to say
    assert texts(b)[-1] == "-- 6 left" and b.unread == 0 and not b.highlight


def test_presence_of_a_channel_we_left_or_never_opened_changes_nothing() -> None:
    client = Client()
    client.apply(welcome(chan("#a"), big()))
    client.apply(Leave("me", "part", 1.0, channel="#big"))
    b = client.buffer("#big")
    before = texts(b)
    client.apply(PresenceUpdate("#big", 2.0, joined=["alice"]),
                 PresenceUpdate("#nowhere", 2.0, joined=["alice"]))
    assert texts(b) == before and len(b.roster) == 0


def test_the_roster_answer_makes_a_partial_roster_whole_quietly_when_asked_quietly() -> None:
    client = Client()
    client.apply(welcome(big()))
    b = client.buffer("#big")
    assert b.wants_roster()
    b.note_roster_asked()
    assert not b.wants_roster()
    before = texts(b)
    client.apply(Roster(["me", "op", "u1", "u2"], channel="#big", operators=["op"]))
    assert texts(b) == before  # 10,000 names are not dumped into the buffer
    assert not b.roster.partial and b.roster.count == 4 and not b.wants_roster()
    client.apply(Roster(["me", "op"], channel="#big"))  # one nobody asked quietly for
    assert texts(b)[-1] == "-- online in #big (2): me, op"
    client.apply(NetStatus(Status.RECONNECTING, 1.0), welcome(big()))  # partial again
    assert b.wants_roster() and b.roster.count == 10_000


def test_presence_text_names_few_and_counts_many() -> None:
    assert presence_text([], []) is None
    assert presence_text(["a"], []) == "-- a joined"
    assert presence_text([], ["a", "b"]) == "-- a, b left"
    assert presence_text(["a", "b", "c"], ["d", "e"]) == "-- a, b, c joined; d, e left"
    assert presence_text(["a", "b", "c", "d"], ["e", "f"]) == "-- 4 joined, 2 left"
    assert presence_text([], [f"n{i}" for i in range(57)]) == "-- 57 left"


def test_a_resume_cut_at_its_cap_opens_a_gap_that_after_pages_fill() -> None:
    client = Client()
    client.apply(welcome(chan("#a", msg(1)), chan("#b", msg(2))), NetStatus(Status.RECONNECTING))
    replay = [msg(i) for i in range(5000, 5000 + RESUME_HISTORY_CAP)]
    client.apply(welcome(chan("#a", *replay), chan("#b", msg(2), msg(6000))))
    a, b = client.buffer("#a"), client.buffer("#b")
    assert a.gap == Gap(1, 5000) and b.gap is None  # #b's replay was whole
    client.apply(History([msg(3), msg(4)], before=5000, after=1, channel="#a"))
    assert a.gap is None and ids(a) == [1, 3, 4, *range(5000, 5000 + RESUME_HISTORY_CAP)]
    # a join's answer (the last 50) for a channel we had messages of: the middle too
    client.apply(Leave("me", "part", 3.0, channel="#b"))
    client.apply(chan("#b", *[msg(i) for i in range(7000, 7000 + WELCOME_HISTORY)]))
    assert b.gap == Gap(6000, 7000)


def test_a_reconnect_forgets_the_pages_asked_of_the_lost_connection() -> None:
    client = Client()
    client.apply(welcome(chan("#a", msg(10))))
    a = client.buffer("#a")
    a.note_history_requested()  # the answer is lost with the connection
    client.apply(NetStatus(Status.RECONNECTING, 1.0), welcome(chan("#a", msg(10))))
    assert a.wants_history()  # paging back works again
