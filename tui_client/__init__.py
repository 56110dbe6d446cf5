"""Terminal chat client: full-screen curses UI and a plain line mode.

Modules: ``width``/``wrap``/``editor``/``completion``/``layout``/``state``/
``commands``/``render``/``keys`` are pure; ``net`` owns the socket; ``view`` is
the only curses drawing code; ``app`` runs the UI loop; ``plain`` is the line
client; ``__main__`` is the command line. Imports no POSIX-only module, so it
also runs on Windows with windows-curses.
"""

from tui_client.commands import parse_input
from tui_client.editor import LineEditor
from tui_client.layout import compute_layout
from tui_client.state import ClientState
from tui_client.width import cut, graphemes, pad, text_width
from tui_client.wrap import wrap

__all__ = [
    "ClientState",
    "LineEditor",
    "compute_layout",
    "cut",
    "graphemes",
    "pad",
    "parse_input",
    "text_width",
    "wrap",
]
