"""The chat server: a thread per connection, one room, history in SQLite.

``server.app`` wires the parts; ``server.room`` is the room (the seam for a
future multi-process backplane); ``server.session`` reads one connection;
``server.outbound`` writes to all of them; ``server.store`` keeps the history.
"""

from server.app import ChatServer
from server.config import ServerConfig
from server.room import Room
from server.store import MessageStore, StoreError

__all__ = ["ChatServer", "MessageStore", "Room", "ServerConfig", "StoreError"]
