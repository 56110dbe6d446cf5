"""Parsing typed lines into commands (tui_client.commands)."""

from __future__ import annotations

import pytest

from protocol import Msg, Nick, Say, Who
from tui_client.commands import (
    CommandError,
    LocalAction,
    QuitCommand,
    SendFrame,
    parse_input,
)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("hello", SendFrame(Say("hello"))),
        ("привет", SendFrame(Say("привет"))),
        ("/me waves", SendFrame(Say("waves", action=True))),
        ("/msg bob see you", SendFrame(Msg("bob", "see you"))),
        ("/nick carol", SendFrame(Nick("carol"))),
        ("/who", SendFrame(Who())),
        ("/roster", LocalAction("roster")),
        ("/clear", LocalAction("clear")),
        ("/help", LocalAction("help")),
        ("/bell", LocalAction("bell")),
        ("/quit", QuitCommand(None)),
        ("/quit gone fishing", QuitCommand("gone fishing")),
        ("exit", QuitCommand(None)),
        ("//not a command", SendFrame(Say("/not a command"))),
    ],
)
def test_commands(line: str, expected: object) -> None:
    assert parse_input(line) == expected


@pytest.mark.parametrize(
    "line", ["/bogus", "/nick", "/nick two words", "/msg bob", "/me", "/nick b@d"]
)
def test_errors_are_local(line: str) -> None:
    assert isinstance(parse_input(line), CommandError)


def test_empty_line_does_nothing() -> None:
    assert parse_input("") is None
    assert parse_input("   ") is None


def test_exit_only_alone() -> None:
    assert parse_input("exit now") == SendFrame(Say("exit now"))


def test_too_long_text_is_refused_locally() -> None:
    result = parse_input("x" * 5000)
    assert isinstance(result, CommandError) and "4096" in result.message
