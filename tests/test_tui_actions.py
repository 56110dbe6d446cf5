"""Commands carried out against the buffers and a recording sender (tui_client.actions)."""

from __future__ import annotations

from protocol import (
    BanUser,
    Channel,
    ClientFrame,
    DeopUser,
    Error,
    ErrorCode,
    Identify,
    InviteUser,
    JoinChannel,
    KickUser,
    KillUser,
    ListChannels,
    Msg,
    Nick,
    OpUser,
    Part,
    Register,
    Roster,
    Say,
    SetMode,
    SetPassword,
    SetTopic,
    UnbanUser,
    Unregister,
    Welcome,
    Who,
)
from tui_client.actions import CommandRunner, Outcome
from tui_client.buffers import Buffers
from tui_client.commands import parse_input
from tui_client.events import EventApplier
from tui_client.identity import Identity
from tui_client.prefs import Prefs
from tui_client.secret import Ask, Purpose, SecretPrompt
from tui_client.status import ConnectionStatus, Status


class Recorder:
    """A sender that records frames (or refuses them while ``up`` is False)."""

    def __init__(self) -> None:
        self.sent: list[ClientFrame] = []
        self.up = True
        self.nick = ""
        self.nick_password: str | None = None

    def send(self, frame: ClientFrame) -> bool:
        if self.up:
            self.sent.append(frame)
        return self.up

    def change_nick(self, nick: str) -> None:
        self.nick = nick

    def use_nick_password(self, password: str) -> None:
        self.nick_password = password


class Client:
    def __init__(self, full_screen: bool = True) -> None:
        self.me = Identity("me")
        self.status = ConnectionStatus()
        self.prefs = Prefs()
        self.buffers = Buffers()
        self.link = Recorder()
        self.prompt = SecretPrompt()
        self.applier = EventApplier(self.buffers, self.me, self.status, self.prefs, self.prompt)
        self.runner = CommandRunner(
            self.buffers, self.me, self.status, self.prefs, self.link, self.prompt,
            full_screen=full_screen,
        )

    def welcome(self, *names: str) -> None:
        channels = [Channel(n, ["me", "bob"], [], topic="t1" if n == "#b" else None,
                            topic_by="bob") for n in names]
        self.applier.apply(Welcome("me", "srv", ["me"], [], channels=channels))

    def run(self, line: str) -> Outcome:
        command = parse_input(line)
        assert command is not None
        return self.runner.run(command)

    def last_line(self) -> str:
        return self.buffers.current.entries[-1].text


def test_plain_text_goes_to_the_current_channel() -> None:
    client = Client()
    client.welcome("#a", "#b")
    client.run("hello")
    client.buffers.switch_number(3)
    client.run("/me waves")
    assert client.link.sent == [Say("hello", channel="#a"), Say("waves", True, channel="#b")]


def test_plain_text_in_the_server_buffer_says_what_to_do() -> None:
    client = Client()
    client.welcome("#a")
    client.buffers.switch_to(client.buffers.server)
    client.run("hello")
    assert client.link.sent == []
    assert "/join #name" in client.last_line() and "Alt+number" in client.last_line()
    plain = Client(full_screen=False)
    plain.run("hello")
    assert "Alt" not in plain.last_line() and "/join #name" in plain.last_line()


def test_query_buffer_sends_private_messages() -> None:
    client = Client()
    client.welcome("#a")
    client.run("/query bob")
    assert client.buffers.current.name == "bob" and client.link.sent == []
    client.run("psst")
    client.run("/me waves")
    assert client.link.sent == [Msg("bob", "psst")]
    assert "channels only" in client.last_line()


def test_msg_opens_the_private_buffer_without_switching() -> None:
    client = Client()
    client.welcome("#a")
    client.run("/msg carol lunch?")
    assert client.link.sent == [Msg("carol", "lunch?")]
    assert client.buffers.current.name == "#a" and client.buffers.find("carol") is not None


def test_join_sends_or_switches_when_already_in() -> None:
    client = Client()
    client.welcome("#a", "#b")
    client.run("/join #ops")
    assert client.link.sent == [JoinChannel("#ops")]
    client.run("/join #B")
    assert client.buffers.current.name == "#b" and len(client.link.sent) == 1


def test_part_topic_names_who_and_list_use_the_current_channel() -> None:
    client = Client()
    client.welcome("#a", "#b")
    client.buffers.switch_number(3)
    client.run("/topic")
    assert client.last_line() == "-- topic of #b: t1 (set by bob)"
    client.run("/topic next")
    client.run("/topic -delete")
    client.run("/who")
    client.run("/list")
    client.run("/names")
    assert client.last_line() == "-- in #b (2): bob, me"
    client.run("/part bye")
    assert client.link.sent == [
        SetTopic("#b", "next"), SetTopic("#b", ""), Who("#b"), ListChannels(), Part("#b", "bye")
    ]


