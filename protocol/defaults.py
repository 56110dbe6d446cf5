"""Settings both sides agree on before they speak: where the server is, where passwords live."""

from __future__ import annotations

from typing import Final

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "PASSWORD_ENV"]

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8080
PASSWORD_ENV: Final = "TERMCHAT_PASSWORD"
"""The environment variable holding the server password (never a command-line argument)."""
