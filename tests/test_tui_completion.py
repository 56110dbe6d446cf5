"""Nick completion (tui_client.completion)."""

from __future__ import annotations

from tui_client.completion import NickCompleter

NICKS = ["alice", "Alex", "bob", "Борис"]


def test_line_start_adds_colon() -> None:
    assert NickCompleter().complete("bo", 2, NICKS) == ("bob: ", 5)


def test_mid_line_adds_space_and_keeps_rest() -> None:
    text = "hi bo there"
    assert NickCompleter().complete(text, 5, NICKS) == ("hi bob there", 7)


def test_case_insensitive_and_cycles() -> None:
    completer = NickCompleter()
    first = completer.complete("AL", 2, NICKS)
    assert first == ("Alex: ", 6)
    second = completer.complete(*first, NICKS)
    assert second == ("alice: ", 7)
    third = completer.complete(*second, NICKS)
    assert third == ("Alex: ", 6)


def test_cyrillic_and_no_match() -> None:
    completer = NickCompleter()
    assert completer.complete("бо", 2, NICKS) == ("Борис: ", 7)
    assert completer.complete("zz", 2, NICKS) is None
    assert completer.complete("", 0, NICKS) is None


def test_typing_resets_the_cycle() -> None:
    completer = NickCompleter()
    completer.complete("a", 1, NICKS)
    assert completer.complete("hello b", 7, NICKS) == ("hello bob ", 10)
