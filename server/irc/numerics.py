"""Every numeric reply the IRC door sends, in one table: its code and its fixed sentence.

A numeric is sent as ``:server CODE <client> params... :sentence``; the
sentence is the one below unless the reply carries its own (a topic, an away
message). Names follow modern.ircdocs.horse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from server.irc.lines import Line

__all__ = ["NUMERICS", "Numeric", "numeric"]


@dataclass(frozen=True, slots=True)
class Numeric:
    """One numeric reply: its three-digit code and the sentence it usually ends with."""

    code: str
    text: str = ""


NUMERICS: Final[dict[str, Numeric]] = {
    # Registration
    "RPL_WELCOME": Numeric("001"),
    "RPL_YOURHOST": Numeric("002"),
    "RPL_CREATED": Numeric("003"),
    "RPL_MYINFO": Numeric("004"),
    "RPL_ISUPPORT": Numeric("005", "are supported by this server"),
    # LUSERS
    "RPL_LUSERCLIENT": Numeric("251"),
    "RPL_LUSERCHANNELS": Numeric("254", "channels formed"),
    "RPL_LUSERME": Numeric("255"),
    "RPL_LOCALUSERS": Numeric("265"),
    "RPL_GLOBALUSERS": Numeric("266"),
    # MOTD
    "RPL_MOTDSTART": Numeric("375"),
    "RPL_MOTD": Numeric("372"),
    "RPL_ENDOFMOTD": Numeric("376", "End of /MOTD command."),
    "ERR_NOMOTD": Numeric("422", "MOTD File is missing"),
    # Users
    "RPL_UMODEIS": Numeric("221"),
    "RPL_AWAY": Numeric("301"),
    "RPL_USERHOST": Numeric("302"),
    "RPL_ISON": Numeric("303"),
    "RPL_UNAWAY": Numeric("305", "You are no longer marked as being away"),
    "RPL_NOWAWAY": Numeric("306", "You have been marked as being away"),
    "RPL_WHOISUSER": Numeric("311"),
    "RPL_WHOISSERVER": Numeric("312"),
    "RPL_ENDOFWHO": Numeric("315", "End of WHO list"),
    "RPL_WHOISIDLE": Numeric("317", "seconds idle, signon time"),
    "RPL_ENDOFWHOIS": Numeric("318", "End of /WHOIS list"),
    "RPL_WHOISCHANNELS": Numeric("319"),
    "RPL_WHOREPLY": Numeric("352"),
    "RPL_WHOSPCRPL": Numeric("354"),
    "RPL_ENDOFWHOWAS": Numeric("369", "End of WHOWAS"),
    # Channels
    "RPL_LISTSTART": Numeric("321", "Users  Name"),
    "RPL_LIST": Numeric("322"),
    "RPL_LISTEND": Numeric("323", "End of /LIST"),
    "RPL_CHANNELMODEIS": Numeric("324"),
    "RPL_CREATIONTIME": Numeric("329"),
    "RPL_NOTOPIC": Numeric("331", "No topic is set"),
    "RPL_TOPIC": Numeric("332"),
    "RPL_TOPICWHOTIME": Numeric("333"),
    "RPL_NAMREPLY": Numeric("353"),
    "RPL_ENDOFNAMES": Numeric("366", "End of /NAMES list"),
    "RPL_ENDOFBANLIST": Numeric("368", "End of channel ban list"),
    "RPL_ENDOFEXCEPTLIST": Numeric("349", "End of channel exception list"),
    "RPL_ENDOFINVITELIST": Numeric("347", "End of channel invite list"),
    "RPL_VERSION": Numeric("351"),
    "RPL_WHOISACCOUNT": Numeric("330", "is logged in as"),
    "RPL_INVITING": Numeric("341"),
    "RPL_BANLIST": Numeric("367"),
    # SASL
    "RPL_LOGGEDIN": Numeric("900"),
    "RPL_LOGGEDOUT": Numeric("901", "You are now logged out"),
    "RPL_SASLSUCCESS": Numeric("903", "SASL authentication successful"),
    "ERR_SASLFAIL": Numeric("904", "SASL authentication failed"),
    "ERR_SASLTOOLONG": Numeric("905", "SASL message too long"),
    "ERR_SASLABORTED": Numeric("906", "SASL authentication aborted"),
    "ERR_SASLALREADY": Numeric("907", "You have already authenticated using SASL"),
    "RPL_SASLMECHS": Numeric("908", "are available SASL mechanisms"),
    # Errors
    "ERR_UNKNOWNERROR": Numeric("400"),
    "ERR_NOSUCHNICK": Numeric("401", "No such nick/channel"),
    "ERR_NOSUCHCHANNEL": Numeric("403", "No such channel"),
    "ERR_CANNOTSENDTOCHAN": Numeric("404", "Cannot send to channel"),
    "ERR_TOOMANYCHANNELS": Numeric("405", "You have joined too many channels"),
    "ERR_WASNOSUCHNICK": Numeric("406", "There was no such nickname"),
    "ERR_TOOMANYTARGETS": Numeric("407", "Too many recipients"),
    "ERR_NORECIPIENT": Numeric("411", "No recipient given"),
    "ERR_NOTEXTTOSEND": Numeric("412", "No text to send"),
    "ERR_INPUTTOOLONG": Numeric("417", "Input line was too long"),
    "ERR_INVALIDCAPCMD": Numeric("410", "Invalid CAP command"),
    "ERR_UNKNOWNCOMMAND": Numeric("421", "Unknown command"),
    "ERR_NONICKNAMEGIVEN": Numeric("431", "No nickname given"),
    "ERR_ERRONEUSNICKNAME": Numeric("432", "Erroneous nickname"),
    "ERR_NICKNAMEINUSE": Numeric("433", "Nickname is already in use"),
    "ERR_NOTONCHANNEL": Numeric("442", "You're not on that channel"),
    "ERR_NOTREGISTERED": Numeric("451", "You have not registered"),
    "ERR_NEEDMOREPARAMS": Numeric("461", "Not enough parameters"),
    "ERR_ALREADYREGISTERED": Numeric("462", "You may not reregister"),
    "ERR_PASSWDMISMATCH": Numeric("464", "Password incorrect"),
    "ERR_UNKNOWNMODE": Numeric("472", "is an unknown mode char to me"),
    "ERR_BADCHANNAME": Numeric("479", "Illegal channel name"),
    "ERR_NOPRIVILEGES": Numeric("481", "Permission Denied- You're not an IRC operator"),
    "ERR_INVITEONLYCHAN": Numeric("473", "Cannot join channel (+i)"),
    "ERR_BANNEDFROMCHAN": Numeric("474", "Cannot join channel (+b)"),
    "ERR_CHANOPRIVSNEEDED": Numeric("482", "You're not channel operator"),
    "ERR_UMODEUNKNOWNFLAG": Numeric("501", "Unknown MODE flag"),
    "ERR_USERSDONTMATCH": Numeric("502", "Cant change mode for other users"),
}
"""Every numeric the door sends, by its name."""


def numeric(name: str, nick: str, *params: str, text: str | None = None,
            source: str | None = None) -> Line:
    """The numeric ``name`` to ``nick``; ``text`` replaces its usual sentence.

    A numeric whose sentence is empty (004, 324 ...) ends with its parameters.
    """
    entry = NUMERICS[name]
    sentence = entry.text if text is None else text
    tail = (sentence,) if sentence or text is not None else ()
    return Line(entry.code, (nick, *params, *tail), source, trailing=bool(tail))
