#!/usr/bin/env python3
"""Make the README screenshots: the real client in a pseudo-terminal, rendered to SVG.

Starts a server on a free port with a temporary database, lets a few raw
socket users chat in two channels, ``#dev`` (with a topic) and ``#lobby``
(Cyrillic, /me, a mention, a private message), drives the client through a pty
in both channels, reads its screen with pyte and writes ``screenshots/``
``chat.svg`` (buffer list, topic, roster), ``scrollback.svg`` and ``narrow.svg``
(the buffer list folded into the status line). POSIX only.

    .venv/bin/python screenshots/make_screenshots.py
"""

from __future__ import annotations

import html
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import pyte  # noqa: E402
from helpers import RawClient, ServerProcess  # noqa: E402
from tui_support import KEY_END, KEY_PGUP, TuiProcess  # noqa: E402

OUT = ROOT / "screenshots"
CELL_W = 8.4
CELL_H = 18.0
FONT_PX = 14
BACKGROUND = "#1d1f21"
FOREGROUND = "#d0d0d0"
COLOURS = {
    "black": "#1d1f21", "red": "#e06c75", "green": "#98c379", "brown": "#e5c07b",
    "yellow": "#e5c07b", "blue": "#61afef", "magenta": "#c678dd", "cyan": "#56b6c2",
    "white": "#d0d0d0", "brightblack": "#5c6370", "brightred": "#ff7b86",
    "brightgreen": "#b5e890", "brightbrown": "#ffd68a", "brightyellow": "#ffd68a",
    "brightblue": "#82c4ff", "brightmagenta": "#dd9cf0", "brightcyan": "#7fd6e0",
    "brightwhite": "#ffffff",
}


def _colour(name: str, default: str) -> str:
    if name == "default":
        return default
    if len(name) == 6 and all(c in "0123456789abcdefABCDEF" for c in name):
        return f"#{name}"
    return COLOURS.get(name, default)


def _wide(ch: str) -> bool:
    from tui_client.width import text_width

    return text_width(ch) == 2


def screen_to_svg(screen: pyte.Screen, title: str) -> str:
    """Render a pyte screen (text, colours, bold, reverse, underline, cursor) as SVG."""
    width, height = screen.columns * CELL_W, screen.lines * CELL_H
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.1f} {height:.1f}" role="img" aria-label="{html.escape(title)}">',
        f"<title>{html.escape(title)}</title>",
        f'<rect width="100%" height="100%" fill="{BACKGROUND}"/>',
        f'<g font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="{FONT_PX}px" '
        f'xml:space="preserve">',
    ]
    for y in range(screen.lines):
        row = screen.buffer[y]
        x = 0
        while x < screen.columns:
            char = row[x]
            fg = _colour(char.fg, FOREGROUND)
            bg = _colour(char.bg, BACKGROUND)
            if char.reverse:
                fg, bg = (bg if char.bg != "default" else BACKGROUND), (
                    fg if char.fg != "default" else FOREGROUND
                )
            span = 2 if char.data and _wide(char.data) else 1
            if bg != BACKGROUND:
                out.append(
                    f'<rect x="{x * CELL_W:.1f}" y="{y * CELL_H:.1f}" width="{span * CELL_W:.1f}" '
                    f'height="{CELL_H:.1f}" fill="{bg}"/>'
                )
            if char.data.strip():
                style = ' font-weight="bold"' if char.bold else ""
                style += ' text-decoration="underline"' if char.underscore else ""
                out.append(
                    f'<text x="{x * CELL_W:.1f}" y="{y * CELL_H + CELL_H * 0.75:.1f}" '
                    f'fill="{fg}"{style}>{html.escape(char.data)}</text>'
                )
            x += span
    if not screen.cursor.hidden:
        cx, cy = screen.cursor.x * CELL_W, screen.cursor.y * CELL_H
        out.append(
            f'<rect x="{cx:.1f}" y="{cy:.1f}" width="{CELL_W:.1f}" height="{CELL_H:.1f}" '
            f'fill="{FOREGROUND}" opacity="0.6"/>'
        )
    out += ["</g>", "</svg>", ""]
    return "\n".join(_merge_text(out))


def _merge_text(parts: list[str]) -> list[str]:
    """Keep the file small: nothing to merge safely across cells, so return as is."""
    return parts


