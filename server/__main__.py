"""Command line: ``python3 -m server`` starts the chat server.

The only module that configures logging. SIGINT and SIGTERM stop the server
cleanly (everyone gets ``bye server_shutdown``) with exit status 0.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from protocol import PASSWORD_ENV, ProtocolError, validate_channel
from server.app import ChatServer
from server.config import SERVER_NAME, ServerConfig
from server.hub import BackplaneError
from server.memory import tune_allocator
from server.reset import reset_password
from server.store import StoreError
from server.tls import TlsSetupError

log = logging.getLogger("server")

THREAD_STACK_BYTES = 512 * 1024
REDIS_ENV = "TERMCHAT_REDIS"


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser; ``--help`` explains every option."""
    defaults = ServerConfig()
    parser = argparse.ArgumentParser(
        prog="python3 -m server",
        description=f"{SERVER_NAME}: a multi-user chat server (JSON Lines over TCP).",
    )
    parser.add_argument("--host", default=defaults.host,
                        help="address to listen on (default: %(default)s; 0.0.0.0 for all)")
    parser.add_argument("--port", type=int, default=defaults.port,
                        help="TCP port (default: %(default)s; 0 picks a free one and logs it)")
    parser.add_argument("--db", default=defaults.db_path, metavar="PATH",
                        help="SQLite file that keeps the message history (default: %(default)s)")
    parser.add_argument("--default-channel", default=defaults.default_channel, metavar="NAME",
                        help="the channel clients join when they name none "
                             "(default: %(default)s)")
    parser.add_argument("--max-channels-per-user", type=int,
                        default=defaults.max_channels_per_user, metavar="N",
                        help="channels one user may be in at once (default: %(default)s)")
    parser.add_argument("--redis", default=os.environ.get(REDIS_ENV), metavar="URL",
                        help="be a node of the cluster this Redis defines, e.g. "
                             f"redis://localhost:6379/0 (or set {REDIS_ENV}; default: on "
                             "its own, with --db)")
    parser.add_argument("--node-timeout", type=float, default=defaults.node_timeout_s,
                        metavar="SECONDS",
                        help="with --redis: a node silent this long is declared lost and "
                             "its users leave (default: %(default)s)")
    parser.add_argument("--admin", action="append", default=[], metavar="NICK",
                        help="a registered nick that may moderate every channel and the "
                             "server (repeatable)")
    parser.add_argument("--reset-password", metavar="NICK",
                        help="set a new password for a registered nick (asked for on the "
                             "terminal), then exit: for a user who forgot theirs")
    parser.add_argument("--max-clients", type=int, default=defaults.max_clients, metavar="N",
                        help="connections served at once; more get server_full "
                             "(default: %(default)s)")
    parser.add_argument("--max-queue-bytes", type=int, default=defaults.max_queue_bytes,
                        metavar="BYTES",
                        help="bytes queued for one client before it is dropped as a slow "
                             "consumer (default: %(default)s)")
    parser.add_argument("--max-clients-per-ip", type=int, default=defaults.max_clients_per_ip,
                        metavar="N",
                        help="connections from one address at once; more get server_full "
                             "(default: %(default)s = unlimited)")
    parser.add_argument("--rate-limit", type=float, default=defaults.rate_limit_per_s,
                        metavar="PER_S",
                        help="messages, private messages and nick changes a client may send "
                             "per second on average; 0 turns the limit off "
                             "(default: %(default)s)")
    parser.add_argument("--rate-burst", type=int, default=defaults.rate_burst, metavar="N",
                        help="how many of those may come at once (default: %(default)s)")
    parser.add_argument("--idle-timeout", type=float, default=defaults.idle_timeout_s,
                        metavar="SECONDS",
                        help="ping clients silent for half this time and drop those silent "
                             "for all of it (default: %(default)s)")
    parser.add_argument("--password-file", metavar="PATH",
                        help="require the password in this file's first line to join; "
                             f"or set {PASSWORD_ENV} (default: no password)")
    parser.add_argument("--certfile", metavar="PEM",
                        help="serve TLS with this certificate chain (default: plain TCP)")
    parser.add_argument("--keyfile", metavar="PEM",
                        help="the certificate's private key, if not in --certfile")
    parser.add_argument("--hello-timeout", type=float, default=defaults.hello_timeout_s,
                        metavar="SECONDS",
                        help="close connections that send no valid hello in this time "
                             "(default: %(default)s)")
    parser.add_argument("--history-limit", type=int, default=None, metavar="N",
                        help="keep only the newest N messages in the database "
                             "(default: keep all)")
    parser.add_argument("--max-db-mb", type=float, default=None, metavar="MB",
                        help="largest size of the database file; when it is full, new "
                             "messages are refused with server_error (default: no limit)")
    parser.add_argument("--no-persist", action="store_true",
                        help="store nothing, to measure what persistence costs "
                             "(benchmarks only: history is lost)")
    parser.add_argument("--irc-port", type=int, default=None, metavar="PORT",
                        help="also serve IRC clients on this port (6667 is usual; 0 picks "
                             "a free one and logs it; default: no IRC)")
    parser.add_argument("--irc-tls-port", type=int, default=None, metavar="PORT",
                        help="also serve IRC clients over TLS on this port (6697 is usual), "
                             "with --certfile/--keyfile (default: none)")
    parser.add_argument("--irc-server-name", default=None, metavar="NAME",
                        help="the name the IRC door gives itself in numerics (default: "
                             "the host name)")
    parser.add_argument("--motd", default=None, help="message of the day sent on welcome")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="console log detail (default: %(default)s)")
    return parser


