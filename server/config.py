"""Server settings, filled from the command line by ``server.__main__``."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Final

from protocol import DEFAULT_HOST, DEFAULT_PORT

__all__ = ["DEFAULT_CHANNEL", "SERVER_NAME", "ServerConfig", "VERSION"]

VERSION: Final = "0.2.0"
SERVER_NAME: Final = f"termchat {VERSION}"
DEFAULT_CHANNEL: Final = "#lobby"


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything the server can be told at start."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    db_path: str = "chat.db"
    max_clients: int = 10_000
    max_queue_bytes: int = 1 << 20
    hello_timeout_s: float = 10.0
    motd: str | None = None
    rate_limit_per_s: float = 5.0
    rate_burst: int = 10
    idle_timeout_s: float = 240.0
    max_clients_per_ip: int = 0
    password: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    persist: bool = True
    history_limit: int | None = None
    max_db_bytes: int | None = None
    default_channel: str = DEFAULT_CHANNEL
    max_channels_per_user: int = 50
    redis_url: str | None = None
    admins: tuple[str, ...] = ()
    """Registered nicks that may moderate every channel, and the server."""
    node_timeout_s: float = 15.0
    irc_port: int | None = None
    """Where the IRC door listens (None: no IRC)."""
    irc_tls_port: int | None = None
    """Where the IRC door listens with TLS (None: not at all); needs ``certfile``."""
    irc_server_name: str = field(default_factory=socket.gethostname)
    """The name the IRC door gives itself in numerics and as their source."""