def save(tui: TuiProcess, name: str, title: str) -> None:
    with tui._lock:
        svg = screen_to_svg(tui.screen, title)
    (OUT / name).write_text(svg, encoding="utf-8")
    print(f"wrote {OUT / name}")


def user(port: int, nick: str, channels: list[str]) -> RawClient:
    client = RawClient(port)
    assert client.hello(nick, channels=channels)["type"] == "welcome"
    return client


def say(client: RawClient, text: str, channel: str = "#dev", **extra: object) -> None:
    client.send({"type": "say", "text": text, "channel": channel, **extra})
    client.recv_until("message", text=text)


EARLIER = [
    ("bob", "morning all"),
    ("Вера", "Доброе утро! ☕"),
    ("carol", "did anyone look at the flaky deploy job?"),
    ("bob", "yes, the runner ran out of disk again"),
    ("carol", "classic. I'll add a cleanup step"),
    ("Вера", "Я добавила мониторинг диска, посмотрите дашборд"),
    ("bob", "nice, thanks 👍"),
]
TOPIC = "release 0.2 on Friday: channels · CI green · retro at 16:00"


def main() -> int:
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp) / "chat.db").start()
        tui: TuiProcess | None = None
        try:
            both = ["#dev", "#lobby"]
            bob, vera, carol = (user(server.port, n, both) for n in ("bob", "Вера", "carol"))
            dave = user(server.port, "dave", ["#lobby"])
            clients = {"bob": bob, "Вера": vera, "carol": carol}
            for round_ in range(1, 9):
                for nick, text in EARLIER:
                    say(clients[nick], f"{text}" if round_ == 8 else f"[day {round_}] {text}")
            bob.send({"type": "topic", "channel": "#dev", "text": TOPIC})
            bob.recv_until("topic")
            tui = TuiProcess(
                ["--nick", "alice", "--port", str(server.port), "--join", "#dev,#lobby",
                 "--log-file", f"{tmp}/client.log"],
                cols=100, rows=30,
            )
            tui.wait_for(lambda ls: ls[0].startswith("#dev: release"))
            say(vera, "Привет, alice! Как дела с релизом?")
            say(bob, "waves at everyone", action=True)
            say(carol, "alice: could you review the retry patch before lunch? It touches the "
                       "reconnect backoff (1, 2, 4 … 30 s) and the resume token handling.")
            say(dave, "anyone up for lunch at the new ramen place?", channel="#lobby")
            say(dave, "12:30 works for me", channel="#lobby")
            bob.send({"type": "msg", "to": "alice", "text": "psst, lunch at 12?"})
            tui.wait_for(lambda ls: "4.bob" in "\n".join(ls))
            tui.type_line("sure carol, on it")
            tui.wait_for("alice: sure carol, on it")
            tui.type_line("/me grabs a coffee ☕")
            tui.wait_for("* alice grabs a coffee")
            tui.write("carol: the backoff looks right 🙂")
            tui.wait_for(lambda ls: "looks right" in ls[-1])
            time.sleep(0.3)
            save(tui, "chat.svg", "termchat: two channels, a private buffer, the buffer list")

            tui.write("\x15")  # Ctrl-U: clear the draft
            tui.write(KEY_PGUP)
            tui.wait_for(lambda ls: "scrolled" in ls[-2])
            say(vera, "кто-нибудь видел новые логи?")
            tui.wait_for(lambda ls: "1 new" in ls[-2])
            time.sleep(0.3)
            save(tui, "scrollback.svg", "termchat: scrolled back through history")

            tui.write(KEY_END)
            tui.wait_for(lambda ls: "new" not in ls[-2])
            tui.resize(20, 50)
            tui.wait_for(lambda ls: len(ls) == 20 and ls[18].startswith("2:#dev"))
            say(dave, "alice, are you coming?", channel="#lobby")
            tui.wait_for(lambda ls: "3:#lobby(3!)" in ls[18])
            time.sleep(0.3)
            save(tui, "narrow.svg",
                 "termchat: a 50x20 terminal (buffer list folded into the status line)")
            tui.type_line("exit")
            tui.wait_exit()
        finally:
            if tui is not None:
                tui.close()
            server.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
