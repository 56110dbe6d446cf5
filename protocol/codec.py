"""JSON Lines framing: bytes in, wire objects out; frames in, bytes out.

:class:`FrameDecoder` is incremental and never holds more than one frame's worth
of bytes: a line over the limit is reported once and skipped up to its newline
without being buffered. Not thread-safe; each connection owns its decoder.
"""

from __future__ import annotations

import json
from typing import Any, Final

from protocol.errors import BadFrame, FrameTooLarge, ProtocolError
from protocol.frames import Frame

__all__ = [
    "MAX_CLIENT_FRAME_BYTES",
    "MAX_SERVER_FRAME_BYTES",
    "DecodeResult",
    "FrameDecoder",
    "encode_frame",
    "encode_wire",
]

MAX_CLIENT_FRAME_BYTES: Final = 16 * 1024
"""Longest frame a client may send, its newline included."""

MAX_SERVER_FRAME_BYTES: Final = 32 * 1024 * 1024
"""Longest frame a server may send (a welcome carries history and the roster)."""

DecodeResult = dict[str, Any] | ProtocolError


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER: Final = json.JSONDecoder(parse_constant=_refuse_constant)
"""Made once: ``json.loads`` with arguments makes a new decoder every call."""


class FrameDecoder:
    """Split a byte stream into JSON objects, one per line."""

    def __init__(self, max_frame_bytes: int = MAX_CLIENT_FRAME_BYTES) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._partial = bytearray()
        self._skipping = False

    @property
    def buffered_bytes(self) -> int:
        """How many bytes of an unfinished line are held."""
        return len(self._partial)

    def receive_data(self, data: bytes) -> list[DecodeResult]:
        """Feed bytes; return the objects (or per-frame errors) completed by them."""
        *lines, rest = data.split(b"\n")
        results: list[DecodeResult] = []
        for line in lines:
            if self._skipping:
                self._skipping = False
                continue
            if self._partial:
                self._partial += line
                line = bytes(self._partial)
                self._partial.clear()
            if len(line) + 1 > self.max_frame_bytes:
                results.append(self._too_large())
                continue
            result = _decode_line(line)
            if result is not None:
                results.append(result)
        if rest and not self._skipping:
            if len(self._partial) + len(rest) + 1 > self.max_frame_bytes:
                self._partial.clear()
                self._skipping = True
                results.append(self._too_large())
            else:
                self._partial += rest
        return results

    def _too_large(self) -> FrameTooLarge:
        return FrameTooLarge(
            f"A frame may be at most {self.max_frame_bytes} bytes long; it was skipped."
        )


def _decode_line(line: bytes) -> DecodeResult | None:
    """Decode one line; None for an empty line (allowed as a keep-alive)."""
    line = line.rstrip(b"\r")
    if not line.strip():
        return None
    try:
        obj = _DECODER.decode(line.decode("utf-8"))
    except UnicodeDecodeError:
        return BadFrame("A frame must be valid UTF-8.")
    except (ValueError, RecursionError):
        return BadFrame("A frame must be one valid JSON object.")
    if not isinstance(obj, dict):
        return BadFrame("A frame must be a JSON object.")
    if not isinstance(obj.get("type"), str):
        return BadFrame("A frame needs a string field 'type'.")
    return obj


_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
"""Made once: ``json.dumps`` with arguments makes a new encoder every call."""


def encode_wire(obj: dict[str, Any]) -> bytes:
    """Return a wire object as one JSON line."""
    return _ENCODER.encode(obj).encode("utf-8") + b"\n"


def encode_frame(frame: Frame) -> bytes:
    """Return a frame as one JSON line."""
    return encode_wire(frame.to_wire())
