"""Terminal chat client: full-screen curses UI and a plain line mode.

Pure modules: ``width``/``wrap``/``editor``/``completion``/``layout`` (text and
panes), ``buffers`` (one buffer per channel, per private conversation and for
the server, and their collection), ``roster`` (a channel's members, kept in
order as they come and go), ``identity``/``status``/``prefs`` (our
nick, the connection status, the user's choices), ``secret`` (a password being asked
for, masked), ``events`` (server frames applied to those), ``commands`` (the
command table and parser), ``actions`` (commands carried out), ``render``
(state to styled rows) and ``keys`` (the key table). ``net``/``transport``
own the socket; ``view`` is the only curses drawing code; ``app`` runs the UI
loop; ``plain`` is the line client;
``__main__`` is the command line. Imports no POSIX-only module, so it also
runs on Windows with windows-curses.
"""

from tui_client.buffers import Buffer, Buffers
from tui_client.commands import COMMANDS, parse_input
from tui_client.editor import LineEditor
from tui_client.layout import compute_layout
from tui_client.width import cut, graphemes, pad, text_width
from tui_client.wrap import wrap

__all__ = [
    "COMMANDS",
    "Buffer",
    "Buffers",
    "LineEditor",
    "compute_layout",
    "cut",
    "graphemes",
    "pad",
    "parse_input",
    "text_width",
    "wrap",
]
