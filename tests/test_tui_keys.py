"""Key decoding: bracketed paste, Alt chords and the binding table (tui_client.keys)."""

from __future__ import annotations

import types

from tui_client.keys import (
    BINDINGS,
    PASTE_END,
    PASTE_START,
    Alt,
    KeyDecoder,
    Paste,
    build_bindings,
    key_help,
    keyname_action,
)

FAKE_CURSES = types.SimpleNamespace(
    KEY_LEFT=260, KEY_RIGHT=261, KEY_PPAGE=339, KEY_NPAGE=338, KEY_F2=266, KEY_UP=259,
    KEY_DOWN=258, KEY_F11=275, KEY_F12=276,
)


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


def test_esc_then_a_key_is_an_alt_chord() -> None:
    decoder = KeyDecoder()
    assert feed_all(decoder, "\x1b3") == [Alt("3")]
    assert feed_all(decoder, "\x1b") == [] and decoder.feed(260) == [Alt(260)]
    assert feed_all(decoder, "\x1b[") == [] and decoder.flush() == [Alt("[")]


def test_bindings_use_curses_codes() -> None:
    table = build_bindings(FAKE_CURSES)
    assert table[260] == "left" and table[339] == "page_up" and table[266] == "toggle_roster"
    assert (
        table["\x15"] == "kill_line" and table["\x17"] == "kill_word" and table["\t"] == "complete"
    )


def test_buffer_switching_keys() -> None:
    table = build_bindings(FAKE_CURSES)
    assert [table[Alt(str(d))] for d in (1, 9)] == ["goto:1", "goto:9"]
    assert table[Alt(260)] == "buffer_prev" and table[Alt(261)] == "buffer_next"
    assert table["\x0e"] == "buffer_next" and table["\x10"] == "buffer_prev"
    assert table[259] == "history_prev" and table[258] == "history_next"  # Up/Down still recall
    assert keyname_action("kLFT3") == "buffer_prev" and keyname_action("kRIT3") == "buffer_next"
    assert keyname_action("kEND5") == "end" and keyname_action("kxOUT") is None


def test_roster_scrolling_keys() -> None:
    table = build_bindings(FAKE_CURSES)
    assert table[275] == table[Alt(339)] == "roster_up" and table[339] == "page_up"
    assert table[276] == table[Alt(338)] == "roster_down" and table[338] == "page_down"
    assert keyname_action("kPRV3") == "roster_up" and keyname_action("kNXT3") == "roster_down"


def test_each_key_has_one_action_and_help_comes_from_the_table() -> None:
    chars = [c for b in BINDINGS for c in b.chars]
    assert len(chars) == len(set(chars))
    labels = [label for label, _ in key_help()]
    assert "Alt+1..9" in labels and "Tab" in labels and "" not in labels
