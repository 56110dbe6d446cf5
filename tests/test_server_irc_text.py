"""Texts between IRC and the chat: formatting, /me, NOTICE, CTCP, and splitting."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from protocol import validate_text
from server.hub import JSON_LINES, strip_format_marks
from server.irc.text import ACTION_MARK, NOTICE_MARK, from_irc, split_utf8, to_irc, visible


def test_formatting_reaches_irc_readers_and_not_native_ones() -> None:
    irc = "\x02bold\x02 \x0304,01red\x03 \x1ditalic\x1d \x1funder\x1f \x0freset"
    incoming = from_irc(irc)
    assert incoming is not None and not incoming.action
    stored = validate_text(incoming.text)  # what the chat keeps: the marks survive sanitising
    assert to_irc(stored).lines == [irc]
    assert strip_format_marks(stored) == "bold red italic under reset"
    hex_colour = from_irc("\x04ff8800,000000orange\x04 and \x0312,blue")
    assert hex_colour is not None and strip_format_marks(hex_colour.text) == "orange and ,blue"
    assert to_irc(hex_colour.text).lines == ["\x04FF8800,000000orange\x04 and \x0312,blue"]


def test_native_text_cannot_smuggle_ctcp_or_other_controls_to_irc() -> None:
    smuggled = "see \ufdd1DCC SEND x\ufdd1 \ufdeb[31m"  # CTCP's and ESC's places
    assert to_irc(smuggled).lines == ["see DCC SEND x [31m"]
    leading = to_irc("\ufdd1DCC SEND x\ufdd1")  # at the start it only ever makes a /me
    assert leading.lines == ["\x01ACTION DCC SEND x\x01"]


def test_me_both_ways() -> None:
    channel = from_irc("\x01ACTION waves\x01")
    assert channel is not None and (channel.text, channel.action) == ("waves", True)
    assert to_irc("waves", action=True).lines == ["\x01ACTION waves\x01"]
    private = from_irc("\x01ACTION waves\x01", private=True)
    assert private is not None and (private.text, private.action) == (ACTION_MARK + "waves", False)
    assert to_irc(private.text).lines == ["\x01ACTION waves\x01"]


def test_other_ctcp_is_not_carried() -> None:
    assert from_irc("\x01VERSION\x01") is None
    assert from_irc("\x01DCC SEND file 1 2 3\x01", private=True) is None


def test_a_notice_is_marked_and_comes_back_as_one() -> None:
    incoming = from_irc("build passed", notice=True)
    assert incoming is not None and incoming.text == NOTICE_MARK + "build passed"
    out = to_irc(incoming.text)
    assert out.notice and out.lines == ["build passed"]
    assert not to_irc("plain").notice


def test_several_lines_become_several_and_empty_ones_go() -> None:
    assert to_irc("one\ntwo\n\n  \nthree").lines == ["one", "two", "three"]
    assert to_irc("a\nb", action=True).lines == ["\x01ACTION a\x01", "\x01ACTION b\x01"]


def test_visible_means_something_to_see_without_marks() -> None:
    only_marks = from_irc("\x02\x02 ")
    assert only_marks is not None and not visible(only_marks.text)
    assert visible("x")


def test_splitting_keeps_words_and_wraps_actions() -> None:
    text = "lorem ipsum dolor sit amet " * 10
    pieces = split_utf8(text, 60)
    assert "".join(pieces) == text
    assert all(len(p.encode()) <= 60 for p in pieces)
    assert all(p.endswith(" ") for p in pieces[:-1])
    action = split_utf8("\x01ACTION " + "x" * 100 + "\x01", 50)
    assert all(p.startswith("\x01ACTION ") and p.endswith("\x01") for p in action)
    assert "".join(p[8:-1] for p in action) == "x" * 100


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1,
               max_size=600), st.integers(min_value=4, max_value=120))
def test_splitting_is_at_utf8_boundaries_and_loses_nothing(text: str, budget: int) -> None:
    pieces = split_utf8(text, budget)
    assert "".join(pieces) == text
    assert all(0 < len(p.encode("utf-8")) <= budget for p in pieces)


def test_json_lines_never_show_the_marks() -> None:
    from protocol import Message

    incoming = from_irc("\x02hi\x02", notice=True)
    assert incoming is not None
    message = Message(id=1, ts=1.0, sender="a", text=incoming.text, to="b")
    assert b'"text":"hi"' in JSON_LINES.encode(message)
