"""Who may run a channel, who is kept out of it, and what a ban holds. Pure.

Operators are accounts: the identified user who creates a channel, and whoever
an operator makes one. Server admins (``--admin NICK``, registered nicks) may
do what operators do in every channel, and ban or kill server-wide. A ban holds
the nick, and the account of the one banned (the one they are identified to,
or the nick's own if registered), and the address too when asked. Both hubs
decide with these functions.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Final

from protocol import BanUser, ByeReason, ProtocolError, channel_key
from server.errors import Banned, InviteOnly, not_admin, not_operator
from server.membership import Channel, Member
from server.rules import BY_ACCOUNT, BY_ADDRESS, BY_NICK, SERVER_SCOPE, Ban, find_ban

__all__ = [
    "ban_for", "banned", "banned_in", "check_admin", "check_operator", "is_admin", "join_refusal",
    "nick_refusal",
    "SERVER_BY", "kick_reason", "removal_reason",
]

SERVER_BY: Final = "server"
"""Who a moderation event is from when its author has gone in the meantime."""


def is_admin(member: Member, admins: Collection[str]) -> bool:
    return member.account is not None and member.account in admins


def check_operator(member: Member, channel: Channel, admins: Collection[str]) -> None:
    """Raise ``not_operator`` unless ``member`` runs ``channel`` (or is an admin)."""
    if not channel.is_operator(member) and not is_admin(member, admins):
        raise not_operator(channel.name)


def check_admin(member: Member, admins: Collection[str]) -> None:
    if not is_admin(member, admins):
        raise not_admin()


def kick_reason(by: str, reason: str | None) -> str:
    """What a kick says: the operator's reason, else who kicked."""
    return reason or f"kicked by {by}"


def removal_reason(bye: str, by: str, reason: str | None) -> str:
    """What a ban or kill says, to the members and to the one put out: who, and why."""
    done = "killed" if bye == ByeReason.KILLED else "banned"
    return f"{done} by {by}" + (f": {reason}" if reason else "")


def banned(ban: Ban, where: str, nick: bool = False) -> Banned:
    """The refusal a ban means, saying why and until when (``nick``: of a nick one wants)."""
    until = (f"until {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(ban.until))}"
             if ban.until is not None else "until an operator lifts it")
    reason = f": {ban.reason}" if ban.reason else ""
    if nick:
        return Banned(f"That nick is banned from {where} {until}{reason}; choose another.",
                      ban.reason, ban.until)
    return Banned(f"You are banned from {where} {until}{reason}.", ban.reason, ban.until)


def join_refusal(channel: Channel, member: Member, admins: Collection[str],
                 now: float) -> ProtocolError | None:
    """Return why ``member`` may not enter ``channel`` (a ban, invite-only), or None."""
    if is_admin(member, admins) or channel.is_operator(member):
        return None
    ban = find_ban(channel.bans, now, member.account, member.key, member.address)
    if ban is not None:
        return banned(ban, channel.name)
    if channel.invite_only and member.key not in channel.invited:
        return InviteOnly(f"{channel.name} is invite-only; ask one of its operators.")
    return None


def banned_in(member: Member, admins: Collection[str], now: float) -> list[tuple[Channel, Ban]]:
    """Return the channels of ``member`` where a ban holds it, with the ban.

    After an identify the member may be someone a channel banned (by account
    or nick); it is put out of those, as a member banned there is.
    """
    if is_admin(member, admins):
        return []
    found = []
    for channel in member.channels.values():
        ban = None if channel.is_operator(member) else find_ban(
            channel.bans, now, member.account, member.key, member.address)
        if ban is not None:
            found.append((channel, ban))
    return found


def nick_refusal(member: Member, key: str, server_bans: list[Ban], admins: Collection[str],
                 now: float) -> Banned | None:
    """Return why ``member`` may not rename to nick ``key``, or None.

    Not if the nick is banned server-wide, or in a channel the member is in
    (and does not run): as on IRC (ERR_BANONCHAN), a ban is not dodged by
    renaming into it.
    """
    ban = find_ban(server_bans, now, None, key, None)
    if ban is not None:
        return banned(ban, "this server", nick=True)
    if is_admin(member, admins):
        return None
    for channel in member.channels.values():
        ban = None if channel.is_operator(member) else find_ban(channel.bans, now, None, key,
                                                                 None)
        if ban is not None:
            return banned(ban, channel.name, nick=True)
    return None


def ban_for(request: BanUser, target_key: str, account: str | None, address: str | None,
            by: str, now: float) -> list[Ban]:
    """Return the bans a ban request makes: the nick's, the account's, the address's.

    ``account`` is the one an online target is identified to, else the nick's
    own if it is registered. Both are banned, so that neither giving the
    account up nor renaming away from the nick lifts the ban.
    """
    scope = SERVER_SCOPE if request.channel is None else channel_key(request.channel)
    until = now + request.minutes * 60 if request.minutes is not None else None
    reason = request.reason or ""
    bans = [Ban(scope, BY_NICK, target_key, until, reason, by, target_key)]
    if account is not None:
        bans.append(Ban(scope, BY_ACCOUNT, account, until, reason, by, target_key))
    if request.address and address is not None:
        bans.append(Ban(scope, BY_ADDRESS, address, until, reason, by, target_key))
    return bans
