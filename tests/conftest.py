"""Shared fixtures: real chat server processes on ephemeral ports."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import ServerProcess  # noqa: E402

StartServer = Callable[..., ServerProcess]


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """Start servers with extra options; each is killed (and its log printed) afterwards."""
    started: list[ServerProcess] = []

    def start(*args: str, db_path: Path | None = None, port: int = 0) -> ServerProcess:
        proc = ServerProcess(db_path or tmp_path / "chat.db", *args).start(port)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.proc is not None and proc.proc.poll() is None:
            proc.kill()
        print(f"--- server log (port {proc.port}) ---")
        print("\n".join(proc.log_lines))


@pytest.fixture
def server(start_server: StartServer) -> ServerProcess:
    """A running server with a fresh database."""
    return start_server()
