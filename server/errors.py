"""Errors only the server can decide, each carrying its wire error code."""

from __future__ import annotations

from protocol import ErrorCode, ProtocolError

__all__ = [
    "AuthFailed", "NickTaken", "NoSuchUser", "NotInChannel", "NotWelcomed", "RateLimited",
    "ServerError", "ServerFull", "TooManyChannels", "nick_taken", "no_such_user",
    "not_in_channel", "not_welcomed", "shutting_down", "store_failed", "store_unavailable",
    "too_many_channels",
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


# The sentences users see, one place for every hub.


def nick_taken() -> NickTaken:
    return NickTaken("Nick already taken; choose another with /nick NAME.")


def not_welcomed() -> NotWelcomed:
    return NotWelcomed("Say hello first: send a hello frame with your nick.")


def not_in_channel(name: str) -> NotInChannel:
    return NotInChannel(f"You are not in {name}; join it first with /join.")


def no_such_user(nick: str) -> NoSuchUser:
    return NoSuchUser(f"Nobody called {nick} is online; /who lists who is.")


def too_many_channels(limit: int) -> TooManyChannels:
    return TooManyChannels(
        f"You may be in at most {limit} channels; leave one with /part first."
    )


def shutting_down() -> ServerError:
    return ServerError("The server is shutting down; try again later.")


def store_failed() -> ServerError:
    return ServerError("The chat store failed; try again later.")


def store_unavailable() -> ServerError:
    return ServerError("The chat store is unavailable, retrying; try again in a moment.")
