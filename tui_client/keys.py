"""Key input: bracketed-paste and Alt decoding, and the one table of key bindings.

Pure: :class:`KeyDecoder` turns the keys ``get_wch`` returns (str or int) into
key events, :class:`Paste` blocks and :class:`Alt` chords (Esc then a key, as
terminals send Alt); :data:`BINDINGS` says which keys do what, and both the
key map (:func:`build_bindings`) and the help text (:func:`key_help`) are made
from it. Carrying the actions out is left to :mod:`tui_client.app`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "BINDINGS",
    "PASTE_END",
    "PASTE_START",
    "Alt",
    "Binding",
    "Key",
    "KeyDecoder",
    "Paste",
    "build_bindings",
    "key_help",
    "keyname_action",
]

PASTE_START: Final = "\x1b[200~"
PASTE_END: Final = "\x1b[201~"
ESC: Final = "\x1b"
MAX_PASTE_CHARS: Final = 1_000_000


@dataclass(frozen=True, slots=True)
class Paste:
    """A block of pasted text (newlines as ``\\n``)."""

    text: str


@dataclass(frozen=True, slots=True)
class Alt:
    """A key pressed with Alt: terminals send Esc and then the key."""

    key: str | int


Key = str | int | Paste | Alt


@dataclass(frozen=True, slots=True)
class Binding:
    """One action and every key that does it.

    ``chars`` are keys ``get_wch`` returns as text, ``curses_names`` the names of
    curses key codes (``KEY_LEFT``), ``keynames`` prefixes of ``curses.keyname``
    for codes without a constant (``kLFT3`` is Alt+Left in xterm's terminfo), and
    ``alt`` keys (chars or curses names) pressed after Esc. With ``numbered`` the
    action is given the pressed digit: ``goto:3``. An empty ``label`` keeps the
    binding out of the help.
    """

    action: str
    label: str
    help: str
    chars: tuple[str, ...] = ()
    curses_names: tuple[str, ...] = ()
    keynames: tuple[str, ...] = ()
    alt: tuple[str, ...] = ()
    numbered: bool = False


BINDINGS: Final[tuple[Binding, ...]] = (
    Binding("enter", "Enter", "send the line (a paste stays one message; over 5 lines asks first)",
            chars=("\n", "\r"), curses_names=("KEY_ENTER",)),
    Binding("left", "Left / Ctrl-B", "move left by one character",
            chars=("\x02",), curses_names=("KEY_LEFT",)),
    Binding("right", "Right / Ctrl-F", "move right by one character",
            chars=("\x06",), curses_names=("KEY_RIGHT",)),
    Binding("home", "Home / Ctrl-A", "start of the line", chars=("\x01",),
            curses_names=("KEY_HOME",)),
    Binding("end", "End / Ctrl-E", "end of the line, and back to live messages",
            chars=("\x05",), curses_names=("KEY_END",), keynames=("kEND",)),
    Binding("backspace", "Backspace", "delete before the cursor", chars=("\x08", "\x7f"),
            curses_names=("KEY_BACKSPACE",)),
    Binding("delete", "Delete / Ctrl-D", "delete under the cursor", chars=("\x04",),
            curses_names=("KEY_DC",)),
    Binding("kill_line", "Ctrl-U", "delete to the start of the line", chars=("\x15",)),
    Binding("kill_word", "Ctrl-W", "delete the word before the cursor", chars=("\x17",)),
    Binding("history_prev", "Up", "recall the previous line you sent", curses_names=("KEY_UP",)),
    Binding("history_next", "Down", "recall the next line you sent",
            curses_names=("KEY_DOWN",)),
    Binding("complete", "Tab", "complete a nick, or a channel after # (again: next match)",
            chars=("\t",)),
    Binding("goto", "Alt+1..9", "go to buffer 1 to 9 of the buffer list",
            alt=tuple("123456789"), numbered=True),
    Binding("buffer_prev", "Alt+Left / Ctrl-P", "previous buffer", chars=("\x10",),
            keynames=("kLFT3",), alt=("KEY_LEFT",)),
    Binding("buffer_next", "Alt+Right / Ctrl-N", "next buffer", chars=("\x0e",),
            keynames=("kRIT3",), alt=("KEY_RIGHT",)),
    Binding("page_up", "PgUp", "scroll up a page; past the oldest line, older history comes",
            curses_names=("KEY_PPAGE",)),
    Binding("page_down", "PgDn", "scroll down a page", curses_names=("KEY_NPAGE",)),
    Binding("mouse", "mouse wheel", "scroll 3 lines", curses_names=("KEY_MOUSE",)),
    Binding("toggle_roster", "F2", "show or hide the roster", curses_names=("KEY_F2",)),
    Binding("roster_up", "F11 / Alt+PgUp", "scroll the roster up a page",
            curses_names=("KEY_F11",), keynames=("kPRV3",), alt=("KEY_PPAGE",)),
    Binding("roster_down", "F12 / Alt+PgDn", "scroll the roster down a page",
            curses_names=("KEY_F12",), keynames=("kNXT3",), alt=("KEY_NPAGE",)),
    Binding("redraw", "Ctrl-L", "redraw the screen", chars=("\x0c",)),
    Binding("escape", "Esc", "answer no to a question; stop asking for a password",
            chars=(ESC,)),
    Binding("interrupt", "Ctrl-C", "quit at once (exit status 130)", chars=("\x03",)),
    Binding("resize", "", "", curses_names=("KEY_RESIZE",)),
)


def _code(curses_module: Any, name: str) -> int | None:
    code = getattr(curses_module, name, None)
    return code if isinstance(code, int) else None


def build_bindings(curses_module: Any) -> dict[Key, str]:
    """Return key -> action name, taking key codes from ``curses_module``."""
    table: dict[Key, str] = {}
    for binding in BINDINGS:
        for char in binding.chars:
            table[char] = binding.action
        for name in binding.curses_names:
            code = _code(curses_module, name)
            if code is not None:
                table[code] = binding.action
        for key in binding.alt:
            action = f"{binding.action}:{key}" if binding.numbered else binding.action
            if key.startswith("KEY_"):
                code = _code(curses_module, key)
                if code is not None:
                    table[Alt(code)] = action
            else:
                table[Alt(key)] = action
    return table


def keyname_action(keyname: str) -> str | None:
    """Return the action for a curses key name without a constant (``kLFT3``), if any."""
    for binding in BINDINGS:
        if any(keyname.startswith(prefix) for prefix in binding.keynames):
            return binding.action
    return None


def key_help() -> list[tuple[str, str]]:
    """Return (keys, what they do) for every binding shown in the help."""
    return [(b.label, b.help) for b in BINDINGS if b.label]


class KeyDecoder:
    """Find bracketed pastes and Alt chords in a stream of keys. Not thread-safe."""

    def __init__(self) -> None:
        self._escape = ""  # an escape sequence being read
        self._paste: list[str] | None = None  # text of a paste being read

    def feed(self, key: str | int) -> list[Key]:
        """Return the events completed by one key."""
        if self._paste is not None:
            return self._feed_paste(key)
        if isinstance(key, int):
            if self._escape == ESC:
                self._escape = ""
                return [Alt(key)]
            return [*self.flush(), key]
        if self._escape or key == ESC:
            self._escape += key
            if self._escape == PASTE_START:
                self._escape = ""
                self._paste = []
                return []
            if PASTE_START.startswith(self._escape):
                return []
            pending, self._escape = self._escape, ""
            if len(pending) == 2:
                return [Alt(pending[1])]
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
        """Return an unfinished escape sequence as keys (call when input is idle).

        Esc and one more key make an :class:`Alt` chord; a lone Esc stays Esc.
        """
        pending, self._escape = self._escape, ""
        if len(pending) == 2:
            return [Alt(pending[1])]
        return list(pending)

    @property
    def in_paste(self) -> bool:
        """Tell whether a bracketed paste has started but not ended."""
        return self._paste is not None
