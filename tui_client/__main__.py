"""Command line entry point: ``python -m tui_client`` (or the ``chat`` script).

Parses options, sets up file logging, asks for a nick if none was given, and
runs the full-screen client (or the plain one with ``--plain`` or when stdout
is not a terminal). Errors end with one plain line; tracebacks go to the log.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Final

from protocol import ProtocolError, validate_nick

__all__ = ["main"]

log = logging.getLogger("tui_client")

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8080


def _default_log_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tui_client" / "chat.log"


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="chat", description="Terminal chat client.")
    parser.add_argument("--host", default=DEFAULT_HOST, help="server address (default %(default)s)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="server port (default %(default)s)"
    )
    parser.add_argument("--nick", help="your nick (asked for when missing)")
    parser.add_argument(
        "--password",
        default=os.environ.get("CHAT_PASSWORD"),
        help="server password (or set CHAT_PASSWORD)",
    )
    parser.add_argument("--plain", action="store_true", help="line mode: read stdin, print lines")
    parser.add_argument(
        "--log-file", type=Path, default=None, help=f"log file (default {_default_log_path()})"
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    return parser.parse_args(argv)


def _setup_logging(path: Path, level: str) -> Path | None:
    """Log to ``path`` only (never to the terminal); return the path used, if any."""
    root = logging.getLogger()
    root.setLevel(level)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        root.addHandler(logging.NullHandler())
        return None
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    return path


def _ask_nick() -> str | None:
    """Ask for a nick on the terminal until a valid one is given; None on end of input."""
    while True:
        try:
            answer = input("Nick: ").strip()
        except EOFError:
            return None
        try:
            return validate_nick(answer)
        except ProtocolError as exc:
            print(exc.message)


def _run_curses(args: argparse.Namespace, nick: str) -> int:
    import curses
    import locale

    from tui_client.app import ChatApp

    locale.setlocale(locale.LC_ALL, "")
    os.environ.setdefault("ESCDELAY", "25")
    app = ChatApp(args.host, args.port, nick, password=args.password)
    status: int = curses.wrapper(app.run)
    return status


def main(argv: list[str] | None = None) -> int:
    """Run the chat client; return the exit status."""
    args = _parse_args(argv)
    log_path = _setup_logging(args.log_file or _default_log_path(), args.log_level)
    nick = args.nick
    if nick is None:
        if not sys.stdin.isatty():
            print("chat: no nick given; use --nick NAME.", file=sys.stderr)
            return 2
        nick = _ask_nick()
        if nick is None:
            return 2
    try:
        nick = validate_nick(nick)
    except ProtocolError as exc:
        print(f"chat: {exc.message}", file=sys.stderr)
        return 2
    try:
        if args.plain or not sys.stdout.isatty():
            from tui_client.plain import run_plain

            return run_plain(args.host, args.port, nick, args.password, sys.stdin, sys.stdout)
        return _run_curses(args, nick)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        log.exception("client failed")
        where = f" (details in {log_path})" if log_path else ""
        print(f"chat: {type(exc).__name__}: {exc}{where}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
