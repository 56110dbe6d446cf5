"""Errors only the server can decide, each carrying its wire error code."""

from __future__ import annotations

from protocol import ErrorCode, ProtocolError

__all__ = [
    "AuthFailed", "NickTaken", "NoSuchUser", "NotInChannel", "NotWelcomed", "RateLimited",
    "ServerError", "ServerFull", "TooManyChannels",
]


class AuthFailed(ProtocolError):
    """The hello carried no password, or the wrong one."""

    code = ErrorCode.AUTH_FAILED


class RateLimited(ProtocolError):
    """The client sends faster than its rate limit; the frame was refused."""

    code = ErrorCode.RATE_LIMITED


class ServerFull(ProtocolError):
    """No room for another connection (in all, or from this address)."""

    code = ErrorCode.SERVER_FULL


class NickTaken(ProtocolError):
    """Someone online already uses this nick (compared case-insensitively)."""

    code = ErrorCode.NICK_TAKEN


class NoSuchUser(ProtocolError):
    """Nobody online uses the nick a private message was sent to."""

    code = ErrorCode.NO_SUCH_USER


class NotWelcomed(ProtocolError):
    """A frame other than ``hello`` came before the ``welcome``."""

    code = ErrorCode.NOT_WELCOMED


class ServerError(ProtocolError):
    """The server failed to do what was asked (the database could not be written)."""

    code = ErrorCode.SERVER_ERROR


class NotInChannel(ProtocolError):
    """The request names a channel the user is not in."""

    code = ErrorCode.NOT_IN_CHANNEL


class TooManyChannels(ProtocolError):
    """Joining would put the user in more channels than the server allows."""

    code = ErrorCode.TOO_MANY_CHANNELS
