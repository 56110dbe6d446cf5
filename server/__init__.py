"""The chat server: a reader thread per connection, a hub, one flusher, SQLite history.

``server.app`` wires the parts. ``server.session`` is the front door (one
reader per connection); ``server.hub`` is the interface it talks to and
``server.local_hub`` the in-process hub behind it (nicks, channels, ids,
history); ``server.fanout`` and ``server.outbound`` deliver bytes to local
sockets; ``server.store`` keeps the history.
"""

from server.app import ChatServer
from server.config import ServerConfig
from server.hub import Hub, Link
from server.local_hub import LocalHub
from server.store import MessageStore, StoreError

__all__ = ["ChatServer", "Hub", "Link", "LocalHub", "MessageStore", "ServerConfig", "StoreError"]
