"""Key input: bracketed-paste decoding and the table of key bindings.

Pure: :class:`KeyDecoder` turns the keys ``get_wch`` returns (str or int) into
key events and :class:`Paste` blocks; :func:`build_bindings` maps keys to
action names. Carrying the actions out is left to :mod:`tui_client.app`.

Key bindings:

==================  =====================================
Enter               send the line (a paste stays one message)
Left / Right        move by one grapheme (Ctrl-B / Ctrl-F)
Home / Ctrl-A       start of line
End / Ctrl-E        end of line, and back to live messages
Backspace / Delete  delete before / under the cursor
Ctrl-U / Ctrl-W     delete to line start / the word before
Up / Down           recall sent lines (Ctrl-P / Ctrl-N)
Tab                 complete a nick
PgUp / PgDn         scroll by a page; wheel scrolls 3 lines
F2                  show or hide the roster
Ctrl-L              redraw
Esc                 answer no to a question
Ctrl-C              quit at once (exit status 130)
==================  =====================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

__all__ = ["PASTE_END", "PASTE_START", "Key", "KeyDecoder", "Paste", "build_bindings"]

PASTE_START: Final = "\x1b[200~"
PASTE_END: Final = "\x1b[201~"
MAX_PASTE_CHARS: Final = 1_000_000


@dataclass(frozen=True, slots=True)
class Paste:
    """A block of pasted text (newlines as ``\\n``)."""

    text: str


Key = str | int | Paste

_CHAR_BINDINGS: Final[dict[str, str]] = {
    "\n": "enter",
    "\r": "enter",
    "\x01": "home",
    "\x02": "left",
    "\x04": "delete",
    "\x05": "end",
    "\x06": "right",
    "\x08": "backspace",
    "\x7f": "backspace",
    "\t": "complete",
    "\x0c": "redraw",
    "\x0e": "history_next",
    "\x10": "history_prev",
    "\x15": "kill_line",
    "\x17": "kill_word",
    "\x1b": "escape",
    "\x03": "interrupt",  # Ctrl-C arrives as a key where the terminal sends no SIGINT
}

_CURSES_BINDINGS: Final[dict[str, str]] = {
    "KEY_ENTER": "enter",
    "KEY_LEFT": "left",
    "KEY_RIGHT": "right",
    "KEY_HOME": "home",
    "KEY_END": "end",
    "KEY_BACKSPACE": "backspace",
    "KEY_DC": "delete",
    "KEY_UP": "history_prev",
    "KEY_DOWN": "history_next",
    "KEY_PPAGE": "page_up",
    "KEY_NPAGE": "page_down",
    "KEY_F2": "toggle_roster",
    "KEY_RESIZE": "resize",
    "KEY_MOUSE": "mouse",
}


def build_bindings(curses_module: Any) -> dict[str | int, str]:
    """Return key -> action name, taking key codes from ``curses_module``."""
    table: dict[str | int, str] = {key: action for key, action in _CHAR_BINDINGS.items()}
    for name, action in _CURSES_BINDINGS.items():
        code = getattr(curses_module, name, None)
        if isinstance(code, int):
            table[code] = action
    return table


class KeyDecoder:
    """Find bracketed pastes in a stream of keys. Not thread-safe."""

    def __init__(self) -> None:
        self._escape = ""  # an escape sequence being read
        self._paste: list[str] | None = None  # text of a paste being read

    def feed(self, key: str | int) -> list[Key]:
        """Return the events completed by one key."""
        if self._paste is not None:
            return self._feed_paste(key)
        if isinstance(key, int):
            return [*self.flush(), key]
        if self._escape or key == "\x1b":
            self._escape += key
            if self._escape == PASTE_START:
                self._escape = ""
                self._paste = []
                return []
            if PASTE_START.startswith(self._escape):
                return []
            pending, self._escape = self._escape, ""
            return list(pending)
        return [key]

    def _feed_paste(self, key: str | int) -> list[Key]:
        assert self._paste is not None
        if isinstance(key, int):
            return []  # a key code inside a paste: ignore it
        self._paste.append(key)
        tail = "".join(self._paste[-len(PASTE_END) :])
        if tail == PASTE_END or len(self._paste) > MAX_PASTE_CHARS:
            text = "".join(self._paste)
            self._paste = None
            text = text.removesuffix(PASTE_END)
            return [Paste(text.replace("\r\n", "\n").replace("\r", "\n"))]
        return []

    def flush(self) -> list[Key]:
        """Return an unfinished escape sequence as plain keys (call when input is idle)."""
        pending, self._escape = self._escape, ""
        return list(pending)

    @property
    def in_paste(self) -> bool:
        """Tell whether a bracketed paste has started but not ended."""
        return self._paste is not None
