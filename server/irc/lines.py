"""IRC lines: bytes in, parsed lines out; lines in, bytes out.

Pure code, no sockets: :class:`LineDecoder` splits a byte stream into
:class:`Line` values (or a :class:`LineError` per bad line) and never holds more
than one line's worth of bytes; :meth:`Line.to_bytes` spells a line back, with
its IRCv3 tags. The limits are those of modern IRC: 512 bytes for the line
after its tags (CR LF included) and 4096 for the tags of a client's line, the
leading ``@`` and the space after them included. Not thread-safe; each
connection owns its decoder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "MAX_LINE_BYTES", "MAX_TAG_BYTES", "BadEncoding", "InputTooLong", "Line", "LineDecoder",
    "LineError", "escape_tag_value", "parse_line", "unescape_tag_value",
]

MAX_LINE_BYTES: Final = 512
"""Longest line after its tags, CR LF included."""
MAX_TAG_BYTES: Final = 4096
"""Longest tag section of a client's line, its ``@`` and the space after it included."""
_MAX_BUFFERED: Final = MAX_LINE_BYTES + MAX_TAG_BYTES

_ESCAPES: Final = {";": "\\:", " ": "\\s", "\\": "\\\\", "\r": "\\r", "\n": "\\n"}
_UNESCAPES: Final = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}
_UNSAFE: Final = str.maketrans({"\r": " ", "\n": " ", "\0": " "})


class LineError(Exception):
    """A line that cannot be accepted; ``command`` is its command if it could be read.

    ``tags`` are the line's tags when they could be read (its label, for the answer).
    """

    def __init__(self, message: str, command: str = "*",
                 tags: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.command = command
        self.tags: Mapping[str, str] = tags or {}


class InputTooLong(LineError):
    """The line (or its tags) is over the limit; it was skipped (417 ERR_INPUTTOOLONG)."""


class BadEncoding(LineError):
    """The line is not UTF-8 (FAIL ... INVALID_UTF8: the server is UTF8ONLY)."""


@dataclass(frozen=True, slots=True)
class Line:
    """One IRC message: ``@tags :source COMMAND params...``.

    ``trailing`` spells the last parameter with its colon even when it needs
    none (free text such as a message or a numeric's sentence).
    """

    command: str
    params: tuple[str, ...] = ()
    source: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    trailing: bool = False

    def to_bytes(self) -> bytes:
        """Return the line as sent, CR LF included; CR, LF and NUL become spaces."""
        parts: list[str] = []
        if self.tags:
            parts.append("@" + ";".join(
                key if value == "" else f"{key}={escape_tag_value(value)}"
                for key, value in self.tags.items()))
        if self.source:
            parts.append(":" + self.source)
        parts.append(self.command)
        params = [p.translate(_UNSAFE) for p in self.params]
        if params:
            *middle, last = params
            parts.extend(p.replace(" ", "") or "*" for p in middle)
            if self.trailing or not last or " " in last or last.startswith(":"):
                last = ":" + last
            parts.append(last)
        return " ".join(parts).encode("utf-8", "replace") + b"\r\n"

    def with_tags(self, tags: Mapping[str, str]) -> Line:
        """Return the line with ``tags`` added to (and overriding) its own."""
        return Line(self.command, self.params, self.source, {**self.tags, **tags},
                    self.trailing)


def escape_tag_value(value: str) -> str:
    return "".join(_ESCAPES.get(ch, ch) for ch in value)


def unescape_tag_value(raw: str) -> str:
    """Undo tag escaping; an unknown escape stands for its character, a lone ``\\`` for nothing."""
    out: list[str] = []
    chars = iter(raw)
    for ch in chars:
        if ch != "\\":
            out.append(ch)
            continue
        nxt = next(chars, "")
        out.append(_UNESCAPES.get(nxt, nxt))
    return "".join(out)


def parse_line(raw: bytes) -> Line | None:
    """Parse one line (without its line end); None for an empty line.

    Raises :class:`InputTooLong` or :class:`BadEncoding`.
    """
    raw = raw.replace(b"\0", b"")
    tags: dict[str, str] = {}
    if raw.startswith(b"@"):
        end = raw.find(b" ")
        if end < 0:
            end = len(raw)
        if end + 1 > MAX_TAG_BYTES:
            raise InputTooLong("The tags of the line are too long.")
        tags = _parse_tags(_decode(raw[1:end], raw[end:]))
        raw = raw[end:].lstrip(b" ")
    if len(raw) + 2 > MAX_LINE_BYTES:
        raise InputTooLong("The line is too long.", _command_of(raw), tags)
    try:
        text = _decode(raw, raw)
    except BadEncoding as exc:
        raise BadEncoding(exc.message, exc.command, tags) from None
    source = None
    if text.startswith(":"):
        source, _, text = text[1:].partition(" ")
    text = text.lstrip(" ")
    if not text:
        return None
    head, colon, trailing = text.partition(" :")
    words = [word for word in head.split(" ") if word]
    if not words:
        return None
    params = words[1:]
    if colon:
        params.append(trailing)
    return Line(words[0].upper(), tuple(params), source, tags)


def _parse_tags(text: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in text.split(";"):
        if item:
            key, _, value = item.partition("=")
            tags[key] = unescape_tag_value(value)
    return tags


def _decode(raw: bytes, whole: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadEncoding("The line is not valid UTF-8.", _command_of(whole)) from None


def _command_of(raw: bytes) -> str:
    """The command of a line that cannot be parsed, for the error about it."""
    words = raw.decode("utf-8", "replace").split()
    if words and words[0].startswith("@"):
        words = words[1:]
    if words and words[0].startswith(":"):
        words = words[1:]
    return words[0].upper()[:32] if words else "*"


class LineDecoder:
    """Split a byte stream into lines ended by LF (a CR before it is dropped)."""

    def __init__(self) -> None:
        self._partial = bytearray()
        self._skipping = False

    def receive_data(self, data: bytes) -> list[Line | LineError]:
        """Feed bytes; return the lines (or per-line errors) they complete."""
        *lines, rest = data.split(b"\n")
        results: list[Line | LineError] = []
        for raw in lines:
            if self._skipping:
                self._skipping = False
                continue
            if self._partial:
                self._partial += raw
                raw = bytes(self._partial)
                self._partial.clear()
            try:
                line = parse_line(raw.rstrip(b"\r"))
            except LineError as exc:
                results.append(exc)
                continue
            if line is not None:
                results.append(line)
        if rest and not self._skipping:
            if len(self._partial) + len(rest) > _MAX_BUFFERED:
                self._partial.clear()
                self._skipping = True
                results.append(InputTooLong("The line is too long."))
            else:
                self._partial += rest
        return results
