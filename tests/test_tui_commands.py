"""Parsing typed lines into commands, from the one table (tui_client.commands)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from protocol import ListChannels, Nick
from tui_client.commands import (
    COMMANDS,
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
    TopicCommand,
    WhoCommand,
    help_lines,
    parse_input,
)
from tui_client.keys import key_help

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
        assert full.count(spec.usage + " ") == 1, spec.name
    for label, _text in key_help():
        assert label in full
    plain = "\n".join(help_lines(False))
    assert "/roster" not in plain and "/join #CHANNEL" in plain and "Keys:" not in plain


def test_readme_names_every_command() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## The client", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`/([a-z]+)", section))
    assert set(COMMANDS) <= documented
