"""Display width of text in a terminal, grapheme by grapheme.

Pure functions built on :mod:`unicodedata` only (no wcwidth at runtime).
A grapheme is a base character with everything that attaches to it: combining
marks, zero-width format characters, variation selectors, emoji modifiers,
ZWJ-joined emoji and regional-indicator pairs. Cutting, padding, wrapping and
cursor movement work on whole graphemes so none is ever split. Replacing
control characters before display is left to :func:`safe_text`.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Final

__all__ = [
    "REPLACEMENT",
    "char_width",
    "cut",
    "grapheme_width",
    "graphemes",
    "pad",
    "safe_text",
    "text_width",
]

REPLACEMENT: Final = "\ufffd"
_ZWJ: Final = "\u200d"
_VS16: Final = "\ufe0f"
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def safe_text(text: str, tab: str = "    ") -> str:
    """Return ``text`` with every control character replaced by U+FFFD.

    Newlines are kept (wrapping turns them into separate lines); tabs become
    spaces. Bidi overrides are replaced too, so a line cannot reorder others.
    """
    return _CONTROL.sub(REPLACEMENT, text.replace("\t", tab))


def _is_regional(ch: str) -> bool:
    return "\U0001f1e6" <= ch <= "\U0001f1ff"


def _is_extender(ch: str) -> bool:
    """Tell whether ``ch`` attaches to the grapheme before it."""
    code = ord(ch)
    if 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF:  # variation selectors
        return True
    if 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F:  # skin tones, tags
        return True
    if 0x1160 <= code <= 0x11FF:  # Hangul medial and final jamo
        return True
    return unicodedata.category(ch) in ("Mn", "Me", "Mc", "Cf")


@lru_cache(maxsize=4096)
def char_width(ch: str) -> int:
    """Return the cells one code point takes on its own (0, 1 or 2)."""
    code = ord(ch)
    if code < 0x20 or 0x7F <= code < 0xA0:
        return 0
    if 0x1160 <= code <= 0x11FF or code == 0x200B:
        return 0
    category = unicodedata.category(ch)
    if category in ("Mn", "Me", "Cf"):
        return 0
    if category == "Mc":
        return 0
    if _is_regional(ch) or unicodedata.east_asian_width(ch) in ("W", "F"):
        return 2
    return 1


def graphemes(text: str) -> list[str]:
    """Split ``text`` into graphemes (simplified extended grapheme clusters)."""
    out: list[str] = []
    for ch in text:
        if out and ch != "\n" and out[-1][0] != "\n":
            last = out[-1]
            if (
                _is_extender(ch)
                or last[-1] == _ZWJ
                or (_is_regional(ch) and len(last) == 1 and _is_regional(last))
            ):
                out[-1] = last + ch
                continue
        out.append(ch)
    return out


@lru_cache(maxsize=8192)
def grapheme_width(cluster: str) -> int:
    """Return the cells one grapheme takes: an emoji sequence counts once."""
    base = char_width(cluster[0])
    if len(cluster) == 1:
        return base
    if _VS16 in cluster or _is_regional(cluster[0]):
        return 2
    if _ZWJ in cluster or any(0x1F3FB <= ord(c) <= 0x1F3FF for c in cluster):
        return max(char_width(c) for c in cluster)
    spacing = sum(1 for c in cluster[1:] if unicodedata.category(c) == "Mc")
    return min(2, base + spacing) if base else base


def text_width(text: str) -> int:
    """Return the cells ``text`` takes on one line."""
    if text.isascii() and text.isprintable():
        return len(text)
    return sum(grapheme_width(g) for g in graphemes(text))


def cut(text: str, width: int) -> tuple[str, str]:
    """Split ``text`` into a head at most ``width`` cells wide and the rest."""
    if width <= 0:
        return "", text
    if text.isascii() and text.isprintable():
        return text[:width], text[width:]
    used = 0
    taken = 0
    for cluster in graphemes(text):
        w = grapheme_width(cluster)
        if used + w > width:
            break
        used += w
        taken += len(cluster)
    return text[:taken], text[taken:]


def pad(text: str, width: int) -> str:
    """Return ``text`` cut to ``width`` cells and padded with spaces to exactly that."""
    head, _rest = cut(text, width)
    return head + " " * (width - text_width(head))
