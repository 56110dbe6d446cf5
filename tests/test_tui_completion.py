"""Nick and channel completion (tui_client.completion)."""

from __future__ import annotations

from tui_client.completion import Completer
from tui_client.roster import Roster

NICKS = ["alice", "Alex", "bob", "Борис"]
CHANNELS = ["#dev", "#Design", "#ops"]


def test_line_start_adds_colon() -> None:
    assert Completer().complete("bo", 2, NICKS) == ("bob: ", 5)


def test_mid_line_adds_space_and_keeps_rest() -> None:
    text = "hi bo there"
    assert Completer().complete(text, 5, NICKS) == ("hi bob there", 7)


def test_case_insensitive_and_cycles() -> None:
    completer = Completer()
    first = completer.complete("AL", 2, NICKS)
    assert first == ("Alex: ", 6)
    second = completer.complete(*first, NICKS)
    assert second == ("alice: ", 7)
    third = completer.complete(*second, NICKS)
    assert third == ("Alex: ", 6)


def test_cyrillic_and_no_match() -> None:
    completer = Completer()
    assert completer.complete("бо", 2, NICKS) == ("Борис: ", 7)
    assert completer.complete("zz", 2, NICKS) is None
    assert completer.complete("", 0, NICKS) is None


def test_typing_resets_the_cycle() -> None:
    completer = Completer()
    completer.complete("a", 1, NICKS)
    assert completer.complete("hello b", 7, NICKS) == ("hello bob ", 10)


def test_a_word_starting_with_hash_completes_channels() -> None:
    completer = Completer()
    first = completer.complete("/join #de", 9, NICKS, CHANNELS)
    assert first == ("/join #Design ", 14)
    assert completer.complete(*first, NICKS, CHANNELS) == ("/join #dev ", 11)
    assert Completer().complete("#o", 2, NICKS, CHANNELS) == ("#ops ", 5)  # no colon
    assert Completer().complete("#x", 2, NICKS, CHANNELS) is None
    assert Completer().complete("de", 2, NICKS, CHANNELS) is None  # nicks only without #


def test_a_roster_finds_the_candidates_itself_operators_included() -> None:
    roster = Roster([f"user{i:05d}" for i in range(10_000)] + ["Алиса"], operators=["user00123"])
    completer = Completer()
    first = completer.complete("hi user0012", 11, roster)
    assert first == ("hi user00120 ", 13)
    second = completer.complete(*first, roster)
    assert second == ("hi user00121 ", 13)
    assert completer.complete(*completer.complete(*second, roster), roster) == (
        "hi user00123 ", 13)  # the operator, in its place
    assert Completer().complete("АЛ", 2, roster) == ("Алиса: ", 7)
    assert Completer().complete("nobody", 6, roster) is None