def test_channel_commands_outside_a_channel_are_refused_locally() -> None:
    client = Client()
    client.welcome("#a")
    client.run("/query bob")
    for line in ("/part", "/topic x", "/who", "/names"):
        client.run(line)
        assert client.last_line().startswith("! ")
    assert client.link.sent == []


def test_close_parts_a_channel_and_keeps_the_server_buffer() -> None:
    client = Client()
    client.welcome("#a", "#b")
    client.buffers.switch_number(3)
    client.run("/close")
    assert client.link.sent == [Part("#b")] and client.buffers.current.name == "#a"
    assert client.buffers.find("#b") is None
    client.buffers.switch_to(client.buffers.server)
    client.run("/close")
    assert "stays open" in client.last_line()


def test_without_a_connection_nothing_changes_and_the_caller_is_told() -> None:
    client = Client()
    client.welcome("#a", "#b")
    client.link.up = False
    assert not client.run("hello").sent
    assert not client.run("/close").sent and client.buffers.find("#a") is not None
    assert not client.run("/msg bob hi").sent and client.buffers.find("bob") is None


def test_nick_before_the_first_welcome_changes_the_next_hello() -> None:
    client = Client()
    client.run("/nick alice2")
    assert client.link.nick == "alice2" and client.me.nick == "alice2"
    assert client.link.sent == []
    client.welcome("#a")
    client.run("/nick alice3")
    assert client.link.sent == [Nick("alice3")]


def test_local_actions_help_bell_roster_clear_and_quit() -> None:
    client = Client()
    client.welcome("#a")
    client.run("/help")
    assert any("/join #CHANNEL" in e.text for e in client.buffers.current.entries)
    client.run("/bell")
    assert not client.prefs.bell_enabled and client.last_line() == "-- bell off"
    client.run("/roster")
    assert not client.prefs.roster_visible
    client.run("/clear")
    assert client.buffers.current.entries == []
    outcome = client.run("/quit gone")
    assert outcome.quit and outcome.quit_reason == "gone"


def test_moderation_goes_to_the_current_channel() -> None:
    client = Client()
    client.welcome("#a", "#b")
    client.buffers.switch_number(3)
    for line in ("/kick bob spam", "/ban bob 2h flooding", "/unban bob", "/op bob",
                 "/deop bob", "/mode +t -i", "/invite carol", "/invite carol #vip",
                 "/ban -server bob", "/kill bob bye"):
        assert client.run(line).sent, line
    assert client.link.sent == [
        KickUser("#b", "bob", "spam"), BanUser("bob", "#b", 120, "flooding"),
        UnbanUser("bob", "#b"), OpUser("#b", "bob"), DeopUser("#b", "bob"),
        SetMode("#b", topic_lock=True, invite_only=False), InviteUser("#b", "carol"),
        InviteUser("#vip", "carol"), BanUser("bob"), KillUser("bob", "bye"),
    ]


def test_moderation_outside_a_channel_is_refused_locally() -> None:
    client = Client()
    client.welcome("#a")
    client.run("/query bob")
    for line in ("/kick bob", "/ban bob", "/op bob", "/mode +i", "/mode"):
        client.run(line)
        assert client.last_line().startswith("! "), line
    assert client.link.sent == []


def test_mode_without_arguments_shows_the_modes() -> None:
    client = Client()
    client.welcome("#a")
    client.run("/mode")
    assert client.last_line().startswith("-- #a has no modes set")
    client.buffers.current.set_modes(topic_lock=True, invite_only=True)
    client.run("/mode")
    assert client.last_line() == (
        "-- modes of #a: only operators set the topic (+t), invite-only (+i)"
    )


def test_names_marks_the_operators() -> None:
    client = Client()
    client.welcome("#a")
    client.buffers.current.roster.set_operator("bob", True)
    client.run("/names")
    assert client.last_line() == "-- in #a (2): @bob, me"


def answer(client: Client, *answers: str) -> None:
    for text in answers:
        assert client.prompt.active
        client.prompt.insert(text)
        done = client.prompt.submit()
    assert done is not None and not client.prompt.active
    client.runner.answer(*done)