def _raise_fd_limit() -> None:
    """Allow as many open sockets as the hard limit permits."""
    try:
        import resource
    except ImportError:  # not on Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _read_password(path: str | None) -> str | None:
    """Return the password from the file's first line, or from the environment."""
    if path is not None:
        with open(path, encoding="utf-8") as file:
            return file.readline().rstrip("\r\n") or None
    return os.environ.get(PASSWORD_ENV) or None


def main(argv: list[str] | None = None) -> int:
    """Run the server until SIGINT or SIGTERM; return the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level, stream=sys.stderr,
        format="%(asctime)s %(levelname)-7s %(message)s",
    )
    if args.reset_password:
        return reset_password(args.reset_password, args.db, args.redis or None)
    try:
        default_channel = validate_channel(args.default_channel)
    except ProtocolError as exc:
        log.error("--default-channel %s: %s", args.default_channel, exc.message)
        return 2
    try:
        password = _read_password(args.password_file)
    except OSError as exc:
        log.error("Cannot read the password file %s: %s.", args.password_file, exc.strerror)
        return 2
    if args.irc_tls_port is not None and args.certfile is None:
        log.error("--irc-tls-port needs a certificate: give --certfile (and --keyfile).")
        return 2
    server_name = args.irc_server_name or ServerConfig().irc_server_name
    if not server_name or any(ch.isspace() or ch in ":!@" for ch in server_name):
        log.error("--irc-server-name %r: a server name has no spaces, ':', '!' or '@'.",
                  server_name)
        return 2
    _raise_fd_limit()
    tune_allocator()
    threading.stack_size(THREAD_STACK_BYTES)
    config = ServerConfig(
        host=args.host, port=args.port, db_path=args.db, max_clients=args.max_clients,
        max_queue_bytes=args.max_queue_bytes, hello_timeout_s=args.hello_timeout,
        motd=args.motd, rate_limit_per_s=args.rate_limit, rate_burst=args.rate_burst,
        idle_timeout_s=args.idle_timeout, max_clients_per_ip=args.max_clients_per_ip,
        password=password, certfile=args.certfile, keyfile=args.keyfile,
        persist=not args.no_persist, history_limit=args.history_limit,
        max_db_bytes=None if args.max_db_mb is None else int(args.max_db_mb * 1024 * 1024),
        default_channel=default_channel, max_channels_per_user=args.max_channels_per_user,
        redis_url=args.redis or None, node_timeout_s=args.node_timeout,
        admins=tuple(args.admin),
        irc_port=args.irc_port, irc_tls_port=args.irc_tls_port, irc_server_name=server_name,
    )
    server = ChatServer(config)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda _signum, _frame: stop.set())
    try:
        server.start()
    except (StoreError, BackplaneError, TlsSetupError) as exc:
        log.error("%s", exc)
        return 2
    except OSError as exc:
        log.error("Cannot listen on %s:%d: %s.", config.host, config.port, exc.strerror or exc)
        return 2
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
