"""Protocol errors: one base class, one subclass per wire error code.

Every error carries the ``code`` sent in an ``error`` frame. Codes that only the
server can decide (``nick_taken``, ``rate_limited`` ...) are listed in
:class:`ErrorCode`; the server raises or sends them itself.
"""

from __future__ import annotations

from typing import ClassVar, Final

__all__ = [
    "BadFrame",
    "BadRequest",
    "ChannelInvalid",
    "ErrorCode",
    "FrameTooLarge",
    "NickInvalid",
    "ProtocolError",
    "TextTooLong",
    "UnknownType",
]


class ErrorCode:
    """Every error code that may appear in an ``error`` frame."""

    BAD_FRAME: Final = "bad_frame"
    FRAME_TOO_LARGE: Final = "frame_too_large"
    UNKNOWN_TYPE: Final = "unknown_type"
    BAD_REQUEST: Final = "bad_request"
    NOT_WELCOMED: Final = "not_welcomed"
    NICK_INVALID: Final = "nick_invalid"
    NICK_TAKEN: Final = "nick_taken"
    CHANNEL_INVALID: Final = "channel_invalid"
    NOT_IN_CHANNEL: Final = "not_in_channel"
    TOO_MANY_CHANNELS: Final = "too_many_channels"
    NICK_REGISTERED: Final = "nick_registered"
    NOT_REGISTERED: Final = "not_registered"
    NOT_OPERATOR: Final = "not_operator"
    BANNED: Final = "banned"
    INVITE_ONLY: Final = "invite_only"
    NO_SUCH_USER: Final = "no_such_user"
    TEXT_TOO_LONG: Final = "text_too_long"
    RATE_LIMITED: Final = "rate_limited"
    AUTH_FAILED: Final = "auth_failed"
    SERVER_FULL: Final = "server_full"
    SERVER_ERROR: Final = "server_error"


class ProtocolError(Exception):
    """A frame that cannot be accepted; ``code`` is its wire error code."""

    code: ClassVar[str] = ErrorCode.BAD_REQUEST

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadFrame(ProtocolError):
    """The line is not UTF-8 JSON holding an object with a string ``type``."""

    code = ErrorCode.BAD_FRAME


class FrameTooLarge(ProtocolError):
    """The line is longer than the frame limit; it was skipped unread."""

    code = ErrorCode.FRAME_TOO_LARGE


class UnknownType(ProtocolError):
    """The frame's ``type`` is not one this side understands."""

    code = ErrorCode.UNKNOWN_TYPE


class BadRequest(ProtocolError):
    """A field is missing, of the wrong type, or out of range."""

    code = ErrorCode.BAD_REQUEST


class NickInvalid(ProtocolError):
    """A nick breaks the nick rules."""

    code = ErrorCode.NICK_INVALID


class ChannelInvalid(ProtocolError):
    """A channel name breaks the channel name rules."""

    code = ErrorCode.CHANNEL_INVALID


class TextTooLong(ProtocolError):
    """A message text is longer than the text limit."""

    code = ErrorCode.TEXT_TOO_LONG
