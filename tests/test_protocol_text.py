"""Nick and text rules, and the sanitiser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol import (
    MAX_TEXT_CHARS,
    BadRequest,
    ChannelInvalid,
    NickInvalid,
    TextTooLong,
    channel_key,
    nick_key,
    sanitize_text,
    validate_channel,
    validate_nick,
    validate_text,
)


@pytest.mark.parametrize("nick", ["alice", "Вася", "李雷", "x", "a_b-c.d", "user42", "A" * 32])
def test_valid_nicks(nick: str) -> None:
    assert validate_nick(nick) == nick


@pytest.mark.parametrize("nick", ["", "A" * 33, "with space", "semi;colon", "tab\t", "😀",
                                  "esc\x1b", "new\nline", "at@host"])
def test_invalid_nicks(nick: str) -> None:
    with pytest.raises(NickInvalid) as info:
        validate_nick(nick)
    assert info.value.code == "nick_invalid"


def test_nick_is_normalised_to_nfc() -> None:
    assert validate_nick("Jose\u0301") == "Jos\u00e9"


def test_nick_key_is_case_insensitive() -> None:
    assert nick_key("Alice") == nick_key("ALICE") == nick_key("alice")
    assert nick_key("Вася") == nick_key("ВАСЯ")
    assert nick_key("Straße") == nick_key("STRASSE")
    assert nick_key("bob") != nick_key("alice")


def test_sanitiser_strips_terminal_controls() -> None:
    text = "a\x1b[2Jb\x07c\x9b31md\x7fe\x00f\ud800g"
    assert sanitize_text(text) == "a[2Jbc31mdefg"


def test_sanitiser_keeps_newline_tab_and_unicode() -> None:
    text = "line 1\n\tline 2 — привет 世界 👩‍👩‍👧"
    assert sanitize_text(text) == text


def test_text_limits() -> None:
    assert validate_text("x" * MAX_TEXT_CHARS) == "x" * MAX_TEXT_CHARS
    with pytest.raises(TextTooLong):
        validate_text("x" * (MAX_TEXT_CHARS + 1))
    for empty in ["", "   ", "\x1b\x1b", "\n\t"]:
        with pytest.raises(BadRequest):
            validate_text(empty)


@given(st.text())
def test_sanitised_text_has_no_controls_and_encodes(text: str) -> None:
    clean = sanitize_text(text)
    assert all(ch in "\n\t" or (ord(ch) >= 0x20 and not 0x7F <= ord(ch) <= 0x9F) for ch in clean)
    clean.encode("utf-8")
    assert sanitize_text(clean) == clean


@pytest.mark.parametrize(
    "name", ["#lobby", "#Разработка", "#李雷", "#a", "#a_b-c.d", "#" + "x" * 32]
)
def test_valid_channel_names(name: str) -> None:
    assert validate_channel(name) == name


@pytest.mark.parametrize("name", ["lobby", "#", "##x", "#" + "x" * 33, "#with space", "#😀",
                                  "#esc\x1b", "#a,b", "", "&local"])
def test_invalid_channel_names(name: str) -> None:
    with pytest.raises(ChannelInvalid) as info:
        validate_channel(name)
    assert info.value.code == "channel_invalid"


def test_channel_names_compare_like_nicks() -> None:
    assert channel_key("#Dev") == channel_key("#dev") == channel_key("#ＤＥＶ")
    assert validate_channel("#e\u0301") == "#\u00e9"  # NFC


@given(st.text(max_size=40))
def test_channel_validation_never_raises_anything_else(name: str) -> None:
    try:
        assert validate_channel(name).startswith("#")
    except ChannelInvalid:
        pass
