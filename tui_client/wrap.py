"""Word wrapping by display width, with a hanging indent.

Pure functions. Each ``"\\n"`` starts a new line; words longer than a line are
broken between graphemes; the spaces at a break are dropped. Colouring the
lines is left to :mod:`tui_client.render`.
"""

from __future__ import annotations

import re

from tui_client.width import grapheme_width, graphemes, text_width

__all__ = ["wrap", "wrap_hanging"]

_TOKENS = re.compile(r"( +)")


def _wrap_paragraph(text: str, first_width: int, width: int) -> list[str]:
    lines: list[str] = []
    line = ""
    used = 0
    limit = first_width

    def flush() -> None:
        nonlocal line, used, limit
        lines.append(line.rstrip(" ") or line)
        line, used, limit = "", 0, width

    for token in _TOKENS.split(text):
        if not token:
            continue
        w = text_width(token)
        if used + w <= limit:
            line += token
            used += w
        elif token.startswith(" "):  # a break falls here: drop the spaces
            flush()
        else:
            if line:
                flush()
            if w <= limit:
                line, used = token, w
                continue
            for cluster in graphemes(token):  # an overlong word: break between graphemes
                gw = grapheme_width(cluster)
                if used + gw > limit and line:
                    flush()
                if gw > limit:  # wider than a whole line: show a placeholder
                    cluster, gw = "?" * limit, limit
                line += cluster
                used += gw
    lines.append(line)
    return lines


def wrap(text: str, width: int, first_width: int | None = None) -> list[str]:
    """Wrap ``text`` into lines at most ``width`` cells wide.

    ``first_width`` (default ``width``) limits the first line only, for a
    prefix such as ``[12:00] alice: `` drawn before it. Always returns at
    least one line. Widths below 1 are treated as 1.
    """
    width = max(1, width)
    first = max(1, width if first_width is None else first_width)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines.extend(_wrap_paragraph(paragraph, first if not lines else width, width))
    return lines


def wrap_hanging(text: str, width: int, indent: int) -> list[str]:
    """Wrap ``text`` to ``width``, indenting every line but the first by ``indent`` spaces."""
    indent = max(0, min(indent, width - 1))
    lines = wrap(text, width - indent, first_width=width)
    return lines[:1] + [" " * indent + line for line in lines[1:]]