def test_account_commands_ask_then_send() -> None:
    client = Client()
    client.welcome("#a")
    client.run("/register")
    assert client.prompt.ask == Ask(Purpose.REGISTER, "me") and client.link.sent == []
    answer(client, "long-enough", "long-enough")
    client.run("/identify Alice")
    answer(client, "alices-pw")
    client.run("/password")
    answer(client, "long-enough", "brand-new-1", "brand-new-1")
    client.run("/unregister")
    answer(client, "brand-new-1")
    assert client.link.sent == [
        Register("long-enough"), Identify("Alice", "alices-pw"),
        SetPassword("long-enough", "brand-new-1"), Unregister("brand-new-1"),
    ]
    assert not any("long-enough" in e.text or "brand-new" in e.text
                   for b in client.buffers for e in b.entries)


def test_a_new_password_must_match_and_be_long_enough() -> None:
    client = Client()
    client.welcome("#a")
    client.run("/register")
    answer(client, "long-enough", "long-enougH")
    assert client.last_line() == "! The two passwords differ; nothing was sent. Try again."
    client.run("/password")
    answer(client, "old-one", "short", "short")
    assert "8 to 256 characters" in client.last_line() and client.link.sent == []


def test_account_commands_need_a_connection() -> None:
    client = Client()
    assert client.run("/register").sent and client.last_line().startswith("! Not connected")
    client.welcome("#a")
    client.link.up = False
    client.status.set(Status.RECONNECTING, 1.0)
    assert not client.run("/register").sent and not client.prompt.active
    client.status.note_welcome()
    client.run("/register")
    answer(client, "long-enough", "long-enough")  # the connection dropped meanwhile
    assert client.last_line().startswith("! Not connected")


def test_identify_after_a_refused_hello_gives_the_next_hello_its_password() -> None:
    client = Client()
    client.applier.apply(Error(ErrorCode.NICK_REGISTERED, "This nick is registered."))
    assert client.prompt.ask == Ask(Purpose.HELLO, "me")
    client.prompt.cancel()
    client.run("/identify")
    assert client.prompt.ask == Ask(Purpose.HELLO, "me")
    answer(client, "my-password")
    assert client.link.nick_password == "my-password" and client.link.sent == []
    client.applier.apply(Error(ErrorCode.NICK_REGISTERED, "This nick is registered."))
    client.prompt.cancel()
    client.run("/identify other")  # another account: the hello asks for that nick
    answer(client, "others-pw")
    assert client.link.nick == "other" and client.me.nick == "other"
    assert client.link.nick_password == "others-pw"


def big(name: str) -> Channel:
    return Channel(name, ["me"], [], users=5_000, partial=True)


def test_the_whole_roster_is_asked_for_once_and_only_for_the_channel_shown() -> None:
    client = Client()
    client.applier.apply(Welcome("me", "srv", ["me"], [], channels=[big("#one"), big("#two")]))
    assert client.buffers.current.name == "#one"
    assert client.runner.ask_whole_roster() and not client.runner.ask_whole_roster()
    assert client.link.sent == [Who("#one")]  # not #two: it is not shown
    client.buffers.switch_number(3)
    client.link.up = False
    assert not client.runner.ask_whole_roster()  # not connected: asked again later
    client.link.up = True
    assert client.runner.ask_whole_roster()
    client.buffers.switch_number(2)
    client.buffers.switch_number(3)
    assert not client.runner.ask_whole_roster()  # switching back does not ask again
    assert client.link.sent == [Who("#one"), Who("#two")]
    client.applier.apply(Roster(["me", "a", "b"], channel="#two"))
    assert not client.buffers.current.roster.partial and not client.runner.ask_whole_roster()
    assert client.last_line() == "-- you are in #two (5000 here)"  # the answer is not listed


def test_names_of_a_partial_roster_asks_the_server_once_and_lists_the_answer() -> None:
    client = Client()
    client.applier.apply(Welcome("me", "srv", ["me"], [], channels=[big("#one")]))
    client.run("/names")
    assert client.link.sent == [Who("#one")]
    assert client.last_line() == "-- asking the server who is in #one (5000 users) ..."
    client.run("/names")
    assert client.link.sent == [Who("#one")] and not client.runner.ask_whole_roster()
    client.applier.apply(Roster(["me", "a"], channel="#one"))
    assert client.last_line() == "-- online in #one (2): me, a"
    client.run("/names")
    assert client.last_line() == "-- in #one (2): a, me" and len(client.link.sent) == 1


def test_who_lists_an_answer_that_was_asked_for_quietly() -> None:
    client = Client()
    client.applier.apply(Welcome("me", "srv", ["me"], [], channels=[big("#one")]))
    assert client.runner.ask_whole_roster()
    client.run("/who")
    client.applier.apply(Roster(["me", "a"], channel="#one"))
    assert client.last_line() == "-- online in #one (2): me, a"
    client.link.up = False
    assert not client.run("/who").sent
