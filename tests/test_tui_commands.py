"""Parsing typed lines into commands, from the one table (tui_client.commands)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from protocol import (
    BanUser,
    DeopUser,
    InviteUser,
    KickUser,
    KillUser,
    ListChannels,
    Nick,
    OpUser,
    SetMode,
    UnbanUser,
    WhoisQuery,
)
from tui_client.commands import (
    COMMANDS,
    AskSecret,
    ChannelRequest,
    CloseCommand,
    CommandError,
    JoinCommand,
    LocalAction,
    NamesCommand,
    PartCommand,
    PrivateCommand,
    QuitCommand,
    SendFrame,
    SendText,
    ShowModes,
    TopicCommand,
    WhoCommand,
    help_lines,
    keeps_history,
    parse_input,
)
from tui_client.keys import key_help
from tui_client.secret import Purpose

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("hello", SendText("hello")),
        ("привет", SendText("привет")),
        ("/me waves", SendText("waves", action=True)),
        ("/msg bob see you", PrivateCommand("bob", "see you")),
        ("/query bob", PrivateCommand("bob", None, switch=True)),
        ("/query bob hi there", PrivateCommand("bob", "hi there", switch=True)),
        ("/join #dev", JoinCommand("#dev")),
        ("/JOIN #Dev", JoinCommand("#Dev")),
        ("/part", PartCommand(None)),
        ("/part see you", PartCommand("see you")),
        ("/topic", TopicCommand(None)),
        ("/topic release on Friday", TopicCommand("release on Friday")),
        ("/topic -delete", TopicCommand("")),
        ("/list", SendFrame(ListChannels())),
        ("/names", NamesCommand()),
        ("/who", WhoCommand()),
        ("/close", CloseCommand()),
        ("/nick carol", SendFrame(Nick("carol"))),
        ("/roster", LocalAction("roster")),
        ("/clear", LocalAction("clear")),
        ("/help", LocalAction("help")),
        ("/bell", LocalAction("bell")),
        ("/quit", QuitCommand(None)),
        ("/quit gone fishing", QuitCommand("gone fishing")),
        ("exit", QuitCommand(None)),
        ("//not a command", SendText("/not a command")),
        ("/whois bob", SendFrame(WhoisQuery("bob"))),
        ("/register", AskSecret(Purpose.REGISTER)),
        ("/identify", AskSecret(Purpose.IDENTIFY)),
        ("/identify alice", AskSecret(Purpose.IDENTIFY, "alice")),
        ("/password", AskSecret(Purpose.PASSWORD)),
        ("/unregister", AskSecret(Purpose.UNREGISTER)),
        ("/kill bob", SendFrame(KillUser("bob"))),
        ("/kill bob flooding the lobby", SendFrame(KillUser("bob", "flooding the lobby"))),
    ],
)
def test_commands(line: str, expected: object) -> None:
    assert parse_input(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "/bogus", "/nick", "/nick two words", "/msg bob", "/me", "/nick b@d", "/join",
        "/join dev", "/join #a #b", "/join #b@d", "/query", "/msg b@d hi",
    ],
)
def test_errors_are_local(line: str) -> None:
    assert isinstance(parse_input(line), CommandError)


def kick(nick: str, reason: str | None = None) -> ChannelRequest:
    return ChannelRequest(KickUser, (("nick", nick), ("reason", reason)))


def ban(nick: str, minutes: int | None = None, reason: str | None = None,
        address: bool = False) -> ChannelRequest:
    fields = (("nick", nick), ("minutes", minutes), ("reason", reason), ("address", address))
    return ChannelRequest(BanUser, fields)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/kick bob", kick("bob")),
        ("/kick bob spam and more", kick("bob", "spam and more")),
        ("/ban bob", ban("bob")),
        ("/ban bob 30", ban("bob", 30)),
        ("/ban bob 2h flooding", ban("bob", 120, "flooding")),
        ("/ban bob 1d", ban("bob", 1440)),
        ("/ban bob for spam", ban("bob", None, "for spam")),
        ("/ban -address bob 10 spam", ban("bob", 10, "spam", address=True)),
        ("/ban -server bob", SendFrame(BanUser("bob"))),
        ("/ban -server -address bob 5m x", SendFrame(BanUser("bob", None, 5, "x", True))),
        ("/unban bob", ChannelRequest(UnbanUser, (("nick", "bob"),))),
        ("/unban -server bob", SendFrame(UnbanUser("bob"))),
        ("/op carol", ChannelRequest(OpUser, (("nick", "carol"),))),
        ("/deop carol", ChannelRequest(DeopUser, (("nick", "carol"),))),
        ("/invite bob", ChannelRequest(InviteUser, (("nick", "bob"),))),
        ("/invite bob #vip", ChannelRequest(InviteUser, (("nick", "bob"),), "#vip")),
        ("/mode", ShowModes()),
        ("/mode +t", ChannelRequest(SetMode, (("topic_lock", True),))),
        ("/mode -i", ChannelRequest(SetMode, (("invite_only", False),))),
        ("/mode +ti", ChannelRequest(SetMode, (("invite_only", True), ("topic_lock", True)))),
        ("/mode +t -i", ChannelRequest(SetMode, (("invite_only", False), ("topic_lock", True)))),
    ],
)
def test_moderation_commands(line: str, expected: object) -> None:
    assert parse_input(line) == expected


def test_a_channel_request_builds_its_frame_for_the_channel() -> None:
    assert kick("bob", "spam").frame("#ops") == KickUser("#ops", "bob", "spam")
    assert ban("bob", 30).frame("#ops") == BanUser("bob", "#ops", 30)


@pytest.mark.parametrize(
    "line",
    [
        "/kick", "/ban", "/ban -server", "/unban", "/unban bob carol", "/op", "/op a b",
        "/deop", "/invite", "/invite bob #a #b", "/invite bob nochannel", "/mode t",
        "/mode +x", "/mode +", "/whois", "/whois a b", "/kill", "/kick b@d",
        "/ban -server bob 0", "/ban -server bob 9999999",
    ],
)
def test_moderation_errors_are_local(line: str) -> None:
    assert isinstance(parse_input(line), CommandError)


@pytest.mark.parametrize(
    "line", ["/register hunter22", "/password old new", "/unregister hunter22",
             "/identify alice hunter22", "/register\nhunter22\nhunter22"],
)
def test_a_password_on_the_command_line_is_refused_and_not_echoed(line: str) -> None:
    result = parse_input(line)
    assert isinstance(result, CommandError) and "hunter22" not in result.message
    assert "asked for" in result.message
    assert not keeps_history(line)


def test_only_account_lines_stay_out_of_the_history() -> None:
    assert not keeps_history("/register") and not keeps_history("/IDENTIFY bob")
    assert keeps_history("/join #a") and keeps_history("hello") and keeps_history("//register")
    assert keeps_history("/bogus")


def test_usage_errors_come_from_the_table() -> None:
    assert parse_input("/join") == CommandError(f"Usage: {COMMANDS['join'].usage}")


def test_empty_line_does_nothing() -> None:
    assert parse_input("") is None
    assert parse_input("   ") is None


def test_exit_only_alone() -> None:
    assert parse_input("exit now") == SendText("exit now")


def test_too_long_text_is_refused_locally() -> None:
    result = parse_input("x" * 5000)
    assert isinstance(result, CommandError) and "4096" in result.message


def test_help_lists_every_command_and_key_once() -> None:
    full = "\n".join(help_lines(True, key_help()))
    for spec in COMMANDS.values():
        assert len(re.findall(rf"^  {re.escape(spec.usage)}( |$)", full, re.M)) == 1, spec.name
    for label, _text in key_help():
        assert label in full
    plain = "\n".join(help_lines(False))
    assert "/roster" not in plain and "/join #CHANNEL" in plain and "Keys:" not in plain


def test_readme_names_every_command() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## The client", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`/([a-z]+)", section))
    assert set(COMMANDS) <= documented
