"""Key decoding: bracketed paste and the binding table (tui_client.keys)."""

from __future__ import annotations

import types

from tui_client.keys import PASTE_END, PASTE_START, KeyDecoder, Paste, build_bindings


def feed_all(decoder: KeyDecoder, keys: str) -> list[object]:
    out: list[object] = []
    for key in keys:
        out += decoder.feed(key)
    return out


def test_plain_keys_pass_through() -> None:
    assert feed_all(KeyDecoder(), "hi ж") == ["h", "i", " ", "ж"]


def test_bracketed_paste_is_one_event() -> None:
    decoder = KeyDecoder()
    out = feed_all(decoder, f"x{PASTE_START}line 1\rline 2\r\nline 3{PASTE_END}y")
    assert out == ["x", Paste("line 1\nline 2\nline 3"), "y"]
    assert not decoder.in_paste


def test_key_codes_inside_paste_are_ignored() -> None:
    decoder = KeyDecoder()
    feed_all(decoder, PASTE_START + "a")
    assert decoder.feed(260) == []
    assert feed_all(decoder, PASTE_END) == [Paste("a")]


def test_other_escape_sequences_come_out_as_keys() -> None:
    decoder = KeyDecoder()
    assert feed_all(decoder, "\x1b[2") == []
    assert decoder.feed("x") == ["\x1b", "[", "2", "x"]
    assert feed_all(decoder, "\x1b") == []
    assert decoder.flush() == ["\x1b"]


def test_bindings_use_curses_codes() -> None:
    fake = types.SimpleNamespace(KEY_LEFT=260, KEY_PPAGE=339, KEY_F2=266)
    table = build_bindings(fake)
    assert table[260] == "left" and table[339] == "page_up" and table[266] == "toggle_roster"
    assert (
        table["\x15"] == "kill_line" and table["\x17"] == "kill_word" and table["\t"] == "complete"
    )
