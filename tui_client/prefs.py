"""What the user chose for this session: roster shown or hidden, bell on or off.

Pure, kept in memory only. Not thread-safe (UI thread, or the plain client's loop).
"""

from __future__ import annotations

__all__ = ["Prefs"]


class Prefs:
    """The user's display and alert choices; each is flipped by one command or key."""

    def __init__(self, roster_visible: bool = True, bell_enabled: bool = True) -> None:
        self._roster_visible = roster_visible
        self._bell_enabled = bell_enabled

    @property
    def roster_visible(self) -> bool:
        return self._roster_visible

    @property
    def bell_enabled(self) -> bool:
        return self._bell_enabled

    def toggle_roster(self) -> None:
        """Show the roster pane if hidden, hide it if shown."""
        self._roster_visible = not self._roster_visible

    def toggle_bell(self) -> None:
        """Turn the bell on mentions on if off, off if on."""
        self._bell_enabled = not self._bell_enabled
