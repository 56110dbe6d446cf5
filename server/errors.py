"""Errors only the server can decide, each carrying its wire error code."""

from __future__ import annotations

from protocol import Error, ErrorCode, ProtocolError

__all__ = [
    "Banned", "InviteOnly", "NickRegistered", "NotOperator", "NotRegistered", "error_frame",
    "nick_registered", "not_admin", "not_identified", "not_operator", "wrong_nick_password",
    "AuthFailed", "NickTaken", "NoSuchUser", "NotInChannel", "NotWelcomed", "RateLimited",
    "ServerError", "ServerFull", "TooManyChannels", "nick_taken", "no_such_user",
    "not_in_channel", "not_welcomed", "shutting_down", "store_failed", "store_unavailable",
    "history_unavailable",
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


def history_unavailable() -> ServerError:
    return ServerError("The chat store is unavailable, so older messages are missing here; "
                       "fetch them later with /history.")


class NickRegistered(ProtocolError):
    """The nick belongs to an account, and no proof of owning it came."""

    code = ErrorCode.NICK_REGISTERED


class NotRegistered(ProtocolError):
    """The account asked about does not exist (or one is not identified to any)."""

    code = ErrorCode.NOT_REGISTERED


class NotOperator(ProtocolError):
    """Only the channel's operators (or a server admin) may do that."""

    code = ErrorCode.NOT_OPERATOR


class InviteOnly(ProtocolError):
    """The channel lets in only those invited."""

    code = ErrorCode.INVITE_ONLY


class Banned(ProtocolError):
    """The user is banned here; ``reason`` and ``until`` (None: until lifted) say more."""

    code = ErrorCode.BANNED

    def __init__(self, message: str, reason: str, until: float | None) -> None:
        super().__init__(message)
        self.reason = reason
        self.until = until


def error_frame(exc: ProtocolError) -> Error:
    """The ``error`` frame for a refusal (with the reason and end of a ban)."""
    if isinstance(exc, Banned):
        return Error(code=exc.code, message=exc.message, reason=exc.reason or None,
                     until=exc.until)
    return Error(code=exc.code, message=exc.message)


def nick_registered() -> NickRegistered:
    return NickRegistered(
        "This nick is registered; give its password with --nick-password-file or pick "
        "another nick."
    )


def wrong_nick_password() -> AuthFailed:
    return AuthFailed("Wrong password for this nick; check it and try again.")


def not_identified() -> NotRegistered:
    return NotRegistered("You are not identified to an account; use /identify NICK first.")


def not_operator(channel: str) -> NotOperator:
    return NotOperator(f"Only the operators of {channel} may do that.")


def not_admin() -> NotOperator:
    return NotOperator("Only a server admin may do that.")
