"""Command line entry point: ``python -m tui_client`` (or the ``chat`` script).

Parses options, sets up file logging, asks for a nick if none was given, reads
the server and nick passwords (from a file or the environment, never from
argv), and runs the full-screen client (or the plain one with ``--plain`` or
when stdout is not a terminal). Errors end with one plain line; tracebacks go
to the log.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import ssl
import sys
from pathlib import Path

from protocol import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    PASSWORD_ENV,
    ProtocolError,
    validate_channel,
    validate_nick,
)
from tui_client.secret import NICK_PASSWORD_ENV, NICK_PASSWORD_FILE_OPTION

__all__ = ["main"]

log = logging.getLogger("tui_client")


def _default_log_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tui_client" / "chat.log"


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="chat",
        description="Terminal chat client.",
        allow_abbrev=False,  # "--nick-password SECRET" must not pass for the file option
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="server address (default %(default)s)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="server port (default %(default)s)"
    )
    parser.add_argument("--nick", help="your nick (asked for when missing)")
    parser.add_argument(
        "--join",
        metavar="CHANNELS",
        help="channels to start in, comma-separated: '#a,#b' (default: the server's default "
        "channel; '' for none)",
    )
    parser.add_argument(
        "--password-file",
        type=Path,
        help=f"read the server password from this file's first line (or set {PASSWORD_ENV})",
    )
    parser.add_argument(
        "--ask-password", action="store_true", help="ask for the server password at start"
    )
    parser.add_argument(
        NICK_PASSWORD_FILE_OPTION,
        dest="nick_password_file",
        type=Path,
        help=f"read your registered nick's password from this file's first line (or set "
        f"{NICK_PASSWORD_ENV}); without either it is asked for when the nick needs it",
    )
    parser.add_argument("--tls", action="store_true", help="connect with TLS")
    parser.add_argument(
        "--cafile",
        type=Path,
        help="trust the server certificate signed by this CA (default: the system's store)",
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


def _channels(arg: str | None) -> list[str] | None:
    """Return the channels of ``--join`` validated (None: not given); raise ProtocolError."""
    if arg is None:
        return None
    return [validate_channel(name.strip()) for name in arg.split(",") if name.strip()]


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


def _read_password(args: argparse.Namespace) -> str | None:
    """Return the password from a prompt, a file or the environment (never argv)."""
    if args.ask_password:
        return getpass.getpass("Password: ") or None
    if args.password_file is not None:
        return _first_line(args.password_file)
    return os.environ.get(PASSWORD_ENV) or None


def _first_line(path: Path) -> str | None:
    with open(path, encoding="utf-8") as file:
        return file.readline().rstrip("\r\n") or None


def _read_nick_password(args: argparse.Namespace) -> str | None:
    """Return the nick password from its file or the environment (never argv)."""
    if args.nick_password_file is not None:
        return _first_line(args.nick_password_file)
    return os.environ.get(NICK_PASSWORD_ENV) or None


def _tls_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    """Return a verifying TLS context when --tls (or --cafile) is given."""
    if not args.tls and args.cafile is None:
        return None
    return ssl.create_default_context(cafile=str(args.cafile) if args.cafile else None)


def _run_curses(
    args: argparse.Namespace,
    nick: str,
    password: str | None,
    tls: ssl.SSLContext | None,
    channels: list[str] | None,
    nick_password: str | None = None,
) -> int:
    import curses
    import locale

    from tui_client.app import ChatApp

    locale.setlocale(locale.LC_ALL, "")
    os.environ.setdefault("ESCDELAY", "25")
    app = ChatApp(
        args.host, args.port, nick, password=password, tls=tls, channels=channels,
        nick_password=nick_password,
    )
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
        channels = _channels(args.join)
    except ProtocolError as exc:
        print(f"chat: {exc.message}", file=sys.stderr)
        return 2
    try:
        password = _read_password(args)
        nick_password = _read_nick_password(args)
        tls = _tls_context(args)
    except (OSError, ssl.SSLError) as exc:
        print(f"chat: {exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}", file=sys.stderr)
        return 2
    except (EOFError, KeyboardInterrupt):
        return 2
    try:
        if args.plain or not sys.stdout.isatty():
            from tui_client.plain import run_plain

            return run_plain(
                args.host, args.port, nick, password, sys.stdin, sys.stdout, tls, channels,
                nick_password,
            )
        return _run_curses(args, nick, password, tls, channels, nick_password)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        log.exception("client failed")
        where = f" (details in {log_path})" if log_path else ""
        print(f"chat: {type(exc).__name__}: {exc}{where}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
