"""Display width, graphemes, cut and pad (tui_client.width), with wcwidth as oracle."""

from __future__ import annotations

import wcwidth
from hypothesis import given
from hypothesis import strategies as st

from tui_client.width import cut, grapheme_width, graphemes, pad, safe_text, text_width

SAMPLES = [
    "hello",
    "привет",
    "中文字",
    "e\u0301",
    "👍",
    "👍🏽",
    "❤\ufe0f",
    "👨\u200d👩\u200d👧",
    "🇩🇪",
    "ｱｲｳ",
    "한국어",
    "a\u200bb",
]

# Text made of graphemes whose width every terminal agrees on.
_ALPHABET = st.sampled_from(
    [
        "a",
        "Z",
        " ",
        "-",
        "ж",
        "Я",
        "中",
        "字",
        "é",
        "e\u0301",
        "👍",
        "👍🏽",
        "❤\ufe0f",
        "👨\u200d👩\u200d👧",
        "ｱ",
        "ü",
        "\u0301",
    ]
)
texts = st.lists(_ALPHABET, max_size=40).map("".join)


def test_widths_match_wcwidth_on_samples() -> None:
    for sample in SAMPLES:
        assert text_width(sample) == wcwidth.wcswidth(sample), sample


def test_zero_width_and_wide() -> None:
    assert text_width("\u200d") == 0
    assert text_width("\ufe0f") == 0
    assert text_width("e\u0301") == 1
    assert text_width("中") == 2
    assert grapheme_width("👨\u200d👩\u200d👧") == 2
    assert grapheme_width("❤\ufe0f") == 2
    assert text_width("❤") == 1


def test_graphemes_keep_sequences_whole() -> None:
    assert graphemes("e\u0301x") == ["e\u0301", "x"]
    assert graphemes("a👨\u200d👩\u200d👧b") == ["a", "👨\u200d👩\u200d👧", "b"]
    assert graphemes("👍🏽!") == ["👍🏽", "!"]
    assert graphemes("🇩🇪🇫🇷") == ["🇩🇪", "🇫🇷"]
    assert graphemes("a\nb") == ["a", "\n", "b"]


def test_cut_never_splits_a_grapheme() -> None:
    assert cut("中文", 3) == ("中", "文")
    assert cut("ae\u0301b", 2) == ("ae\u0301", "b")
    assert cut("👨\u200d👩\u200d👧x", 1) == ("", "👨\u200d👩\u200d👧x")
    assert cut("abc", 0) == ("", "abc")


def test_pad_fills_exactly() -> None:
    assert pad("中文", 5) == "中文 "
    assert pad("中文", 3) == "中 "
    assert text_width(pad("привет мир", 4)) == 4


def test_safe_text_replaces_controls() -> None:
    assert safe_text("a\x1b[2Jb") == "a\ufffd[2Jb"
    assert safe_text("\u009b31m") == "\ufffd31m"
    assert safe_text("x\x07y\x7fz") == "x\ufffdy\ufffdz"
    assert safe_text("a\tb") == "a    b"
    assert safe_text("line\nnext") == "line\nnext"
    assert safe_text("\u202eevil") == "\ufffdevil"


@given(texts)
def test_width_matches_wcwidth(text: str) -> None:
    assert text_width(text) == max(0, wcwidth.wcswidth(text))


@given(texts, st.integers(min_value=0, max_value=30))
def test_cut_fits_and_loses_nothing(text: str, width: int) -> None:
    head, rest = cut(text, width)
    assert head + rest == text
    assert text_width(head) <= width
    assert graphemes(head) + graphemes(rest) == graphemes(text)


@given(texts, st.integers(min_value=0, max_value=30))
def test_pad_is_exact(text: str, width: int) -> None:
    assert text_width(pad(text, width)) == width
